// config/rule_pattern.h: an intake rule's pattern (from, to, subject, alert key), compiled
// once when it is set and matched against mail text many times.
//
// A pattern is a glob (*, ?) or, prefixed "re:", an RE2 regular expression; both ignore
// case. An alert key pattern is always a regular expression ("re:" optional).
//
// Security: mail controls the text matched, so nothing here may take more than linear time
// or recurse per character: std::regex did both and one long subject killed the daemon
// (issue 11). RE2 runs in time linear in the text, without recursion, within a memory
// bound (kMaxMem per expression); a glob is matched by an iterative loop. RE2 refuses
// lookaround and backreferences: error() says so, and load_config turns that into a
// ConfigError naming the file and line.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace sd {

class RulePattern {
 public:
  // Memory an expression and its matching caches may use; past it RE2 falls back to slower
  // (still linear) matching, and an expression too large for it is refused.
  static constexpr long long kMaxMem = 2 << 20;

  RulePattern() = default;
  // Implicit, so a rule reads `r.subject = "re:^PROBLEM"`; compiles at once.
  RulePattern(std::string text) : RulePattern(std::move(text), false) {}
  RulePattern(const char* text) : RulePattern(std::string(text)) {}

  const std::string& text() const { return text_; }
  bool empty() const { return text_.empty(); }
  bool is_regex() const { return regex_; }
  // Empty when the pattern is usable; else RE2's message (the pattern then matches nothing).
  const std::string& error() const { return error_; }

  // An empty pattern matches everything; a regular expression matches anywhere in `value`,
  // a glob the whole of it.
  bool matches(std::string_view value) const;

  // The first capture group if the expression has one and it took part in the match, else
  // the whole match; empty when it does not match (or is a glob).
  std::string extract(std::string_view value) const;

 protected:
  RulePattern(std::string text, bool always_regex);

 private:
  std::string text_;
  bool regex_ = false;
  std::shared_ptr<const re2::RE2> re_;  // shared: a Config stays cheap to copy
  std::string error_;
};

// The alert key: a regular expression whether or not it starts with "re:".
class AlertKeyPattern : public RulePattern {
 public:
  AlertKeyPattern() = default;
  AlertKeyPattern(std::string text) : RulePattern(std::move(text), true) {}
  AlertKeyPattern(const char* text) : AlertKeyPattern(std::string(text)) {}
};

// Whether `s` matches the glob `pat` (* any run, ? one byte), ignoring ASCII case.
bool glob_match(std::string_view pat, std::string_view s);

}  // namespace sd
