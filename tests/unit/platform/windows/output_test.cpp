// windows/output.hpp: the OEM code page's decoding, line by line, and the spool's cap and tail.
#include "windows/output.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "windows_test_support.hpp"

using namespace ferry::platform::win32;

namespace {

constexpr UINT kCp437 = 437;  // the US OEM code page: 0x82 is 'é', 0xB0 a shade block

std::string decode(const std::vector<std::string>& reads, UINT code_page = kCp437) {
  OutputDecoder decoder(code_page);
  std::string out;
  for (const auto& r : reads) {
    decoder.feed(r, out);
  }
  decoder.finish(out);
  return out;
}

}  // namespace

TEST_CASE("windows output: UTF-8 validity", "[platform][output]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain\r\n"));
  CHECK(is_valid_utf8("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"));
  CHECK_FALSE(is_valid_utf8("caf\x82"));           // a lone continuation byte
  CHECK_FALSE(is_valid_utf8("\xC3"));              // cut short
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // a surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

TEST_CASE("windows output: lines that are not UTF-8 are read in the OEM code page",
          "[platform][output]") {
  CHECK(decode({"caf\x82\r\n"}) == "caf\xC3\xA9\r\n");
  // UTF-8 lines stay as they are, each line decided on its own.
  CHECK(decode({"caf\xC3\xA9\r\ncaf\x82\r\n"}) == "caf\xC3\xA9\r\ncaf\xC3\xA9\r\n");
  // A UTF-8 character split between two reads is not taken for OEM bytes.
  CHECK(decode({"caf\xC3", "\xA9\r\n"}) == "caf\xC3\xA9\r\n");
  // The output's end without a line break.
  CHECK(decode({"end\x82"}) == "end\xC3\xA9");
}

TEST_CASE("windows output: a complete line goes at once, the rest waits for its end",
          "[platform][output]") {
  OutputDecoder decoder(kCp437);
  std::string out;
  decoder.feed("one\r\ntw", out);
  CHECK(out == "one\r\n");
  decoder.feed("o\r\n", out);
  CHECK(out == "one\r\ntwo\r\n");
}

TEST_CASE("windows output: a line longer than the most held back goes in parts",
          "[platform][output]") {
  OutputDecoder decoder(kCp437);
  std::string out;
  // Ends with the first byte of a UTF-8 'é', which must not be cut from its second.
  const std::string long_line = std::string(OutputDecoder::kMaxHeldLine - 1, 'x') + "\xC3";
  decoder.feed(long_line, out);
  CHECK(out == std::string(OutputDecoder::kMaxHeldLine - 1, 'x'));
  decoder.feed("\xA9\n", out);
  CHECK(out.ends_with("x\xC3\xA9\n"));
}

TEST_CASE("windows output: the spool keeps its cap and the tail past it", "[platform][output]") {
  const ferry::test::WindowsTempDir dir("ferry-output");
  const auto path = dir / "spool";
  {
    const UniqueHandle spool(::CreateFileW(path.c_str(), GENERIC_WRITE, FILE_SHARE_READ, nullptr,
                                           CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
    REQUIRE(spool.valid());
    SpoolWriter writer(spool.get(), 10, 4);
    writer.write("0123456");
    writer.write("789abcdef");
    writer.write("gh");
    CHECK(writer.bytes() == 18);
    CHECK(writer.spooled() == 10);
    CHECK(writer.tail() == "efgh");
    CHECK(writer.write_error() == 0);
  }
  CHECK(ferry::test::file_bytes(path) == "0123456789");

  const auto all = dir / "all";
  const UniqueHandle spool(::CreateFileW(all.c_str(), GENERIC_WRITE, FILE_SHARE_READ, nullptr,
                                         CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
  SpoolWriter uncapped(spool.get(), 0, 4);
  uncapped.write("0123456789");
  CHECK(uncapped.spooled() == 10);
  CHECK(uncapped.tail().empty());
}
