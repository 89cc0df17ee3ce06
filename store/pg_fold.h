// store/pg_fold.h: the full-text fold of the PostgreSQL backend, done in the daemon's process
// (store/pg_fold.cpp, on ICU). Internal to store/ (and its tests).
//
// Contract: search_fold(text) is what the schema's SQL function sd_fold(left(text, max_chars))
// gives on a server built with ICU (pg_store.cpp's kSchema): lower case by ICU's root locale,
// NFD, the combining marks of the five blocks sd_fold names removed, and every run of what is
// no letter or digit (ICU's u_isalnum, as PostgreSQL's regular expressions under an ICU
// collation) one space. `text` must be valid UTF-8 without NUL (what the backend stores:
// valid_text()); anything else folds to what its valid part folds to. search_vector() then
// makes the words of it, as to_tsvector('simple', ...) on the server did. Why here: sd_fold's normalize() and
// two regexp_replace() were about half of the server's work on each stored message
// (docs/PERFORMANCE.md); ICU does the same in a twentieth of the time, and the server is the
// part of the machine that every daemon shares.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sd::store {

inline constexpr std::size_t kSearchedChars = 100000;  // of a body: tsvector's 1 MB limit
inline constexpr std::size_t kMaxPhraseWords = 256;     // of a search word (search_query)

std::string search_fold(std::string_view text, std::size_t max_chars = kSearchedChars);

// Contract: the text form of what to_tsvector('simple', folded) gives for folded text (the
// output of search_fold) in a database of the C locale: its words as PostgreSQL's default
// parser reads them (runs of letters and digits; a leading number in scientific notation,
// "12e3" of "12e3abc", a word of its own), numbered from 1, the positions of a word at most
// 255 and at most 16383 (a later one counts as 16383), a word of 2047 bytes or more left out
// without a position. Given to the server as `CAST(? AS tsvector)`, which only reads it: the
// server's parser was a sixth of the server's work on each stored message
// (docs/PERFORMANCE.md). Words hold no quote or backslash (ASCII other than letters and
// digits separates words), so the literal needs no escapes.
std::string search_vector(std::string_view folded);

// Contract: the text form of what phraseto_tsquery('simple', folded) gives (its words as
// search_vector reads them, each followed by the next: `'a' <-> 'b'`), of its first
// kMaxPhraseWords words (the server parses a phrase recursively: 17,000 words overflow its
// stack); empty when folded has no word. The stored vectors and the query are read by the
// same code, so a search finds the words as they were stored, whatever the database's locale.
std::string search_query(std::string_view folded);

}  // namespace sd::store
