// Header fields: RFC 2047 encoded words, raw UTF-8, RFC 2231 parameters, addresses,
// msg-ids and dates.
#include <catch2/catch.hpp>

#include "parser/internal.h"
#include "parser/parse.h"

using sd::parser::decode_header_words;
using sd::parser::parse;
namespace detail = sd::parser::detail;

TEST_CASE("An encoded-word subject is decoded, B and Q forms alike", "[parser][headers]") {
  CHECK(decode_header_words("=?UTF-8?B?SGVqIGTDpHIh?=") == "Hej d\xC3\xA4r!");
  CHECK(decode_header_words("=?iso-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=") == "Gr\xC3\xBC\xC3\x9F" "e aus K\xC3\xB6ln");
  const auto m = parse("Subject: =?utf-8?q?Printer_on_floor_3_is_=E2=80=9Cbroken=E2=80=9D?=\r\n\r\nbody\r\n");
  CHECK(m.subject == "Printer on floor 3 is \xE2\x80\x9C" "broken\xE2\x80\x9D");
}

TEST_CASE("Adjacent encoded words are joined without the white space between them", "[parser][headers]") {
  CHECK(decode_header_words("=?UTF-8?Q?Hello_?= =?UTF-8?Q?world?=") == "Hello world");
  CHECK(decode_header_words("=?UTF-8?Q?a?=\r\n\t=?UTF-8?Q?b?=") == "ab");
  // White space between an encoded word and plain text stays.
  CHECK(decode_header_words("=?UTF-8?Q?Re:?= ticket 42") == "Re: ticket 42");
  CHECK(decode_header_words("Hi =?UTF-8?Q?there?= you") == "Hi there you");
}

TEST_CASE("A UTF-8 sequence split across two encoded words is reassembled", "[parser][headers]") {
  // "ä" is C3 A4: the first word ends after C3, the second starts with A4.
  CHECK(decode_header_words("=?UTF-8?Q?K=C3?= =?UTF-8?Q?=A4rlek?=") == "K\xC3\xA4rlek");
  CHECK(decode_header_words("=?UTF-8?B?w6Q=?==?UTF-8?B?w7Y=?=") == "\xC3\xA4\xC3\xB6");
}

TEST_CASE("Raw UTF-8 in headers is kept (RFC 6532), raw latin-1 is read as windows-1252", "[parser][headers]") {
  const auto m = parse("From: J\xC3\xB6rgen Str\xC3\xB6m <jorgen@example.se>\r\n"
                       "Subject: Fr\xC3\xA5ga om faktura\r\n\r\nHej\r\n");
  CHECK(m.subject == "Fr\xC3\xA5ga om faktura");
  CHECK(m.from.name == "J\xC3\xB6rgen Str\xC3\xB6m");
  const auto latin = parse("Subject: Fr\xE5ga\r\n\r\nx\r\n");
  CHECK(latin.subject == "Fr\xC3\xA5ga");
}

TEST_CASE("An encoded word that never ends is kept as text", "[parser][headers]") {
  CHECK(decode_header_words("=?UTF-8?B?SGVq and more") == "=?UTF-8?B?SGVq and more");
  CHECK(decode_header_words("=?no-such-charset?Q?caf=C3=A9?=") == "caf\xC3\xA9");  // unknown: UTF-8 if valid
}

TEST_CASE("Display names in From, To and Cc are decoded and unquoted", "[parser][headers]") {
  const auto m = parse(
      "From: =?UTF-8?Q?Bj=C3=B6rn_Ek?= <Bjorn.Ek@Example.COM>\r\n"
      "To: \"Support, Team\" <support@desk.example>, plain@example.org\r\n"
      "Cc: =?ISO-8859-1?Q?S=F8ren?= <soren@example.dk>, undisclosed-recipients:;\r\n"
      "Reply-To: Help Desk <help@desk.example>\r\n"
      "\r\nbody\r\n");
  CHECK(m.from.name == "Bj\xC3\xB6rn Ek");
  CHECK(m.from.email == "Bjorn.Ek@example.com");  // local part as written, domain lower-cased
  REQUIRE(m.to.size() == 2);
  CHECK(m.to[0].name == "Support, Team");
  CHECK(m.to[0].email == "support@desk.example");
  CHECK(m.to[1].name.empty());
  CHECK(m.to[1].email == "plain@example.org");
  REQUIRE(m.cc.size() == 1);
  CHECK(m.cc[0].name == "S\xC3\xB8ren");
  REQUIRE(m.reply_to.size() == 1);
  CHECK(m.reply_to[0].email == "help@desk.example");
}

TEST_CASE("Address lists with groups, comments and an address ending in ':' are read", "[parser][headers]") {
  const auto a = detail::parse_address_list("Team: a@x.org, \"B\" <b@x.org>; c@y.org (Carl C)");
  REQUIRE(a.size() == 3);
  CHECK(a[0].email == "a@x.org");
  CHECK(a[1].name == "B");
  CHECK(a[2].email == "c@y.org");
  CHECK(a[2].name == "Carl C");
  // mimetic 0.9.8 crashes on these; we must simply return.
  CHECK(detail::parse_address_list("foo@bar:").size() <= 1);
  CHECK(detail::parse_address_list("   ").empty());
  CHECK(detail::parse_address_list(":").empty());
}

TEST_CASE("RFC 2231 parameters are decoded, continuations joined", "[parser][headers]") {
  const auto p = detail::parse_params(
      "; filename*=UTF-8''%C3%A5rsrapport%202024.pdf; name=\"ignored.pdf\"");
  REQUIRE(!p.empty());
  CHECK(p[0].first == "filename");
  CHECK(p[0].second == "\xC3\xA5rsrapport 2024.pdf");
  const auto c = detail::parse_params(
      "; filename*0*=ISO-8859-1''F%F8rste%20del; filename*1=\" og anden\"; filename*2*=%2Etxt");
  REQUIRE(c.size() == 1);
  CHECK(c[0].second == "F\xC3\xB8rste del og anden.txt");
}

TEST_CASE("A quoted parameter containing a semicolon is kept whole", "[parser][headers]") {
  const auto ct = detail::parse_content_type(
      "application/pdf; name=\"invoice; March.pdf\"; x-extra=1");
  CHECK(ct.type == "application");
  CHECK(ct.subtype == "pdf");
  REQUIRE(ct.param("name"));
  CHECK(*ct.param("name") == "invoice; March.pdf");
  REQUIRE(ct.param("x-extra"));
  CHECK(*ct.param("x-extra") == "1");
}

TEST_CASE("Folded header fields are unfolded and listed in order", "[parser][headers]") {
  const auto m = parse("Subject: a very\r\n long subject\r\nX-Custom: one\r\nx-custom: two\r\n\r\nbody\r\n");
  CHECK(m.subject == "a very long subject");
  REQUIRE(m.headers.size() == 3);
  CHECK(m.headers[1].name == "X-Custom");
  REQUIRE(m.header("X-CUSTOM"));
  CHECK(*m.header("X-CUSTOM") == "one");
  CHECK(m.header("Missing") == nullptr);
}

TEST_CASE("Message-ID, In-Reply-To and References lose their angle brackets", "[parser][headers]") {
  const auto m = parse(
      "Message-ID: <abc.123@mail.example>\r\n"
      "In-Reply-To: <parent@mail.example> (comment)\r\n"
      "References: <root@mail.example>\r\n <parent@mail.example>\r\n\r\nx\r\n");
  CHECK(m.message_id == "abc.123@mail.example");
  CHECK(m.in_reply_to == "parent@mail.example");
  CHECK(m.references == std::vector<std::string>{"root@mail.example", "parent@mail.example"});
}

TEST_CASE("Dates are read in RFC 5322 and obsolete forms, with zone names", "[parser][headers]") {
  // 2024-03-05 10:15:00 UTC = 1709633700
  CHECK(detail::parse_date("Tue, 5 Mar 2024 10:15:00 +0000") == 1709633700);
  CHECK(detail::parse_date("Tue, 05 Mar 2024 11:15:00 +0100 (CET)") == 1709633700);
  CHECK(detail::parse_date("5 Mar 2024 05:15:00 EST") == 1709633700);
  CHECK(detail::parse_date("Tue, 5 Mar 24 10:15 GMT") == 1709633700);
  CHECK(detail::parse_date("Tue, 5 Mar 2024 02:15:00 PST") == 1709633700);
  CHECK(detail::parse_date("Tue Mar  5 10:15:00 2024") == 1709633700);  // asctime
  CHECK(detail::parse_date("Fri, 07 Oct 1994 16:15:05 -0700 (PDT)") == 781571705);
  CHECK(detail::parse_date("Mon, 1 Jan 99 00:00:00 Z") == 915148800);
  CHECK_FALSE(detail::parse_date("yesterday").has_value());
  CHECK_FALSE(detail::parse_date("Tue, 45 Mar 2024 10:15:00 +0000").has_value());
  const auto m = parse("Date:  Tue, 5 Mar 2024 10:15:00 +0000 \r\n\r\nx\r\n");
  CHECK(m.date == "Tue, 5 Mar 2024 10:15:00 +0000");
  CHECK(m.date_unix == 1709633700);
}
