#include "ferry/cli/table.hpp"

#include <catch2/catch.hpp>

using namespace ferry::cli;

TEST_CASE("tables: aligned columns on a terminal", "[cli][table]") {
  Table t;
  t.headers = {"ID", "STATUS", "EXIT"};
  t.rows = {{"invt-1", "SUCCESS", "0"}, {"invt-22222", "FAILED", "127"}};
  CHECK(render_table(t, TableStyle::kAligned) ==
        "ID          STATUS   EXIT\n"
        "invt-1      SUCCESS  0\n"
        "invt-22222  FAILED   127\n");
}

TEST_CASE("tables: tab-separated when not a terminal", "[cli][table]") {
  Table t;
  t.headers = {"ID", "STATUS"};
  t.rows = {{"a", "SUCCESS"}, {"b", ""}};
  CHECK(render_table(t, TableStyle::kTabs) == "ID\tSTATUS\na\tSUCCESS\nb\t\n");
}

TEST_CASE("tables: only the header when there are no rows", "[cli][table]") {
  Table t;
  t.headers = {"A", "B"};
  CHECK(render_table(t, TableStyle::kAligned) == "A  B\n");
  CHECK(render_table(t, TableStyle::kTabs) == "A\tB\n");
}

TEST_CASE("tables: multibyte text lines up by characters", "[cli][table]") {
  Table t;
  t.headers = {"NAME", "X"};
  t.rows = {{"\xc3\xa9t\xc3\xa9", "1"}, {"abcd", "2"}};  // "été": 3 columns, 5 bytes
  CHECK(render_table(t, TableStyle::kAligned) ==
        "NAME  X\n"
        "\xc3\xa9t\xc3\xa9   1\n"
        "abcd  2\n");
  CHECK(display_width("\xe2\x82\xac\xe2\x82\xac") == 2);
}

TEST_CASE("tables: a cell cannot break the line or drive the terminal", "[cli][table]") {
  CHECK(clean_cell("a\tb\nc\rd") == "a b c d");
  CHECK(clean_cell("\x1b[31mred") == "?[31mred");
  CHECK(clean_cell("\xc2\x9b"
                   "31m") == "?31m");  // C1 CSI
  CHECK(clean_cell("bad \xff byte") == "bad ? byte");
  CHECK(clean_cell("cut \xe2\x82") == "cut ??");
  CHECK(clean_cell("ok \xe2\x82\xac") == "ok \xe2\x82\xac");

  Table t;
  t.headers = {"A", "B"};
  t.rows = {{"x\ty", "z\n"}};
  CHECK(render_table(t, TableStyle::kTabs) == "A\tB\nx y\tz \n");
}

TEST_CASE("tables: long text is shortened on a character boundary", "[cli][table]") {
  CHECK(shorten("short", 10) == "short");
  CHECK(shorten("0123456789abc", 10) == "0123456...");
  CHECK(shorten("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 4) ==
        "\xe2\x82\xac...");
  CHECK(shorten("abcdef", 3) == "...");
}
