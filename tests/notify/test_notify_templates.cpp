// tests/notify/test_notify_templates.cpp: rendering (placeholders, sections), the built-in
// texts, the checks load_templates() makes of an operator's files (file:line in every error),
// first names for greetings and our subjects without a second tag.
#include <catch2/catch.hpp>

#include "notify/templates.h"
#include "tests/support/tempdir.h"

#include <algorithm>

using namespace sd::notify;

TEST_CASE("Rendering replaces known placeholders and leaves unknown ones visible") {
  CHECK(render("[{{ticket}}] {{subject}} {{typo}}", {{"ticket", "SD-1"}, {"subject", "Hi"}}) == "[SD-1] Hi {{typo}}");
  CHECK(render("{{unclosed", {}) == "{{unclosed");
  CHECK(render("", {}) == "");
}

TEST_CASE("The acknowledgement exists in English, Swedish and Danish and names the ticket") {
  for (auto lang : {"en", "sv", "da", "xx"}) {
    auto t = builtin_template("acknowledgement", lang);
    auto body = render(t.body, {{"ticket", "SD-9"}});
    CHECK(body.find("SD-9") != std::string::npos);
    CHECK(render(t.subject, {{"ticket", "SD-9"}, {"subject", "s"}}) == "[SD-9] s");
  }
  CHECK(builtin_template("acknowledgement", "sv").body.find("Ärendet") != std::string::npos);
  CHECK(builtin_template("acknowledgement", "da").body.find("Sagen") != std::string::npos);
  CHECK_THROWS(builtin_template("no-such-kind", "en"));
}

// Sections (issue 13): {{#name}} shows its text only when the value is non-empty, {{^name}}
// only when it is empty; a tag alone on its line takes the line with it.
TEST_CASE("A section shows its text only when its placeholder has a value, an inverted one only when it has none") {
  std::string hello = "Hej{{#first}} {{first}}{{/first}},";
  CHECK(render(hello, {{"first", "Anna"}}) == "Hej Anna,");
  CHECK(render(hello, {{"first", ""}}) == "Hej,");
  CHECK(render(hello, {}) == "Hej,");  // no value counts as empty
  std::string both = "{{^text}}no words{{/text}}{{#text}}words: {{text}}{{/text}}";
  CHECK(render(both, {{"text", "Tonern är bytt."}}) == "words: Tonern är bytt.");
  CHECK(render(both, {{"text", ""}}) == "no words");
  // Sections of different names nest; the inner one counts only where the outer is shown.
  std::string nested = "{{#a}}A{{#b}}B{{/b}}{{^b}}-{{/b}}{{/a}}.";
  CHECK(render(nested, {{"a", "1"}, {"b", "1"}}) == "AB.");
  CHECK(render(nested, {{"a", "1"}, {"b", ""}}) == "A-.");
  CHECK(render(nested, {{"a", ""}, {"b", "1"}}) == ".");
}

TEST_CASE("A section tag alone on its line leaves no empty line behind") {
  std::string t = "Hej,\n{{#continues}}\nDetta fortsätter {{continues}}.\n{{/continues}}\nHälsningar\n";
  CHECK(render(t, {{"continues", "SD-1"}}) == "Hej,\nDetta fortsätter SD-1.\nHälsningar\n");
  CHECK(render(t, {{"continues", ""}}) == "Hej,\nHälsningar\n");
  // Blanks around a lone tag go with it; a tag beside other text is not alone.
  CHECK(render("a\n  {{#x}}  \nb\n{{/x}}\nc", {{"x", "1"}}) == "a\nb\nc");
  CHECK(render("a {{#x}}\nb{{/x}} c", {{"x", "1"}}) == "a \nb c");
  CHECK(render("{{#x}}\nonly\n{{/x}}", {{"x", "1"}}) == "only\n");
}

TEST_CASE("A value is inserted as text: a section tag in a customer's subject is not a section") {
  CHECK(render("[{{ticket}}] {{subject}}", {{"ticket", "SD-1"}, {"subject", "{{#ticket}}x{{/ticket}}"}}) ==
        "[SD-1] {{#ticket}}x{{/ticket}}");
  CHECK(render("a{{/x}}b", {}) == "a{{/x}}b");  // a close of no section stays visible
}

namespace {

std::string dir_of(const sd::test::TempDir& dir) {
  auto any = dir.file("x");
  return any.substr(0, any.size() - 2);
}

std::string load_error(const sd::test::TempDir& dir) {
  auto set = load_templates(dir_of(dir));
  return set ? std::string("(loaded)") : set.error();
}

}  // namespace

TEST_CASE("Loading refuses a section the kind has no placeholder for, with the file and line") {
  sd::test::TempDir dir;
  auto path = dir.write("status-open.sv.txt", "Subject: [{{ticket}}] {{subject}}\n\nHej,\n\n{{#txt}}{{text}}{{/txt}}\n");
  CHECK(load_error(dir) == path + ":5: {{#txt}} is no placeholder of status-open (it has {{ticket}}, {{subject}}, "
                                  "{{requester_name}}, {{requester_first_name}}, {{agent_name}}, {{agent}}, "
                                  "{{service_name}}, {{text}}, {{portal_link}})");
  dir.write("status-open.sv.txt", "Subject: [{{ticket}}] {{^nope}}x{{/nope}}{{subject}}\n\nHej\n");
  CHECK_THAT(load_error(dir), Catch::StartsWith(path + ":1: {{^nope}} is no placeholder of status-open"));
  dir.write("status-open.sv.txt", "Subject: x\n\n{{#}}\n");
  CHECK(load_error(dir) == path + ":3: {{#}} names no placeholder");
}

TEST_CASE("Loading refuses sections that do not close, or close out of order, naming the line") {
  sd::test::TempDir dir;
  auto path = dir.write("reply.txt", "Subject: [{{ticket}}] {{subject}}\n\n{{#text}}\n{{text}}\n\nHej då\n");
  CHECK(load_error(dir) == path + ":3: {{#text}} is never closed (add {{/text}})");
  dir.write("reply.txt", "Subject: x\n\nHej\n{{/text}}\n");
  CHECK(load_error(dir) == path + ":4: {{/text}} closes no section");
  dir.write("reply.txt", "Subject: x\n\n{{#text}}\n{{^agent}}\n{{/text}}\n{{/agent}}\n");
  CHECK(load_error(dir) == path + ":5: {{/text}} closes no open section: {{^agent}} of line 4 is still open "
                                  "(close the inner section first)");
  // The subject is a template of its own: a section opened there does not close in the body.
  dir.write("reply.txt", "Subject: {{#text}}x\n\n{{/text}}\n");
  CHECK(load_error(dir) == path + ":1: {{#text}} is never closed (add {{/text}})");
  dir.write("reply.txt", "Subject: [{{ticket}}] {{subject}}\n\n{{#text}}\n{{text}}\n{{^agent}}\n{{service_name}}\n"
                         "{{/agent}}\n{{/text}}\n");
  auto ok = load_templates(dir_of(dir));
  REQUIRE(ok);
  CHECK(render(ok->get("reply", "da").body, {{"text", "Svar"}, {"agent", ""}, {"service_name", "Desk"}}) ==
        "Svar\nDesk\n");
}

TEST_CASE("A greeting's first name is the first word, or the part after the comma of Last, First") {
  CHECK(first_name("Anna Svensson") == "Anna");
  CHECK(first_name("Svensson, Anna") == "Anna");
  CHECK(first_name("Svensson, Anna Maria") == "Anna");
  CHECK(first_name("Anna-Karin Lindqvist") == "Anna-Karin");
  CHECK(first_name("\"Anna Svensson\"") == "Anna");
  CHECK(first_name("'Svensson, Anna'") == "Anna");
  CHECK(first_name("  \xe2\x80\x9c\xc3\x85sa Lindqvist\xe2\x80\x9d ") == "\xc3\x85sa");  // “Åsa Lindqvist”
  CHECK(first_name("S\xc3\xb8ren Kierkegaard") == "S\xc3\xb8ren");
  CHECK(first_name("Anna") == "Anna");
  CHECK(first_name("Dr. Anna Svensson") == "Anna");
  CHECK(first_name("Prof Anna Svensson") == "Anna");
  CHECK(first_name("Svensson, Dr. Anna") == "Anna");
}

TEST_CASE("A greeting names nobody when the display name holds no first name") {
  CHECK(first_name("") == "");
  CHECK(first_name("   ") == "");
  CHECK(first_name("\"\"") == "");
  CHECK(first_name("anna@x.se") == "");
  CHECK(first_name("<anna@x.se>") == "");
  CHECK(first_name("Anna Svensson anna@x.se") == "");  // an address in the name: no guessing
  CHECK(first_name("Dr. Svensson") == "");              // a title and a last name
  CHECK(first_name("Svensson,") == "");
  CHECK(first_name("A. Svensson") == "");               // an initial
  CHECK(first_name("user123") == "");
  CHECK(first_name("anna.svensson") == "");             // an address's local part
  CHECK(first_name("\xff\xfe") == "");                  // not UTF-8
}

TEST_CASE("Our subject drops our own tags and the reply prefixes before them, and keeps the rest") {
  std::vector<std::string> ours = {"Löst:", "Resolved:"};
  CHECK(subject_without_tags("Re: [SD-1] Löst: Skrivaren", "SD", ours) == "Skrivaren");
  CHECK(subject_without_tags("SV: AW: [sd-1] Skrivaren", "SD", ours) == "Skrivaren");
  CHECK(subject_without_tags("Re: [SD-17] Re: [SD-1] Löst: Skrivaren", "SD", ours) == "Skrivaren");
  CHECK(subject_without_tags("Fwd: Re[2]: [SD-1] Resolved: Printer", "SD", ours) == "Printer");
  CHECK(subject_without_tags("Skrivaren [SD-1]", "SD", ours) == "Skrivaren");
  CHECK(subject_without_tags("Skrivaren [SD-1] igen", "SD", ours) == "Skrivaren igen");
  CHECK(subject_without_tags("Re: Skrivaren", "SD", ours) == "Re: Skrivaren");       // no tag of ours: the customer's
  CHECK(subject_without_tags("Re: [ACME-5] Printer", "SD", ours) == "Re: [ACME-5] Printer");  // another desk's tag
  CHECK(subject_without_tags("[SD-x] Printer", "SD", ours) == "[SD-x] Printer");
  CHECK(subject_without_tags("Löst: Skrivaren", "SD", ours) == "Löst: Skrivaren");   // our words only after our tag
  CHECK(subject_without_tags("Re: [SD-1]", "SD", ours) == "");
  CHECK(subject_without_tags("Re: [HD-1] x", "HD") == "x");
}

TEST_CASE("The words our subjects put after the tag are known in every language") {
  auto words = TemplateSet::builtin().subject_words();
  for (const char* w : {"Resolved:", "Löst:", "Løst:", "Stängt:", "Lukket:", "We are working on your case:",
                        "Vi arbetar med ditt ärende:"}) {
    INFO(w);
    CHECK(std::find(words.begin(), words.end(), w) != words.end());
  }
  auto set = TemplateSet::builtin();
  CHECK(subject_without_tags("SV: [SD-3] Vi arbetar med ditt ärende: VPN", "SD", words) == "VPN");
}

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + what.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE("Every built-in answer has one greeting and one sign-off, with the agent's words and without") {
  struct Lang {
    const char *code, *hello, *regards;
  };
  for (auto lang : {Lang{"en", "Hello", "Kind regards"}, Lang{"sv", "Hej", "Med vänliga hälsningar"},
                    Lang{"da", "Hej", "Med venlig hilsen"}}) {
    for (const char* kind : {"status-open", "status-pending", "status-resolved", "status-reopened", "status-closed", "reply"}) {
      INFO(lang.code << " " << kind);
      auto t = builtin_template(kind, lang.code);
      std::map<std::string, std::string> v = {{"ticket", "SD-1"},          {"subject", "Skrivaren"},
                                              {"requester_name", "Anna Berg"}, {"requester_first_name", "Anna"},
                                              {"agent_name", "Eva Agent"},   {"agent", "Eva Agent"},
                                              {"service_name", "Desk"}};
      // Without words: our greeting by first name, our closing, the agent and the desk once.
      v["text"] = "";
      auto plain = render(t.body, v);
      CAPTURE(plain);
      CHECK(plain.rfind(std::string(lang.hello) + " Anna,\n\n", 0) == 0);
      CHECK(count(plain, lang.regards) == 1);
      CHECK(count(plain, "Eva Agent\nDesk\n") == 1);
      CHECK(plain.find("{{") == std::string::npos);
      // With words: the agent's text first (their greeting is theirs), our greeting and closing not at all.
      v["text"] = "Hej Anna,\n\nTonern är bytt.\n\nMvh Eva\n";
      auto words = render(t.body, v);
      CAPTURE(words);
      CHECK(words.rfind(v["text"], 0) == 0);
      CHECK(count(words, std::string(lang.hello) + " ") == (std::string(lang.hello) == "Hej" ? 1u : 0u));
      CHECK(count(words, lang.regards) == 0);
      CHECK(count(words, "-- \nEva Agent\nDesk (SD-1)\n") == 1);
      CHECK(words.find("Anna Berg") == std::string::npos);
      // The desk writing on its own signs once, as the desk.
      v["agent"] = "";
      v["agent_name"] = "Desk";
      v["text"] = "";
      CHECK(count(render(t.body, v), "Desk") == 1 + count(render(t.body, v), "Desk (") +
                                                    (std::string(kind) == "status-open" ? 1u : 0u));
    }
  }
}

TEST_CASE("The acknowledgement greets by first name, or without a name, and says which case it continues") {
  for (const char* lang : {"en", "sv", "da"}) {
    INFO(lang);
    auto t = builtin_template("acknowledgement", lang);
    std::map<std::string, std::string> v = {{"ticket", "SD-17"}, {"requester_first_name", "Anna"},
                                            {"continues", "SD-1"}, {"service_name", "Desk"},
                                            {"first_response_line", ""}, {"unregistered_line", ""},
                                            {"maintenance_line", ""}};
    auto body = render(t.body, v);
    CHECK(body.find(" Anna,\n") != std::string::npos);
    CHECK(body.find("SD-1.") != std::string::npos);
    v["requester_first_name"] = v["continues"] = "";
    body = render(t.body, v);
    CHECK((body.rfind("Hej,\n", 0) == 0 || body.rfind("Hello,\n", 0) == 0));
    CHECK(body.find("SD-1.") == std::string::npos);
    CHECK(body.find("{{") == std::string::npos);
  }
}

TEST_CASE("The acknowledgement and every status mail carry the portal link when there is one, and no trace of it otherwise") {
  const std::string link = "https://desk.example.com/tickets/SD-17";
  for (const char* lang : {"en", "sv", "da"})
    for (const char* kind :
         {"acknowledgement", "status-open", "status-pending", "status-resolved", "status-reopened", "status-closed", "reply"})
      for (const char* text : {"", "Hej Anna,\n\nTonern är bytt.\n"}) {
        INFO(lang << " " << kind << " text '" << text << "'");
        auto t = builtin_template(kind, lang);
        std::map<std::string, std::string> v = {{"ticket", "SD-17"},        {"subject", "Skrivaren"},
                                                {"requester_first_name", "Anna"}, {"agent_name", "Eva"},
                                                {"agent", "Eva"},            {"service_name", "Desk"},
                                                {"text", text},              {"first_response_line", ""},
                                                {"unregistered_line", ""},   {"continues", ""},
                                                {"maintenance_line", ""}};
        v["portal_link"] = "";
        auto without = render(t.body, v);
        v["portal_link"] = link;
        auto with = render(t.body, v);
        CAPTURE(with);
        CHECK(count(with, link) == 1);
        CHECK(with.find(link + "\n\n") != std::string::npos);  // a paragraph of its own
        CHECK(without.find("http") == std::string::npos);
        CHECK(without.find("{{") == std::string::npos);
        CHECK(without.find("\n\n\n") == std::string::npos);  // no empty paragraph left behind
        // The link's paragraph is all that differs.
        auto at = with.find(link);
        auto start = with.rfind("\n\n", at) + 2;
        CHECK(with.substr(0, start) + with.substr(at + link.size() + 2) == without);
      }
}

TEST_CASE("The login-link mail names the link, how long it works and the person, in English, Swedish and Danish") {
  for (const char* lang : {"en", "sv", "da"}) {
    INFO(lang);
    auto t = builtin_template("login-link", lang);
    std::map<std::string, std::string> v = {{"link", "https://desk.example.com/login/abc123"},
                                            {"minutes", "15"},
                                            {"service_name", "Example Desk"},
                                            {"name", "Anna Berg"}};
    auto body = render(t.body, v);
    CHECK(body.find("https://desk.example.com/login/abc123\n") != std::string::npos);
    CHECK(body.find("15") != std::string::npos);
    CHECK(body.find(" Anna Berg,\n") != std::string::npos);
    CHECK(render(t.subject, v).find("Example Desk") != std::string::npos);
    v["name"] = "";
    body = render(t.body, v);
    CHECK((body.rfind("Hello,\n", 0) == 0 || body.rfind("Hej,\n", 0) == 0));
    CHECK(body.find("{{") == std::string::npos);
  }
  // Operators can override it like any other kind; a placeholder it does not have is refused.
  sd::test::TempDir dir;
  dir.write("login-link.sv.txt", "Subject: Din inloggning\n\nKlicka: {{link}} ({{minutes}} min)\n");
  auto set = load_templates(dir.file("."));
  REQUIRE(set);
  CHECK(set->get("login-link", "sv").body == "Klicka: {{link}} ({{minutes}} min)\n");
  CHECK(set->get("login-link", "en").subject == "Sign in to {{service_name}}");
  dir.write("login-link.txt", "Subject: x\n\n{{ticket}}\n");
  auto bad = load_templates(dir.file("."));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().find("login-link.txt:3") != std::string::npos);
}

TEST_CASE("The acknowledgement carries the maintenance line where there is one, and no trace of it otherwise") {
  for (const char* lang : {"en", "sv", "da"}) {
    INFO(lang);
    auto t = builtin_template("acknowledgement", lang);
    auto line = render(builtin_template("maintenance-in-progress", lang).body, {{"until", "05:00 CET"}});
    CHECK(line.find("05:00 CET") != std::string::npos);
    std::map<std::string, std::string> v = {{"ticket", "SD-17"}, {"requester_first_name", "Anna"}, {"continues", ""},
                                            {"service_name", "Desk"}, {"first_response_line", ""},
                                            {"unregistered_line", ""}, {"portal_link", ""}, {"maintenance_line", ""}};
    auto without = render(t.body, v);
    v["maintenance_line"] = line;
    auto with = render(t.body, v);
    CHECK(with.find(line) != std::string::npos);
    CHECK(with.size() == without.size() + line.size());
    CHECK(without.find("{{") == std::string::npos);
  }
}

TEST_CASE("A notice and its cancellation exist in en, sv and da with every placeholder filled") {
  std::map<std::string, std::string> v = {{"kind", "KIND"}, {"start", "START"}, {"end", "END"},
                                          {"time_zone", "Europe/Stockholm"}, {"text", "TEXT"},
                                          {"organisation", "Acme"}, {"requester_first_name", "Anna"},
                                          {"service_name", "Desk"}, {"portal_link", ""}};
  for (const char* kind : {"notice", "notice-cancelled"})
    for (const char* lang : {"en", "sv", "da"}) {
      INFO(kind << " " << lang);
      auto t = builtin_template(kind, lang);
      auto subject = render(t.subject, v), body = render(t.body, v);
      CHECK(subject.find("START") != std::string::npos);
      CHECK(body.find("END") != std::string::npos);
      CHECK(body.find(" Anna,") != std::string::npos);
      CHECK((subject + body).find("{{") == std::string::npos);
      const bool has_text = body.find("TEXT") != std::string::npos;
      CHECK(has_text == (std::string(kind) == "notice"));
    }
  CHECK(builtin_template("notice", "sv").subject != builtin_template("notice", "en").subject);
  CHECK(builtin_template("notice-cancelled", "da").subject != builtin_template("notice-cancelled", "sv").subject);
}
