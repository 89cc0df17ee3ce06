// notify/smtp.h: hands one composed mail to the SMTP server (libcurl).
//
// Contract: send() blocks (call it off the event loop) and never throws. It tells a
// permanent refusal (5xx: record it on the ticket, do not retry) from a transient failure
// (4xx, connection refused, timeout: retry later). A client object is used by one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace sd::notify {

struct SmtpSettings {
  std::string url;       // smtp://host:port or smtps://host:port
  std::string username;  // empty: no AUTH
  std::string password;
  long timeout_s = 60;
  // Test aid (fault injection): the Nth send() from now fails without touching the network,
  // answered as if the server had replied `fail_code`: 4xx transient (this mail only), 5xx
  // permanent, 0 a connection failure (transient, the server is down). 0 = never.
  int fail_at_call = 0;
  long fail_code = 451;
};

struct SendResult {
  enum class Outcome { sent, transient, permanent } outcome = Outcome::sent;
  long smtp_code = 0;   // last SMTP reply code, 0 when none
  std::string error;    // what failed, for the log and the outbox row
};

// How a submission that libcurl reports failed is handled: permanent when the server gave a
// 5xx reply to MAIL FROM, RCPT TO or DATA (its final word on this mail), transient for
// everything else: a 4xx reply, no reply at all (connection refused, reset, TLS failure,
// timeout), and an authentication refusal, which is a configuration problem, not the mail's.
// `curl_code` is libcurl's CURLcode, `smtp_code` the last SMTP reply code (0: none). Pure.
SendResult::Outcome failure_outcome(int curl_code, long smtp_code);

class SmtpClient {
 public:
  explicit SmtpClient(SmtpSettings settings);
  ~SmtpClient();
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  SendResult send(const std::string& mail_from, const std::vector<std::string>& recipients, const std::string& bytes);
  // Connects, logs in where configured, and says NOOP: does the server take our mail?
  SendResult check();

 private:
  void* prepare(char* errbuf);  // the reused handle with URL, timeouts and login set; nullptr on failure

  SmtpSettings settings_;
  void* curl_ = nullptr;  // CURL*, reused so the connection is too
};

}  // namespace sd::notify
