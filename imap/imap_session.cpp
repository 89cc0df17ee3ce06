// imap/imap_session.cpp: see imap_session.h.
#include "imap/imap_session.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sd {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

ImapSession::Connection::Connection(const ImapSettings& settings, const std::string& url) : timeout_s_(settings.timeout_s) {
  curl_ = curl_easy_init();
  if (!curl_) throw ImapError(ImapError::Kind::protocol, "curl_easy_init failed");
  CURL* c = static_cast<CURL*>(curl_);
  char errbuf[CURL_ERROR_SIZE] = {0};
  imap_detail::set_common_options(c, settings, url, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);  // errbuf ends with this scope
  // A constructor that throws runs no destructor: the handle goes before each throw.
  if (rc != CURLE_OK) {
    curl_easy_cleanup(c);
    curl_ = nullptr;
    imap_detail::throw_curl_error(rc, errbuf);
  }
  curl_socket_t s = CURL_SOCKET_BAD;
  curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &s);
  if (s == CURL_SOCKET_BAD) {
    curl_easy_cleanup(c);
    curl_ = nullptr;
    throw ImapError(ImapError::Kind::connect, "libcurl gave no socket after login");
  }
  socket_ = s;
}

ImapSession::Connection::~Connection() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Clock::time_point ImapSession::Connection::deadline() const { return Clock::now() + std::chrono::seconds(timeout_s_); }

void ImapSession::Connection::send(std::string_view bytes) {
  CURL* c = static_cast<CURL*>(curl_);
  auto until = deadline();
  while (!bytes.empty()) {
    std::size_t n = 0;
    CURLcode rc = curl_easy_send(c, bytes.data(), bytes.size(), &n);
    if (rc == CURLE_OK) {
      bytes.remove_prefix(n);
      continue;
    }
    if (rc != CURLE_AGAIN) throw ImapError(ImapError::Kind::connect, fmt::format("sending failed: {}", curl_easy_strerror(rc)));
    pollfd p{static_cast<int>(socket_), POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0)
      throw ImapError(ImapError::Kind::timeout, "the server takes no data (send timed out)");
  }
}

std::size_t ImapSession::Connection::receive(char* buf, std::size_t size, Clock::time_point until, int wake_fd,
                                             bool& woken) {
  CURL* c = static_cast<CURL*>(curl_);
  woken = false;
  for (;;) {
    // Ask libcurl first: with TLS it may hold decrypted bytes the socket no longer shows.
    std::size_t n = 0;
    CURLcode rc = curl_easy_recv(c, buf, size, &n);
    if (rc == CURLE_OK) return n;  // 0: the server closed the connection
    if (rc != CURLE_AGAIN) throw ImapError(ImapError::Kind::connect, fmt::format("receiving failed: {}", curl_easy_strerror(rc)));
    pollfd p[2] = {{static_cast<int>(socket_), POLLIN, 0}, {wake_fd, POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    int ready = left > 0 ? ::poll(p, wake_fd >= 0 ? 2 : 1, static_cast<int>(std::min<long long>(left, 1 << 30))) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw ImapError(ImapError::Kind::connect, fmt::format("poll failed: {}", std::strerror(errno)));
    if (wake_fd >= 0 && (p[1].revents & POLLIN)) {
      woken = true;
      return 0;
    }
    if (ready == 0) throw ImapError(ImapError::Kind::timeout, fmt::format("no answer within {} s", timeout_s_));
  }
}

std::size_t ImapSession::Connection::read(std::span<char> buffer) {
  if (!pending_.empty()) {
    std::size_t n = std::min(buffer.size(), pending_.size());
    std::memcpy(buffer.data(), pending_.data(), n);
    pending_.erase(0, n);
    return n;
  }
  if (closed_) return 0;
  bool woken = false;
  return receive(buffer.data(), buffer.size(), deadline(), -1, woken);
}

bool ImapSession::Connection::wait(Clock::time_point until, int wake_fd) {
  if (!pending_.empty() || closed_) return true;
  pending_.resize(1 << 16);
  bool woken = false;
  std::size_t n = 0;
  try {
    n = receive(pending_.data(), pending_.size(), until, wake_fd, woken);
  } catch (...) {
    pending_.clear();
    throw;
  }
  pending_.resize(n);
  if (woken) return false;
  if (n == 0) closed_ = true;
  return true;
}

ImapSession::ImapSession(ImapSettings settings, ImapLimits limits)
    : settings_(std::move(settings)),
      url_(parse_imap_url(settings_.url)),
      limits_(limits),
      connection_(settings_, url_.base),
      reader_(connection_, limits_) {
  // libcurl read the pre-login capabilities; ask again for what holds after login.
  command("CAPABILITY", [this](Response& r) { read_capabilities(r.text, capabilities_); });
}

ImapSession::~ImapSession() {
  try {  // polite, best effort, not waited for
    connection_.send(next_tag() + " LOGOUT\r\n");
  } catch (const ImapError&) {
  }
}

bool ImapSession::has_capability(std::string_view name) const { return capabilities_.count(std::string(name)) > 0; }

std::string ImapSession::next_tag() { return fmt::format("sd{}", ++tag_); }

void ImapSession::command(const std::string& cmd, const Untagged& on_untagged, bool drop_big_literals) {
  std::string tag = next_tag();
  connection_.send(tag + " " + cmd + "\r\n");
  reader_.start_answer();
  for (;;) {
    Response r = reader_.read_response(drop_big_literals);
    if (completes(r, tag, command_verb(cmd))) return;
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
    if (!is_fetch_response(r.text)) return;
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
        if (!is_fetch_response(r.text) || r.literals.empty()) return;
        auto uid = item_number(r.text, "UID");
        auto at = std::lower_bound(uids.begin(), uids.end(), uid);
        if (uid <= 0 || at == uids.end() || *at != uid || heard[static_cast<std::size_t>(at - uids.begin())]) return;
        heard[static_cast<std::size_t>(at - uids.begin())] = true;
        // More than the one literal we asked for: too large if one was, else no telling
        // which is the mail (and passing over it would lose it).
        if (r.literals.size() > 1 && !r.dropped_bytes)
          throw ImapError(ImapError::Kind::protocol,
                          fmt::format("the answer for UID {} has {} literals where {} asks for one", uid,
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
    throw ImapError(ImapError::Kind::protocol, "the server lacks UIDPLUS (UID EXPUNGE): use after_ingest = \"seen\" or \"move:...\"");
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
  connection_.send(tag + " IDLE\r\n");
  reader_.start_answer();
  IdleEnd end = IdleEnd::renew;
  bool done_sent = false;
  auto until = Clock::now() + renew;
  auto finish = [&](IdleEnd why) {
    end = why;
    connection_.send("DONE\r\n");
    done_sent = true;
  };
  for (;;) {
    // While idling, wait for the server, the wake fd or the renew time; after DONE, for the tagged answer.
    if (!reader_.has_line()) {
      bool woke = false;
      try {
        woke = !connection_.wait(done_sent ? connection_.deadline() : until, done_sent ? -1 : wake_fd);
      } catch (const ImapError& e) {
        if (e.kind != ImapError::Kind::timeout || done_sent) throw;
        finish(IdleEnd::renew);
        continue;
      }
      if (woke) {
        // The watcher is stopping and drops the session: say DONE, but do not wait for the
        // server's answer, which could hold a shutdown up to timeout_s.
        connection_.send("DONE\r\n");
        return IdleEnd::woken;
      }
      reader_.receive();
      continue;
    }
    Response r = reader_.read_response();
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
