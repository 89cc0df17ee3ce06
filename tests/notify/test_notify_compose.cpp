// tests/notify/test_notify_compose.cpp: the composed wire form of ordinary mails (headers,
// encoded words, quoted-printable, threading); hostile input is in test_notify_hostile.cpp.
#include <catch2/catch.hpp>

#include "notify/compose.h"

#include <sstream>

using namespace sd::notify;

namespace {
Draft sample() {
  Draft d;
  d.from = {"Exempel Servicedesk", "servicedesk@example.com"};
  d.to = {{"Åsa Öberg", "asa@kund.se"}};
  d.subject = "[SD-7] Skrivaren på våning 3 fungerar inte – igen";
  d.body_text = "Hej Åsa,\n\nÄrendet är registrerat som SD-7.\n.\nFrom here on a line that is long enough to be "
                "wrapped by quoted-printable soft line breaks because it goes on and on.\n";
  d.in_reply_to = "abc@kund.se";
  d.references = {"root@kund.se", "abc@kund.se"};
  d.auto_submitted = "auto-replied";
  d.date = 1795328400;  // 2026-11-22T06:20:00Z
  d.message_id_domain = "example.com";
  return d;
}
}  // namespace

TEST_CASE("A composed mail is 7-bit with CRLF lines no longer than 78 characters") {
  auto c = compose(sample());
  for (unsigned char ch : c.bytes) REQUIRE(ch < 0x80);
  std::size_t start = 0;
  while (start < c.bytes.size()) {
    auto end = c.bytes.find("\r\n", start);
    REQUIRE(end != std::string::npos);  // every line ends in CRLF, the last one too
    CHECK(end - start <= 78);
    CHECK(c.bytes.substr(start, end - start).find('\n') == std::string::npos);
    start = end + 2;
  }
}

TEST_CASE("A composed acknowledgement carries the threading and RFC 3834 headers") {
  auto c = compose(sample());
  CHECK(c.message_id.find("@example.com") != std::string::npos);
  CHECK(c.bytes.find("Message-ID: <" + c.message_id + ">\r\n") != std::string::npos);
  CHECK(c.bytes.find("In-Reply-To: <abc@kund.se>\r\n") != std::string::npos);
  CHECK(c.bytes.find("References: <root@kund.se> <abc@kund.se>\r\n") != std::string::npos);
  CHECK(c.bytes.find("Auto-Submitted: auto-replied\r\n") != std::string::npos);
  CHECK(c.bytes.find("Content-Transfer-Encoding: quoted-printable\r\n") != std::string::npos);
  CHECK(c.bytes.find("Date: Sun, 22 Nov 2026 06:20:00 +0000\r\n") != std::string::npos);
}

TEST_CASE("Two composed mails get different Message-IDs") {
  CHECK(compose(sample()).message_id != compose(sample()).message_id);
}

TEST_CASE("Non-ASCII header text becomes UTF-8 encoded words that never split a character") {
  std::string enc = encode_header_text("Skrivaren på våning 3 fungerar inte – igen, och den är ännu trasig ÅÄÖ");
  CHECK(enc.rfind("=?UTF-8?B?", 0) == 0);
  std::istringstream words(enc);
  std::string w;
  while (words >> w) {
    CHECK(w.size() <= 75);
    CHECK(w.rfind("=?UTF-8?B?", 0) == 0);
  }
  CHECK(encode_header_text("Plain subject") == "Plain subject");
  CHECK(encode_header_text("Looks like =?an?Q?encoded?= word").rfind("=?UTF-8?B?", 0) == 0);
}

TEST_CASE("A line break in a header value cannot inject another header") {
  auto d = sample();
  d.subject = "Hello\r\nBcc: victim@example.com";
  auto c = compose(d);
  CHECK(c.bytes.find("\r\nBcc:") == std::string::npos);
}

TEST_CASE("Display names are quoted or encoded") {
  CHECK(format_mailbox({"", "a@b.c"}) == "<a@b.c>");
  CHECK(format_mailbox({"Doe, John \"JD\"", "a@b.c"}) == "\"Doe, John \\\"JD\\\"\" <a@b.c>");
  CHECK(format_mailbox({"Åsa", "a@b.c"}) == "=?UTF-8?B?w4VzYQ==?= <a@b.c>");
}

TEST_CASE("Quoted-printable encodes what must be and keeps the rest readable") {
  CHECK(quoted_printable("Hej Åsa") == "Hej =C3=85sa");
  CHECK(quoted_printable("a = b") == "a =3D b");
  CHECK(quoted_printable("trailing \nnext") == "trailing=20\r\nnext");
  CHECK(quoted_printable(".\n") == "=2E\r\n");
  CHECK(quoted_printable("From me") == "=46rom me");
  std::string long_line(200, 'x');
  auto qp = quoted_printable(long_line);
  CHECK(qp.find("=\r\n") != std::string::npos);
  std::string joined;
  for (std::size_t i = 0; i < qp.size(); ++i) {
    if (qp.compare(i, 3, "=\r\n") == 0) {
      i += 2;
      continue;
    }
    joined += qp[i];
  }
  CHECK(joined == long_line);
}
