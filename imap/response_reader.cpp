// imap/response_reader.cpp: see response_reader.h.
#include "imap/response_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace sd {
namespace {

// No mail is larger (SQLite keeps at most 1 GB a row): an announcement above this is an
// error even where a big literal would be read and dropped.
constexpr std::size_t kLiteralCeiling = std::size_t(4) << 30;

ImapError protocol_error(std::string what) { return ImapError(ImapError::Kind::protocol, std::move(what)); }

// The n of a line that ends in "{n}" or "{n+}" (a literal of n bytes follows); nullopt when the
// line announces none: then the line ends its response. Digits too many for a size are an
// error, not text: read as text, the literal's bytes would be taken for responses.
std::optional<std::size_t> announced_literal(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  auto open = line.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view digits = line.substr(open + 1, line.size() - open - 2);
  if (!digits.empty() && digits.back() == '+') digits.remove_suffix(1);
  std::size_t n = 0;
  auto res = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (res.ptr != digits.data() + digits.size() || digits.empty()) return std::nullopt;
  if (res.ec == std::errc::result_out_of_range)
    throw protocol_error(fmt::format("the server announced a literal of {} bytes: no mail is that large", digits));
  if (res.ec != std::errc()) return std::nullopt;
  return n;
}

}  // namespace

ResponseReader::ResponseReader(ByteSource& source, ImapLimits limits)
    : source_(source), limits_(limits), answer_left_(limits.max_answer_bytes) {}

void ResponseReader::start_answer() { answer_left_ = limits_.max_answer_bytes; }

bool ResponseReader::has_line() const { return in_.find("\r\n", std::max(in_pos_, searched_)) != std::string::npos; }

void ResponseReader::receive() {
  if (in_pos_ > 0 && in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
    searched_ = 0;
  } else if (in_pos_ > (1 << 16) && in_pos_ > in_.size() / 2) {
    in_.erase(0, in_pos_);
    searched_ = searched_ > in_pos_ ? searched_ - in_pos_ : 0;
    in_pos_ = 0;
  }
  char buf[1 << 16];
  std::size_t n = std::min(source_.read(buf), sizeof buf);
  if (n == 0) throw ImapError(ImapError::Kind::connect, "the server closed the connection");
  in_.append(buf, n);
}

std::string ResponseReader::read_line() {
  auto too_long = [this] {
    return protocol_error(fmt::format("a response line longer than {} bytes, the cap for one line", limits_.max_line));
  };
  for (;;) {
    auto eol = in_.find("\r\n", std::max(in_pos_, searched_));
    if (eol != std::string::npos) {
      if (eol - in_pos_ > limits_.max_line) throw too_long();
      spend(eol + 2 - in_pos_);
      std::string line = in_.substr(in_pos_, eol - in_pos_);
      in_pos_ = eol + 2;
      return line;
    }
    if (in_.size() - in_pos_ > limits_.max_line + 1) throw too_long();  // + 1: its CR may be here, its LF not yet
    searched_ = in_.empty() ? 0 : in_.size() - 1;
    receive();
  }
}

void ResponseReader::read_exact(std::string& out, std::size_t n) {
  out.clear();
  out.reserve(std::min(n, std::size_t(64) << 20));  // grows past that only as the bytes really come
  while (out.size() < n) {
    if (in_pos_ == in_.size()) receive();
    std::size_t take = std::min(n - out.size(), in_.size() - in_pos_);
    out.append(in_, in_pos_, take);
    in_pos_ += take;
  }
}

void ResponseReader::skip_exact(std::size_t n) {
  while (n > 0) {
    if (in_pos_ == in_.size()) receive();
    std::size_t take = std::min(n, in_.size() - in_pos_);
    in_pos_ += take;
    n -= take;
  }
}

void ResponseReader::spend(std::size_t bytes) {
  if (bytes > answer_left_)
    throw protocol_error(fmt::format("the server's answer to one command is larger than {} bytes, the cap for one answer "
                                     "(imap.batch_max_bytes + limits.max_message_bytes + 1 MiB)",
                                     limits_.max_answer_bytes));
  answer_left_ -= bytes;
}

ImapResponse ResponseReader::read_response(bool drop_big_literals) {
  ImapResponse r;
  for (;;) {
    std::string line = read_line();
    r.text += line;
    auto n = announced_literal(line);
    if (!n) return r;  // after a literal the response goes on; a line without one ends it
    if (r.literals.size() == limits_.max_literals_per_response)
      throw protocol_error(fmt::format("a response with more than {} literals, the cap for one response",
                                       limits_.max_literals_per_response));
    r.literals.emplace_back();
    if (*n > limits_.max_literal && drop_big_literals && *n <= kLiteralCeiling) {
      skip_exact(*n);
      r.dropped_bytes = std::max(r.dropped_bytes, *n);
      continue;
    }
    if (*n > limits_.max_literal)
      throw protocol_error(drop_big_literals
                               ? fmt::format("the server announced a literal of {} bytes, above {}: no mail is that large",
                                             *n, kLiteralCeiling)
                               : fmt::format("the server announced a literal of {} bytes, above the cap of {} "
                                             "(limits.max_message_bytes)",
                                             *n, limits_.max_literal));
    spend(*n);  // before a byte of it is held
    read_exact(r.literals.back(), *n);
  }
}

}  // namespace sd
