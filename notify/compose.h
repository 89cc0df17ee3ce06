// notify/compose.h: builds the service desk's outgoing mails as complete RFC 5322 messages
// ready for SMTP.
//
// Contract: the output is 7-bit clean (libcurl never sends BODY=8BITMIME): non-ASCII
// header text becomes RFC 2047 encoded words, the UTF-8 body is quoted-printable. Lines end
// in CRLF. Every header is folded within 78 characters where it has a fold point and never
// passes 998 octets: text with a run too long to fold goes as encoded words, which fold.
// compose() is pure apart from drawing a random Message-ID (OpenSSL's CSPRNG).
//
// Files: compose() makes one text/plain part; with_attachments() turns that mail into
// multipart/mixed at send time (the outbox keeps only the text mail, the files once, in the
// store). Its tree is built and written with mimetic; each file is base64 (mimetic's
// Base64::Encoder, 76-character CRLF lines) before it goes in, every boundary is set here,
// from the Message-ID, so a retry sends the same bytes. The same 7-bit and line rules hold,
// and the output is checked for them. File names are RFC 2231 (ours, not mimetic's).
//
// Security: addresses must be valid_addr_spec() (the caller checks: compose() throws
// std::invalid_argument for a From or To it cannot write, and leaves out such a Cc or
// Reply-To: the caller puts only valid_addr_spec() addresses in the envelope);
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
  std::vector<Mailbox> cc;            // empty: none; an address compose() cannot write is left out
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

struct OutgoingAttachment {
  std::string filename;      // UTF-8 as the sender named it; sent as attachment_filename() makes it
  std::string content_type;  // type/subtype; message/*, multipart/* or anything malformed: application/octet-stream
  std::string content_id;    // without <>; empty or not a msg-id: none (an inline part gets one)
  bool is_inline = false;    // Content-Disposition: inline (an image of an HTML mail), else attachment
  std::string data;          // the bytes, any of the 256 values
};

// `composed_mail` (a compose() result) as multipart/mixed: its text part first, as it was,
// then each file in order as a base64 part with Content-Disposition (filename="ASCII
// fallback", plus filename*=UTF-8''... per RFC 2231 when the name is not plain short ASCII)
// and a Content-ID for inline parts. The top-level header fields stay as compose() wrote
// them, but Content-Type and Content-Transfer-Encoding, which move to the text part.
// No files: the mail unchanged. Deterministic: the same input gives the same bytes.
// Throws std::invalid_argument when `composed_mail` has no header block, std::logic_error
// if the output broke the 7-bit or 998-octet rule (a bug, never sent).
std::string with_attachments(std::string_view composed_mail, const std::vector<OutgoingAttachment>& files);

// A file name as with_attachments() sends it: line breaks, tabs and other controls become
// spaces; '/', backslash, bidi and zero-width controls and bytes that are not UTF-8 become
// '_'; no white space at either end and no trailing dot; at most 255 bytes (the extension
// kept); "attachment" when nothing is left. It is what our parser reads back.
std::string attachment_filename(std::string_view utf8);

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
