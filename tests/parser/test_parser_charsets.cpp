// Charsets: every label iconv knows, the aliases mail software writes, windows-1252 for
// latin-1 labels, the fallback for unknown labels, and always valid UTF-8 out.
#include <catch2/catch.hpp>

#include <string>

#include "parser/internal.h"
#include "parser/parse.h"

using sd::parser::parse;
using sd::parser::to_utf8;
using sd::parser::detail::is_valid_utf8;

TEST_CASE("Charsets that iconv knows are converted, with mail aliases", "[parser][charsets]") {
  struct Row {
    const char* label;
    std::string bytes;
    std::string utf8;
  };
  const Row rows[] = {
      {"ks_c_5601-1987", "\xBE\xC8\xB3\xE7\xC7\xCF\xBC\xBC\xBF\xE4",
       "\xEC\x95\x88\xEB\x85\x95\xED\x95\x98\xEC\x84\xB8\xEC\x9A\x94"},
      {"euc-kr", "\xBE\xC8\xB3\xE7", "\xEC\x95\x88\xEB\x85\x95"},
      {"KOI8-R", "\xF0\xD2\xC9\xD7\xC5\xD4", "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82"},
      {"ISO-2022-JP", "\x1B\x24\x42\x24\x33\x24\x73\x24\x4B\x24\x41\x24\x4F\x1B\x28\x42",
       "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF"},
      {"shift_jis", "\x82\xB1\x82\xF1\x82\xC9\x82\xBF\x82\xCD",
       "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1\xE3\x81\xAF"},
      {"gb2312", "\xC4\xE3\xBA\xC3", "\xE4\xBD\xA0\xE5\xA5\xBD"},
      {"iso-8859-7", "\xD9\xEC\xDD\xE3\xE1", "\xCE\xA9\xCE\xBC\xCE\xAD\xCE\xB3\xCE\xB1"},
      {"\"iso-8859-2\"", "\xBE\x6C\x75\xBB", "\xC5\xBE\x6C\x75\xC5\xA5"},
      {"utf-16le", std::string("\x47\x00\xFC\x00\xAC\x20", 6), "G\xC3\xBC\xE2\x82\xAC"},
      {"utf8", "\xC3\xA5", "\xC3\xA5"},
      {"UTF-8", "\xC3\xA5", "\xC3\xA5"},
  };
  for (const Row& r : rows) {
    INFO(r.label);
    CHECK(to_utf8(r.bytes, r.label) == r.utf8);
  }
}

TEST_CASE("ISO-8859-1, latin1 and cp1252 are read as windows-1252, as mail clients do", "[parser][charsets]") {
  // 0x93/0x94 are curly quotes in windows-1252, C1 controls in strict ISO-8859-1; 0x80 is €.
  for (const char* label : {"iso-8859-1", "ISO_8859-1", "latin1", "cp1252", "windows-1252"}) {
    INFO(label);
    CHECK(to_utf8("\x93K\xF6p\x94 \x80", label) == "\xE2\x80\x9CK\xC3\xB6p\xE2\x80\x9D \xE2\x82\xAC");
  }
}

TEST_CASE("An unknown or missing charset is UTF-8 if valid, else windows-1252", "[parser][charsets]") {
  CHECK(to_utf8("caf\xC3\xA9", "x-unheard-of") == "caf\xC3\xA9");
  CHECK(to_utf8("caf\xE9", "x-unheard-of") == "caf\xC3\xA9");
  CHECK(to_utf8("caf\xE9", "") == "caf\xC3\xA9");
  CHECK(to_utf8("caf\xC3\xA9", "us-ascii") == "caf\xC3\xA9");  // 8-bit "us-ascii" is UTF-8 in practice
  // Labels that could reach iconv as options or are absurdly long are not charset names.
  CHECK(to_utf8("caf\xE9", "UTF-8//IGNORE") == "caf\xC3\xA9");
  CHECK(to_utf8("ok", std::string(1 << 20, 'x')) == "ok");
}

TEST_CASE("Invalid sequences in a declared charset become U+FFFD, output is valid UTF-8", "[parser][charsets]") {
  CHECK(to_utf8("a\xFF" "b", "utf-8") == "a\xEF\xBF\xBD" "b");
  CHECK(to_utf8("a\xED\xA0\x80" "b", "utf-8") == "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "b");  // surrogate
  CHECK(to_utf8(std::string("a\0b", 3), "utf-8") == "a\xEF\xBF\xBD" "b");
  const std::string bad_sjis = "\x82\xB1\x82";  // cut in the middle of a character
  const std::string out = to_utf8(bad_sjis, "shift_jis");
  CHECK(is_valid_utf8(out));
  CHECK(out.rfind("\xE3\x81\x93", 0) == 0);
  CHECK(out.find("\xEF\xBF\xBD") != std::string::npos);
}

TEST_CASE("A body in a declared charset is decoded and never dropped", "[parser][charsets]") {
  const auto m = parse(
      "Content-Type: text/plain; charset=ks_c_5601-1987\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nvsiz58fPvLy/5A==\r\n");
  CHECK(m.body_text == "\xEC\x95\x88\xEB\x85\x95\xED\x95\x98\xEC\x84\xB8\xEC\x9A\x94");
  const auto unknown = parse("Content-Type: text/plain; charset=klingon\r\n\r\nQapla\xE9\r\n");
  CHECK(unknown.body_text == "Qapla\xC3\xA9\n");
  CHECK_FALSE(unknown.problems.empty());
}
