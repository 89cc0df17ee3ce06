// imap/response_reader.h: reads a server's responses, literals included (RFC 3501 4.3, 7.4.2),
// from a byte source.
//
// The source is whatever delivers the server's bytes: libcurl's logged-in connection in
// ImapSession, a string cut into pieces in the unit tests and the fuzzer. The reader does not
// care how the bytes are cut: a line or a literal may end anywhere in a read.
//
// Contract: one thread. Failures throw ImapError: a cap exceeded or a malformed literal is
// Kind::protocol naming the cap, a source that closes is Kind::connect; the source's own
// ImapErrors (timeouts) pass through. After an ImapError the reader is mid-response: only good
// for destruction. Error texts do not say "IMAP": whoever shows one names the protocol.
//
// Security: the server is not trusted with our memory (ImapLimits). A literal's length comes
// from the server, so it is read in pieces, never reserved up front beyond 64 MiB; one above
// max_literal is read and dropped where the caller allows (a mail fetch: the mail is then
// reported too large) and an error anywhere else; a literal announced above 4 GiB is an error
// even there (no mail is that large: SQLite keeps 1 GB a row), so a server cannot keep us
// reading without end. A line is at most max_line bytes, a response holds at most
// max_literals_per_response literals, and the answer to one command at most max_answer_bytes of
// lines and kept literals (counted before a byte of a literal is held).
#pragma once

#include "imap/imap.h"
#include "imap/response.h"

#include <cstddef>
#include <span>
#include <string>

namespace sd {

// Where the server's bytes come from.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Waits for the next bytes and puts up to buffer.size() of them into `buffer`; returns how
  // many, 0 when the server has closed the connection. Throws ImapError when none can come
  // (a timeout, a broken connection).
  virtual std::size_t read(std::span<char> buffer) = 0;
};

class ResponseReader {
 public:
  // `source` must outlive the reader.
  ResponseReader(ByteSource& source, ImapLimits limits);

  // A new command's answer begins: max_answer_bytes counts afresh.
  void start_answer();
  // The next untagged or tagged response. `drop_big_literals`: a literal above max_literal
  // (and at most 4 GiB) is read and dropped, recorded in ImapResponse::dropped_bytes, rather
  // than an error: for mail fetches.
  ImapResponse read_response(bool drop_big_literals = false);
  // True when a whole line is buffered, so that read_response() needs no read to begin.
  bool has_line() const;
  // One read from the source into the buffer (for a caller that waited on the source itself).
  void receive();

 private:
  std::string read_line();
  void read_exact(std::string& out, std::size_t n);
  void skip_exact(std::size_t n);  // reads n bytes and keeps none
  void spend(std::size_t bytes);   // counts bytes against the answer's cap (answer_left_)

  ByteSource& source_;
  ImapLimits limits_;
  std::size_t answer_left_ = 0;  // of max_answer_bytes, for the command under way
  std::string in_;               // received, not yet consumed from in_pos_
  std::size_t in_pos_ = 0;
  std::size_t searched_ = 0;  // in_ holds no CRLF before this offset (lines that come in small reads are scanned once)
};

}  // namespace sd
