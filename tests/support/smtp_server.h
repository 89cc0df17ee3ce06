// tests/support/smtp_server.h: a real SMTP server for unit tests, Debian's aiosmtpd, which
// keeps every mail it accepts in a maildir that the test reads back.
//
// Contract: the constructor returns once the server accepts connections on 127.0.0.1 (a
// free port chosen by the kernel), or throws std::runtime_error saying why not (aiosmtpd
// missing: apt-get install python3-aiosmtpd). The destructor stops the server (SIGTERM,
// then SIGKILL) and reaps it; the maildir lives in the caller's directory. A mail is in the
// maildir before the server answers 250 to its DATA (aiosmtpd's Mailbox handler writes it
// first), so whatever a client was told was accepted can be read back at once.
// With a FaultyHandler it runs tests/e2e/smtp_faults.py's FaultyMailbox instead, which
// answers RCPT TO and DATA as its JSON control file says (550 or 450 to named recipients,
// 451s), and journals each answer; the maildir is the same.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace sd::test {

// One mail as the server accepted it: the envelope aiosmtpd records in X-MailFrom and
// X-RcptTo, and the Message-ID of the mail itself (without angle brackets).
struct AcceptedMail {
  std::string mail_from;
  std::vector<std::string> recipients;
  std::string message_id;
  std::string bytes;
};

// smtp_faults.FaultyMailbox: `control_file` (written by the test, read on every RCPT and
// DATA), `module_dir` the folder holding smtp_faults.py (the repository's tests/e2e).
struct FaultyHandler {
  std::string control_file;
  std::string module_dir;
};

class SmtpServer {
 public:
  // `maildir`: a directory that need not exist yet; cur/, new/ and tmp/ are made in it.
  explicit SmtpServer(const std::string& maildir, const FaultyHandler* faulty = nullptr) : dir_(maildir) {
    for (const char* sub : {"cur", "new", "tmp"}) std::filesystem::create_directories(dir_ / sub);
    port_ = free_port();
    std::string listen = "127.0.0.1:" + std::to_string(port_);
    std::string log = (dir_.parent_path() / ("aiosmtpd-" + std::to_string(port_) + ".log")).string();
    std::vector<std::string> args = {"/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", listen,
                                     "-c", "aiosmtpd.handlers.Mailbox", dir_.string()};
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e)
      if (!faulty || std::strncmp(*e, "PYTHONPATH=", 11) != 0) env.emplace_back(*e);
    if (faulty) {
      args[7] = "smtp_faults.FaultyMailbox";
      args.push_back(faulty->control_file);
      env.push_back("PYTHONPATH=" + faulty->module_dir);
    }
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start /usr/bin/python3 -m aiosmtpd: " + std::string(strerror(rc)));
    wait_until_listening(log);
  }
  ~SmtpServer() { stop(); }
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  // Every mail accepted since the start (or the last clear()), in no particular order.
  std::vector<AcceptedMail> accepted() const {
    std::vector<AcceptedMail> out;
    for (const char* sub : {"new", "cur"})
      for (const auto& e : std::filesystem::directory_iterator(dir_ / sub)) {
        if (!e.is_regular_file()) continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        out.push_back(read_mail(ss.str()));
      }
    return out;
  }

  // Forgets the mails accepted so far (call it while no client is sending).
  void clear() const {
    for (const char* sub : {"new", "cur"})
      for (const auto& e : std::filesystem::directory_iterator(dir_ / sub)) std::filesystem::remove(e.path());
  }

 private:
  static int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      close(fd);
      throw std::runtime_error("cannot bind a free port on 127.0.0.1");
    }
    close(fd);
    return ntohs(a.sin_port);
  }

  bool accepts_connections() const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return ok;
  }

  void wait_until_listening(const std::string& log) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!accepts_connections()) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        std::ifstream in(log);
        std::ostringstream ss;
        ss << in.rdbuf();
        throw std::runtime_error("aiosmtpd exited before listening (apt-get install python3-aiosmtpd?): " + ss.str());
      }
      if (std::chrono::steady_clock::now() > deadline) {
        stop();
        throw std::runtime_error("aiosmtpd did not listen on port " + std::to_string(port_) + " within 20 s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {  // two seconds, then no more asking
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // The header fields the tests look at; the maildir file has LF or CRLF line ends.
  static AcceptedMail read_mail(std::string bytes) {
    AcceptedMail m;
    std::vector<std::string> fields;  // unfolded header fields
    std::size_t pos = 0;
    while (pos < bytes.size()) {
      auto eol = bytes.find('\n', pos);
      std::string line = bytes.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
      pos = eol == std::string::npos ? bytes.size() : eol + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) break;
      if ((line[0] == ' ' || line[0] == '\t') && !fields.empty()) fields.back() += line;
      else fields.push_back(line);
    }
    auto value = [](const std::string& f) {
      auto v = f.substr(f.find(':') + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      v.erase(v.find_last_not_of(" \t") + 1);
      return v;
    };
    for (const auto& f : fields) {
      std::string name = f.substr(0, f.find(':'));
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
      if (name == "message-id") {
        m.message_id = value(f);
        if (m.message_id.size() >= 2 && m.message_id.front() == '<' && m.message_id.back() == '>')
          m.message_id = m.message_id.substr(1, m.message_id.size() - 2);
      } else if (name == "x-mailfrom") {
        m.mail_from = value(f);
      } else if (name == "x-rcptto") {
        std::string list = value(f);  // "a@x, b@y"
        std::size_t p = 0;
        while (p < list.size()) {
          auto comma = list.find(',', p);
          std::string r = list.substr(p, comma == std::string::npos ? std::string::npos : comma - p);
          r.erase(0, r.find_first_not_of(' '));
          if (!r.empty()) m.recipients.push_back(r);
          p = comma == std::string::npos ? list.size() : comma + 1;
        }
      }
    }
    m.bytes = std::move(bytes);
    return m;
  }

  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace sd::test
