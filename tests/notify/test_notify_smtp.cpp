// tests/notify/test_notify_smtp.cpp: which SMTP failures are permanent (the mail is marked
// failed and the refusal recorded on its ticket) and which transient (the outbox tries again):
// notify::failure_outcome() on its own, then SmtpClient::send() against a scripted server on
// loopback that refuses at each step of a submission, so that the libcurl codes the rule
// relies on are the ones libcurl really gives, and the fault injection the daemon's tests use.
//
// Security notes: test code; the scripted server listens on loopback only.
#include <catch2/catch.hpp>

#include "notify/smtp.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

using namespace sd::notify;
using Outcome = SendResult::Outcome;

namespace {

using Replies = std::map<std::string, std::string>;

// An SMTP server that answers each step of a submission as scripted: "greeting", "EHLO",
// "MAIL", "RCPT", "DATA" (the 354 or a refusal) and "." (the answer after the mail's bytes).
// An empty greeting: it says nothing at all (the client must time out). One connection at a time.
class ScriptedSmtpServer {
 public:
  explicit ScriptedSmtpServer(Replies replies) : replies_(std::move(replies)) {
    for (const char* step : {"greeting", "EHLO", "MAIL", "RCPT", "DATA", "."})
      replies_.emplace(step, std::string(step) == "greeting" ? "220 test ESMTP"
                             : std::string(step) == "EHLO"   ? "250 test"
                             : std::string(step) == "DATA"   ? "354 go on"
                                                             : "250 ok");
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 4) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot listen on loopback");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedSmtpServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      converse(c);
      ::close(c);
    }
  }
  // False when the client has gone.
  static bool say(int c, const std::string& line) {
    std::string bytes = line + "\r\n";
    return ::send(c, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  static bool refusal(const std::string& reply) { return reply[0] == '4' || reply[0] == '5'; }
  void converse(int c) {
    if (replies_["greeting"].empty()) {  // silent until the client gives up
      char b;
      while (!stop_ && ::recv(c, &b, 1, 0) > 0) {
      }
      return;
    }
    if (!say(c, replies_["greeting"]) || refusal(replies_["greeting"])) return;
    std::string in;
    bool in_data = false;
    for (char buf[4096]; !stop_;) {
      auto n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
      for (std::size_t eol; (eol = in.find("\r\n")) != std::string::npos;) {
        std::string line = in.substr(0, eol);
        in.erase(0, eol + 2);
        std::string step = in_data ? (line == "." ? "." : "") : line.substr(0, 4);
        if (in_data && step.empty()) continue;  // a line of the mail
        in_data = false;
        std::string reply = step == "EHLO" || step == "HELO" ? replies_["EHLO"]
                            : step == "MAIL"                 ? replies_["MAIL"]
                            : step == "RCPT"                 ? replies_["RCPT"]
                            : step == "DATA"                 ? replies_["DATA"]
                            : step == "."                    ? replies_["."]
                            : step == "QUIT"                 ? "221 bye"
                                                             : "250 ok";
        if (!say(c, reply) || step == "QUIT") return;
        in_data = step == "DATA" && reply.rfind("354", 0) == 0;
      }
    }
  }

  Replies replies_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

SendResult send_to(const std::string& url, long timeout_s = 5) {
  SmtpClient smtp({url, "", "", timeout_s});
  return smtp.send("servicedesk@example.com", {"anna@kund.example"}, "Subject: x\r\n\r\nHello\r\n");
}

}  // namespace

TEST_CASE("A 5xx reply to a command of the submission is permanent, whichever error code libcurl gives for it") {
  for (int rc : {CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_UPLOAD_FAILED, CURLE_WEIRD_SERVER_REPLY, CURLE_QUOTE_ERROR,
                 CURLE_FTP_WEIRD_SERVER_REPLY, CURLE_REMOTE_ACCESS_DENIED}) {
    CAPTURE(rc);
    CHECK(failure_outcome(rc, 550) == Outcome::permanent);
    CHECK(failure_outcome(rc, 554) == Outcome::permanent);
    CHECK(failure_outcome(rc, 500) == Outcome::permanent);
    CHECK(failure_outcome(rc, 599) == Outcome::permanent);
  }
}

TEST_CASE("A 4xx reply is transient: the server may take the mail later") {
  for (int rc : {CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_UPLOAD_FAILED, CURLE_WEIRD_SERVER_REPLY}) {
    CAPTURE(rc);
    CHECK(failure_outcome(rc, 421) == Outcome::transient);
    CHECK(failure_outcome(rc, 451) == Outcome::transient);
    CHECK(failure_outcome(rc, 452) == Outcome::transient);
  }
}

TEST_CASE("A failure without a reply is transient: connection refused or reset, no host, TLS, timeout") {
  for (int rc : {CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_OPERATION_TIMEDOUT, CURLE_SSL_CONNECT_ERROR,
                 CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_USE_SSL_FAILED}) {
    CAPTURE(rc);
    CHECK(failure_outcome(rc, 0) == Outcome::transient);
  }
}

TEST_CASE("A 5xx that is not an answer about the mail is transient: a refused login, a timeout, a lost connection") {
  CHECK(failure_outcome(CURLE_LOGIN_DENIED, 535) == Outcome::transient);  // our configuration, not the mail
  CHECK(failure_outcome(CURLE_OPERATION_TIMEDOUT, 554) == Outcome::transient);
  CHECK(failure_outcome(CURLE_COULDNT_CONNECT, 554) == Outcome::transient);
  CHECK(failure_outcome(CURLE_SSL_CONNECT_ERROR, 554) == Outcome::transient);
  CHECK(failure_outcome(CURLE_SEND_ERROR, 250) == Outcome::transient);
  CHECK(failure_outcome(CURLE_SEND_ERROR, 600) == Outcome::transient);
}

TEST_CASE("A server that refuses the recipient, the sender or the mail with 5xx makes the send permanent, and with "
          "4xx transient") {
  for (const char* step : {"MAIL", "RCPT", "DATA", "."}) {
    CAPTURE(step);
    {
      ScriptedSmtpServer server(Replies{{step, "550 5.7.1 no thanks"}});
      auto r = send_to(server.url());
      CHECK(r.outcome == Outcome::permanent);
      CHECK(r.smtp_code == 550);
      CHECK_FALSE(r.error.empty());
    }
    {
      ScriptedSmtpServer server(Replies{{step, "451 4.3.0 try again later"}});
      auto r = send_to(server.url());
      CHECK(r.outcome == Outcome::transient);
      CHECK(r.smtp_code == 451);
    }
  }
}

TEST_CASE("A server that accepts every step makes the send a success") {
  ScriptedSmtpServer server(Replies{});
  auto r = send_to(server.url());
  CHECK(r.outcome == Outcome::sent);
  CHECK(r.smtp_code == 250);
}

TEST_CASE("A server that turns the connection away with 421, one that is not there and one that stays silent are "
          "transient") {
  {
    ScriptedSmtpServer server(Replies{{"greeting", "421 4.3.2 too busy"}});
    CHECK(send_to(server.url()).outcome == Outcome::transient);
  }
  CHECK(send_to("smtp://127.0.0.1:1").outcome == Outcome::transient);  // nothing listens on port 1
  {
    ScriptedSmtpServer server(Replies{{"greeting", ""}});
    auto r = send_to(server.url(), 1);
    CHECK(r.outcome == Outcome::transient);
    CHECK(r.smtp_code == 0);
  }
}

TEST_CASE("The fault injection the daemon's tests use is classified by the same rule: 5xx permanent, 4xx and a "
          "connection failure transient") {
  for (auto [code, outcome] : {std::pair{550L, Outcome::permanent}, std::pair{451L, Outcome::transient},
                               std::pair{0L, Outcome::transient}}) {
    CAPTURE(code);
    SmtpSettings s{"smtp://127.0.0.1:1", "", "", 5};
    s.fail_at_call = 1;
    s.fail_code = code;
    SmtpClient smtp(s);
    auto r = smtp.send("servicedesk@example.com", {"anna@kund.example"}, "x");
    CHECK(r.outcome == outcome);
    CHECK(r.smtp_code == code);
    CHECK(r.error == "injected fault (SMTP " + std::to_string(code) + ")");
  }
}
