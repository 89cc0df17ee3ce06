// tests/support/imap_server.h: a scripted IMAP server on loopback for unit tests, speaking just
// enough IMAP4rev1 for our clients (greeting, CAPABILITY, LOGIN, SELECT, STATUS, UID FETCH of
// UID/RFC822.SIZE/BODY.PEEK[]/BODY[]/BODY.PEEK[HEADER], UID STORE, NOOP, LOGOUT), so that a
// test can make it misbehave as Dovecot cannot: a hook sees every command first and may answer
// it itself (huge literals, millions of `{0}` literals, a size that lies).
//
// Contract: the constructor returns once the server listens on 127.0.0.1 (a free port the
// kernel chose); each connection is served by its own thread; the destructor closes every
// connection and joins the threads. Every command is logged (commands()), and flags set by
// UID STORE or by a BODY[] fetch are kept per UID (flags()), so a test can check what the
// client did to the mailbox. A forked child may use the server too: it lives in the parent.
//
// Security: test code only; it listens on loopback, accepts any login and trusts its client.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sd::test {

struct ScriptedMail {
  std::int64_t uid = 0;
  std::string bytes;
  std::int64_t listed_size = -1;  // the RFC822.SIZE to report; -1: the true size
};

class ScriptedImapServer {
 public:
  // What a hook writes to: the client's connection.
  class Conn {
   public:
    explicit Conn(int fd) : fd_(fd) {}
    // False once the client has gone (the hook should then return).
    bool send(std::string_view bytes) {
      while (!bytes.empty()) {
        auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
      }
      return true;
    }
    // `piece` sent `times` times, in chunks of about 1 MiB (the server holds no more).
    bool send_repeated(std::string_view piece, std::size_t times) {
      std::size_t per_chunk = std::max<std::size_t>(1, (std::size_t(1) << 20) / std::max<std::size_t>(piece.size(), 1));
      std::string chunk;
      for (std::size_t i = 0; i < per_chunk; ++i) chunk += piece;
      while (times > 0) {
        std::size_t k = std::min(times, per_chunk);
        if (!send(std::string_view(chunk).substr(0, k * piece.size()))) return false;
        times -= k;
      }
      return true;
    }
    bool send_filler(std::size_t n) { return send_repeated("x", n); }

   private:
    int fd_;
  };
  using Hook = std::function<bool(Conn& conn, const std::string& tag, const std::string& command)>;

  explicit ScriptedImapServer(std::vector<ScriptedMail> mails, Hook hook = {})
      : mails_(std::move(mails)), hook_(std::move(hook)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd_ < 0) throw std::runtime_error("scripted IMAP server: socket failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("scripted IMAP server: bind/listen failed");
    port_ = ntohs(a.sin_port);
    if (::pipe(stop_) != 0) throw std::runtime_error("scripted IMAP server: pipe failed");
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~ScriptedImapServer() {
    stopping_ = true;
    (void)!::write(stop_[1], "x", 1);
    acceptor_.join();
    {
      std::lock_guard lock(m_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : connections_) t.join();
    ::close(listen_fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }
  ScriptedImapServer(const ScriptedImapServer&) = delete;
  ScriptedImapServer& operator=(const ScriptedImapServer&) = delete;

  std::string url() const { return "imap://127.0.0.1:" + std::to_string(port_) + "/INBOX"; }
  std::vector<std::string> commands() const {
    std::lock_guard lock(m_);
    return commands_;
  }
  std::set<std::string> flags(std::int64_t uid) const {
    std::lock_guard lock(m_);
    auto it = flags_.find(uid);
    return it == flags_.end() ? std::set<std::string>{} : it->second;
  }
  const std::vector<ScriptedMail>& mails() const { return mails_; }
  // "* SEQ FETCH (UID n ITEM {size}\r\nBYTES)\r\n": one mail's answer, for hooks.
  static std::string fetch_response(std::size_t seq, std::int64_t uid, std::string_view item, std::string_view bytes) {
    return "* " + std::to_string(seq) + " FETCH (UID " + std::to_string(uid) + " " + std::string(item) + " {" +
           std::to_string(bytes.size()) + "}\r\n" + std::string(bytes) + ")\r\n";
  }
  // The commands received that contain `text` (case-sensitive).
  std::size_t count_commands(std::string_view text) const {
    auto all = commands();
    return static_cast<std::size_t>(
        std::count_if(all.begin(), all.end(), [&](const std::string& c) { return c.find(text) != std::string::npos; }));
  }

 private:
  void accept_loop() {
    for (;;) {
      pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) continue;
      if (stopping_ || (p[1].revents & POLLIN)) return;
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      std::lock_guard lock(m_);
      open_fds_.insert(fd);
      connections_.emplace_back([this, fd] {
        serve(fd);
        std::lock_guard inner(m_);
        open_fds_.erase(fd);
        ::close(fd);
      });
    }
  }

  static std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    return s;
  }

  std::int64_t max_uid() const {
    std::int64_t m = 0;
    for (const auto& mail : mails_) m = std::max(m, mail.uid);
    return m;
  }

  // "1:3,7,9:*" -> the indexes of the mails it names (n:* names the last mail even below n).
  std::vector<std::size_t> select(const std::string& set) const {
    std::vector<std::size_t> out;
    std::int64_t top = max_uid();
    auto num = [&](const std::string& s) { return s == "*" ? top : std::stoll(s); };
    std::size_t p = 0;
    while (p <= set.size()) {
      auto comma = set.find(',', p);
      std::string part = set.substr(p, comma == std::string::npos ? std::string::npos : comma - p);
      auto colon = part.find(':');
      std::int64_t lo = num(part.substr(0, colon)), hi = colon == std::string::npos ? lo : num(part.substr(colon + 1));
      if (lo > hi) std::swap(lo, hi);
      for (std::size_t i = 0; i < mails_.size(); ++i)
        if (mails_[i].uid >= lo && mails_[i].uid <= hi) out.push_back(i);
      if (comma == std::string::npos) break;
      p = comma + 1;
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  static std::string header_of(const std::string& raw) {
    auto end = raw.find("\r\n\r\n");
    return end == std::string::npos ? raw : raw.substr(0, end + 4);
  }

  void serve(int fd) {
    Conn conn(fd);
    if (!conn.send("* OK scripted IMAP server ready\r\n")) return;
    std::string in;
    char buf[4096];
    for (;;) {
      auto eol = in.find("\r\n");
      if (eol == std::string::npos) {
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      std::string line = in.substr(0, eol);
      in.erase(0, eol + 2);
      if (upper(line) == "DONE") continue;  // the end of an IDLE
      auto sp = line.find(' ');
      if (sp == std::string::npos) continue;
      std::string tag = line.substr(0, sp), command = line.substr(sp + 1);
      {
        std::lock_guard lock(m_);
        commands_.push_back(command);
      }
      if (hook_ && hook_(conn, tag, command)) continue;
      if (!answer(conn, tag, command)) return;
    }
  }

  // A plain IMAP server's answer; false when the connection is to end.
  bool answer(Conn& conn, const std::string& tag, const std::string& command) {
    // mails_ never changes after the constructor; only flags_ takes the lock (never held over a send).
    std::string cmd = upper(command);
    if (cmd.rfind("CAPABILITY", 0) == 0)
      return conn.send("* CAPABILITY IMAP4rev1 UIDPLUS MOVE IDLE\r\n" + tag + " OK done\r\n");
    if (cmd.rfind("LOGIN ", 0) == 0) return conn.send(tag + " OK logged in\r\n");
    if (cmd.rfind("NOOP", 0) == 0) return conn.send(tag + " OK done\r\n");
    if (cmd.rfind("LOGOUT", 0) == 0) {
      conn.send("* BYE logging out\r\n" + tag + " OK done\r\n");
      return false;
    }
    std::string next = std::to_string(max_uid() + 1);
    if (cmd.rfind("SELECT ", 0) == 0 || cmd.rfind("EXAMINE ", 0) == 0)
      return conn.send("* " + std::to_string(mails_.size()) + " EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT " + next +
                       "] ok\r\n" + tag + " OK [READ-WRITE] selected\r\n");
    if (cmd.rfind("STATUS ", 0) == 0)
      return conn.send("* STATUS INBOX (UIDVALIDITY 7 UIDNEXT " + next + ")\r\n" + tag + " OK done\r\n");
    if (cmd.rfind("UID FETCH ", 0) == 0) {
      auto set_end = command.find(' ', 10);
      std::string items = cmd.substr(set_end + 1);
      for (auto i : select(command.substr(10, set_end - 10))) {
        auto& mail = mails_[i];
        std::string seq = std::to_string(i + 1), uid = std::to_string(mail.uid);
        bool ok = true;
        if (items.find("RFC822.SIZE") != std::string::npos) {
          auto size = mail.listed_size >= 0 ? mail.listed_size : static_cast<std::int64_t>(mail.bytes.size());
          ok = conn.send("* " + seq + " FETCH (UID " + uid + " RFC822.SIZE " + std::to_string(size) + ")\r\n");
        } else if (items.find("BODY.PEEK[HEADER]") != std::string::npos) {
          std::string h = header_of(mail.bytes);
          ok = conn.send("* " + seq + " FETCH (UID " + uid + " BODY[HEADER] {" + std::to_string(h.size()) + "}\r\n" + h + ")\r\n");
        } else if (items.find("BODY.PEEK[]") != std::string::npos || items.find("BODY[]") != std::string::npos) {
          if (items.find("BODY[]") != std::string::npos) {
            std::lock_guard lock(m_);
            flags_[mail.uid].insert("\\Seen");
          }
          ok = conn.send("* " + seq + " FETCH (UID " + uid + " BODY[] {" + std::to_string(mail.bytes.size()) + "}\r\n") &&
               conn.send(mail.bytes) && conn.send(")\r\n");
        }
        if (!ok) return false;
      }
      return conn.send(tag + " OK fetched\r\n");
    }
    if (cmd.rfind("UID STORE ", 0) == 0) {
      auto set_end = command.find(' ', 10);
      auto open = command.find('('), close = command.find(')');
      std::string flag = command.substr(open + 1, close - open - 1);
      std::lock_guard lock(m_);
      for (auto i : select(command.substr(10, set_end - 10))) flags_[mails_[i].uid].insert(flag);
      return conn.send(tag + " OK stored\r\n");
    }
    return conn.send(tag + " BAD not scripted\r\n");
  }

  const std::vector<ScriptedMail> mails_;
  Hook hook_;
  int listen_fd_ = -1;
  int stop_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::vector<std::thread> connections_;
  mutable std::mutex m_;
  std::set<int> open_fds_;
  std::vector<std::string> commands_;
  std::map<std::int64_t, std::set<std::string>> flags_;
};

}  // namespace sd::test
