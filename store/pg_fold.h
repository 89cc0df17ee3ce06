// store/pg_fold.h: the full-text fold of the PostgreSQL backend, done in the daemon's process
// (store/pg_fold.cpp, on ICU). Internal to store/ (and its tests).
//
// Contract: search_fold(text) is what the schema's SQL function sd_fold(left(text, max_chars))
// gives on a server built with ICU (pg_store.cpp's kSchema): lower case by ICU's root locale,
// NFD, the combining marks of the five blocks sd_fold names removed, and every run of what is
// no letter or digit (ICU's u_isalnum, as PostgreSQL's regular expressions under an ICU
// collation) one space. `text` must be valid UTF-8 without NUL (what the backend stores:
// valid_text()); anything else folds to what its valid part folds to. The server then makes
// the words of it (to_tsvector('simple', ...)) as before. Why here: sd_fold's normalize() and
// two regexp_replace() were about half of the server's work on each stored message
// (docs/PERFORMANCE.md); ICU does the same in a twentieth of the time, and the server is the
// part of the machine that every daemon shares.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sd::store {

inline constexpr std::size_t kSearchedChars = 100000;  // of a body: tsvector's 1 MB limit

std::string search_fold(std::string_view text, std::size_t max_chars = kSearchedChars);

}  // namespace sd::store
