// notify/smtp.h: hands one composed mail to the SMTP server (libcurl).
//
// Contract: send() blocks (call it off the event loop) and never throws. Delivery is per
// recipient: one refused RCPT TO does not stop the others (CURLOPT_MAIL_RCPT_ALLOWFAILS),
// and the result says for each recipient whether the server took the mail for it, refused
// it for good (5xx: record it on the ticket, do not retry) or for now (4xx, connection
// refused, timeout: retry later), with the server's reply. A client object is used by one
// thread.
//
// Security: the replies come from the SMTP server (trusted, ours); they are kept printable
// and bounded all the same, since they go into events and logs. What the conversation sends
// (the AUTH line with the password included) is looked at only for the MAIL FROM, RCPT TO
// and DATA commands, and never kept.
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
  // permanent, 0 a connection failure (transient, the server is down), for every recipient.
  // 0 = never.
  int fail_at_call = 0;
  long fail_code = 451;
};

// What became of the mail for one recipient.
struct RecipientResult {
  enum class Status {
    accepted,             // the server took the mail for this recipient (RCPT TO and DATA answered 2xx)
    refused_permanently,  // a 5xx to its RCPT TO, or to the mail (MAIL FROM, DATA): do not try again
    refused_for_now,      // a 4xx to its RCPT TO or to the mail, or no answer at all: try again later
  } status = Status::accepted;
  std::string address;
  long code = 0;      // the reply code that decided it (its RCPT TO's, else the mail's); 0: no reply
  std::string reply;  // that reply as the server wrote it (lines joined by a space, printable, bounded)
};

struct SendResult {
  // sent: the server took the mail for at least one recipient (see `recipients` for the rest);
  // permanent: refused for good for every recipient; transient: for at least one recipient
  // it may be taken later, and it was taken for none.
  enum class Outcome { sent, transient, permanent } outcome = Outcome::sent;
  long smtp_code = 0;   // last SMTP reply code, 0 when none
  std::string error;    // what failed, for the log and the outbox row
  bool unreachable = false;  // check(): the server was not reached at all (server_unreachable())
  // send(): one per recipient, in the order given (check(): empty).
  std::vector<RecipientResult> recipients;

  // The recipients with this status, in order.
  std::vector<std::string> with(RecipientResult::Status s) const;
};

// Whether a failure with libcurl's `curl_code` means the server was not reached: no such
// host, connection refused or no route, or no answer in time. Not a refused login or a TLS
// failure: the server answered, and what it refused is the configuration's. Pure.
bool server_unreachable(int curl_code);

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
