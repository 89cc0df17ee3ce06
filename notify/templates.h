// notify/templates.h: the texts of the mails the service desk sends, per language.
//
// Contract: a template is UTF-8 text with {{name}} placeholders and sections: {{#name}}...{{/name}}
// is shown only when `name` has a non-empty value, {{^name}}...{{/name}} only when it is empty
// (sections of different names nest). A section tag alone on its line takes the whole line
// with it, so a section can sit on lines of its own. render() replaces the placeholders it is
// given and leaves others visible. An operator's template that names a placeholder its kind
// does not have, or whose sections do not close in order, is refused when the set is loaded,
// so a typo is a config error at start or reload, never a mail error. Built-in texts exist for
// "en", "sv" and "da"; an unknown language falls back to English.
//
// Security: values are inserted as they are, never read as template text: a customer's
// "{{#x}}" in a subject or an agent's text is mail text, not a section.
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
  // The fixed words the customers' subjects of this set put between the ticket's tag and
  // {{subject}} ("Resolved: ", "Löst: ", ...), in every language, longest first.
  std::vector<std::string> subject_words() const;

 private:
  friend tl::expected<TemplateSet, std::string> load_templates(const std::string& dir);
  std::map<std::string, Template> texts_;  // "KIND.LANG"
};

// The built-in texts with the operator's files from `dir` (KIND.LANG.txt, else KIND.txt: a
// first line "Subject: ...", a blank line, the body) over them. The error names the file and
// line: a file of no known kind or language, a missing Subject line, a placeholder the kind
// does not have.
tl::expected<TemplateSet, std::string> load_templates(const std::string& dir);

// `text` with its placeholders replaced and its sections shown or left out. A section of a
// name without a value counts as empty; a placeholder without a value stays visible.
std::string render(std::string_view text, const std::map<std::string, std::string>& values);

// What a greeting calls a person, from the display name of their mail: the part after the
// comma of "Last, First", else the first word ("Anna Svensson", "Svensson, Anna" and
// "Dr. Anna Svensson" give "Anna"), quotes and spaces trimmed. "" when nothing in it reads as
// a first name: no name, an address, a lone title or initial, a word with digits or symbols.
std::string first_name(std::string_view display_name);

// How a customer's mail names a ticket's status ("open and being worked on", "löst") in
// `language` (unknown languages: English); an unknown status as it is.
std::string status_words(std::string_view status, std::string_view language);

// A ticket's subject as our mails show it after our own tag: without any "[PREFIX-n]" tag of
// ours, the reply and forward prefixes in front of a tag (Re:, SV:, AW:, VS:, Fwd:, ...) and
// the words our subjects put right after a tag (`after_tag`, e.g. "Löst: ": see
// TemplateSet::subject_words()). "Re: [SD-1] Löst: Skrivaren" -> "Skrivaren"; another desk's
// tag or a prefix before no tag of ours stays.
std::string subject_without_tags(std::string_view subject, std::string_view ticket_prefix,
                                 const std::vector<std::string>& after_tag = {});

}  // namespace sd::notify
