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

}  // namespace

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
