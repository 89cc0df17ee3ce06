// notify/compose.h: builds the service desk's outgoing mails as complete RFC 5322 messages
// ready for SMTP.
//
// Contract: the output is 7-bit clean (libcurl never sends BODY=8BITMIME): non-ASCII
// header text becomes RFC 2047 encoded words, the UTF-8 body is quoted-printable. Lines end
// in CRLF. Every header is folded within 78 characters where it has a fold point and never
// passes 998 octets: text with a run too long to fold goes as encoded words, which fold.
// compose() is pure apart from drawing a random Message-ID (OpenSSL's CSPRNG).
//
// Security: addresses must be valid_addr_spec() (the caller checks: compose() throws
// std::invalid_argument for a From or To it cannot write, and leaves out such a Reply-To);
// In-Reply-To and References that are not valid_msg_id() are left out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sd::notify {

struct Mailbox {
  std::string name;   // display name, UTF-8; may be empty
  std::string email;
};

struct Draft {
  Mailbox from;
  std::vector<Mailbox> to;
  std::vector<Mailbox> reply_to;      // empty: none
  std::string subject;                // UTF-8
  std::string body_text;              // UTF-8
  std::string in_reply_to;            // Message-ID without <>; empty: none
  std::vector<std::string> references;  // without <>
  std::string auto_submitted;         // e.g. "auto-replied"; empty: a person's reply, no header
  std::int64_t date = 0;              // seconds since the epoch
  std::string message_id_domain;      // right-hand side of our Message-ID
  std::vector<std::pair<std::string, std::string>> extra_headers;  // ASCII only
};

struct Composed {
  std::string message_id;  // without <>
  std::string bytes;       // the whole message
};

Composed compose(const Draft& draft);

// An RFC 5321 Mailbox (what goes between the brackets of RCPT TO): a dot-atom or quoted
// local part of at most 64 octets, "@", a domain of letters, digits, hyphens and dots or an
// address literal; at most 254 octets, printable ASCII, no space or comma anywhere.
bool valid_addr_spec(std::string_view address);

// An RFC 5322 msg-id without its <>: dot-atom-text "@" (dot-atom-text or [dtext]), printable
// ASCII only, at most kMaxMsgIdLength octets.
inline constexpr std::size_t kMaxMsgIdLength = 250;
bool valid_msg_id(std::string_view id);

// Building blocks (exposed for tests).
// RFC 2047 encoded words (separated by spaces, where compose() folds) when the text is not
// printable ASCII, looks like an encoded word, or has a run too long to fold; else as is.
std::string encode_header_text(const std::string& utf8);
// "Name" <a@b> with encoding as needed; throws std::invalid_argument for an address that is
// not valid_addr_spec().
std::string format_mailbox(const Mailbox& m);
std::string quoted_printable(const std::string& utf8);     // CRLF line ends, soft breaks at 76
std::string rfc5322_date(std::int64_t unix_seconds);       // "Sun, 22 Nov 2026 06:20:00 +0000"

}  // namespace sd::notify
