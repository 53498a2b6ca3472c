// The server's output store on a real directory: pieces at offsets, completion, the cap and its
// evictions, retention, file modes, the scan at start, task ids as file names.
#include "ferry/server/outputs/output_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server_fixture.hpp"
#include "test_process.hpp"

using namespace ferry;
using namespace ferry::server;
using ferry::test::FakeClock;
using ferry::test::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kDayMs = 86'400'000;

std::int64_t real_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct StoreFixture {
  explicit StoreFixture(std::uint64_t max_bytes = 1 << 20, std::int64_t retention_days = 7) {
    options.dir = dir.path() / "outputs";
    options.max_bytes = max_bytes;
    options.retention_days = retention_days;
    clock.set_ms(real_now_ms());
    reopen();
  }
  void reopen() {
    store.reset();
    auto opened = OutputStore::open(options, clock);
    INFO((opened ? "" : opened.error().message));
    REQUIRE(opened);
    store = std::move(*opened);
  }
  [[nodiscard]] fs::path file(const std::string& name) const { return options.dir / name; }
  OutputState write(const std::string& id, std::uint64_t offset, const std::string& bytes,
                    bool final = false) {
    auto r = store->write(id, offset, bytes, final);
    INFO(id << " at " << offset << ": " << (r ? "" : r.error().message));
    REQUIRE(r);
    return *r;
  }
  // A complete output of `size` bytes.
  void complete(const std::string& id, std::size_t size) {
    REQUIRE(write(id, 0, std::string(size, 'x'), true).complete);
  }
  std::optional<OutputState> state(const std::string& id) {
    auto r = store->state(id);
    REQUIRE(r);
    return *r;
  }
  std::optional<OutputRange> read(const std::string& id, std::uint64_t offset,
                                  std::uint64_t limit) {
    auto r = store->read(id, offset, limit);
    REQUIRE(r);
    return *r;
  }

  TempDir dir{"ferry-output-store"};
  FakeClock clock;
  OutputStoreOptions options;
  std::unique_ptr<OutputStore> store;
};

std::string file_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

void set_mtime_ms(const fs::path& p, std::int64_t ms) {
  const struct timespec times[2] = {{ms / 1000, (ms % 1000) * 1'000'000},
                                    {ms / 1000, (ms % 1000) * 1'000'000}};
  REQUIRE(::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

}  // namespace

TEST_CASE("output store: pieces at offsets, resends, gaps and completion", "[outputs]") {
  StoreFixture f;
  const auto first = f.write("invt-a", 0, "hello ");
  CHECK(first.size == 6);
  CHECK_FALSE(first.complete);
  CHECK(file_text(f.file("invt-a.part")) == "hello ");
  // A resend after a lost reply changes nothing.
  CHECK(f.write("invt-a", 0, "hello ").size == 6);
  CHECK(f.write("invt-a", 6, "world").size == 11);
  // A gap: nothing written, the sender learns where to resume.
  const auto gap = f.write("invt-a", 20, "lost");
  CHECK(gap.size == 11);
  CHECK_FALSE(gap.complete);
  CHECK(file_text(f.file("invt-a.part")) == "hello world");
  // At an earlier offset the output is cut there and the piece follows.
  CHECK(f.write("invt-a", 6, "WORLD!!").size == 13);
  CHECK(file_text(f.file("invt-a.part")) == "hello WORLD!!");
  CHECK(f.state("invt-a")->size == 13);
  CHECK_FALSE(f.state("invt-a")->complete);
  // Not readable until complete.
  CHECK_FALSE(f.read("invt-a", 0, 100));

  const auto done = f.write("invt-a", 13, "\n", true);
  CHECK(done.size == 14);
  CHECK(done.complete);
  CHECK_FALSE(fs::exists(f.file("invt-a.part")));
  CHECK(file_text(f.file("invt-a.log")) == "hello WORLD!!\n");
  // Complete: later pieces are acknowledged and ignored.
  const auto after = f.write("invt-a", 0, "overwritten", true);
  CHECK(after.size == 14);
  CHECK(after.complete);
  CHECK(f.write("invt-a", 14, "more").size == 14);
  CHECK(file_text(f.file("invt-a.log")) == "hello WORLD!!\n");
  CHECK(f.store->total_bytes() == 14);

  auto all = f.read("invt-a", 0, 100);
  REQUIRE(all);
  CHECK(all->size == 14);
  CHECK(all->bytes == "hello WORLD!!\n");
  CHECK(f.read("invt-a", 0, 5)->bytes == "hello");
  CHECK(f.read("invt-a", 6, 5)->bytes == "WORLD");
  CHECK(f.read("invt-a", 14, 5)->bytes.empty());
  CHECK(f.read("invt-a", 1000, 5)->bytes.empty());
  CHECK_FALSE(f.read("invt-none", 0, 5));
  CHECK_FALSE(f.state("invt-none"));

  SECTION("a final piece at a gap completes nothing") {
    CHECK(f.write("invt-b", 0, "abc").size == 3);
    const auto r = f.write("invt-b", 5, "def", true);
    CHECK(r.size == 3);
    CHECK_FALSE(r.complete);
  }
  SECTION("an empty output completes at once") {
    const auto r = f.write("invt-empty", 0, "", true);
    CHECK(r.size == 0);
    CHECK(r.complete);
    CHECK(f.read("invt-empty", 0, 10)->bytes.empty());
  }
}

TEST_CASE("output store: the cap evicts the oldest complete outputs, then refuses", "[outputs]") {
  StoreFixture f(100);
  const std::int64_t now = f.clock.now_ms();
  f.complete("invt-old", 30);
  f.complete("invt-mid", 30);
  f.complete("invt-new", 30);
  CHECK(f.write("invt-part", 0, "12345").size == 5);
  // Ages set on disk, read back by the scan at start. The partial output is the oldest of all,
  // but only complete outputs are evicted.
  set_mtime_ms(f.file("invt-old.log"), now - 300'000);
  set_mtime_ms(f.file("invt-mid.log"), now - 200'000);
  set_mtime_ms(f.file("invt-new.log"), now - 100'000);
  set_mtime_ms(f.file("invt-part.part"), now - 1'000'000);
  f.reopen();
  REQUIRE(f.store->total_bytes() == 95);

  // 95 + 20 > 100: the oldest goes, and only it.
  CHECK(f.write("invt-x", 0, std::string(20, 'a')).size == 20);
  CHECK_FALSE(f.state("invt-old"));
  CHECK_FALSE(fs::exists(f.file("invt-old.log")));
  CHECK(f.state("invt-mid"));
  CHECK(f.state("invt-new"));
  CHECK(f.store->total_bytes() == 85);

  // 85 + 40 > 100: the next oldest.
  CHECK(f.write("invt-x", 20, std::string(40, 'b')).size == 60);
  CHECK_FALSE(f.state("invt-mid"));
  CHECK(f.state("invt-new"));
  CHECK(f.store->total_bytes() == 95);

  // 95 + 36: evicting the last complete output is not enough; refused, and the refused output's
  // partial file goes with it. Other partial outputs stay.
  auto refused = f.store->write("invt-x", 60, std::string(36, 'c'), false);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == "LimitExceeded.OutputStore");
  CHECK(refused.error().message.find("does not fit") != std::string::npos);
  CHECK_FALSE(f.state("invt-x"));
  CHECK_FALSE(fs::exists(f.file("invt-x.part")));
  CHECK_FALSE(f.state("invt-new"));
  CHECK(f.state("invt-part")->size == 5);
  CHECK(f.store->total_bytes() == 5);

  SECTION("an output larger than the whole cap evicts nothing") {
    f.complete("invt-keep", 30);
    auto big = f.store->write("invt-big", 0, std::string(101, 'z'), false);
    REQUIRE_FALSE(big);
    CHECK(big.error().code == "LimitExceeded.OutputStore");
    CHECK(f.state("invt-keep"));
    CHECK(f.store->total_bytes() == 35);
  }
  SECTION("a piece that shrinks the output needs no room") {
    CHECK(f.write("invt-part", 0, std::string(95, 'p')).size == 95);
    CHECK(f.write("invt-part", 10, "end", true).size == 13);
    CHECK(f.store->total_bytes() == 13);
  }
}

TEST_CASE("output store: a disabled store holds nothing and touches no disk", "[outputs]") {
  StoreFixture f(0);
  CHECK_FALSE(f.store->enabled());
  CHECK_FALSE(fs::exists(f.options.dir));
  auto r = f.store->write("invt-a", 0, "x", true);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "LimitExceeded.OutputStore");
  CHECK(r.error().message.find("disabled") != std::string::npos);
  CHECK_FALSE(f.state("invt-a"));
  CHECK_FALSE(f.read("invt-a", 0, 1));
  auto removed = f.store->remove_expired();
  REQUIRE(removed);
  CHECK(*removed == 0);
}

TEST_CASE("output store: retention removes complete and partial outputs by age", "[outputs]") {
  StoreFixture f(1 << 20, 7);
  const std::int64_t now = f.clock.now_ms();
  f.complete("invt-old", 10);
  CHECK(f.write("invt-stale-part", 0, "abc").size == 3);
  f.complete("invt-young", 7);
  set_mtime_ms(f.file("invt-old.log"), now - 8 * kDayMs);
  set_mtime_ms(f.file("invt-stale-part.part"), now - 7 * kDayMs - 1000);
  set_mtime_ms(f.file("invt-young.log"), now - 6 * kDayMs);

  auto removed = f.store->remove_expired();
  REQUIRE(removed);
  CHECK(*removed == 2);
  CHECK_FALSE(fs::exists(f.file("invt-old.log")));
  CHECK_FALSE(fs::exists(f.file("invt-stale-part.part")));
  CHECK_FALSE(f.state("invt-old"));
  CHECK(f.state("invt-young")->complete);
  CHECK(f.store->total_bytes() == 7);

  // Two days later the young one is past the retention too.
  f.clock.advance_ms(2 * kDayMs);
  removed = f.store->remove_expired();
  REQUIRE(removed);
  CHECK(*removed == 1);
  CHECK_FALSE(f.state("invt-young"));
  CHECK(f.store->total_bytes() == 0);
}

TEST_CASE("output store: the directory is 0700 and the files 0600", "[outputs]") {
  SECTION("made by the store") {
    StoreFixture f;
    CHECK(mode_of(f.options.dir) == 0700);
    f.write("invt-a", 0, "part");
    CHECK(mode_of(f.file("invt-a.part")) == 0600);
    f.write("invt-a", 4, "", true);
    CHECK(mode_of(f.file("invt-a.log")) == 0600);
  }
  SECTION("an existing directory others may read is closed") {
    TempDir dir("ferry-output-store");
    const fs::path outputs = dir.path() / "outputs";
    fs::create_directory(outputs);
    ::chmod(outputs.c_str(), 0777);
    FakeClock clock;
    auto store = OutputStore::open({outputs, 1 << 20, 7}, clock);
    REQUIRE(store);
    CHECK(mode_of(outputs) == 0700);
  }
  SECTION("a file where the directory should be") {
    TempDir dir("ferry-output-store");
    const fs::path outputs = dir.path() / "outputs";
    std::ofstream(outputs) << "not a directory";
    FakeClock clock;
    auto store = OutputStore::open({outputs, 1 << 20, 7}, clock);
    REQUIRE_FALSE(store);
    CHECK(store.error().message.find(outputs.string()) != std::string::npos);
  }
}

TEST_CASE("output store: a restart finds what was held", "[outputs]") {
  StoreFixture f;
  f.complete("invt-done", 12);
  CHECK(f.write("invt-half", 0, "half").size == 4);
  // Left by a crash between the rename and... nothing: a .part beside a .log is a leftover.
  std::ofstream(f.file("invt-done.part")) << "leftover";
  // Not the store's: ignored, never counted, never removed.
  std::ofstream(f.file("notes.txt")) << "someone else's";
  std::ofstream(f.file("bad.id.log")) << "not a task id";
  fs::create_symlink("/etc/hostname", f.file("invt-link.log"));

  f.reopen();
  CHECK(f.store->total_bytes() == 16);
  CHECK(f.state("invt-done")->complete);
  CHECK(f.state("invt-done")->size == 12);
  CHECK_FALSE(f.state("invt-half")->complete);
  CHECK(f.state("invt-half")->size == 4);
  CHECK_FALSE(fs::exists(f.file("invt-done.part")));
  CHECK(fs::exists(f.file("notes.txt")));
  CHECK_FALSE(f.state("invt-link"));
  // The upload goes on where it stopped.
  CHECK(f.write("invt-half", 4, " and half", true).size == 13);
  CHECK(f.read("invt-half", 0, 100)->bytes == "half and half");
}

TEST_CASE("output store: a task id is a file name of [A-Za-z0-9_-], 1 to 64", "[outputs]") {
  StoreFixture f;
  CHECK(OutputStore::valid_task_id("invt-0a1b2c3d"));
  CHECK(OutputStore::valid_task_id(std::string(64, 'a')));
  CHECK(OutputStore::valid_task_id("A_b-9"));
  for (const std::string& bad :
       {std::string(), std::string(65, 'a'), std::string("../x"), std::string("a/b"),
        std::string("a.b"), std::string("a b"), std::string("..")}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(OutputStore::valid_task_id(bad));
    auto r = f.store->write(bad, 0, "x", true);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "InvalidParameterValue");
    CHECK_FALSE(f.state(bad));
    CHECK_FALSE(f.read(bad, 0, 1));
  }
  CHECK(f.store->total_bytes() == 0);
  CHECK(fs::is_empty(f.options.dir));
}

TEST_CASE("output store: concurrent uploads keep an exact total", "[outputs]") {
  StoreFixture f(1 << 20);
  constexpr int kThreads = 4;
  constexpr int kPieces = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&f, t] {
      const std::string id = "invt-thread" + std::to_string(t);
      for (int i = 0; i < kPieces; ++i) {
        (void)f.store->write(id, static_cast<std::uint64_t>(i) * 10, std::string(10, 'a'),
                             i == kPieces - 1);
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(f.store->total_bytes() == kThreads * kPieces * 10);
  for (int t = 0; t < kThreads; ++t) {
    const auto s = f.state("invt-thread" + std::to_string(t));
    REQUIRE(s);
    CHECK(s->complete);
    CHECK(s->size == kPieces * 10);
  }
}
