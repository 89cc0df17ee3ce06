// store/pg_fold.cpp: search_fold() (store/pg_fold.h), sd_fold() of pg_store.cpp's schema on
// ICU: lower case (u_strToLower, root locale "und", as PostgreSQL's lower() under the
// "und-x-icu" collation), NFD (PostgreSQL's normalize() has tables of its own; both follow
// the Unicode standard, so they differ at most on characters newer than one of them), the
// combining marks of sd_fold's five ranges dropped, and runs of anything u_isalnum() is not
// made one space. Diagnostics: none; ICU failing (out of memory) gives the text unfolded but
// lowered by ASCII, which finds less, never something else. Security: input is the hostile
// mail's text, already valid UTF-8; its length is bounded by max_chars before ICU sees it.
#include "store/pg_fold.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <vector>

namespace sd::store {
namespace {

// sd_fold's '[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]'.
bool dropped_mark(UChar32 c) {
  return (c >= 0x0300 && c <= 0x036F) || (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x1DC0 && c <= 0x1DFF) ||
         (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE20 && c <= 0xFE2F);
}

// The first `max_chars` code points of `s`: PostgreSQL's left(), before anything else.
std::string_view first_chars(std::string_view s, std::size_t max_chars) {
  std::size_t i = 0, n = 0;
  while (i < s.size() && n < max_chars) {
    auto b = static_cast<unsigned char>(s[i]);
    i += b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    ++n;
  }
  return s.substr(0, std::min(i, s.size()));
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

// PostgreSQL's limits on a lexeme (MAXSTRLEN), its positions (MAXENTRYPOS - 1) and how many
// positions to_tsvector keeps of one lexeme (MAXNUMPOS - 1).
constexpr std::size_t kMaxWordBytes = 2047;
constexpr std::uint16_t kMaxPosition = 16383;
constexpr std::size_t kMaxPositions = 255;

bool ascii_digit(char c) { return c >= '0' && c <= '9'; }

// Calls word(w) for each word of folded text in order, as the default parser reads it.
template <class F>
void each_word(std::string_view folded, F&& word) {
  auto separator = [](char c) {
    auto b = static_cast<unsigned char>(c);
    return b < 0x80 && !ascii_digit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z');
  };
  std::size_t i = 0;
  while (i < folded.size()) {
    if (separator(folded[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < folded.size() && !separator(folded[end])) ++end;
    std::string_view w = folded.substr(i, end - i);
    i = end;
    // Digits, 'e', digits and then more: the parser reads the number ("sfloat") first.
    std::size_t d = 0;
    while (d < w.size() && ascii_digit(w[d])) ++d;
    if (d > 0 && d + 1 < w.size() && w[d] == 'e' && ascii_digit(w[d + 1])) {
      std::size_t e = d + 1;
      while (e < w.size() && ascii_digit(w[e])) ++e;
      if (e < w.size()) {
        word(w.substr(0, e));
        w.remove_prefix(e);
      }
    }
    word(w);
  }
}

}  // namespace

std::string search_vector(std::string_view folded) {
  // Each word once (an open-addressing table of the first-seen words), with its positions in
  // order (a chain through the occurrences).
  struct Word {
    std::string_view word;
    std::uint32_t first, last, count;
  };
  std::vector<Word> words;
  std::vector<std::uint16_t> position_of;
  std::vector<std::uint32_t> next;
  std::size_t slots = 64;
  while (slots < folded.size() / 2) slots *= 2;
  std::vector<std::uint32_t> table(slots, 0);  // 1 + index into words; 0: empty
  std::uint16_t position = 0;
  each_word(folded, [&](std::string_view w) {
    if (w.size() >= kMaxWordBytes) return;
    if (position < kMaxPosition) ++position;
    std::uint64_t h = 14695981039346656037ull;
    for (char c : w) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    std::size_t at = h & (slots - 1);
    while (table[at] != 0 && words[table[at] - 1].word != w) at = (at + 1) & (slots - 1);
    auto here = static_cast<std::uint32_t>(position_of.size());
    position_of.push_back(position);
    next.push_back(0);
    if (table[at] == 0) {
      words.push_back({w, here, here, 1});
      table[at] = static_cast<std::uint32_t>(words.size());
      return;
    }
    auto& word = words[table[at] - 1];
    if (word.count == kMaxPositions || position_of[word.last] == position) return;
    next[word.last] = here;
    word.last = here;
    ++word.count;
  });
  std::string out;
  out.reserve(folded.size() + 6 * position_of.size());
  char digits[8];
  for (const auto& word : words) {
    if (!out.empty()) out += ' ';
    out += '\'';
    out += word.word;
    out += "':";
    auto k = word.first;
    for (std::uint32_t n = 0; n < word.count; ++n, k = next[k]) {
      if (n > 0) out += ',';
      out.append(digits, std::to_chars(digits, digits + sizeof digits, position_of[k]).ptr);
    }
  }
  return out;
}

std::string search_query(std::string_view folded) {
  std::string out;
  std::size_t words = 0;
  each_word(folded, [&](std::string_view w) {
    if (w.size() >= kMaxWordBytes || words == kMaxPhraseWords) return;
    ++words;
    if (!out.empty()) out += " <-> ";
    out += '\'';
    out += w;
    out += '\'';
  });
  return out;
}

std::string search_fold(std::string_view text, std::size_t max_chars) {
  text = first_chars(text, max_chars);
  UErrorCode err = U_ZERO_ERROR;
  icu::UnicodeString src = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  // u_strToLower: the case mapping of lower() under an ICU collation (UnicodeString::toLower
  // would do the same through a Locale object).
  std::vector<UChar> lowered(static_cast<std::size_t>(src.length()) + 16);
  int32_t n = u_strToLower(lowered.data(), static_cast<int32_t>(lowered.size()), src.getBuffer(), src.length(), "und", &err);
  if (err == U_BUFFER_OVERFLOW_ERROR) {
    err = U_ZERO_ERROR;
    lowered.resize(static_cast<std::size_t>(n));
    n = u_strToLower(lowered.data(), n, src.getBuffer(), src.length(), "und", &err);
  }
  const icu::Normalizer2* nfd = U_SUCCESS(err) ? icu::Normalizer2::getNFDInstance(err) : nullptr;
  icu::UnicodeString decomposed;
  if (U_SUCCESS(err) && nfd) decomposed = nfd->normalize(icu::UnicodeString(false, lowered.data(), n), err);
  if (U_FAILURE(err)) return ascii_lower(text);

  std::string out;
  out.reserve(text.size() + 8);
  bool gap = false;  // a run of what is no letter or digit, written as one space before the next word
  const UChar* p = decomposed.getBuffer();
  const int32_t len = decomposed.length();
  for (int32_t i = 0; i < len;) {
    UChar32 c;
    U16_NEXT(p, i, len, c);
    if (dropped_mark(c)) continue;
    if (!u_isalnum(c)) {
      gap = true;
      continue;
    }
    if (gap) out += ' ';
    gap = false;
    char buf[U8_MAX_LENGTH];
    int32_t k = 0;
    UBool bad = false;
    U8_APPEND(reinterpret_cast<uint8_t*>(buf), k, U8_MAX_LENGTH, c, bad);
    if (!bad) out.append(buf, static_cast<std::size_t>(k));
  }
  if (gap) out += ' ';
  return out;
}

}  // namespace sd::store
