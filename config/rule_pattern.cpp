// config/rule_pattern.cpp: see rule_pattern.h.
//
// Security: the text matched comes from mail (subjects up to limits.max_header_bytes).
// Regular expressions run on RE2; a glob is split at its stars and each piece between them
// is found with a bit-parallel scan (shift-and), so a glob costs time linear in the text
// times ceil(piece length / 64), whatever the text holds. The backtracking glob it replaces
// took |text| x |piece| steps on text such as 50,000 x "a" against "*aaa...ab*".
#include "config/rule_pattern.h"

#include <re2/re2.h>

#include <cstdint>
#include <vector>

namespace sd {
namespace {

unsigned char ascii_lower(unsigned char ch) { return ch >= 'A' && ch <= 'Z' ? static_cast<unsigned char>(ch + 32) : ch; }

// Whether `piece` (? = any byte) matches `s` at `pos`; the caller has checked the length.
bool piece_at(std::string_view piece, std::string_view s, std::size_t pos) {
  for (std::size_t j = 0; j < piece.size(); ++j)
    if (piece[j] != '?' && ascii_lower(static_cast<unsigned char>(piece[j])) !=
                               ascii_lower(static_cast<unsigned char>(s[pos + j])))
      return false;
  return true;
}

// The end of the first occurrence of `piece` in s[from, end), or npos. Shift-and: bit j of
// `state` says the last j+1 bytes read match the piece's first j+1 bytes.
std::size_t find_piece(std::string_view piece, std::string_view s, std::size_t from, std::size_t end) {
  const std::size_t len = piece.size(), words = (len + 63) / 64;
  std::vector<std::uint64_t> mask(256 * words, 0);  // bytes allowed at each position of the piece
  for (std::size_t j = 0; j < len; ++j) {
    const std::uint64_t bit = std::uint64_t{1} << (j % 64);
    const std::size_t w = j / 64;
    auto ch = static_cast<unsigned char>(piece[j]);
    if (ch == '?') {
      for (std::size_t c = 0; c < 256; ++c) mask[c * words + w] |= bit;
    } else {
      unsigned char lo = ascii_lower(ch), up = lo >= 'a' && lo <= 'z' ? static_cast<unsigned char>(lo - 32) : lo;
      mask[lo * words + w] |= bit;
      mask[up * words + w] |= bit;
    }
  }
  std::vector<std::uint64_t> state(words, 0);
  const std::size_t last_word = (len - 1) / 64;
  const std::uint64_t last_bit = std::uint64_t{1} << ((len - 1) % 64);
  for (std::size_t i = from; i < end; ++i) {
    const std::uint64_t* m = &mask[static_cast<unsigned char>(s[i]) * words];
    std::uint64_t carry = 1;  // a match may start at every byte
    for (std::size_t w = 0; w < words; ++w) {
      std::uint64_t out = state[w] >> 63;
      state[w] = ((state[w] << 1) | carry) & m[w];
      carry = out;
    }
    if (state[last_word] & last_bit) return i + 1;
  }
  return std::string_view::npos;
}

}  // namespace

bool glob_match(std::string_view pat, std::string_view s) {
  const auto first_star = pat.find('*');
  if (first_star == std::string_view::npos) return s.size() == pat.size() && piece_at(pat, s, 0);
  const auto last_star = pat.rfind('*');
  const std::string_view head = pat.substr(0, first_star), tail = pat.substr(last_star + 1);
  if (s.size() < head.size() + tail.size()) return false;
  const std::size_t tail_at = s.size() - tail.size();
  if (!piece_at(head, s, 0) || !piece_at(tail, s, tail_at)) return false;
  // The pieces between the stars, each at its leftmost place after the one before: taking
  // the leftmost never loses a match, since it leaves the most text to the rest.
  std::size_t pos = head.size();
  std::string_view middle = pat.substr(first_star, last_star - first_star);
  while (!middle.empty()) {
    auto star = middle.find('*');
    std::string_view piece = middle.substr(0, star);
    middle = star == std::string_view::npos ? std::string_view{} : middle.substr(star + 1);
    if (piece.empty()) continue;
    pos = find_piece(piece, s, pos, tail_at);
    if (pos == std::string_view::npos) return false;
  }
  return true;
}

RulePattern::RulePattern(std::string text, bool always_regex) : text_(std::move(text)) {
  if (text_.empty()) return;
  const bool prefixed = text_.rfind("re:", 0) == 0;
  regex_ = prefixed || always_regex;
  if (!regex_) return;
  RE2::Options opt;
  opt.set_case_sensitive(false);
  opt.set_log_errors(false);  // a refused pattern is reported through error(), not on stderr
  opt.set_max_mem(kMaxMem);
  auto re = std::make_shared<const RE2>(prefixed ? std::string_view(text_).substr(3) : std::string_view(text_), opt);
  if (re->ok())
    re_ = std::move(re);
  else
    error_ = re->error();
}

bool RulePattern::matches(std::string_view value) const {
  if (text_.empty()) return true;
  if (!regex_) return glob_match(text_, value);
  return re_ && RE2::PartialMatch(re2::StringPiece(value.data(), value.size()), *re_);
}

std::string RulePattern::extract(std::string_view value) const {
  if (!re_) return "";
  re2::StringPiece found[2];
  const int groups = re_->NumberOfCapturingGroups() > 0 ? 2 : 1;
  if (!re_->Match(re2::StringPiece(value.data(), value.size()), 0, value.size(), RE2::UNANCHORED, found, groups))
    return "";
  // A group that took no part in the match has no data (RE2's "unmatched"), unlike an empty one.
  const re2::StringPiece& key = groups == 2 && found[1].data() != nullptr ? found[1] : found[0];
  return std::string(key.data(), key.size());
}

}  // namespace sd
