// `ferry output` over a fake Api: paging, the four sources, retries, and the -o file.
#include "ferry/cli/output.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fake_api.hpp"
#include "ferry/core/base64.hpp"
#include "test_process.hpp"

using namespace ferry;
using namespace ferry::cli;
using namespace ferry::cli::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A server that answers DescribeInvocationTaskOutput from `content` as ferry-server pages it.
FakeApi paging_api(const std::string& source, const std::string& content, json extra = {}) {
  return FakeApi([=](const std::string& action, const json& p) -> Expected<json> {
    REQUIRE(action == "DescribeInvocationTaskOutput");
    const auto offset = p.at("Offset").get<std::size_t>();
    const auto limit = p.at("Limit").get<std::size_t>();
    const std::string bytes = offset < content.size() ? content.substr(offset, limit) : "";
    json r{{"InvocationTaskId", p.at("InvocationTaskId")},
           {"TaskStatus", "SUCCESS"},
           {"Source", source},
           {"Size", content.size()},
           {"Offset", offset},
           {"Output", base64_encode(bytes)},
           {"HasMore", offset + bytes.size() < content.size()},
           {"OutputUrl", ""},
           {"DownloadUrl", ""},
           {"ExpiresIn", 0},
           {"Reason", ""}};
    for (const auto& [k, v] : extra.items()) {
      r[k] = v;
    }
    return r;
  });
}

struct OutputRun {
  CapturedConsole console;
  std::string written;
  std::vector<std::string> downloads;
  int sleeps = 0;
  Status sink_status;

  Expected<int> run(Api& api, OutputOptions options, const Downloader& download = {}) {
    OutputHooks hooks;
    hooks.download = download ? download : [this](const std::string& url, const ByteSink&) {
      downloads.push_back(url);
      return Status();
    };
    hooks.sleep = [this](std::chrono::milliseconds) { ++sleeps; };
    const ByteSink sink = [this](std::string_view bytes) {
      written.append(bytes);
      return sink_status;
    };
    return output_command(api, options, sink, console.console, hooks);
  }
};

OutputOptions output_options_for(std::int64_t page_bytes = 1024 * 1024) {
  OutputOptions o;
  o.task_id = "invt-0a1b2c3d";
  o.page_bytes = page_bytes;
  return o;
}

std::string numbers(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += std::to_string(i) + "\n";
  }
  return s;
}

}  // namespace

TEST_CASE("ferry output: SERVER and RESULT outputs are read page by page, byte for byte",
          "[cli][output]") {
  const std::string content = numbers(1000) + std::string("\0\xff binary\r\n", 11);
  for (const char* source : {"SERVER", "RESULT"}) {
    INFO(source);
    auto api = paging_api(source, content);
    OutputRun r;
    auto code = r.run(api, output_options_for(1000));
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(r.written == content);
    CHECK(r.console.err.str().empty());
    CHECK(r.console.out.str().empty());
    // ceil(size / 1000) pages, each from where the last ended.
    REQUIRE(api.calls.size() == (content.size() + 999) / 1000);
    for (std::size_t i = 0; i < api.calls.size(); ++i) {
      CHECK(api.calls[i].second.at("InvocationTaskId") == "invt-0a1b2c3d");
      CHECK(api.calls[i].second.at("Offset") == i * 1000);
      CHECK(api.calls[i].second.at("Limit") == 1000);
    }
  }
  SECTION("an empty output") {
    auto api = paging_api("RESULT", "");
    OutputRun r;
    CHECK(*r.run(api, output_options_for()) == 0);
    CHECK(r.written.empty());
    CHECK(api.calls.size() == 1);
  }
}

TEST_CASE("ferry output: an EXCERPT is printed, with the reason on stderr and exit code 3",
          "[cli][output]") {
  auto api = paging_api("EXCERPT", "head...tail",
                        {{"Size", 5011}, {"Reason", "the task has not finished"}});
  OutputRun r;
  auto code = r.run(api, output_options_for());
  REQUIRE(code);
  CHECK(*code == kExitExcerptOnly);
  CHECK(r.written == "head...tail");
  CHECK(r.console.err.str() ==
        "ferry: only an excerpt of the output of invt-0a1b2c3d is known: the task has not "
        "finished (5000 bytes in the middle are missing)\n");

  SECTION("size unknown") {
    auto running = paging_api("EXCERPT", "live", {{"Size", -1}, {"Reason", "why"}});
    OutputRun r2;
    CHECK(*r2.run(running, output_options_for()) == kExitExcerptOnly);
    CHECK(r2.console.err.str() ==
          "ferry: only an excerpt of the output of invt-0a1b2c3d is known: why\n");
  }
}

TEST_CASE("ferry output: COS outputs are downloaded from DownloadUrl", "[cli][output]") {
  const std::string url = "https://bucket.example/out/x.log?X-Amz-Signature=secret";
  SECTION("streamed into the sink") {
    auto api = paging_api("COS", "", {{"DownloadUrl", url}, {"ExpiresIn", 600}});
    OutputRun r;
    auto code = r.run(api, output_options_for(), [&](const std::string& u, const ByteSink& sink) {
      r.downloads.push_back(u);
      for (int i = 0; i < 3; ++i) {
        if (auto s = sink("piece" + std::to_string(i) + "\n"); !s) {
          return s;
        }
      }
      return Status();
    });
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(r.downloads == std::vector<std::string>{url});
    CHECK(r.written == "piece0\npiece1\npiece2\n");
    CHECK(api.calls.size() == 1);
  }
  SECTION("no DownloadUrl: a clear error, with the server's reason") {
    auto api = paging_api("COS", "",
                          {{"OutputUrl", "https://bucket.example/out/x.log"},
                           {"Reason", "no credentials for the bucket"}});
    OutputRun r;
    auto code = r.run(api, output_options_for());
    REQUIRE_FALSE(code);
    CHECK(code.error().message ==
          "the output of invt-0a1b2c3d is in its bucket (https://bucket.example/out/x.log), but "
          "the server gave no URL to download it: no credentials for the bucket");
    CHECK(r.downloads.empty());
  }
  SECTION("a failed download says so") {
    auto api = paging_api("COS", "", {{"DownloadUrl", url}});
    OutputRun r;
    auto code = r.run(api, output_options_for(), [](const std::string&, const ByteSink&) {
      return Status(Error{"", "bucket.example: HTTP 403 AccessDenied"});
    });
    REQUIRE_FALSE(code);
    CHECK(code.error().message ==
          "downloading the output of invt-0a1b2c3d from its bucket: bucket.example: HTTP 403 "
          "AccessDenied");
  }
}

TEST_CASE("ferry output: failures", "[cli][output]") {
  SECTION("the API's error") {
    auto api = failing("ResourceNotFound.InvocationTaskNotFound", "no such task");
    OutputRun r;
    auto code = r.run(api, output_options_for());
    REQUIRE_FALSE(code);
    CHECK(code.error().code == "ResourceNotFound.InvocationTaskNotFound");
  }
  SECTION("the source changes between pages") {
    int calls = 0;
    FakeApi api([&](const std::string&, const json& p) -> Expected<json> {
      ++calls;
      return json{{"Source", calls == 1 ? "SERVER" : "EXCERPT"},
                  {"Output", base64_encode("abcd")},
                  {"HasMore", true},
                  {"Offset", p.at("Offset")},
                  {"Size", 100}};
    });
    OutputRun r;
    auto code = r.run(api, output_options_for(4));
    REQUIRE_FALSE(code);
    CHECK(code.error().message.find("changed while it was read (SERVER, now EXCERPT)") !=
          std::string::npos);
    CHECK(calls == 2);
  }
  SECTION("more announced, nothing sent: no endless loop") {
    auto api = answering({{"Source", "SERVER"}, {"Output", ""}, {"HasMore", true}});
    OutputRun r;
    auto code = r.run(api, output_options_for());
    REQUIRE_FALSE(code);
    CHECK(code.error().message.find("sent none") != std::string::npos);
    CHECK(api.calls.size() == 1);
  }
  SECTION("an unknown source, or an Output that is not base64") {
    auto unknown = answering({{"Source", "TAPE"}, {"Output", ""}});
    OutputRun r;
    CHECK_FALSE(r.run(unknown, output_options_for()));
    auto bad = answering({{"Source", "RESULT"}, {"Output", "!!"}});
    auto code = r.run(bad, output_options_for());
    REQUIRE_FALSE(code);
    CHECK(code.error().message.find("not base64") != std::string::npos);
  }
  SECTION("the sink fails") {
    auto api = paging_api("RESULT", "some output", {});
    OutputRun r;
    r.sink_status = Error{"", "writing to stdout failed"};
    auto code = r.run(api, output_options_for());
    REQUIRE_FALSE(code);
    CHECK(code.error().message == "writing to stdout failed");
  }
}

TEST_CASE("ferry output: RequestLimitExceeded is waited out, for a while", "[cli][output]") {
  SECTION("then the page comes") {
    int refusals = 3;
    auto inner = paging_api("SERVER", "0123456789");
    FakeApi api([&](const std::string& action, const json& p) -> Expected<json> {
      if (refusals-- > 0) {
        return Error{"RequestLimitExceeded", "slow down"};
      }
      return inner.call(action, p);
    });
    OutputRun r;
    auto code = r.run(api, output_options_for(4));
    REQUIRE(code);
    CHECK(r.written == "0123456789");
    CHECK(r.sleeps == 3);
  }
  SECTION("not for ever") {
    auto api = failing("RequestLimitExceeded", "slow down");
    OutputRun r;
    auto code = r.run(api, output_options_for());
    REQUIRE_FALSE(code);
    CHECK(code.error().code == "RequestLimitExceeded");
    CHECK(r.sleeps == 50);
    CHECK(api.calls.size() == 51);
  }
}

TEST_CASE("ferry output --json prints the first reply", "[cli][output]") {
  auto api = paging_api("RESULT", "hello");
  OutputRun r;
  auto options = output_options_for();
  options.json = true;
  CHECK(*r.run(api, options) == 0);
  CHECK(r.written.empty());
  const auto printed = json::parse(r.console.out.str());
  CHECK(printed["Source"] == "RESULT");
  CHECK(printed["Output"] == base64_encode("hello"));
}

TEST_CASE("ferry output -o FILE: 0600, put in place whole", "[cli][output]") {
  ferry::test::TempDir dir("ferry-cli-output");
  const fs::path file = dir.path() / "out.log";
  const auto mode_of = [](const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
  };
  const auto read = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const auto entries = [&] {
    return std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator());
  };

  SECTION("a new file") {
    auto out = OutputFile::create(file.string());
    REQUIRE(out);
    REQUIRE(out->write("first "));
    REQUIRE(out->write("second"));
    // Not there until closed.
    CHECK_FALSE(fs::exists(file));
    REQUIRE(out->close());
    CHECK(read(file) == "first second");
    CHECK(mode_of(file) == 0600);
    CHECK(entries() == 1);
  }
  SECTION("an existing file others could read is replaced, 0600") {
    std::ofstream(file) << "old content that is longer";
    ::chmod(file.c_str(), 0644);
    auto out = OutputFile::create(file.string());
    REQUIRE(out);
    REQUIRE(out->write("new"));
    REQUIRE(out->close());
    CHECK(read(file) == "new");
    CHECK(mode_of(file) == 0600);
  }
  SECTION("a failure leaves the file as it was, and no temporary file") {
    std::ofstream(file) << "before";
    {
      auto out = OutputFile::create(file.string());
      REQUIRE(out);
      REQUIRE(out->write("half of it"));
    }
    CHECK(read(file) == "before");
    CHECK(entries() == 1);
  }
  SECTION("a device is written in place") {
    auto out = OutputFile::create("/dev/null");
    REQUIRE(out);
    REQUIRE(out->write("gone"));
    REQUIRE(out->close());
    CHECK(fs::is_character_file("/dev/null"));
  }
  SECTION("a directory that does not exist") {
    auto out = OutputFile::create((dir.path() / "no" / "out.log").string());
    REQUIRE_FALSE(out);
    CHECK(out.error().message.find("out.log") != std::string::npos);
  }
}
