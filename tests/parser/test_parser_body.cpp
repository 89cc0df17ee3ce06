// Body text: text/plain preferred, HTML made readable, format=flowed joined, transfer
// encodings decoded tolerantly.
#include <catch2/catch.hpp>

#include "parser/internal.h"
#include "parser/parse.h"

using sd::parser::html_to_text;
using sd::parser::parse;
namespace detail = sd::parser::detail;

TEST_CASE("multipart/alternative shows the text/plain alternative", "[parser][body]") {
  const auto m = parse(
      "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
      "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML version</p>\r\n"
      "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain version\r\n"
      "--alt--\r\n");
  CHECK(m.body_text == "Plain version");  // the CRLF before a boundary belongs to it
  CHECK(m.attachments.empty());
}

TEST_CASE("HTML-only mail becomes readable text", "[parser][body]") {
  const auto m = parse(
      "Content-Type: text/html; charset=utf-8\r\n\r\n"
      "<html><head><style>p {color:red}</style><title>T</title></head><body>"
      "<p>Hello&nbsp;team,</p><p>The VPN is <b>down</b> &amp; printers too.<br>Line two</p>"
      "<script>alert(1)</script><ul><li>one</li><li>two</li></ul>"
      "<div>Caf&eacute; &#8364;5 &lt;ok&gt;</div></body></html>\r\n");
  CHECK(m.body_text ==
        "Hello team,\n\nThe VPN is down & printers too.\nLine two\n\n- one\n- two\n\n"
        "Caf\xC3\xA9 \xE2\x82\xAC" "5 <ok>\n");
}

TEST_CASE("html_to_text survives tag soup and keeps <pre> as written", "[parser][body]") {
  CHECK(html_to_text("<p>unclosed <b>bold <i>both</p>after") == "unclosed bold both\n\nafter\n");
  CHECK(html_to_text("<pre>a  b\n  c</pre>") == "a  b\n  c\n");
  CHECK(html_to_text("").empty());
  CHECK(html_to_text("<style>only style</style>").empty());
}

TEST_CASE("format=flowed lines are joined, DelSp removes the flowing space", "[parser][body]") {
  const auto m = parse(
      "Content-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n"
      "This is a long \r\nparagraph that \r\nflows.\r\n\r\n> quoted \r\n> more\r\n-- \r\nSig\r\n");
  CHECK(m.body_text == "This is a long paragraph that flows.\n\n> quoted more\n-- \nSig\n");
  const auto d = parse(
      "Content-Type: text/plain; format=flowed; delsp=yes\r\n\r\nabc \r\ndef\r\n");
  CHECK(d.body_text == "abcdef\n");
  const auto fixed = parse("Content-Type: text/plain\r\n\r\nabc \r\ndef\r\n");
  CHECK(fixed.body_text == "abc \ndef\n");
}

TEST_CASE("Quoted-printable is decoded, bare '=' kept", "[parser][body]") {
  CHECK(detail::decode_quoted_printable("caf=C3=A9 =\r\nsoft=\nbreak =XY end=") ==
        "caf\xC3\xA9 softbreak =XY end");
  CHECK(detail::decode_quoted_printable("trailing   \r\nspace") == "trailing\r\nspace");
  const auto m = parse(
      "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
      "K=F6p 5 =3D 5\r\n");
  CHECK(m.body_text == "K\xC3\xB6p 5 = 5\n");
}

TEST_CASE("Base64 is decoded tolerant of garbage and missing padding", "[parser][body]") {
  detail::DecodeStats stats;
  CHECK(detail::decode_base64("SGVq\r\nIGTD pHIh", &stats) == "Hej d\xC3\xA4r!");
  CHECK(stats.skipped == 0);
  CHECK(detail::decode_base64("SGVqIQ", &stats) == "Hej!");  // no padding
  CHECK(detail::decode_base64("SG*V%q", &stats) == "Hej");
  CHECK(stats.skipped == 2);
  CHECK(detail::decode_base64("SGVqIQ== trailing junk") == "Hej!");
  const auto m = parse("Content-Transfer-Encoding: base64\r\n\r\nSGVq!!IQ==\r\n");
  CHECK(m.body_text == "Hej!");
  CHECK_FALSE(m.problems.empty());
}

TEST_CASE("multipart/related shows its HTML root, and lists the images", "[parser][body]") {
  const auto m = parse(
      "Content-Type: multipart/related; boundary=rel\r\n\r\n"
      "--rel\r\nContent-Type: text/html\r\n\r\n<p>See <img src=\"cid:logo\"> here</p>\r\n"
      "--rel\r\nContent-Type: image/png\r\nContent-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "iVBORw0KGgo=\r\n--rel--\r\n");
  CHECK(m.body_text == "See here\n");
  REQUIRE(m.attachments.size() == 1);
  CHECK(m.attachments[0].content_id == "logo");
  CHECK(m.attachments[0].is_inline);
  CHECK(m.attachments[0].size == 8);
}

TEST_CASE("A mail without MIME headers is plain text and several inline parts are joined", "[parser][body]") {
  CHECK(parse("Subject: x\n\nline one\nline two\n").body_text == "line one\nline two\n");
  const auto m = parse(
      "Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b\r\n\r\nfirst\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--b--\r\nepilogue\r\n");
  CHECK(m.body_text == "first\n\nsecond");
}
