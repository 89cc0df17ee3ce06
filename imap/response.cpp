// imap/response.cpp: see response.h.
#include "imap/response.h"

#include "imap/imap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sd {
namespace {

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::int64_t item_number(std::string_view text, std::string_view item) {
  for (std::size_t p = 0; (p = text.find(item, p)) != std::string_view::npos; p += item.size()) {
    bool starts_word = p == 0 || text[p - 1] == ' ' || text[p - 1] == '(' || text[p - 1] == '[';
    std::size_t q = p + item.size();
    if (!starts_word || q >= text.size() || text[q] != ' ') continue;
    std::int64_t v = -1;
    auto r = std::from_chars(text.data() + q + 1, text.data() + text.size(), v);
    if (r.ec == std::errc()) return v;
  }
  return -1;
}

std::int64_t exists_count(std::string_view text) {
  if (text.size() < 4 || text.substr(0, 2) != "* ") return -1;
  std::int64_t n = -1;
  auto r = std::from_chars(text.data() + 2, text.data() + text.size(), n);
  if (r.ec != std::errc() || !iequal(std::string_view(r.ptr, text.data() + text.size() - r.ptr), " EXISTS")) return -1;
  return n;
}

bool is_fetch_response(std::string_view text) {
  auto p = text.find(' ', 2);
  return text.substr(0, 2) == "* " && p != std::string_view::npos && text.size() >= p + 7 &&
         iequal(text.substr(p, 7), " FETCH ");
}

bool read_capabilities(std::string_view text, std::set<std::string>& into) {
  constexpr std::string_view kPrefix = "* CAPABILITY ";
  if (text.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view rest = text.substr(kPrefix.size());
  while (!rest.empty()) {
    auto sp = rest.find(' ');
    std::string word(rest.substr(0, sp));
    std::transform(word.begin(), word.end(), word.begin(), [](unsigned char ch) { return std::toupper(ch); });
    into.insert(word);
    rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp + 1);
  }
  return true;
}

std::string_view command_verb(std::string_view command) {
  return command.substr(0, command.find(' ', command.substr(0, 4) == "UID " ? 4 : 0));
}

bool completes(const ImapResponse& r, std::string_view tag, std::string_view verb) {
  std::string_view text(r.text);
  if (text.size() > tag.size() && text.substr(0, tag.size()) == tag && text[tag.size()] == ' ') {
    std::string_view status = text.substr(tag.size() + 1);
    if (status.size() >= 2 && iequal(status.substr(0, 2), "OK")) return true;
    throw ImapError(ImapError::Kind::protocol, fmt::format("{} refused: {}", verb, status));
  }
  if (text.substr(0, 5) == "* BYE")
    throw ImapError(ImapError::Kind::connect, fmt::format("the server ended the session: {}", text.substr(2)));
  return false;
}

}  // namespace sd
