// portal/page_texts.h: every word the portal's pages show, per language (en, sv, da), looked up
// by key, and the operator's overrides of them (like the mail templates, notify/templates.h).
//
// Contract: a text is plain UTF-8 with {{name}} placeholders (e.g. "Page {{page}} of
// {{pages}}"); each key has a fixed list of placeholders (page_text_keys()). An operator
// overrides texts with files in [portal] templates_dir: portal.txt (all languages) and
// portal.LANG.txt (one language, wins over portal.txt), each of lines `key = text`; blank
// lines and lines starting with '#' are comments. load_page_texts() refuses, naming the file
// and line, an unknown key, a line without '=', a placeholder the key does not have, an
// unknown language in a file name and any other file named portal*.txt, so a typo is an error
// at start, never a silently ignored text. Built-in texts exist for every key in en, sv, da;
// an unknown language falls back to English.
//
// Security: texts are plain text, never markup: pages.cpp escapes them like every other
// value, so an override cannot add script or a link. Values put into placeholders are
// escaped the same way (render_text() does not escape; the page code escapes its result).
#pragma once

#include <tl/expected.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sd::portal {

class PageTextSet;
tl::expected<PageTextSet, std::string> load_page_texts(const std::string& templates_dir);

// A key, the placeholders its text may use, and what it is for (docs/portal.md lists them).
struct PageTextKey {
  std::string key;
  std::vector<std::string> placeholders;
};
const std::vector<PageTextKey>& page_text_keys();
const PageTextKey* page_text_key(std::string_view key);  // nullptr for an unknown key

// The texts of one language.
class PageTexts {
 public:
  // The text of `key`; the key itself for a key that has none (a bug, visible on the page).
  std::string get(std::string_view key) const;
  // get(key) with its placeholders replaced by `values` (not escaped: the caller escapes).
  std::string format(std::string_view key, const std::map<std::string, std::string>& values) const;
  std::string language;

 private:
  friend class PageTextSet;
  friend tl::expected<PageTextSet, std::string> load_page_texts(const std::string& templates_dir);
  std::map<std::string, std::string, std::less<>> texts_;
};

// The texts of every language, loaded and checked once at the portal's start.
class PageTextSet {
 public:
  static const PageTextSet& builtin();
  // The texts of `language` ("en", "sv", "da"); English for any other.
  const PageTexts& for_language(std::string_view language) const;

 private:
  friend tl::expected<PageTextSet, std::string> load_page_texts(const std::string& templates_dir);
  std::map<std::string, PageTexts, std::less<>> languages_;
};

// The built-in texts of `language` (English for an unknown one).
const PageTexts& texts_for(const std::string& language);

// The built-in texts with the operator's files from `templates_dir` over them (empty: the
// built-in texts). The error is "FILE:LINE: what is wrong" (or "DIR: ..." for the directory).
tl::expected<PageTextSet, std::string> load_page_texts(const std::string& templates_dir);

// `text` with {{name}} replaced by values[name]; a placeholder without a value stays visible.
std::string render_text(std::string_view text, const std::map<std::string, std::string>& values);

// The language of a visitor's pages: the organisation's language when we have it (en, sv,
// da), else the first of the Accept-Language tags we have ("sv-SE" counts as "sv"; the
// caller passes them in the order of preference, e.g. from http's parser), else the
// service's language, else "en". Case does not matter.
std::string pick_language(const std::string& organisation_language, const std::vector<std::string>& accept_languages,
                          const std::string& service_language);

}  // namespace sd::portal
