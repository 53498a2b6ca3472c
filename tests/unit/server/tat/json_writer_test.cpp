// The direct JSON writer of large replies against nlohmann's dump, which it must match byte for
// byte: strings (escapes, UTF-8 kept, invalid UTF-8 replaced), structure and numbers, the task
// of DescribeInvocationTasks against the nlohmann tree it replaced, and format_time's arithmetic
// against strftime.
#include "ferry/server/api/json_writer.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ferry/core/base64.hpp"
#include "ferry/core/output_excerpt.hpp"
#include "ferry/server/model.hpp"
#include "ferry/server/tat/tat_json.hpp"

using namespace ferry::server;
using nlohmann::json;

namespace {

std::string reference_dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string hex(const std::string& s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0F]);
  }
  return out;
}

std::string written(const std::string& s) {
  std::string out;
  JsonWriter::append_string(out, s);
  return out;
}

// The nlohmann tree DescribeInvocationTasks built for a task before the writer replaced it.
json reference_task(const InvocationTask& t, const std::optional<std::string>& live_log) {
  std::string output = t.output;
  uint64_t dropped = t.dropped;
  if (live_log) {
    const auto excerpt = ferry::make_output_excerpt(*live_log, *live_log, live_log->size());
    output = ferry::base64_encode(excerpt.bytes);
    dropped = excerpt.dropped;
  }
  // The model's types: ExitCode a number (0 until there is one), unknown times null.
  const json exit_code = t.exit_code.value_or(0);
  return json{{"InvocationId", t.invocation_id},
              {"InvocationTaskId", t.invocation_task_id},
              {"CommandId", t.command_id},
              {"TaskStatus", std::string(to_string(t.status))},
              {"InstanceId", t.instance_id},
              {"TaskResult",
               {{"ExitCode", exit_code},
                {"Output", std::move(output)},
                {"ExecStartTime", nullable_time(t.exec_start_ms)},
                {"ExecEndTime", nullable_time(t.exec_end_ms)},
                {"Dropped", dropped},
                {"OutputUrl", t.output_url},
                {"OutputUploadCOSErrorInfo", t.output_upload_error}}},
              {"StartTime", nullable_time(t.start_ms)},
              {"EndTime", nullable_time(t.end_ms)},
              {"CreatedTime", format_time(t.created_ms)},
              {"UpdatedTime", format_time(t.updated_ms)},
              {"CommandDocument",
               {{"Content", t.document.content},
                {"CommandType", t.document.command_type},
                {"Timeout", t.document.timeout},
                {"WorkingDirectory", t.document.working_directory},
                {"Username", t.document.username},
                {"OutputCOSBucketUrl", t.document.output_cos_bucket_url},
                {"OutputCOSKeyPrefix", t.document.output_cos_key_prefix}}},
              {"ErrorInfo", t.error_info},
              {"InvocationSource", t.invocation_source},
              {"CommandName", t.command_name}};
}

std::string written_task(const InvocationTask& t, const std::optional<std::string>& live_log) {
  std::string out;
  JsonWriter w(out);
  ferry::server::write_invocation_task(w, t, live_log);
  return out;
}

// format_time as it was: gmtime_r and strftime.
std::string reference_time(int64_t ms) {
  if (ms == 0) {
    return "";
  }
  const std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buf;
}

}  // namespace

TEST_CASE("JsonWriter strings are escaped exactly as nlohmann's dump escapes them",
          "[json_writer]") {
  std::vector<std::string> cases = {
      "",
      "plain ASCII, base64 too: ZWNobyBoZWxsbw==",
      "quote \" and backslash \\ and slash /",
      "\b\t\n\f\r",
      "DEL \x7f end",
      "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80",  // 2-, 3- and 4-byte UTF-8
      "\x80",                                                   // a lone continuation byte
      "ab\xc3",                                                 // truncated at the end
      "\xc3(",                                                  // a bad continuation
      "\xc0\x80",                                               // overlong NUL
      "\xed\xa0\x80",                                           // a UTF-16 surrogate
      "\xf4\x90\x80\x80",                                       // above U+10FFFF
      "\xf5\xff\xfe",
      "\xe2\x82",  // truncated 3-byte sequence
      "mixed \x01 \xe2\x82\xac \xff \" \\ \x1f",
  };
  cases.emplace_back(std::string("nul \0 inside", 12));
  for (int c = 0; c < 256; ++c) {
    cases.emplace_back(1, static_cast<char>(c));
    cases.push_back("0123456789abcdef" + std::string(1, static_cast<char>(c)) + "xyz");
  }
  // A special byte at every position of the eight-byte words and of the tail.
  for (const char special : {'"', '\\', '\n', '\x7f', '\x80', '\x00', '\x1f', '\xff'}) {
    for (std::size_t len = 1; len <= 41; ++len) {
      for (std::size_t at = 0; at < len; ++at) {
        std::string s(len, 'a');
        s[at] = special;
        cases.push_back(s);
      }
    }
  }
  for (const auto& s : cases) {
    INFO("string (hex): " << hex(s));
    CHECK(written(s) == reference_dump(json(s)));
  }
}

TEST_CASE("JsonWriter strings: random bytes match nlohmann's dump", "[json_writer]") {
  std::mt19937 rng(20261204);
  // Mostly printable ASCII with some of every kind of special byte, so that both paths and the
  // UTF-8 decoder's states are reached.
  const std::string alphabet =
      "abcXYZ019+/=  \"\\\x01\x08\x09\x0a\x0c\x0d\x1f\x7f\x80\xbf\xc2\xc3\xdf\xe0\xe2\xed\xef"
      "\xf0\xf4\xf5\xff";
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<std::size_t> length(0, 40);
  for (int i = 0; i < 20000; ++i) {
    std::string s(length(rng), ' ');
    for (auto& c : s) {
      c = alphabet[pick(rng)];
    }
    INFO("string (hex): " << hex(s));
    REQUIRE(written(s) == reference_dump(json(s)));
  }
}

TEST_CASE("JsonWriter structure and numbers match nlohmann's dump", "[json_writer]") {
  std::string out = "prefix:";
  JsonWriter w(out);
  w.begin_object();
  w.key("a");
  w.begin_array();
  w.end_array();
  w.key("b");
  w.begin_object();
  w.end_object();
  w.key("c");
  w.begin_array();
  w.integer(std::numeric_limits<int64_t>::min());
  w.integer(-1);
  w.integer(0);
  w.integer(std::numeric_limits<int64_t>::max());
  w.unsigned_integer(std::numeric_limits<uint64_t>::max());
  w.null();
  w.boolean(true);
  w.boolean(false);
  w.string("s");
  w.begin_object();
  w.field("x", int64_t{1});
  w.field("y", "two");
  w.end_object();
  w.begin_array();
  w.begin_array();
  w.end_array();
  w.end_array();
  w.raw(R"({"r":[1,2]})");
  w.end_array();
  w.field("d", std::string("\xff"));
  w.end_object();

  const json expected{
      {"a", json::array()},
      {"b", json::object()},
      {"c",
       {std::numeric_limits<int64_t>::min(), -1, 0, std::numeric_limits<int64_t>::max(),
        std::numeric_limits<uint64_t>::max(), nullptr, true, false, "s",
        json{{"x", 1}, {"y", "two"}}, json::array({json::array()}), json{{"r", {1, 2}}}}},
      {"d", "\xff"}};
  CHECK(out == "prefix:" + reference_dump(expected));
}

TEST_CASE("write_invocation_task matches the nlohmann tree it replaced",
          "[json_writer][describe]") {
  InvocationTask t;
  t.invocation_task_id = "invt-12345678";
  t.invocation_id = "inv-12345678";
  t.command_id = "cmd-12345678";
  t.instance_id = "rins-12345678";
  t.status = ferry::TaskStatus::kSuccess;
  t.document.content = ferry::base64_encode("echo hi");
  t.output = ferry::base64_encode(std::string(1024, 'o'));
  t.created_ms = 1'700'000'000'123;
  t.updated_ms = 1'700'000'100'000;

  SECTION("a plain finished task, with and without times and an exit code") {
    CHECK(written_task(t, std::nullopt) == reference_dump(reference_task(t, std::nullopt)));
    t.exit_code = 0;
    t.start_ms = 1'700'000'001'000;
    t.end_ms = 1'700'000'002'999;
    t.exec_start_ms = 1'700'000'001'500;
    t.exec_end_ms = 1'700'000'002'500;
    t.dropped = std::numeric_limits<uint64_t>::max();
    CHECK(written_task(t, std::nullopt) == reference_dump(reference_task(t, std::nullopt)));
    t.exit_code = -9;
    CHECK(written_task(t, std::nullopt) == reference_dump(reference_task(t, std::nullopt)));
  }
  SECTION("user text with escapes, other scripts and invalid UTF-8 in every string field") {
    const std::string nasty = "n\"a\\s\nt\ty \x01 \xe4\xb8\xad \xff\xc3 end";
    t.command_name = nasty;
    t.error_info = nasty;
    t.output_url = nasty;
    t.output_upload_error = nasty;
    t.invocation_source = nasty;
    t.document.command_type = nasty;
    t.document.working_directory = nasty;
    t.document.username = nasty;
    t.document.output_cos_bucket_url = nasty;
    t.document.output_cos_key_prefix = nasty;
    t.document.timeout = 86400;
    CHECK(written_task(t, std::nullopt) == reference_dump(reference_task(t, std::nullopt)));
  }
  SECTION("a running task shows its live output") {
    t.status = ferry::TaskStatus::kRunning;
    t.output.clear();
    const std::string live = "line one\nline two \xff\n";
    CHECK(written_task(t, live) == reference_dump(reference_task(t, live)));
    const std::string big(100 * 1024, 'x');  // over the excerpt's size: Dropped counts the rest
    CHECK(written_task(t, big) == reference_dump(reference_task(t, big)));
  }
}

TEST_CASE("format_time's arithmetic matches gmtime_r and strftime", "[json_writer][time]") {
  std::vector<int64_t> times = {
      0,
      1,
      999,
      1000,
      -1,
      -1000,
      -86'400'001,
      951'782'400'000,      // 2000-02-29
      4'107'542'400'000,    // 2100-03-01
      1'709'164'800'000,    // 2024-02-29
      253'402'300'799'999,  // 9999-12-31T23:59:59.999, the last of the fast path
      253'402'300'800'000,  // year 10000
      std::numeric_limits<int32_t>::max() * int64_t{1000},
  };
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> any(1, 253'402'300'799'999);
  for (int i = 0; i < 100000; ++i) {
    times.push_back(any(rng));
  }
  // Every day boundary across a few leap cycles.
  for (int64_t day = 0; day < 366 * 9; ++day) {
    times.push_back(946'684'800'000 + day * 86'400'000);      // from 2000-01-01
    times.push_back(946'684'800'000 + day * 86'400'000 - 1);  // the millisecond before
    times.push_back(4'070'908'800'000 + day * 86'400'000);    // from 2099-01-01
  }
  for (const int64_t ms : times) {
    INFO("ms = " << ms);
    REQUIRE(format_time(ms) == reference_time(ms));
    ferry::server::TimeText buf;
    REQUIRE(format_time(ms, buf) == reference_time(ms));
  }
}
