// Every template kind the desk sends is documented for operators in docs/templates.md with
// each of its placeholders, every kind the code asks for is a known kind, and the example
// file the document shows is the built-in text.
#include <catch2/catch.hpp>

#include "notify/templates.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

using namespace sd;

namespace {

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The section of docs/templates.md whose "### " heading names `kind` in backticks.
std::string section_of(const std::string& doc, const std::string& kind) {
  std::size_t pos = 0;
  while ((pos = doc.find("\n### ", pos)) != std::string::npos) {
    auto eol = doc.find('\n', pos + 1);
    std::string heading = doc.substr(pos, eol - pos);
    auto end = doc.find("\n#", eol);
    if (heading.find("`" + kind + "`") != std::string::npos) return doc.substr(eol, end - eol);
    pos = eol;
  }
  return "";
}

}  // namespace

TEST_CASE("Every template kind and each of its placeholders is documented in docs/templates.md") {
  auto doc = read(std::filesystem::path(SD_SOURCE_DIR) / "docs/templates.md");
  REQUIRE_FALSE(doc.empty());
  for (const auto& k : notify::template_kinds()) {
    INFO("kind " << k.kind);
    auto text = section_of(doc, k.kind);
    CHECK_FALSE(text.empty());
    for (const auto& p : k.placeholders) {
      INFO("placeholder " << p);
      CHECK(text.find("{{" + p + "}}") != std::string::npos);
    }
    // Each built-in text uses only the kind's placeholders (the rule operators' files are held to).
    for (const char* lang : {"en", "sv", "da"}) {
      auto t = notify::builtin_template(k.kind, lang);
      std::regex ph("\\{\\{[#^/]?([a-z_]+)\\}\\}");  // placeholders and sections
      for (const auto* part : {&t.subject, &t.body})
        for (std::sregex_iterator it(part->begin(), part->end(), ph), end; it != end; ++it)
          CHECK(std::find(k.placeholders.begin(), k.placeholders.end(), (*it)[1].str()) != k.placeholders.end());
    }
  }
}

TEST_CASE("Every template kind the code asks for is a known kind") {
  // The desk asks by name: templates().get("KIND", ...) and the customer's mails by kind.
  std::regex asked(R"re((?:templates\(\)\.get\(|mail_customer\([^;]*?, )"([a-z-]+)"\s*[,)])re");
  int found = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(std::filesystem::path(SD_SOURCE_DIR) / "desk")) {
    if (e.path().extension() != ".cpp") continue;
    auto src = read(e.path());
    for (std::sregex_iterator it(src.begin(), src.end(), asked), end; it != end; ++it) {
      INFO(e.path().string() << ": " << (*it)[1].str());
      CHECK(notify::template_kind((*it)[1].str()) != nullptr);
      ++found;
    }
  }
  CHECK(found >= 5);  // the scan itself works
}

TEST_CASE("The status-resolved file shown in docs/templates.md renders as the built-in text does") {
  auto doc = read(std::filesystem::path(SD_SOURCE_DIR) / "docs/templates.md");
  auto at = doc.find("```\nSubject: [{{ticket}}] Resolved: {{subject}}\n");
  REQUIRE(at != std::string::npos);
  auto body_at = doc.find("\n\n", at) + 2;
  std::string file_body = doc.substr(body_at, doc.find("```", body_at) - body_at);
  auto builtin = notify::builtin_template("status-resolved", "en");
  for (const char* text : {"", "Hej Anna,\n\nTonern är bytt.\n"})
    for (const char* agent : {"", "Eva Agent"})
      for (const char* first : {"", "Anna"})
        for (const char* link : {"", "https://desk.example.com/tickets/SD-1"}) {
          std::map<std::string, std::string> v = {{"ticket", "SD-1"},     {"text", text}, {"agent", agent},
                                                  {"agent_name", "Eva"},  {"service_name", "Desk"},
                                                  {"requester_first_name", first}, {"portal_link", link}};
          CHECK(notify::render(file_body, v) == notify::render(builtin.body, v));
        }
}
