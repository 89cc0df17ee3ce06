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
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

using namespace sd::notify;
using Outcome = SendResult::Outcome;
using Status = RecipientResult::Status;

namespace {

using Replies = std::map<std::string, std::string>;

// An SMTP server that answers each step of a submission as scripted: "greeting", "EHLO",
// "MAIL", "RCPT", "DATA" (the 354 or a refusal) and "." (the answer after the mail's bytes);
// "RCPT <address>" answers the RCPT TO of that address alone. A reply may be several lines
// ("550-first\r\n550 last"). An empty greeting: it says nothing at all (the client must time
// out). One connection at a time; it counts the mails it took (`taken()`) and the recipients
// of the last one (`last_recipients()`).
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
  int taken() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return taken_;
  }
  std::vector<std::string> last_recipients() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_recipients_;
  }

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
        std::string address;
        if (step == "RCPT") {
          auto lt = line.find('<'), gt = line.find('>');
          if (lt != std::string::npos && gt != std::string::npos && gt > lt) address = line.substr(lt + 1, gt - lt - 1);
        }
        if (step == "MAIL") current_.clear();
        std::string reply = step == "EHLO" || step == "HELO" ? replies_["EHLO"]
                            : step == "MAIL"                 ? replies_["MAIL"]
                            : step == "RCPT" && replies_.count("RCPT " + address) ? replies_["RCPT " + address]
                            : step == "RCPT"                 ? replies_["RCPT"]
                            : step == "DATA"                 ? replies_["DATA"]
                            : step == "."                    ? replies_["."]
                            : step == "QUIT"                 ? "221 bye"
                                                             : "250 ok";
        // Recorded before the reply goes out: the client may read last_recipients() the moment
        // it has the 250.
        if (step == "RCPT" && reply[0] == '2') current_.push_back(address);
        if (step == "." && reply[0] == '2') {
          std::lock_guard<std::mutex> lock(mutex_);
          ++taken_;
          last_recipients_ = current_;
        }
        if (!say(c, reply) || step == "QUIT") return;
        in_data = step == "DATA" && reply.rfind("354", 0) == 0;
      }
    }
  }

  Replies replies_;
  std::vector<std::string> current_;  // the accepted RCPTs of the mail in hand (server thread only)
  mutable std::mutex mutex_;
  int taken_ = 0;
  std::vector<std::string> last_recipients_;
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

TEST_CASE("One recipient refused with 550 does not stop the mail to the others, and the result names its reply") {
  ScriptedSmtpServer server(Replies{{"RCPT bad@kund.example", "550-5.1.1 <bad@kund.example>: no such user\r\n"
                                                              "550 5.1.1 see the directory"}});
  SmtpClient smtp({server.url(), "", "", 5});
  auto r = smtp.send("servicedesk@example.com", {"anna@kund.example", "bad@kund.example", "bo@kund.example"},
                     "Subject: x\r\n\r\nHello\r\n");
  CHECK(r.outcome == Outcome::sent);
  CHECK(server.taken() == 1);
  CHECK(server.last_recipients() == std::vector<std::string>{"anna@kund.example", "bo@kund.example"});
  REQUIRE(r.recipients.size() == 3);
  CHECK(r.recipients[0].address == "anna@kund.example");
  CHECK(r.recipients[0].status == Status::accepted);
  CHECK(r.recipients[1].address == "bad@kund.example");
  CHECK(r.recipients[1].status == Status::refused_permanently);
  CHECK(r.recipients[1].code == 550);
  CHECK(r.recipients[1].reply == "550-5.1.1 <bad@kund.example>: no such user 550 5.1.1 see the directory");
  CHECK(r.recipients[2].status == Status::accepted);
  CHECK(r.with(Status::accepted) == std::vector<std::string>{"anna@kund.example", "bo@kund.example"});
}

TEST_CASE("A recipient refused with 450 is refused for now while the others get the mail") {
  ScriptedSmtpServer server(Replies{{"RCPT full@kund.example", "450 4.2.2 mailbox full"}});
  SmtpClient smtp({server.url(), "", "", 5});
  auto r = smtp.send("servicedesk@example.com", {"anna@kund.example", "full@kund.example"}, "Subject: x\r\n\r\nHi\r\n");
  CHECK(r.outcome == Outcome::sent);
  CHECK(r.with(Status::refused_for_now) == std::vector<std::string>{"full@kund.example"});
  CHECK(r.recipients[1].code == 450);
  CHECK(r.recipients[1].reply == "450 4.2.2 mailbox full");
  CHECK(server.last_recipients() == std::vector<std::string>{"anna@kund.example"});
}

TEST_CASE("Every recipient refused: permanent when all are 5xx, transient when one may take it later, the error names "
          "each") {
  {
    ScriptedSmtpServer server(Replies{{"RCPT", "550 5.1.1 unknown"}});
    SmtpClient smtp({server.url(), "", "", 5});
    auto r = smtp.send("servicedesk@example.com", {"a@kund.example", "b@kund.example"}, "Subject: x\r\n\r\nHi\r\n");
    CHECK(r.outcome == Outcome::permanent);
    CHECK(r.with(Status::refused_permanently).size() == 2);
    CHECK(r.error == "a@kund.example: 550 5.1.1 unknown; b@kund.example: 550 5.1.1 unknown");
    CHECK(server.taken() == 0);
  }
  {
    ScriptedSmtpServer server(Replies{{"RCPT", "550 5.1.1 unknown"}, {"RCPT b@kund.example", "451 4.3.0 later"}});
    SmtpClient smtp({server.url(), "", "", 5});
    auto r = smtp.send("servicedesk@example.com", {"a@kund.example", "b@kund.example"}, "Subject: x\r\n\r\nHi\r\n");
    CHECK(r.outcome == Outcome::transient);
    CHECK(r.with(Status::refused_permanently) == std::vector<std::string>{"a@kund.example"});
    CHECK(r.with(Status::refused_for_now) == std::vector<std::string>{"b@kund.example"});
  }
}

TEST_CASE("A refusal of the mail itself at DATA is every accepted recipient's, and leaves one refused at RCPT as it "
          "was") {
  for (const char* step : {"DATA", "."}) {
    CAPTURE(step);
    ScriptedSmtpServer server(Replies{{step, "554 5.6.0 message refused"}, {"RCPT b@kund.example", "450 4.2.2 full"}});
    SmtpClient smtp({server.url(), "", "", 5});
    auto r = smtp.send("servicedesk@example.com", {"a@kund.example", "b@kund.example", "c@kund.example"},
                       "Subject: x\r\n\r\nHi\r\n");
    CHECK(r.outcome == Outcome::transient);  // b may still take it
    CHECK(r.with(Status::refused_permanently) == std::vector<std::string>{"a@kund.example", "c@kund.example"});
    CHECK(r.recipients[0].code == 554);
    CHECK(r.recipients[0].reply == "554 5.6.0 message refused");
    CHECK(r.with(Status::refused_for_now) == std::vector<std::string>{"b@kund.example"});
  }
}

TEST_CASE("An address we cannot write is refused for itself alone, without reaching the server") {
  ScriptedSmtpServer server(Replies{});
  SmtpClient smtp({server.url(), "", "", 5});
  auto r = smtp.send("servicedesk@example.com", {"a@kund.example", "x@kund.example>\r\nRCPT TO:<evil@example.com"},
                     "Subject: x\r\n\r\nHi\r\n");
  CHECK(r.outcome == Outcome::sent);
  CHECK(server.last_recipients() == std::vector<std::string>{"a@kund.example"});
  CHECK(r.recipients[1].status == Status::refused_permanently);
  CHECK(r.recipients[1].code == 0);
  CHECK(r.recipients[1].reply.rfind("not a mail address we can send to", 0) == 0);
}

TEST_CASE("On a reused connection each mail's result is its own") {
  ScriptedSmtpServer server(Replies{{"RCPT bad@kund.example", "550 5.1.1 unknown"}});
  SmtpClient smtp({server.url(), "", "", 5});
  auto first = smtp.send("servicedesk@example.com", {"bad@kund.example", "a@kund.example"}, "Subject: 1\r\n\r\n1\r\n");
  auto second = smtp.send("servicedesk@example.com", {"b@kund.example", "c@kund.example"}, "Subject: 2\r\n\r\n2\r\n");
  CHECK(first.with(Status::refused_permanently) == std::vector<std::string>{"bad@kund.example"});
  CHECK(second.outcome == Outcome::sent);
  CHECK(second.with(Status::accepted) == std::vector<std::string>{"b@kund.example", "c@kund.example"});
  CHECK(server.taken() == 2);
}

TEST_CASE("A lost connection after the recipients were accepted is transient for all of them") {
  ScriptedSmtpServer server(Replies{{"DATA", "421 4.3.2 shutting down"}});
  SmtpClient smtp({server.url(), "", "", 5});
  auto r = smtp.send("servicedesk@example.com", {"a@kund.example", "b@kund.example"}, "Subject: x\r\n\r\nHi\r\n");
  CHECK(r.outcome == Outcome::transient);
  CHECK(r.with(Status::refused_for_now).size() == 2);
}

// check-config's verdict (issue 13): a server that is not reached is "unreachable" (exit 69);
// one that answers and refuses, a login above all, is the configuration's (exit 78).
TEST_CASE("check() calls a closed port or a silent server unreachable, and a server that answers and refuses not") {
  CHECK(server_unreachable(CURLE_COULDNT_CONNECT));
  CHECK(server_unreachable(CURLE_COULDNT_RESOLVE_HOST));
  CHECK(server_unreachable(CURLE_OPERATION_TIMEDOUT));
  CHECK_FALSE(server_unreachable(CURLE_LOGIN_DENIED));  // a wrong password: the server answered
  CHECK_FALSE(server_unreachable(CURLE_USE_SSL_FAILED));
  CHECK_FALSE(server_unreachable(CURLE_PEER_FAILED_VERIFICATION));
  CHECK_FALSE(server_unreachable(CURLE_OK));
  {
    SmtpClient smtp({"smtp://127.0.0.1:1", "", "", 5});  // nothing listens on port 1
    auto r = smtp.check();
    CHECK(r.outcome != Outcome::sent);
    CHECK(r.unreachable);
  }
  {
    ScriptedSmtpServer server(Replies{{"greeting", ""}});
    SmtpClient smtp({server.url(), "", "", 1});
    CHECK(smtp.check().unreachable);
  }
  {
    ScriptedSmtpServer server(Replies{{"greeting", "554 5.7.1 not you"}});
    SmtpClient smtp({server.url(), "", "", 5});
    auto r = smtp.check();
    CHECK(r.outcome != Outcome::sent);
    CHECK_FALSE(r.unreachable);
  }
  {
    // A login asked for where the server offers no STARTTLS: refused before AUTH, not unreachable.
    ScriptedSmtpServer server(Replies{});
    SmtpClient smtp({server.url(), "desk", "wrong", 5});
    auto r = smtp.check();
    CHECK(r.outcome != Outcome::sent);
    CHECK_FALSE(r.unreachable);
  }
}
