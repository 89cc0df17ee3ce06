// imap/response.h: one IMAP server response (RFC 3501 section 7) and what the clients read out
// of it: the numbers after UIDVALIDITY, UIDNEXT, UID and RFC822.SIZE, an EXISTS count, a
// FETCH, the capability list, and the tagged status that ends a command.
//
// Pure functions over text the reader (imap/response_reader.h) has already bounded; no I/O.
//
// Security: the text comes from the server. Numbers are read with std::from_chars (no
// overflow, no locale); a number that does not parse counts as absent (-1), so a lying server
// gets a missing UIDVALIDITY error or a skipped FETCH, never a wrong UID.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sd {

// One untagged or tagged response, literals included.
struct ImapResponse {
  std::string text;                   // its lines joined, each literal left as its "{n}" announcement
  std::vector<std::string> literals;  // in order; a dropped one (above ImapLimits::max_literal) is left empty
  std::size_t dropped_bytes = 0;      // the largest literal dropped; 0: none
};

// The number after the word `item` in a response ("UID 42", "[UIDVALIDITY 7]",
// "(UIDNEXT 9)"); -1 if there is none. `item` counts only as a whole word: "XUID 5" is not "UID".
std::int64_t item_number(std::string_view text, std::string_view item);

// "* 12 EXISTS" -> 12; -1 for other responses.
std::int64_t exists_count(std::string_view text);

// True for "* n FETCH (...)".
bool is_fetch_response(std::string_view text);

// "* CAPABILITY IMAP4rev1 IDLE move" adds "IMAP4REV1", "IDLE", "MOVE" to `into` (upper case,
// as has_capability() asks); false, adding nothing, for any other response.
bool read_capabilities(std::string_view text, std::set<std::string>& into);

// The verb a log line or an error names for a command: "SELECT", "UID FETCH".
std::string_view command_verb(std::string_view command);

// True for the tagged OK that ends the command tagged `tag`. Throws ImapError(protocol) naming
// `verb` and the server's text on its NO or BAD, and ImapError(connect) on a BYE. False for
// any other response (untagged data, another tag).
bool completes(const ImapResponse& r, std::string_view tag, std::string_view verb);

}  // namespace sd
