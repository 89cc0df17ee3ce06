// parser/internal.h: building blocks shared by the parser's source files. Not part of the
// public contract (parse.h); exposed to tests/parser/ only so that each step can be
// checked on its own.
//
// Every function here is linear in its input, allocates at most a small multiple of it,
// never recurses and never throws except std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parser/parse.h"

namespace sd::parser::detail {

// ---- bytes and text (text.cpp) ----
std::string ascii_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::string_view trim(std::string_view s);  // spaces, tabs, CR, LF

bool is_valid_utf8(std::string_view s);
// Valid UTF-8 out: invalid sequences become U+FFFD, NUL becomes U+FFFD (text only).
void append_repaired_utf8(std::string& out, std::string_view s);
// Raw header or body bytes without a (known) charset: UTF-8 if valid, else windows-1252.
std::string guess_to_utf8(std::string_view bytes);
void append_windows1252(std::string& out, std::string_view bytes);
// The canonical iconv name for a mail charset label, "utf-8", "windows-1252", or "" for a
// label that is not a charset name at all (too long, odd characters).
std::string canonical_charset(std::string_view label);
// A label to_utf8() converts as named (false: it falls back to UTF-8 or windows-1252).
bool is_known_charset(std::string_view label);

struct DecodeStats {
  std::size_t skipped = 0;  // bytes of garbage ignored
};
std::string decode_base64(std::string_view in, DecodeStats* stats = nullptr);
std::string decode_quoted_printable(std::string_view in, DecodeStats* stats = nullptr);
// RFC 2047 "Q" encoding: like quoted-printable, '_' is a space.
std::string decode_q(std::string_view in);
// RFC 3676 format=flowed, on LF-normalised text.
std::string unflow(std::string_view text, bool delsp);
// CRLF and lone CR to LF.
std::string normalize_newlines(std::string_view text);

// ---- headers (header.cpp) ----
struct HeaderBlock {
  std::vector<Header> fields;  // raw values (bytes as written), unfolded, trimmed
  std::string_view body;       // what follows the blank line
  bool cut = false;            // max_header_bytes reached: later fields were dropped
};
// `skip_mbox_from`: a leading "From " line (mbox separator) is not a header.
HeaderBlock split_header_block(std::string_view entity, std::size_t max_bytes,
                               bool skip_mbox_from);
const std::string* find_header(const std::vector<Header>& fields, std::string_view name);

struct ContentType {
  std::string type = "text";      // lower case
  std::string subtype = "plain";  // lower case
  bool valid = false;             // a type/subtype was written
  std::vector<std::pair<std::string, std::string>> params;  // lower-case names, decoded values
  const std::string* param(std::string_view name) const;
};
// Parameters: quoted strings may hold ';'; RFC 2231 continuations and charsets decoded;
// RFC 2047 words inside values decoded too (common practice for filenames).
std::vector<std::pair<std::string, std::string>> parse_params(std::string_view s);
ContentType parse_content_type(std::string_view value);
// Content-Disposition: the disposition word (lower case) and its parameters.
ContentType parse_disposition(std::string_view value);

// At most kMaxAddresses addresses and kMaxMsgIds ids: each costs far more memory than
// its few bytes on the wire.
std::vector<Address> parse_address_list(std::string_view value);
std::vector<std::string> parse_msg_ids(std::string_view value);
std::optional<std::int64_t> parse_date(std::string_view value);

// ---- limits of the pieces above ----
inline constexpr std::size_t kMaxCharsetLabel = 64;
inline constexpr std::size_t kMaxParams = 64;
inline constexpr std::size_t kMaxAddresses = 10000;
inline constexpr std::size_t kMaxMsgIds = 1000;
// libxml2 spends ~150 bytes per element: HTML is cut before the tag that exceeds this
// many, so a page of "<b>" cannot grow the tree to 50 times its size.
inline constexpr std::size_t kMaxHtmlTags = 100000;
// Where html_to_text() cuts `html` (html.size() if it does not).
std::size_t html_cut_position(std::string_view html);

}  // namespace sd::parser::detail
