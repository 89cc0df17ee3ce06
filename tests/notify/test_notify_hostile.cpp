// tests/notify/test_notify_hostile.cpp: outgoing mail built from what hostile mails said
// (issue 11, findings 11 and 14). Each composed mail is checked as a relay would see it:
// every line within 998 octets (78 where it has a fold point), 7-bit, no foreign byte in our
// headers, and read back by our own parser to the same subject and names. Message-IDs are
// checked for what an observer could do with them: predict the next one.
#include <catch2/catch.hpp>

#include "notify/compose.h"
#include "notify/smtp.h"
#include "parser/parse.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace sd::notify;

namespace {

Draft base_draft() {
  Draft d;
  d.from = {"Example Servicedesk", "servicedesk@example.com"};
  d.to = {{"Anna Kund", "anna@kund.example"}};
  d.subject = "[SD-1] Printer";
  d.body_text = "Hello\n";
  d.date = 1795328400;
  d.message_id_domain = "example.com";
  return d;
}

std::vector<std::string> lines_of(const std::string& bytes) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < bytes.size()) {
    auto end = bytes.find("\r\n", start);
    REQUIRE(end != std::string::npos);  // every line ends in CRLF
    lines.push_back(bytes.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

// A line longer than 78 is allowed only when nothing on it could be a fold point: no space
// after the field name (first line) or after the leading white space (continuation line).
bool has_fold_point(const std::string& line) {
  std::size_t from = line.find_first_not_of(" \t");
  if (from == 0) {
    auto colon = line.find(": ");
    from = colon == std::string::npos ? line.size() : colon + 2;
  }
  return line.find(' ', from) != std::string::npos;
}

void check_wire_form(const std::string& bytes) {
  auto header_end = bytes.find("\r\n\r\n");
  REQUIRE(header_end != std::string::npos);
  for (unsigned char ch : bytes) {
    INFO("byte " << int(ch));
    REQUIRE((ch < 0x80 && (ch >= 0x20 || ch == '\r' || ch == '\n')));
  }
  for (const auto& line : lines_of(bytes.substr(0, header_end + 2))) {
    INFO(line.substr(0, 120));
    CHECK(line.size() <= 998);
    if (line.size() > 78) CHECK_FALSE(has_fold_point(line));
    CHECK(line.find_first_not_of(" \t") != std::string::npos);  // no line of white space only
  }
}

struct HostileDraft {
  std::string what;
  Draft draft;
};

std::vector<HostileDraft> hostile_drafts() {
  std::vector<HostileDraft> rows;
  auto row = [&](std::string what, auto change) {
    Draft d = base_draft();
    change(d);
    rows.push_back({std::move(what), std::move(d)});
  };
  row("a 3,000-character ASCII subject of words", [](Draft& d) {
    d.subject.clear();
    while (d.subject.size() < 3000) d.subject += "printer" + std::to_string(d.subject.size()) + " ";
    d.subject.pop_back();
  });
  row("a 3,000-character ASCII subject without a space", [](Draft& d) { d.subject = std::string(3000, 'S'); });
  row("a run of 999 characters between words", [](Draft& d) { d.subject = "Re: " + std::string(999, 'x') + " again"; });
  row("2,000 spaces between two words", [](Draft& d) { d.subject = "left" + std::string(2000, ' ') + "right"; });
  row("a 3,000-byte UTF-8 subject", [](Draft& d) {
    d.subject.clear();
    for (int i = 0; i < 1000; ++i) d.subject += "\xc3\xa5\x62";
  });
  row("a long subject that looks like encoded words", [](Draft& d) {
    d.subject.clear();
    for (int i = 0; i < 100; ++i) d.subject += "=?utf-8?q?x?= ";
    d.subject.pop_back();
  });
  row("a 2,000-character display name of words", [](Draft& d) {
    d.to[0].name.clear();
    while (d.to[0].name.size() < 2000) d.to[0].name += "Anna \"the\" \\Kund ";
    d.to[0].name.pop_back();
  });
  row("a 2,000-character display name without a space", [](Draft& d) { d.to[0].name = std::string(2000, 'N'); });
  row("a display name of non-ASCII letters", [](Draft& d) {
    d.to[0].name.clear();
    for (int i = 0; i < 500; ++i) d.to[0].name += "\xc3\x85sa ";
    d.to[0].name.pop_back();
  });
  row("foreign Message-IDs with 8-bit, control and comma bytes", [](Draft& d) {
    d.in_reply_to = "\xc3\xa5\x01x@acme.se";
    d.references = {"a,b@x", "ok@acme.se", "sp ace@x", "\x1b[31m@x", "no-at-sign", std::string(300, 'a') + "@x"};
  });
  return rows;
}

}  // namespace

TEST_CASE("Hostile subjects, names and Message-IDs compose to 7-bit lines within 998 (78 where they fold) that "
          "parse back the same") {
  for (const auto& row : hostile_drafts()) {
    CAPTURE(row.what);
    auto c = compose(row.draft);
    check_wire_form(c.bytes);
    auto m = sd::parser::parse(c.bytes);
    CHECK(m.subject == row.draft.subject);
    REQUIRE(m.to.size() == 1);
    CHECK(m.to[0].email == row.draft.to[0].email);
    CHECK(m.to[0].name == row.draft.to[0].name);
    CHECK(m.from.email == "servicedesk@example.com");
  }
}

TEST_CASE("Foreign Message-IDs that are not RFC 5322 msg-ids are left out of In-Reply-To and References") {
  auto d = base_draft();
  d.in_reply_to = "\xc3\xa5\x01x@acme.se";
  d.references = {"root@kund.se", "a,b@x", "<nested>@x", "ok@[10.0.0.1]", "\x1b]0;title\x07@x"};
  auto c = compose(d);
  CHECK(c.bytes.find("In-Reply-To") == std::string::npos);
  CHECK(c.bytes.find("References: <root@kund.se> <ok@[10.0.0.1]>\r\n") != std::string::npos);
  auto m = sd::parser::parse(c.bytes);
  CHECK(m.references == std::vector<std::string>{"root@kund.se", "ok@[10.0.0.1]"});

  CHECK(valid_msg_id("CAF=x+y_z@mail.gmail.com"));
  CHECK(valid_msg_id("sd.1.abc@example.com"));
  CHECK_FALSE(valid_msg_id(""));
  CHECK_FALSE(valid_msg_id("a@b@c"));
  CHECK_FALSE(valid_msg_id("a..b@c"));
  CHECK_FALSE(valid_msg_id(".a@c"));
  CHECK_FALSE(valid_msg_id("a@"));
  CHECK_FALSE(valid_msg_id("a@b\r\nBcc: x@y"));
  CHECK_FALSE(valid_msg_id(std::string(246, 'a') + "@b.cd"));  // 251 octets
  CHECK(valid_msg_id(std::string(245, 'a') + "@b.cd"));        // 250
}

TEST_CASE("Only an RFC 5321 Mailbox is a mail address we can send to") {
  for (const char* ok : {"anna@kund.example", "Anna.Kund+sd@KUND.example", "a@localhost", "o'brien@x.ie",
                         "\"john..doe\"@example.com", "user@[192.0.2.1]", "user@[IPv6:2001:db8::1]",
                         "x!#$%&'*+-/=?^_`{|}~@a-b.c"}) {
    CAPTURE(ok);
    CHECK(valid_addr_spec(ok));
  }
  for (const char* bad : {"a@x,b@y", "a@x>,<b@y", "a b@x", "a@x y", "\"a b\"@x", "\"a,b\"@x", "a@x\r\nRCPT TO:<b@y>",
                          "\xc3\xa5sa@kund.se", "a@k\xc3\xbcnd.de", "@x", "a@", "a", "a@-x.com", "a@x-.com", "a@x..com",
                          "a@.x", "a@x.", ".a@x", "a.@x", "a..b@x", "a@[300.1.1.1]", "a@[1.2.3]", "a@b@c",
                          "a\x01@x", "a@x\x7f"}) {
    CAPTURE(bad);
    CHECK_FALSE(valid_addr_spec(bad));
  }
  CHECK_FALSE(valid_addr_spec(std::string(65, 'a') + "@x.example"));
  CHECK(valid_addr_spec(std::string(64, 'a') + "@x.example"));
  CHECK_FALSE(valid_addr_spec("a@" + std::string(250, 'b') + ".cd"));

  auto d = base_draft();
  d.to = {{"", "a@x,b@y"}};
  CHECK_THROWS_AS(compose(d), std::invalid_argument);
  d = base_draft();
  d.reply_to = {{"", "reply@x,evil@y"}};
  CHECK(compose(d).bytes.find("Reply-To") == std::string::npos);  // left out, not copied
}

TEST_CASE("The SMTP client refuses a recipient that is not one mail address, without connecting") {
  // Port 1 has no server: an attempt to connect would come back as a transient failure.
  SmtpClient smtp({"smtp://127.0.0.1:1", "", "", 5});
  for (const char* bad : {"a@x,b@y", "a@x>\r\nRCPT TO:<b@y", "\xc3\xa5@x.se"}) {
    CAPTURE(bad);
    auto r = smtp.send("servicedesk@example.com", {bad}, "Subject: x\r\n\r\nx\r\n");
    CHECK(r.outcome == SendResult::Outcome::permanent);
    CHECK(r.smtp_code == 0);
    for (unsigned char ch : r.error) CHECK((ch >= 0x20 && ch < 0x7f));  // the log shows no raw bytes
  }
  CHECK(smtp.send("a@x,b@y", {"anna@kund.example"}, "x").outcome == SendResult::Outcome::permanent);
  // A good address is tried: the refused connection is transient.
  CHECK(smtp.send("servicedesk@example.com", {"anna@kund.example"}, "x").outcome == SendResult::Outcome::transient);
}

namespace {

// std::mt19937_64, reproduced from its definition (C++ [rand.predef], Matsumoto and
// Nishimura's MT19937-64): an observer who has seen 312 outputs in a row knows its whole
// state, because tempering is invertible, and computes every later output.
constexpr std::size_t kN = 312, kM = 156;

std::uint64_t untemper(std::uint64_t y) {
  y ^= y >> 43;
  y ^= (y << 37) & 0xFFF7EEE000000000ULL;
  std::uint64_t x = y;
  for (int i = 0; i < 4; ++i) x = y ^ ((x << 17) & 0x71D67FFFEDA60000ULL);
  y = x;
  for (int i = 0; i < 3; ++i) x = y ^ ((x >> 29) & 0x5555555555555555ULL);
  return x;
}

std::uint64_t temper(std::uint64_t y) {
  y ^= (y >> 29) & 0x5555555555555555ULL;
  y ^= (y << 17) & 0x71D67FFFEDA60000ULL;
  y ^= (y << 37) & 0xFFF7EEE000000000ULL;
  return y ^ (y >> 43);
}

// The output after `seen` (at least kN consecutive outputs).
std::uint64_t predict_next(const std::vector<std::uint64_t>& seen) {
  std::array<std::uint64_t, kN> x{};
  for (std::size_t i = 0; i < kN; ++i) x[i] = untemper(seen[seen.size() - kN + i]);
  std::uint64_t y = (x[0] & 0xFFFFFFFF80000000ULL) | (x[1] & 0x7FFFFFFFULL);
  std::uint64_t next = x[kM] ^ (y >> 1) ^ ((y & 1) ? 0xB5026F5AA96619E9ULL : 0);
  return temper(next);
}

std::string hex16(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The random part of one of our Message-IDs ("sd.DATE.TOKEN@domain").
std::string token_of(const std::string& message_id) {
  auto first = message_id.find('.');
  auto second = message_id.find('.', first + 1);
  auto at = message_id.find('@');
  REQUIRE((first != std::string::npos && second != std::string::npos && at != std::string::npos));
  return message_id.substr(second + 1, at - second - 1);
}

}  // namespace

TEST_CASE("A thousand Message-IDs are distinct, well formed and carry 128 random bits") {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto c = compose(base_draft());
    CHECK(valid_msg_id(c.message_id));
    CHECK(c.message_id.rfind("sd.1795328400.", 0) == 0);
    CHECK(c.message_id.size() > 12);
    CHECK(c.message_id.substr(c.message_id.size() - 12) == "@example.com");
    auto token = token_of(c.message_id);
    CHECK(token.size() == 32);
    CHECK(token.find_first_not_of("0123456789abcdef") == std::string::npos);
    ids.insert(c.message_id);
  }
  CHECK(ids.size() == 1000);
}

TEST_CASE("Someone who has seen 312 of our Message-IDs cannot compute the next one") {
  // The attack works against mt19937_64, whatever its seed ...
  std::mt19937_64 mt{std::random_device{}()};
  std::vector<std::uint64_t> outputs;
  for (std::size_t i = 0; i < kN + 5; ++i) outputs.push_back(mt());
  std::vector<std::uint64_t> window(outputs.begin() + 5, outputs.end());
  CHECK(predict_next(window) == mt());

  // ... and fails against our Message-IDs: each 64-bit part of their tokens, taken as the
  // generator's outputs, predicts nothing.
  std::vector<std::uint64_t> seen;
  for (std::size_t i = 0; seen.size() < kN; ++i) {
    auto token = token_of(compose(base_draft()).message_id);
    for (std::size_t k = 0; k + 16 <= token.size() && seen.size() < kN; k += 16)
      seen.push_back(std::stoull(token.substr(k, 16), nullptr, 16));
  }
  auto next = token_of(compose(base_draft()).message_id);
  CHECK(next.substr(0, 16) != hex16(predict_next(seen)));
}
