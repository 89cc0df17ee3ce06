// tests/desk/test_desk_rules.cpp: intake rules' patterns (config/rule_pattern.h) and the
// `#time` scanner, against the mail text that crashed the daemon through std::regex
// (issue 11, finding 2).
//
// Security notes: every test here feeds mail-controlled text of hostile size (50,000 to
// 1,000,000 bytes) to a matcher; on the old code the first ones die with SIGSEGV (std::regex
// recursing per character), so the test binary itself crashing is the old failure mode.
#include <catch2/catch.hpp>

#include "desk/agent_mail.h"
#include "desk/ingest.h"
#include "tests/support/config_text.h"
#include "tests/support/desk_config.h"
#include "tests/support/tempdir.h"

#include <chrono>
#include <random>

using namespace sd;

namespace {

const std::string& kMinimal = test::kMinimalConfig;

std::string error_of(const std::string& text) { return test::config_error_of(text); }

// The glob matcher this project had before: backtracking to the last '*'. Kept as the
// reference the linear one must agree with.
bool old_glob_match(std::string_view pat, std::string_view s) {
  std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  auto eq = [](char a, char b) { return std::tolower((unsigned char)a) == std::tolower((unsigned char)b); };
  while (i < s.size()) {
    if (p < pat.size() && (pat[p] == '?' || (pat[p] != '*' && eq(pat[p], s[i])))) {
      ++p;
      ++i;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

template <class F>
double seconds_of(F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string mail(const std::string& from, const std::string& subject, const std::string& msgid) {
  return "From: " + from + "\r\nTo: servicedesk@example.com\r\nSubject: " + subject + "\r\nMessage-ID: <" + msgid +
         ">\r\nDate: Sun, 22 Nov 2026 07:00:00 +0100\r\n\r\nHello\r\n";
}

}  // namespace

TEST_CASE("A rule with lookahead is refused at load with file, line and RE2's message") {
  auto msg = error_of(kMinimal + "[[intake.rules]]\nname = \"x\"\nsubject = 're:^PROBLEM(?!: test)'\n");
  INFO(msg);
  CHECK(msg.rfind("sd.toml:14: intake.rules[1]: key 'subject': RE2 refuses the regular expression '^PROBLEM(?!: test)': "
                  "invalid perl operator: (?!",
                  0) == 0);
}

TEST_CASE("A rule with a backreference is refused at load with file, line and RE2's message") {
  auto msg = error_of(kMinimal + "[[intake.rules]]\nname = \"x\"\nfrom = \"*@x.example\"\nalert_key = '(\\w+) \\1'\n");
  INFO(msg);
  CHECK(msg.rfind("sd.toml:15: intake.rules[1]: key 'alert_key': RE2 refuses the regular expression '(\\w+) \\1': "
                  "invalid escape sequence: \\1",
                  0) == 0);
}

TEST_CASE("A regular expression too large for RE2's memory bound is refused at load") {
  auto msg = error_of(kMinimal + "[[intake.rules]]\nsubject = 're:((((a{100}){100}){100}){100})'\n");
  CHECK(msg.find("intake.rules[1]: key 'subject': RE2 refuses") != std::string::npos);
}

TEST_CASE("The example config's rules still load and match as before") {
  auto c = load_config(SD_SOURCE_DIR "/config/servicedesk.example.toml");
  REQUIRE(c.intake.rules.size() >= 1);
  const auto& r = c.intake.rules[0];
  CHECK(r.from.matches("nagios@monitoring.example.com"));
  CHECK_FALSE(r.from.matches("nagios@monitoring.example.com.evil.example"));
  CHECK(r.subject.matches("PROBLEM: db1 is DOWN"));
  CHECK(r.subject.matches("problem: db1"));  // case is ignored
  CHECK_FALSE(r.subject.matches("RECOVERY: db1 is UP"));
  CHECK(r.alert_key.extract("PROBLEM: db1 is DOWN") == "db1");
}

TEST_CASE("The alert key is the first group when it took part in the match, else the whole match") {
  CHECK(AlertKeyPattern("re:^PROBLEM: (\\S+)").extract("PROBLEM: db1 is DOWN") == "db1");
  CHECK(AlertKeyPattern("PROBLEM: \\S+").extract("Fwd: PROBLEM: db1 is DOWN") == "PROBLEM: db1");
  CHECK(AlertKeyPattern("re:(?:host=(\\w+) )?DOWN").extract("web2 DOWN") == "DOWN");
  CHECK(AlertKeyPattern("re:(?:host=(\\w+) )?DOWN").extract("host=web2 DOWN") == "web2");
  CHECK(AlertKeyPattern("re:^PROBLEM: (\\S+)").extract("RECOVERY: db1").empty());
  CHECK(AlertKeyPattern("").extract("PROBLEM: db1").empty());
}

TEST_CASE("A config copy shares its compiled patterns and still matches") {
  Config::Rule r;
  r.subject = "re:^problem";
  Config::Rule copy = r;
  r = Config::Rule{};
  CHECK(copy.subject.matches("PROBLEM: x"));
}

TEST_CASE("A 50,000-character alert subject from the monitoring rule's sender becomes one incident with its key") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  c.intake.rules = load_config(SD_SOURCE_DIR "/config/servicedesk.example.toml").intake.rules;
  auto st = store::open_sqlite_store({c.store.path});
  const std::string host(50000, 'A');
  auto a = ingest(*st, c, mail("nagios@monitoring.example.com", "PROBLEM: " + host, "p1@m"), std::nullopt, 1);
  auto b = ingest(*st, c, mail("nagios@monitoring.example.com", "PROBLEM: " + host, "p2@m"), std::nullopt, 2);
  auto after = ingest(*st, c, mail("anna@kund.se", "Printer", "n1@k"), std::nullopt, 3);
  CHECK(a.kind == IngestResult::Kind::created);
  CHECK(b.ticket_id == a.ticket_id);
  CHECK(after.kind == IngestResult::Kind::created);
  auto tx = st->begin(store::Store::Mode::read);
  auto t = tx->ticket(a.ticket_id).value();
  CHECK(t.category == "incident");
  CHECK(t.alert_key == host);
}

TEST_CASE("Subjects of 100,000 parentheses or a million letters pass every kind of rule in linear time") {
  test::TempDir dir;
  auto c = test::desk_config(dir);
  Config::Rule r;
  r.subject = "re:^(\\(+)+x$";  // nested repetition: exponential for a backtracking matcher
  r.alert_key = "re:(\\(+)";
  r.category = "incident";
  c.intake.rules.push_back(r);
  Config::Rule g;
  g.subject = "*" + std::string(200, 'a') + "b*";
  g.category = "order";
  c.intake.rules.push_back(g);
  auto st = store::open_sqlite_store({c.store.path});
  double s = seconds_of([&] {
    auto a = ingest(*st, c, mail("x@kund.se", std::string(100000, '('), "q1@k"), std::nullopt, 1);
    auto b = ingest(*st, c, mail("x@kund.se", std::string(1000000, 'a'), "q2@k"), std::nullopt, 2);
    auto tx = st->begin(store::Store::Mode::read);
    CHECK(tx->ticket(a.ticket_id)->category == "");
    CHECK(tx->ticket(b.ticket_id)->category == "");
  });
  CHECK(s < 5.0);
}

TEST_CASE("A glob costs time linear in the text however many stars or letters it has") {
  const std::string as(1000000, 'a');
  // The old matcher took about |text| x 200 steps here (over 4 s for a megabyte).
  CHECK(seconds_of([&] { CHECK_FALSE(glob_match("*" + std::string(200, 'a') + "b*", as)); }) < 0.5);
  CHECK(seconds_of([&] { CHECK_FALSE(glob_match("*a*b*c*d*", std::string(50000, 'a'))); }) < 0.05);
  CHECK(seconds_of([&] { CHECK(glob_match("*a*b*c*d*", std::string(25000, 'a') + "bcd")); }) < 0.05);
  CHECK(seconds_of([&] { CHECK_FALSE(glob_match("*" + std::string(1000, '?') + "x", as)); }) < 0.5);
}

TEST_CASE("The linear glob agrees with the old one on every small pattern and text") {
  std::mt19937 rng(11);
  const std::string pat_chars = "aAb?*", text_chars = "abB";
  for (int n = 0; n < 200000; ++n) {
    std::string pat, text;
    for (int i = std::uniform_int_distribution<int>(0, 7)(rng); i > 0; --i) pat += pat_chars[rng() % pat_chars.size()];
    for (int i = std::uniform_int_distribution<int>(0, 9)(rng); i > 0; --i) text += text_chars[rng() % text_chars.size()];
    INFO("pattern '" << pat << "' text '" << text << "'");
    REQUIRE(glob_match(pat, text) == old_glob_match(pat, text));
  }
  const std::string long_piece(130, 'a');  // a piece longer than one 64-bit word
  CHECK(glob_match("x*" + long_piece + "*y", "x" + std::string(500, 'a') + "y"));
  CHECK_FALSE(glob_match("x*" + long_piece + "b*y", "x" + std::string(500, 'a') + "y"));
  CHECK(glob_match("*@Monitoring.Example.com", "nagios@monitoring.example.com"));
}

TEST_CASE("Time spent is read in every form it was before") {
  auto time_of = [](const std::string& arg) { return parse_agent_commands("#time " + arg + "\nText").time_s; };
  CHECK(time_of("1h30m") == 5400);
  CHECK(time_of("1h 30 min") == 5400);
  CHECK(time_of("1 H 30 MIN") == 5400);
  CHECK(time_of("15m") == 900);
  CHECK(time_of("15min") == 900);
  CHECK(time_of("2h") == 7200);
  CHECK(time_of("90") == 5400);
  CHECK(time_of("1000h") == 3600000);
  for (const char* bad : {"soon", "1h30", "h30m", "1hmin", "15mins", "1001h", "100001m", "-5", "1.5h", "1h30m2"}) {
    INFO(bad);
    auto c = parse_agent_commands(std::string("#time ") + bad + "\nText");
    CHECK(c.time_s == 0);
    REQUIRE(c.errors.size() == 1);
    CHECK(c.errors[0].find("not understood") != std::string::npos);
  }
}

TEST_CASE("A #time of 200,000 digits is reported as not understood and adds nothing") {
  for (const std::string& arg : {std::string(200000, '9'), std::string(200000, '1') + "h", "1h" + std::string(200000, '5') + "m",
                                 std::string(10, '9'), std::string("00000000001")}) {
    auto c = parse_agent_commands("#time " + arg + "\n#status pending\nText");
    CHECK(c.time_s == 0);
    CHECK(c.status == "pending");
    REQUIRE(c.errors.size() == 1);
    CHECK(c.errors[0].find("not understood") != std::string::npos);
  }
}
