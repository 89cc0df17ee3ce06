// parser/parse.h: turns the raw bytes of one RFC 5322 mail into what the service desk
// needs to know of it. Pure: no I/O, no globals, no exceptions out of parse().
//
// Contract: parse() accepts any byte string (NULs, broken MIME, megabytes of header) and
// always returns a ParsedMail. Whatever could not be read, or was cut by a limit, is
// named in `problems`; the caller stores the raw bytes regardless. Every string in a
// ParsedMail is valid UTF-8. Attachment names are display names, never paths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sd::parser {

struct Limits {
  std::size_t max_message_bytes = 64u << 20;     // past this only the head is parsed
  std::size_t max_header_bytes = 1u << 20;       // one message's or one part's header block
  std::size_t max_parts = 1000;                  // MIME entities in one message
  std::size_t max_depth = 30;                    // multipart / message/rfc822 nesting
  std::size_t max_attachment_bytes = 32u << 20;  // a larger attachment keeps its name and size, not its bytes
};

struct Address {
  std::string name;   // display name, decoded; may be empty
  std::string email;  // addr-spec as written (local@domain), lower-cased domain
};

struct Attachment {
  std::string filename;      // decoded display name; may be empty for an unnamed part
  std::string content_type;  // lower-case type/subtype
  std::string content_id;    // without <>; empty if none
  bool is_inline = false;    // Content-Disposition: inline (e.g. an image in HTML mail)
  std::size_t size = 0;      // decoded size in bytes (even when `data` was cut by a limit)
  std::string data;          // decoded bytes; empty when over max_attachment_bytes
};

struct Header {
  std::string name;   // as written
  std::string value;  // unfolded, not decoded
};

struct ParsedMail {
  std::string subject;                 // decoded, unfolded
  Address from;                        // the first address of the first From field
  bool from_ambiguous = false;         // more than one From field, or more than one address in it
  std::vector<Address> to, cc, reply_to;
  std::string message_id;              // without <>; empty if none
  std::string in_reply_to;             // first msg-id, without <>
  std::vector<std::string> references; // without <>, in order
  std::string date;                    // Date header as written (trimmed)
  std::optional<std::int64_t> date_unix;  // Date header parsed, seconds since the epoch (UTC)
  // Why this mail counts as automatic (RFC 3834 and common practice), or nullopt for a
  // person's mail: e.g. "auto-submitted: auto-replied", "precedence: bulk", "list-id",
  // "x-auto-response-suppress", "x-autoreply", "feedback-id", "return-path <> (a bounce)",
  // "delivery-status report", "sender mailer-daemon".
  std::optional<std::string> automatic;
  bool delivery_report = false;        // multipart/report; report-type=delivery-status, or a DSN part
  std::string body_text;               // the whole text, decoded to UTF-8
  std::string new_text;                // the new part of a reply: no quoted history, no signature
  std::vector<Attachment> attachments;
  std::vector<std::string> problems;   // limits hit, repairs made; empty for a clean mail
  std::vector<Header> headers;         // top-level header fields, in order (bounded by limits)

  // First top-level header with this name (case-insensitive), unfolded; nullptr if none.
  const std::string* header(std::string_view name) const;
};

ParsedMail parse(std::string_view raw, const Limits& limits = {});

// Building blocks of parse(), exposed for their unit tests (tests/parser/).
std::string decode_header_words(std::string_view value);                 // RFC 2047 (+ raw UTF-8 kept)
std::string to_utf8(std::string_view bytes, std::string_view charset);   // never throws; valid UTF-8 out
std::string html_to_text(std::string_view html);                         // libxml2's HTML parser
std::string reply_new_part(std::string_view text);                       // strip quotes and signature

}  // namespace sd::parser
