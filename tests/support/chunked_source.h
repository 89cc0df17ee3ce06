// tests/support/chunked_source.h: a server's bytes for the IMAP response reader, from a string
// handed out in reads of chosen sizes, for the unit tests (tests/imap) and the fuzzer
// (tests/fuzz/fuzz_imap.cpp).
//
// Contract: read() gives the next piece (the sizes cycle; a size of 0 counts as 1), never more
// than the reader's buffer, and 0 once the string is used up: the server has closed the
// connection. With `then_timeout`, the end is a timeout instead (ImapError(timeout)), as a
// server that stays silent looks to ImapSession.
//
// Security notes: test code.
#pragma once

#include "imap/response_reader.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace sd::test {

class ChunkedSource final : public ByteSource {
 public:
  explicit ChunkedSource(std::string bytes, std::vector<std::size_t> sizes = {}, bool then_timeout = false)
      : bytes_(std::move(bytes)), sizes_(std::move(sizes)), then_timeout_(then_timeout) {}

  std::size_t read(std::span<char> buffer) override {
    ++reads_;
    if (pos_ == bytes_.size()) {
      if (then_timeout_) throw ImapError(ImapError::Kind::timeout, "no answer within 1 s");
      return 0;
    }
    std::size_t want = sizes_.empty() ? bytes_.size() : std::max<std::size_t>(sizes_[next_++ % sizes_.size()], 1);
    std::size_t n = std::min({want, buffer.size(), bytes_.size() - pos_});
    std::memcpy(buffer.data(), bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

  std::size_t handed_out() const { return pos_; }  // bytes the reader has taken so far
  std::size_t reads() const { return reads_; }

 private:
  std::string bytes_;
  std::vector<std::size_t> sizes_;
  bool then_timeout_;
  std::size_t pos_ = 0;
  std::size_t next_ = 0;
  std::size_t reads_ = 0;
};

}  // namespace sd::test
