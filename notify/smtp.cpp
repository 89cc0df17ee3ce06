// notify/smtp.cpp: libcurl SMTP submission (see smtp.h).
//
// Security: smtps:// and TLS are verified by libcurl's defaults; with a username set on a
// plain smtp:// URL, STARTTLS is required (CURLUSESSL_ALL) so a password never crosses in
// the clear. The password lives only in this object's settings. MAIL FROM and RCPT TO take
// only addresses that pass valid_addr_spec().
#include "notify/smtp.h"

#include "notify/compose.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <cstring>

namespace sd::notify {
namespace {

struct Reader {
  const std::string* data;
  std::size_t pos = 0;
};

// An address as the log and the outbox row may show it: printable ASCII, bounded.
std::string shown(const std::string& address) {
  std::string out;
  for (unsigned char c : address.substr(0, 100)) out += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
  return out;
}

std::size_t read_cb(char* buf, std::size_t size, std::size_t n, void* userp) {
  auto* r = static_cast<Reader*>(userp);
  std::size_t len = std::min(size * n, r->data->size() - r->pos);
  std::memcpy(buf, r->data->data() + r->pos, len);
  r->pos += len;
  return len;
}

}  // namespace

SendResult::Outcome failure_outcome(int curl_code, long smtp_code) {
  auto rc = static_cast<CURLcode>(curl_code);
  // The codes libcurl gives when the server answered a command with an error reply (which
  // one depends on the command and libcurl's version); with another code the 5xx, if any, is
  // not an answer about this mail: CURLE_LOGIN_DENIED (a 535 to AUTH) is our configuration.
  bool refused_command = rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_UPLOAD_FAILED ||
                         rc == CURLE_WEIRD_SERVER_REPLY || rc == CURLE_QUOTE_ERROR ||
                         rc == CURLE_FTP_WEIRD_SERVER_REPLY || rc == CURLE_REMOTE_ACCESS_DENIED;
  bool permanent = smtp_code >= 500 && smtp_code < 600 && refused_command;
  return permanent ? SendResult::Outcome::permanent : SendResult::Outcome::transient;
}

SmtpClient::SmtpClient(SmtpSettings settings) : settings_(std::move(settings)) {}

SmtpClient::~SmtpClient() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

void* SmtpClient::prepare(char* errbuf) {
  if (!curl_) curl_ = curl_easy_init();
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) return nullptr;
  // Options are set afresh per request; the connection cache survives curl_easy_reset.
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, settings_.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, settings_.timeout_s);
  if (!settings_.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, settings_.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, settings_.password.c_str());
    if (settings_.url.rfind("smtp://", 0) == 0) curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
  }
  return c;
}

SendResult SmtpClient::send(const std::string& mail_from, const std::vector<std::string>& recipients,
                            const std::string& bytes) {
  // The outbox should hold only checked addresses (queue_mail); rows queued by an older
  // version may not. libcurl puts an address into MAIL FROM / RCPT TO as it is, so
  // "<a@x,b@y>" or a CRLF would become a second recipient or command: such a mail is
  // refused here, for good, without touching the network.
  if (!valid_addr_spec(mail_from))
    return {SendResult::Outcome::permanent, 0, "not a mail address we can send from: " + shown(mail_from)};
  if (recipients.empty()) return {SendResult::Outcome::permanent, 0, "no recipient"};
  for (const auto& r : recipients)
    if (!valid_addr_spec(r)) return {SendResult::Outcome::permanent, 0, "not a mail address we can send to: " + shown(r)};
  if (settings_.fail_at_call > 0 && --settings_.fail_at_call == 0) {
    // Classified as libcurl would report it: a refused command, or no connection for code 0.
    long code = settings_.fail_code;
    return {failure_outcome(code == 0 ? CURLE_COULDNT_CONNECT : CURLE_SEND_ERROR, code), code,
            fmt::format("injected fault (SMTP {})", code)};
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = static_cast<CURL*>(prepare(errbuf));
  if (!c) return {SendResult::Outcome::transient, 0, "curl_easy_init failed"};
  Reader reader{&bytes};
  curl_slist* rcpt = nullptr;
  for (const auto& r : recipients) rcpt = curl_slist_append(rcpt, ("<" + r + ">").c_str());
  std::string from = "<" + mail_from + ">";
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(c, CURLOPT_READDATA, &reader);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);

  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(rcpt);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);

  if (rc == CURLE_OK) return {SendResult::Outcome::sent, code, ""};
  std::string what = fmt::format("{} (SMTP {}): {}", curl_easy_strerror(rc), code, errbuf[0] ? errbuf : "no detail");
  return {failure_outcome(rc, code), code, what};
}

SendResult SmtpClient::check() {
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = static_cast<CURL*>(prepare(errbuf));
  if (!c) return {SendResult::Outcome::transient, 0, "curl_easy_init failed"};
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "NOOP");
  curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (rc == CURLE_OK) return {SendResult::Outcome::sent, code, ""};
  return {SendResult::Outcome::transient, code,
          fmt::format("{} (SMTP {}): {}", curl_easy_strerror(rc), code, errbuf[0] ? errbuf : "no detail")};
}

}  // namespace sd::notify
