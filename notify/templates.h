// notify/templates.h: the texts of the mails the service desk sends, per language.
//
// Contract: a template is UTF-8 text with {{name}} placeholders; render() replaces the ones
// it is given and leaves unknown ones visible (a typo in an operator's template shows up
// in the mail rather than vanishing). Built-in texts exist for "en", "sv" and "da"; an
// unknown language falls back to English.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace sd::notify {

struct Template {
  std::string subject;  // e.g. "[{{ticket}}] {{subject}}"
  std::string body;
};

// kinds for customers (en, sv, da): acknowledgement, status-open, status-pending,
// status-resolved, status-reopened, status-closed, reply, unknown-sender;
// for agents (en): agent-notification, command-error. Throws std::invalid_argument for others.
Template builtin_template(std::string_view kind, std::string_view language);

// An operator's template from `dir` (KIND.LANG.txt, else KIND.txt: a first line
// "Subject: ...", a blank line, the body), else the built-in one. Throws
// std::invalid_argument naming the file when it is malformed.
Template load_template(const std::string& dir, std::string_view kind, std::string_view language);
std::string render(std::string_view text, const std::map<std::string, std::string>& values);

}  // namespace sd::notify
