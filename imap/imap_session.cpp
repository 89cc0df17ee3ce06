// imap/imap_session.cpp: see imap_session.h.
#include "imap/imap_session.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace sd {
namespace {

using Clock = std::chrono::steady_clock;

// No mail is larger (SQLite keeps at most 1 GB a row): an announcement above this is an
// error even where a big literal would be read and dropped, so that a server cannot keep us
// reading a literal without end.
constexpr std::size_t kLiteralCeiling = std::size_t(4) << 30;

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

// The number after the word `item` in a response ("UID 42", "[UIDVALIDITY 7]"); -1 if none.
std::int64_t item_number(std::string_view text, std::string_view item) {
  for (std::size_t p = 0; (p = text.find(item, p)) != std::string_view::npos; p += item.size()) {
    bool starts_word = p == 0 || text[p - 1] == ' ' || text[p - 1] == '(' || text[p - 1] == '[';
    std::size_t q = p + item.size();
    if (!starts_word || q >= text.size() || text[q] != ' ') continue;
    std::int64_t v = -1;
    auto r = std::from_chars(text.data() + q + 1, text.data() + text.size(), v);
    if (r.ec == std::errc()) return v;
  }
  return -1;
}

// "* 12 EXISTS" -> 12; -1 for other responses.
std::int64_t exists_count(std::string_view text) {
  if (text.size() < 4 || text.substr(0, 2) != "* ") return -1;
  std::int64_t n = -1;
  auto r = std::from_chars(text.data() + 2, text.data() + text.size(), n);
  if (r.ec != std::errc() || !iequal(std::string_view(r.ptr, text.data() + text.size() - r.ptr), " EXISTS")) return -1;
  return n;
}

bool is_fetch(std::string_view text) {
  auto p = text.find(' ', 2);
  return text.substr(0, 2) == "* " && p != std::string_view::npos && text.size() >= p + 7 &&
         iequal(text.substr(p, 7), " FETCH ");
}

}  // namespace

ImapSession::ImapSession(ImapSettings settings, ImapLimits limits)
    : settings_(std::move(settings)), url_(parse_imap_url(settings_.url)), limits_(limits) {
  curl_ = curl_easy_init();
  if (!curl_) throw ImapError(ImapError::Kind::protocol, "curl_easy_init failed");
  CURL* c = static_cast<CURL*>(curl_);
  char errbuf[CURL_ERROR_SIZE] = {0};
  imap_detail::set_common_options(c, settings_, url_.base, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);  // errbuf ends with this scope
  if (rc != CURLE_OK) imap_detail::throw_curl_error(rc, errbuf);
  curl_socket_t s = CURL_SOCKET_BAD;
  curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &s);
  if (s == CURL_SOCKET_BAD) throw ImapError(ImapError::Kind::connect, "IMAP: libcurl gave no socket after login");
  socket_ = s;
  // libcurl read the pre-login capabilities; ask again for what holds after login.
  command("CAPABILITY", [this](Response& r) {
    if (r.text.rfind("* CAPABILITY ", 0) != 0) return;
    std::string_view rest(r.text);
    rest.remove_prefix(13);
    while (!rest.empty()) {
      auto sp = rest.find(' ');
      std::string word(rest.substr(0, sp));
      std::transform(word.begin(), word.end(), word.begin(), [](unsigned char ch) { return std::toupper(ch); });
      capabilities_.insert(word);
      rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp + 1);
    }
  });
}

ImapSession::~ImapSession() {
  if (!curl_) return;
  if (socket_ >= 0) {
    try {  // polite, best effort, not waited for
      send(next_tag() + " LOGOUT\r\n");
    } catch (const ImapError&) {
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(curl_));
}

bool ImapSession::has_capability(std::string_view name) const { return capabilities_.count(std::string(name)) > 0; }

Clock::time_point ImapSession::deadline() const { return Clock::now() + std::chrono::seconds(settings_.timeout_s); }

std::string ImapSession::next_tag() { return fmt::format("sd{}", ++tag_); }

void ImapSession::send(std::string_view bytes) {
  CURL* c = static_cast<CURL*>(curl_);
  auto until = deadline();
  while (!bytes.empty()) {
    std::size_t n = 0;
    CURLcode rc = curl_easy_send(c, bytes.data(), bytes.size(), &n);
    if (rc == CURLE_OK) {
      bytes.remove_prefix(n);
      continue;
    }
    if (rc != CURLE_AGAIN) throw ImapError(ImapError::Kind::connect, fmt::format("IMAP: sending failed: {}", curl_easy_strerror(rc)));
    pollfd p{static_cast<int>(socket_), POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0)
      throw ImapError(ImapError::Kind::timeout, "IMAP: the server takes no data (send timed out)");
  }
}

bool ImapSession::fill(Clock::time_point until, int wake_fd) {
  CURL* c = static_cast<CURL*>(curl_);
  if (in_pos_ > 0 && in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > (1 << 16) && in_pos_ > in_.size() / 2) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  char buf[1 << 16];
  for (;;) {
    // Ask libcurl first: with TLS it may hold decrypted bytes the socket no longer shows.
    std::size_t n = 0;
    CURLcode rc = curl_easy_recv(c, buf, sizeof buf, &n);
    if (rc == CURLE_OK) {
      if (n == 0) throw ImapError(ImapError::Kind::connect, "IMAP: the server closed the connection");
      in_.append(buf, n);
      return true;
    }
    if (rc != CURLE_AGAIN) throw ImapError(ImapError::Kind::connect, fmt::format("IMAP: receiving failed: {}", curl_easy_strerror(rc)));
    pollfd p[2] = {{static_cast<int>(socket_), POLLIN, 0}, {wake_fd, POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    int ready = left > 0 ? ::poll(p, wake_fd >= 0 ? 2 : 1, static_cast<int>(std::min<long long>(left, 1 << 30))) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw ImapError(ImapError::Kind::connect, fmt::format("IMAP: poll failed: {}", std::strerror(errno)));
    if (wake_fd >= 0 && (p[1].revents & POLLIN)) return false;
    if (ready == 0) throw ImapError(ImapError::Kind::timeout, fmt::format("IMAP: no answer within {} s", settings_.timeout_s));
  }
}

std::string ImapSession::read_line() {
  for (;;) {
    auto eol = in_.find("\r\n", in_pos_);
    if (eol != std::string::npos) {
      spend(eol + 2 - in_pos_);
      std::string line = in_.substr(in_pos_, eol - in_pos_);
      in_pos_ = eol + 2;
      return line;
    }
    if (in_.size() - in_pos_ > (1 << 20))
      throw ImapError(ImapError::Kind::protocol, "IMAP: a response line longer than 1 MB");
    fill(deadline());
  }
}

void ImapSession::read_exact(std::string& out, std::size_t n) {
  out.clear();
  out.reserve(std::min(n, std::size_t(64) << 20));  // grows past that only as the bytes really come
  while (out.size() < n) {
    if (in_pos_ == in_.size()) fill(deadline());
    std::size_t take = std::min(n - out.size(), in_.size() - in_pos_);
    out.append(in_, in_pos_, take);
    in_pos_ += take;
  }
}

void ImapSession::skip_exact(std::size_t n) {
  while (n > 0) {
    if (in_pos_ == in_.size()) fill(deadline());
    std::size_t take = std::min(n, in_.size() - in_pos_);
    in_pos_ += take;
    n -= take;
  }
}

void ImapSession::spend(std::size_t bytes) {
  if (bytes > answer_left_)
    throw ImapError(ImapError::Kind::protocol,
                    fmt::format("IMAP: the server's answer to one command is larger than {} bytes, the cap for one answer "
                                "(imap.batch_max_bytes + limits.max_message_bytes + 1 MiB)",
                                limits_.max_answer_bytes));
  answer_left_ -= bytes;
}

ImapSession::Response ImapSession::read_response(bool drop_big_literals) {
  Response r;
  for (;;) {
    std::string line = read_line();
    r.text += line;
    // A line ending in {n} or {n+} announces a literal of n bytes, after which the response goes on.
    if (line.empty() || line.back() != '}') return r;
    auto open = line.rfind('{');
    if (open == std::string::npos) return r;
    std::string_view digits(line.data() + open + 1, line.size() - open - 2);
    if (!digits.empty() && digits.back() == '+') digits.remove_suffix(1);
    std::size_t n = 0;
    auto res = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (res.ec != std::errc() || res.ptr != digits.data() + digits.size()) return r;
    if (r.literals.size() == limits_.max_literals_per_response)
      throw ImapError(ImapError::Kind::protocol, fmt::format("IMAP: a response with more than {} literals, the cap for "
                                                             "one response",
                                                             limits_.max_literals_per_response));
    r.literals.emplace_back();
    if (n > limits_.max_literal && drop_big_literals && n <= kLiteralCeiling) {
      skip_exact(n);
      r.dropped_bytes = std::max(r.dropped_bytes, n);
      continue;
    }
    if (n > limits_.max_literal)
      throw ImapError(ImapError::Kind::protocol,
                      drop_big_literals
                          ? fmt::format("IMAP: the server announced a literal of {} bytes, above {}: no mail is that large", n,
                                        kLiteralCeiling)
                          : fmt::format("IMAP: the server announced a literal of {} bytes, above the cap of {} "
                                        "(limits.max_message_bytes)",
                                        n, limits_.max_literal));
    spend(n);  // before a byte of it is held
    read_exact(r.literals.back(), n);
  }
}

bool ImapSession::completes(const Response& r, const std::string& tag, std::string_view verb) {
  if (r.text.size() > tag.size() && r.text.compare(0, tag.size() + 1, tag + " ") == 0) {
    std::string_view status(r.text);
    status.remove_prefix(tag.size() + 1);
    if (status.size() >= 2 && iequal(status.substr(0, 2), "OK")) return true;
    throw ImapError(ImapError::Kind::protocol, fmt::format("IMAP {}: {}", verb, status));
  }
  if (r.text.rfind("* BYE", 0) == 0)
    throw ImapError(ImapError::Kind::connect, "IMAP: the server ended the session: " + r.text.substr(2));
  return false;
}

void ImapSession::command(const std::string& cmd, const Untagged& on_untagged, bool drop_big_literals) {
  std::string tag = next_tag();
  send(tag + " " + cmd + "\r\n");
  answer_left_ = limits_.max_answer_bytes;
  for (;;) {
    Response r = read_response(drop_big_literals);
    if (completes(r, tag, cmd.substr(0, cmd.find(' ', cmd.rfind("UID ", 0) == 0 ? 4 : 0)))) return;
    if (auto n = exists_count(r.text); n >= 0) exists_ = n;
    if (on_untagged) on_untagged(r);
  }
}

MailboxStatus ImapSession::status() {
  MailboxStatus s;
  command("SELECT " + imap_quote(url_.mailbox), [&s](Response& r) {
    if (auto v = item_number(r.text, "UIDVALIDITY"); v > 0) s.uidvalidity = v;
    if (auto v = item_number(r.text, "UIDNEXT"); v > 0) s.uidnext = v;
  });
  if (s.uidvalidity <= 0)
    throw ImapError(ImapError::Kind::protocol, fmt::format("SELECT {} gave no UIDVALIDITY", url_.mailbox));
  selected_ = true;
  return s;
}

std::vector<ListedMail> ImapSession::list_from(std::int64_t first_uid) {
  std::vector<ListedMail> out;
  if (!selected_) status();
  if (exists_ == 0) return out;  // "UID FETCH n:*" on an empty mailbox is an error on some servers
  command(fmt::format("UID FETCH {}:* (UID RFC822.SIZE)", std::max<std::int64_t>(first_uid, 1)), [&](Response& r) {
    if (!is_fetch(r.text)) return;
    auto uid = item_number(r.text, "UID"), size = item_number(r.text, "RFC822.SIZE");
    if (uid >= first_uid) out.push_back({uid, std::max<std::int64_t>(size, 0)});  // "n:*" also matches the last UID below n
  });
  std::sort(out.begin(), out.end(), [](const ListedMail& a, const ListedMail& b) { return a.uid < b.uid; });
  out.erase(std::unique(out.begin(), out.end(), [](const ListedMail& a, const ListedMail& b) { return a.uid == b.uid; }),
            out.end());
  return out;
}

void ImapSession::fetch_items(const std::vector<std::int64_t>& uids, std::string_view item,
                              const std::function<void(std::int64_t uid, Response& r)>& each) {
  if (uids.empty()) return;
  if (!selected_) status();
  // Responses come in mailbox order, which is UID order; unsolicited FETCHes (flag changes
  // by another client) carry no literal and are passed over. Each UID is heard once: a
  // server that sends a mail again (or millions of times) gets no more of our memory.
  std::vector<bool> heard(uids.size());
  command(
      fmt::format("UID FETCH {} (UID {})", uid_set(uids), item),
      [&](Response& r) {
        if (!is_fetch(r.text) || r.literals.empty()) return;
        auto uid = item_number(r.text, "UID");
        auto at = std::lower_bound(uids.begin(), uids.end(), uid);
        if (uid <= 0 || at == uids.end() || *at != uid || heard[static_cast<std::size_t>(at - uids.begin())]) return;
        heard[static_cast<std::size_t>(at - uids.begin())] = true;
        // More than the one literal we asked for: too large if one was, else no telling
        // which is the mail (and passing over it would lose it).
        if (r.literals.size() > 1 && !r.dropped_bytes)
          throw ImapError(ImapError::Kind::protocol,
                          fmt::format("IMAP: the answer for UID {} has {} literals where {} asks for one", uid,
                                      r.literals.size(), item));
        each(uid, r);
      },
      true);
}

void ImapSession::fetch(std::int64_t /*uidvalidity: fixed for the session by SELECT*/, const std::vector<std::int64_t>& uids,
                        const Take& take, const TooLarge& too_large) {
  fetch_items(uids, "BODY.PEEK[]", [&](std::int64_t uid, Response& r) {
    if (r.dropped_bytes) too_large(uid, static_cast<std::int64_t>(r.dropped_bytes));
    else take(uid, std::move(r.literals.front()));
  });
}

void ImapSession::fetch_headers(std::int64_t /*uidvalidity*/, const std::vector<std::int64_t>& uids, const Take& take) {
  fetch_items(uids, "BODY.PEEK[HEADER]", [&](std::int64_t uid, Response& r) { take(uid, std::move(r.literals.front())); });
}

void ImapSession::mark_seen(const std::vector<std::int64_t>& uids) {
  if (!uids.empty()) command(fmt::format("UID STORE {} +FLAGS.SILENT (\\Seen)", uid_set(uids)));
}

void ImapSession::move(const std::vector<std::int64_t>& uids, const std::string& folder) {
  if (uids.empty()) return;
  if (has_capability("MOVE")) {
    command(fmt::format("UID MOVE {} {}", uid_set(uids), imap_quote(folder)));
    return;
  }
  command(fmt::format("UID COPY {} {}", uid_set(uids), imap_quote(folder)));  // RFC 6851's fallback
  remove(uids);
}

void ImapSession::remove(const std::vector<std::int64_t>& uids) {
  if (uids.empty()) return;
  command(fmt::format("UID STORE {} +FLAGS.SILENT (\\Deleted)", uid_set(uids)));
  // Without UIDPLUS there is only EXPUNGE, which would also remove what others marked \Deleted.
  if (!has_capability("UIDPLUS"))
    throw ImapError(ImapError::Kind::protocol, "IMAP: the server lacks UIDPLUS (UID EXPUNGE): use after_ingest = \"seen\" or \"move:...\"");
  command(fmt::format("UID EXPUNGE {}", uid_set(uids)));
}

void ImapSession::create_folder(const std::string& folder) {
  try {
    command("CREATE " + imap_quote(folder));
  } catch (const ImapError& e) {
    if (e.kind != ImapError::Kind::protocol) throw;  // "already exists" comes back as a NO
  }
}

ImapSession::IdleEnd ImapSession::idle(std::chrono::seconds renew, int wake_fd) {
  if (!selected_) status();
  std::string tag = next_tag();
  send(tag + " IDLE\r\n");
  answer_left_ = limits_.max_answer_bytes;
  IdleEnd end = IdleEnd::renew;
  bool done_sent = false;
  auto until = Clock::now() + renew;
  auto finish = [&](IdleEnd why) {
    end = why;
    send("DONE\r\n");
    done_sent = true;
  };
  for (;;) {
    // While idling, wait for the server, the wake fd or the renew time; after DONE, for the tagged answer.
    auto wait_until = done_sent ? deadline() : until;
    if (in_.find("\r\n", in_pos_) == std::string::npos) {
      bool woke = false;
      try {
        woke = !fill(wait_until, done_sent ? -1 : wake_fd);
      } catch (const ImapError& e) {
        if (e.kind != ImapError::Kind::timeout || done_sent) throw;
        finish(IdleEnd::renew);
        continue;
      }
      if (woke) {
        // The watcher is stopping and drops the session: say DONE, but do not wait for the
        // server's answer, which could hold a shutdown up to timeout_s.
        send("DONE\r\n");
        return IdleEnd::woken;
      }
      continue;
    }
    Response r = read_response();
    if (completes(r, tag, "IDLE")) return end;
    // Any EXISTS may mean new mail (an expunge and an arrival together can keep the count): a
    // pass too many costs a login, a pass too few would wait for the poll interval.
    if (auto n = exists_count(r.text); n >= 0) {
      exists_ = n;
      if (!done_sent) finish(IdleEnd::new_mail);
    }
  }
}

}  // namespace sd
