// tests/fuzz/fuzz_imap.cpp: libFuzzer target for the IMAP response reader
// (imap/response_reader.h) and what the clients read out of a response (imap/response.h), fed
// what a hostile server could send, cut into reads as the network might cut it.
//
// The input: byte 0 chooses the limits (bit 0: small caps, so that every cap is reached;
// bit 1: a mail fetch, which drops literals above max_literal), the low 3 bits of byte 1 how
// many read sizes follow (0: the bytes come all at once), then one byte per size (1-256 bytes
// a read, cycled); the rest is the server's bytes. Besides ASan/UBSan findings it checks the
// contract: only ImapError escapes, and no response holds more than ImapLimits allows.
//
// Run: tests/fuzz/run_fuzz.sh BUILD/tests/fuzz/fuzz_imap SECONDS [WORKDIR]
//
// Security notes: test code.
#include "imap/response.h"
#include "imap/response_reader.h"
#include "tests/support/chunked_source.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

sd::ImapLimits limits_for(std::uint8_t choice) {
  sd::ImapLimits l;
  if (choice & 1) {
    l.max_literal = 64;
    l.max_answer_bytes = 4096;
    l.max_literals_per_response = 3;
    l.max_line = 256;
  }
  return l;
}

// What the clients do with every response: none of it may fail but by ImapError.
void read_out(const sd::ImapResponse& r) {
  for (const char* item : {"UID", "RFC822.SIZE", "UIDVALIDITY", "UIDNEXT"}) (void)sd::item_number(r.text, item);
  (void)sd::exists_count(r.text);
  (void)sd::is_fetch_response(r.text);
  std::set<std::string> caps;
  (void)sd::read_capabilities(r.text, caps);
  try {
    (void)sd::completes(r, "sd1", sd::command_verb(r.text));
  } catch (const sd::ImapError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const sd::ImapLimits limits = limits_for(data[0]);
  const bool drop = data[0] & 2;
  std::size_t n_sizes = data[1] & 7;
  if (size < 2 + n_sizes) return 0;
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < n_sizes; ++i) sizes.push_back(std::size_t(data[2 + i]) + 1);
  sd::test::ChunkedSource source(std::string(reinterpret_cast<const char*>(data) + 2 + n_sizes, size - 2 - n_sizes),
                                 sizes);
  sd::ResponseReader reader(source, limits);
  std::size_t held = 0;  // text and kept literals since the answer began
  try {
    for (;;) {
      (void)reader.has_line();
      sd::ImapResponse r = reader.read_response(drop);
      require(r.literals.size() <= limits.max_literals_per_response);
      held += r.text.size();
      for (const auto& lit : r.literals) {
        require(lit.size() <= limits.max_literal);
        held += lit.size();
      }
      require(drop || r.dropped_bytes == 0);
      require(r.dropped_bytes == 0 || r.dropped_bytes > limits.max_literal);
      require(held <= limits.max_answer_bytes);
      read_out(r);
      // A tagged response ends a command: the next answer counts afresh, as in ImapSession.
      if (r.text.rfind("sd", 0) == 0) {
        reader.start_answer();
        held = 0;
      }
    }
  } catch (const sd::ImapError&) {
    // Every input ends here: the bytes run out ("closed") if no cap is hit first.
  }
  return 0;
}
