// parser/html.cpp: readable text from an HTML body, with libxml2's HTML parser (it
// recovers from the tag soup real mail contains; a regex would not).
//
// Paragraphs and headings become blank-line separated blocks, <br> and block ends become
// line breaks, list items get "- ", table cells a space; <head>, <style>, <script> and
// their kin are dropped; entities are decoded by libxml2; white space outside <pre> is
// collapsed as a browser would.
//
// Security: HTML_PARSE_NONET (no fetching of DTDs or entities), NOERROR/NOWARNING (no
// writes to stderr), RECOVER (never a hard failure). The tree walk follows parent/next
// pointers: no recursion, however deep the document.
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <climits>
#include <cstring>
#include <mutex>

#include "parser/internal.h"
#include "parser/parse.h"

namespace sd::parser {
namespace {

enum class Kind { inline_, skip, line, paragraph, br, list_item, cell, pre, quote };

Kind classify(const char* name) {
  struct Entry {
    const char* name;
    Kind kind;
  };
  static constexpr Entry kTable[] = {
      {"head", Kind::skip},       {"style", Kind::skip},      {"script", Kind::skip},
      {"title", Kind::skip},      {"noscript", Kind::skip},   {"template", Kind::skip},
      {"svg", Kind::skip},        {"object", Kind::skip},     {"iframe", Kind::skip},
      {"p", Kind::paragraph},     {"h1", Kind::paragraph},    {"h2", Kind::paragraph},
      {"h3", Kind::paragraph},    {"h4", Kind::paragraph},    {"h5", Kind::paragraph},
      {"h6", Kind::paragraph},    {"blockquote", Kind::quote}, {"ul", Kind::paragraph},
      {"ol", Kind::paragraph},    {"table", Kind::paragraph}, {"dl", Kind::paragraph},
      {"div", Kind::line},        {"tr", Kind::line},         {"hr", Kind::line},
      {"section", Kind::line},    {"article", Kind::line},    {"header", Kind::line},
      {"footer", Kind::line},     {"nav", Kind::line},        {"aside", Kind::line},
      {"address", Kind::line},    {"center", Kind::line},     {"form", Kind::line},
      {"fieldset", Kind::line},   {"figure", Kind::line},     {"main", Kind::line},
      {"dt", Kind::line},         {"dd", Kind::line},         {"caption", Kind::line},
      {"tbody", Kind::line},      {"thead", Kind::line},      {"tfoot", Kind::line},
      {"br", Kind::br},           {"li", Kind::list_item},    {"td", Kind::cell},
      {"th", Kind::cell},         {"pre", Kind::pre},
  };
  for (const Entry& e : kTable) {
    if (std::strcmp(name, e.name) == 0) return e.kind;
  }
  return Kind::inline_;
}

class TextBuilder {
 public:
  std::string out;

  void newlines(std::size_t count) {
    if (out.empty()) return;
    trim_trailing_spaces();
    std::size_t have = 0;
    for (auto it = out.rbegin(); it != out.rend() && *it == '\n'; ++it) ++have;
    while (have < count) {
      out.push_back('\n');
      ++have;
    }
    pending_space_ = false;
  }
  void space() { pending_space_ = true; }
  // Lines inside <blockquote> start with "> " per level, as a mail client quotes.
  void enter_quote() { ++quote_depth_; }
  void leave_quote() {
    if (quote_depth_ > 0) --quote_depth_;
  }
  void text(const char* s, bool preformatted) {
    for (const char* p = s; *p; ++p) {
      char c = *p;
      // U+00A0 (no-break space) reads as a space in text.
      if (static_cast<unsigned char>(c) == 0xC2 && static_cast<unsigned char>(p[1]) == 0xA0) {
        c = ' ';
        ++p;
        if (preformatted) {
          out.push_back(' ');
          continue;
        }
      }
      if (preformatted) {
        if (c != '\n' && c != '\r') quote_prefix();
        out.push_back(c == '\r' ? '\n' : c);
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        pending_space_ = true;
        continue;
      }
      if (pending_space_ && !out.empty() && out.back() != '\n' && out.back() != ' ') {
        out.push_back(' ');
      }
      pending_space_ = false;
      quote_prefix();
      out.push_back(c);
    }
  }
  void literal(std::string_view s) {
    if (pending_space_ && !out.empty() && out.back() != '\n' && out.back() != ' ') out.push_back(' ');
    pending_space_ = false;
    if (s != "\n") quote_prefix();
    out.append(s);
  }

 private:
  void quote_prefix() {
    if (quote_depth_ == 0 || !(out.empty() || out.back() == '\n')) return;
    for (std::size_t i = 0; i < quote_depth_ && i < 32; ++i) out += "> ";
  }
  void trim_trailing_spaces() {
    while (!out.empty() && out.back() == ' ') out.pop_back();
  }
  bool pending_space_ = false;
  std::size_t quote_depth_ = 0;
};

void init_libxml_once() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

}  // namespace

std::size_t detail::html_cut_position(std::string_view html) {
  std::size_t tags = 0;
  std::size_t pos = 0;
  while (true) {
    const void* hit = std::memchr(html.data() + pos, '<', html.size() - pos);
    if (hit == nullptr) return html.size();
    pos = static_cast<std::size_t>(static_cast<const char*>(hit) - html.data());
    if (++tags > kMaxHtmlTags) return pos;
    ++pos;
  }
}

std::string html_to_text(std::string_view html) {
  init_libxml_once();
  html = html.substr(0, detail::html_cut_position(html));
  std::string input;
  input.reserve(html.size());
  detail::append_repaired_utf8(input, html);
  if (input.size() > static_cast<std::size_t>(INT_MAX)) input.resize(INT_MAX);
  if (detail::trim(input).empty()) return {};
  const int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                      HTML_PARSE_NONET | HTML_PARSE_NODEFDTD;
  htmlDocPtr doc = htmlReadMemory(input.data(), static_cast<int>(input.size()), nullptr, "UTF-8",
                                  options);
  if (doc == nullptr) return {};
  TextBuilder b;
  int pre_depth = 0;
  xmlNodePtr root = xmlDocGetRootElement(doc);
  xmlNodePtr cur = root;
  while (cur != nullptr) {
    // Enter `cur`.
    bool descend = false;
    if (cur->type == XML_ELEMENT_NODE && cur->name != nullptr) {
      const Kind k = classify(reinterpret_cast<const char*>(cur->name));
      switch (k) {
        case Kind::skip: break;
        case Kind::paragraph: b.newlines(2); descend = true; break;
        case Kind::line: b.newlines(1); descend = true; break;
        case Kind::br: b.literal("\n"); break;
        case Kind::list_item: b.newlines(1); b.literal("- "); descend = true; break;
        case Kind::cell: b.space(); descend = true; break;
        case Kind::pre: b.newlines(2); ++pre_depth; descend = true; break;
        case Kind::quote: b.newlines(1); b.enter_quote(); descend = true; break;
        case Kind::inline_: descend = true; break;
      }
    } else if ((cur->type == XML_TEXT_NODE || cur->type == XML_CDATA_SECTION_NODE) &&
               cur->content != nullptr) {
      b.text(reinterpret_cast<const char*>(cur->content), pre_depth > 0);
    }
    if (descend && cur->children != nullptr) {
      cur = cur->children;
      continue;
    }
    // Leave `cur` and every ancestor whose last child it was.
    while (cur != nullptr) {
      if (cur->type == XML_ELEMENT_NODE && cur->name != nullptr) {
        switch (classify(reinterpret_cast<const char*>(cur->name))) {
          case Kind::paragraph: b.newlines(2); break;
          case Kind::line:
          case Kind::list_item: b.newlines(1); break;
          case Kind::pre: b.newlines(2); --pre_depth; break;
          case Kind::quote: b.newlines(1); b.leave_quote(); break;
          default: break;
        }
      }
      if (cur == root) {
        cur = nullptr;
        break;
      }
      if (cur->next != nullptr) {
        cur = cur->next;
        break;
      }
      cur = cur->parent;
    }
  }
  xmlFreeDoc(doc);
  // Trim trailing spaces of lines and the blank lines at both ends.
  std::string out;
  out.reserve(b.out.size());
  std::size_t pos = 0;
  while (pos < b.out.size()) {
    std::size_t nl = b.out.find('\n', pos);
    if (nl == std::string::npos) nl = b.out.size();
    std::string_view line(b.out.data() + pos, nl - pos);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    out.append(line);
    if (nl < b.out.size()) out.push_back('\n');
    pos = nl + 1;
  }
  std::string_view t = detail::trim(out);
  std::string result(t);
  if (!result.empty()) result.push_back('\n');
  return result;
}

}  // namespace sd::parser
