// notify/templates.h: the texts of the mails the service desk sends, per language.
//
// Contract: a template is UTF-8 text with {{name}} placeholders; render() replaces the ones
// it is given and leaves others visible. An operator's template that names a placeholder its
// kind does not have is refused when the set is loaded, so a typo is a config error at start
// or reload, never a mail error. Built-in texts exist for "en", "sv" and "da"; an
// unknown language falls back to English.
#pragma once

#include <tl/expected.hpp>

#include <map>
#include <vector>
#include <string>
#include <string_view>

namespace sd::notify {

struct Template {
  std::string subject;  // e.g. "[{{ticket}}] {{subject}}"
  std::string body;
};

// A kind of mail the desk sends, and the placeholders its text may use. Customers' kinds
// exist in en, sv and da; agents' in en. docs/templates.md describes each for operators.
struct TemplateKind {
  std::string kind;
  bool customer = false;
  std::vector<std::string> placeholders;
};
const std::vector<TemplateKind>& template_kinds();
const TemplateKind* template_kind(std::string_view kind);  // nullptr for an unknown kind

// The built-in text of a kind in a language (unknown languages: English). Throws
// std::invalid_argument for a kind without one.
Template builtin_template(std::string_view kind, std::string_view language);

// Every kind's text in every language, loaded and checked once (at start and on SIGHUP).
class TemplateSet {
 public:
  static TemplateSet builtin();
  // The kind's text in `language`, else in English. Throws std::logic_error for a kind that
  // is not in template_kinds() (a bug, not an operator's mistake).
  const Template& get(std::string_view kind, std::string_view language) const;

 private:
  friend tl::expected<TemplateSet, std::string> load_templates(const std::string& dir);
  std::map<std::string, Template> texts_;  // "KIND.LANG"
};

// The built-in texts with the operator's files from `dir` (KIND.LANG.txt, else KIND.txt: a
// first line "Subject: ...", a blank line, the body) over them. The error names the file and
// line: a file of no known kind or language, a missing Subject line, a placeholder the kind
// does not have.
tl::expected<TemplateSet, std::string> load_templates(const std::string& dir);

std::string render(std::string_view text, const std::map<std::string, std::string>& values);

}  // namespace sd::notify
