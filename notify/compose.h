// notify/compose.h: builds the service desk's outgoing mails as complete RFC 5322 messages
// ready for SMTP.
//
// Contract: the output is 7-bit clean (libcurl never sends BODY=8BITMIME): non-ASCII
// header text becomes RFC 2047 encoded words, the UTF-8 body is quoted-printable. Lines end
// in CRLF. compose() is pure apart from drawing a random Message-ID.
#pragma once

#include <cstdint>
#include <string>
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

// Building blocks (exposed for tests).
std::string encode_header_text(const std::string& utf8);   // RFC 2047 when needed, else as is
std::string format_mailbox(const Mailbox& m);              // "Name" <a@b> with encoding as needed
std::string quoted_printable(const std::string& utf8);     // CRLF line ends, soft breaks at 76
std::string rfc5322_date(std::int64_t unix_seconds);       // "Sun, 22 Nov 2026 06:20:00 +0000"

}  // namespace sd::notify
