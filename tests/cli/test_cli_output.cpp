// tests/cli/test_cli_output.cpp: what the operator's commands print of hostile mail
// (issue 11, findings 8, 11 and 12). The `servicedesk` binary is run as an operator runs it:
// `ingest` a mail full of terminal escapes, then `tickets`, `show`, `parse` and a text
// report must print no byte a terminal acts on, while `--json` keeps every string exact.
// A ticket stored with broken UTF-8 (an older version cut a #note mid-character) still
// shows. And the exit statuses (issue 12): the same failure gives the same status whichever
// command meets it (a missing mail file is 66 for `ingest` and `parse` alike), and each
// failure is said once, on one stderr line starting "servicedesk: ".
#include <catch2/catch.hpp>

#include "api/json.h"
#include "cli/exit_status.h"
#include "config/config.h"
#include "core/text.h"
#include "desk/ingest.h"
#include "tests/cli/cli_run.h"
#include "tests/report/report_fixture.h"
#include "tests/support/tempdir.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace sd;
using test::lines_in;
using test::servicedesk;
using test::write_config;

namespace {

// The terminal controls printable() must remove: ESC, BEL, CR, C1 (UTF-8 C2 80..C2 9F),
// bidi embeddings, overrides and isolates (U+202A..E, U+2066..9) and U+2028/U+2029.
std::vector<std::string> terminal_controls_in(const std::string& out, bool allow_newlines) {
  std::vector<std::string> found;
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto c = static_cast<unsigned char>(out[i]);
    auto next = i + 1 < out.size() ? static_cast<unsigned char>(out[i + 1]) : 0;
    auto third = i + 2 < out.size() ? static_cast<unsigned char>(out[i + 2]) : 0;
    if ((c < 0x20 && !(allow_newlines && (c == '\n' || c == '\t'))) || c == 0x7f)
      found.push_back(fmt::format("C0 {:#04x} at {}", c, i));
    if (c == 0xC2 && next >= 0x80 && next <= 0x9F) found.push_back(fmt::format("C1 U+{:04X} at {}", next, i));
    if (c == 0xE2 && next == 0x80 && third >= 0xA8 && third <= 0xAE) found.push_back(fmt::format("U+20{:02X} at {}", third - 0x80, i));
    if (c == 0xE2 && next == 0x81 && third >= 0xA6 && third <= 0xA9) found.push_back(fmt::format("U+20{:02X} at {}", third - 0x40, i));
  }
  return found;
}

std::string b64(const std::string& s) {
  static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(s[i]) << 16;
    if (i + 1 < s.size()) v |= static_cast<unsigned char>(s[i + 1]) << 8;
    if (i + 2 < s.size()) v |= static_cast<unsigned char>(s[i + 2]);
    out += tbl[v >> 18 & 63];
    out += tbl[v >> 12 & 63];
    out += i + 1 < s.size() ? tbl[v >> 6 & 63] : '=';
    out += i + 2 < s.size() ? tbl[v & 63] : '=';
  }
  return out;
}

// Escapes in every place a mail can put text: the decoded subject (an encoded word carries
// bytes a raw header could not), the display name, the body, an attachment's name.
const std::string kSubject = "Alarm \x1b[2J\x1b]0;pwned\x07 \xc2\x9b" "31m moc.elpmaxe\xe2\x80\xae \xe2\x81\xa6x\xe2\x81\xa9";
const std::string kHostileMail =
    "From: =?utf-8?b?" + b64("Eve \x1b[8m\xe2\x80\xae") + "?= <eve@kund.se>\r\n"
    "To: servicedesk@example.com\r\n"
    "Subject: =?utf-8?b?" + b64(kSubject) + "?=\r\n"
    "Message-ID: <m1@kund.se>\r\n"
    "Date: Wed, 18 Nov 2026 10:00:00 +0100\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Hello \x1b[31mred\x1b[0m and \xc2\x9b" "2J\r\nline two\twith a tab \xe2\x80\xae\r\n"
    "--b\r\nContent-Type: application/octet-stream\r\n"
    "Content-Disposition: attachment; filename*=utf-8''invoice%1B%5B5m%E2%80%AEfdp.exe\r\n\r\nxx\r\n"
    "--b--\r\n";

}  // namespace

TEST_CASE("printable() turns controls, bidi overrides and bytes that are not UTF-8 into harmless text") {
  CHECK(printable("red \x1b[31malert\x1b[0m") == "red  [31malert [0m");
  CHECK(printable("a\xc2\x9b" "2Jb") == "a 2Jb");                  // C1 CSI
  CHECK(printable("moc.elpmaxe\xe2\x80\xae!") == "moc.elpmaxe !");  // RIGHT-TO-LEFT OVERRIDE
  CHECK(printable("\xe2\x81\xa6x\xe2\x81\xa9") == " x ");          // isolates
  CHECK(printable("a\xe2\x80\xa8" "b") == "a b");                  // LINE SEPARATOR
  CHECK(printable("one\ntwo\tthree\r\n") == "one two three  ");
  CHECK(printable("one\r\ntwo\tthree\rover\n", true) == "one\ntwo\tthree over\n");
  CHECK(printable("bad \xc3 \xff \xed\xa0\x80 \xc0\xaf") ==
        "bad \xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd");
  CHECK(printable("Åsa Öberg – 日本 😀") == "Åsa Öberg – 日本 😀");
}

TEST_CASE("utf8_prefix() cuts on a character boundary") {
  std::string letters;
  for (int i = 0; i < 300; ++i) letters += "\xc3\xa4";
  CHECK(utf8_prefix(letters, 200).size() == 200);
  CHECK(utf8_prefix(letters, 199).size() == 198);
  CHECK(utf8_prefix("a\xf0\x9f\x98\x80", 4) == "a");
  CHECK(utf8_prefix("a\xf0\x9f\x98\x80", 5) == "a\xf0\x9f\x98\x80");
  CHECK(utf8_prefix("abc", 10) == "abc");
  CHECK(utf8_prefix("abc", 0).empty());
  std::string junk(10, '\x80');  // not UTF-8 at all: cut where asked
  CHECK(utf8_prefix(junk, 6).size() == 6);
  for (std::size_t n = 0; n <= letters.size(); ++n) CHECK(printable(utf8_prefix(letters, n)).find("\xef\xbf\xbd") == std::string::npos);
}

TEST_CASE("tickets, show and parse print no terminal escapes of a hostile mail, --json keeps the text exact") {
  test::TempDir dir;
  auto config = write_config(dir);
  auto mail = dir.write("hostile.eml", kHostileMail);
  REQUIRE(servicedesk(config, "ingest '" + mail + "'").status == 0);

  for (const char* cmd : {"tickets", "show SD-1"}) {
    CAPTURE(cmd);
    auto r = servicedesk(config, cmd);
    CHECK(r.status == 0);
    CHECK(terminal_controls_in(r.out, true).empty());
    CHECK(r.out.find("Alarm") != std::string::npos);
    CHECK(r.out.find("moc.elpmaxe") != std::string::npos);
  }
  auto show = servicedesk(config, "show SD-1").out;
  CHECK(show.find("Hello  [31mred [0m and  2J\nline two\twith a tab") != std::string::npos);
  CHECK(show.find("fdp.exe") != std::string::npos);
  auto parsed = servicedesk(config, "parse '" + mail + "'");
  CHECK(parsed.status == 0);
  CHECK(terminal_controls_in(parsed.out, true).empty());
  CHECK(parsed.out.find("Subject: Alarm") != std::string::npos);
  CHECK(parsed.out.find("fdp.exe") != std::string::npos);

  // JSON is for programs: the strings are exactly what the mail said, and the escapes the
  // terminal would act on are written as \u escapes (the same string to a JSON reader).
  auto json = servicedesk(config, "show SD-1 --json");
  REQUIRE(json.status == 0);
  CHECK(terminal_controls_in(json.out, true).empty());
  auto j = nlohmann::json::parse(json.out);
  CHECK(j["subject"] == kSubject);
  CHECK(j["messages"][0]["subject"] == kSubject);
  auto list = nlohmann::json::parse(servicedesk(config, "tickets --json").out);
  CHECK(list[0]["subject"] == kSubject);
  auto pj = servicedesk(config, "parse --json '" + mail + "'");
  CHECK(terminal_controls_in(pj.out, true).empty());
  CHECK(nlohmann::json::parse(pj.out)["subject"] == kSubject);
}

TEST_CASE("show --json shows a ticket stored with a UTF-8 sequence cut in half") {
  test::TempDir dir;
  auto config = write_config(dir);
  auto mail = dir.write("m.eml", "From: anna@kund.se\r\nTo: servicedesk@example.com\r\nSubject: Skrivaren\r\n"
                                 "Message-ID: <m2@kund.se>\r\n\r\nHej\r\n");
  REQUIRE(servicedesk(config, "ingest '" + mail + "'").status == 0);
  {
    // What a #note cut at byte 200 stored before utf8_prefix: half an "ä" at the end.
    auto st = store::open_sqlite_store({dir.file("sd.db")});
    auto tx = st->begin(store::Store::Mode::write);
    tx->add_event({1, 1'795'000'000, "eva@example.com", "note", std::string(199, 'x') + "\xc3"});
    tx->commit();
  }
  auto r = servicedesk(config, "show SD-1 --json");
  CHECK(r.status == 0);
  auto j = nlohmann::json::parse(r.out);
  bool found = false;
  for (const auto& e : j["events"])
    if (e["kind"] == "note") {
      found = true;
      CHECK(e["detail"] == std::string(199, 'x') + "\xef\xbf\xbd");
    }
  CHECK(found);
  CHECK(servicedesk(config, "show SD-1").status == 0);
  CHECK(servicedesk(config, "tickets --json").status == 0);
}

TEST_CASE("A text report prints no C1 or bidi control of a subject") {
  test::ReportDesk desk(false);
  auto id = desk.mail("Anna <anna@kund.se>", "Alarm \xc2\x9b" "2J moc.elpmaxe\xe2\x80\xae", test::at("2026-11-02T07:00:00Z"));
  {
    auto tx = desk.write();
    tx->set_category(id, "incident", test::at("2026-11-02T07:00:00Z"));
    test::note(*tx, id, test::at("2026-11-02T07:10:00Z"), "operator:x", "cut \xc3");
    tx->commit();
  }
  auto text = desk.report("incidents", "2026-11", "text");
  CHECK(text.find("moc.elpmaxe") != std::string::npos);
  CHECK(terminal_controls_in(text, true).empty());
  auto json = desk.report("incidents", "2026-11", "json");
  CHECK(terminal_controls_in(json, true).empty());
  CHECK(json.find("\\u202e") != std::string::npos);
}

TEST_CASE("A missing mail file exits 66 for ingest and for parse alike, said once") {
  test::TempDir dir;
  auto config = write_config(dir);
  auto missing = dir.file("no-such.eml");
  for (const char* cmd : {"ingest", "parse", "parse --json"}) {
    CAPTURE(cmd);
    auto r = servicedesk(config, fmt::format("{} '{}'", cmd, missing));
    CHECK(r.status == 66);
    CHECK(r.err.rfind("servicedesk: " + missing + ": cannot read (No such file or directory)", 0) == 0);
    CHECK(lines_in(r.err) == 1);
  }
  // A directory is no mail either, rather than an empty one stored as a ticket.
  auto r = servicedesk(config, fmt::format("ingest '{}'", dir.file("")));
  CHECK(r.status == 66);
  CHECK(r.err.find("Is a directory") != std::string::npos);
}

TEST_CASE("ingest of several files stores the readable ones and exits 66 for the missing one") {
  test::TempDir dir;
  auto config = write_config(dir);
  auto mail = dir.write("m.eml", "From: anna@kund.se\r\nTo: servicedesk@example.com\r\nSubject: Skrivaren\r\n"
                                 "Message-ID: <m3@kund.se>\r\n\r\nHej\r\n");
  auto r = servicedesk(config, fmt::format("ingest '{}' '{}'", dir.file("gone.eml"), mail));
  CHECK(r.status == 66);
  CHECK(lines_in(r.err) == 1);
  CHECK(servicedesk(config, "show SD-1").status == 0);
}

TEST_CASE("Each kind of failure has one exit status, whichever command meets it") {
  test::TempDir dir;
  auto config = write_config(dir);
  auto mail = dir.write("m.eml", "From: anna@kund.se\r\nTo: servicedesk@example.com\r\nSubject: Skrivaren\r\n"
                                 "Message-ID: <m4@kund.se>\r\n\r\nHej\r\n");
  REQUIRE(servicedesk(config, "ingest '" + mail + "'").status == 0);
  REQUIRE(servicedesk(config, "org add Kund --domain kund.se").status == 0);
  REQUIRE(servicedesk(config, "contact add --org Kund anna@kund.se").status == 0);
  auto existing = dir.write("exists.db", "");
  struct Case {
    std::string args;
    int status;
  };
  const std::vector<Case> cases = {
      // 64: a value of the wrong shape.
      {"show 42x", 64},
      {"ticket set 42x --status open", 64},
      {"ticket set SD-1 --status sleeping", 64},
      {"sla due --calendar dk --start yesterday --hours 1", 64},
      {"report sla --month 2026-13", 64},
      {"org add Other --domain other.example --language fi", 64},
      {"org add Other --domain other.example --hypercare-start soon", 64},
      {"contact add --org Kund not-an-address", 64},
      {"agent add not-an-address", 64},
      {"org set Kund --visibility everyone", 64},
      {"contact set anna@kund.se --visibility public", 64},
      {"contact set anna@kund.se", 64},  // nothing to change
      // 65: well formed, naming nothing there is.
      {"show SD-99", 65},
      {"ticket set SD-99 --status open", 65},
      {"sla due --calendar mars --start 2026-11-23T09:00:00+01:00 --hours 1", 65},
      {"sla holidays --calendar mars --year 2026", 65},
      {"report sla --month 2026-11 --org Nobody", 65},
      {"org show Nobody", 65},
      {"org add Kund --domain kund2.example", 65},  // the store refuses a name that exists
      {"contact add --org Nobody anna@kund.se", 65},
      {"agent remove nobody@example.com", 65},
      {"contact set nobody@kund.se --visibility own", 65},
      {"contact set anna@kund.se --organisation Nobody", 65},
      {"agent add anna@kund.se", 65},  // a contact's address: one role per address
      {"outbox retry 999", 65},
      {"quarantine show 999", 65},
      // 73: a backup onto a name that exists.
      {"backup '" + existing + "'", 73},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args);
    auto r = servicedesk(config, c.args);
    CHECK(r.status == c.status);
    CHECK(r.err.rfind("servicedesk: ", 0) == 0);
    CHECK(lines_in(r.err) == 1);
  }
  // 78: the config, for every command that reads it.
  auto broken = dir.write("broken.toml", "[service]\naddress = \"servicedesk@example.com\"\nnot_a_key = 1\n");
  for (const char* cmd : {"tickets", "ingest /dev/null", "parse /dev/null", "sla holidays --calendar dk --year 2026"}) {
    CAPTURE(cmd);
    auto r = servicedesk(broken, cmd);
    CHECK(r.status == 78);
    CHECK(r.err.rfind("servicedesk: configuration error: " + broken + ":3: unknown key 'service.not_a_key'", 0) == 0);
    CHECK(lines_in(r.err) == 1);
  }
}

TEST_CASE("The exit-status mapping gives each exception its sysexits code") {
  auto status_of = [](auto&& thrower) { return exit_status(failure_of(std::make_exception_ptr(thrower)).failure); };
  CHECK(status_of(CommandError(Failure::usage, "x")) == 64);
  CHECK(status_of(CommandError(Failure::bad_input, "x")) == 65);
  CHECK(status_of(store::StoreError("name exists", false, true)) == 65);
  CHECK(status_of(CommandError(Failure::no_input, "x")) == 66);
  CHECK(status_of(std::runtime_error("a bug")) == 70);
  CHECK(status_of(42) == 70);
  CHECK(status_of(CommandError(Failure::cannot_create, "x")) == 73);
  CHECK(status_of(store::StoreError("disk I/O error", false)) == 74);
  CHECK(status_of(store::StoreError("database is locked", true)) == 75);
  CHECK(status_of(ConfigError("f:1: key 'a.b': wrong")) == 78);
  CHECK(failure_of(std::make_exception_ptr(ConfigError("f:1: key 'a.b': wrong"))).message ==
        "configuration error: f:1: key 'a.b': wrong");
  CHECK(run_command([] { return 0; }) == 0);
  CHECK(run_command([]() -> int { throw store::StoreError("database is locked", true); }) == 75);
}
