// notify/smtp.cpp: libcurl SMTP submission (see smtp.h).
//
// Security: smtps:// and TLS are verified by libcurl's defaults; with a username set on a
// plain smtp:// URL, STARTTLS is required (CURLUSESSL_ALL) so a password never crosses in
// the clear. The password lives only in this object's settings. MAIL FROM and RCPT TO take
// only addresses that pass valid_addr_spec().
//
// Per-recipient replies: libcurl reports one result for the whole submission, so the
// conversation is followed through CURLOPT_DEBUGFUNCTION (libcurl calls it only with
// CURLOPT_VERBOSE, and then instead of writing to stderr): each command line it sends
// (CURLINFO_HEADER_OUT) and each reply line it reads (CURLINFO_HEADER_IN). libcurl's SMTP
// does not pipeline: it sends one RCPT TO, reads its reply, then the next, so the k-th reply
// to an RCPT TO is the k-th recipient's. A MAIL FROM starts the record afresh (libcurl
// may retry a reused connection that died from the start). The AUTH line goes through the
// same function: it is never stored or shown.
#include "notify/smtp.h"

#include "notify/compose.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace sd::notify {
namespace {

using Status = RecipientResult::Status;

// Kept of one reply: enough for an event and a log line.
constexpr std::size_t kMaxReplyText = 300;

struct Reply {
  long code = 0;  // 0: none (yet)
  std::string text;
};

// What the debug function saw of one submission.
struct Conversation {
  enum class Awaiting { other, mail_from, rcpt, data } awaiting = Awaiting::other;
  bool saw_commands = false;
  std::vector<Reply> rcpt;  // the replies to the RCPT TO commands, in the order sent
  Reply mail;               // the last refusal (4xx/5xx) of MAIL FROM, DATA or the mail's end
  std::string partial;      // the lines of a multi-line reply read so far
};

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

void append_reply_text(std::string& to, std::string_view line) {
  if (!to.empty() && to.size() < kMaxReplyText) to += ' ';
  for (unsigned char c : line) {
    if (to.size() >= kMaxReplyText) break;
    to += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
  }
}

void on_reply_line(Conversation& conv, std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.size() < 3 || !std::all_of(line.begin(), line.begin() + 3, [](char c) { return c >= '0' && c <= '9'; }))
    return;
  append_reply_text(conv.partial, line);
  if (line.size() > 3 && line[3] == '-') return;  // more lines of this reply follow
  Reply r{std::stol(std::string(line.substr(0, 3))), std::move(conv.partial)};
  conv.partial.clear();
  switch (conv.awaiting) {
    case Conversation::Awaiting::rcpt:
      if (!conv.rcpt.empty()) conv.rcpt.back() = std::move(r);
      conv.awaiting = Conversation::Awaiting::other;
      break;
    case Conversation::Awaiting::mail_from:
    case Conversation::Awaiting::data:
      // After DATA's 354 the mail's bytes go out, and the reply after them is the mail's too.
      if (conv.awaiting == Conversation::Awaiting::mail_from || r.code != 354)
        conv.awaiting = Conversation::Awaiting::other;
      if (r.code >= 400) conv.mail = std::move(r);
      break;
    case Conversation::Awaiting::other:
      break;
  }
}

int debug_cb(CURL*, curl_infotype type, char* data, std::size_t size, void* userp) {
  auto* conv = static_cast<Conversation*>(userp);
  std::string_view text(data, size);
  if (type == CURLINFO_HEADER_OUT) {
    conv->saw_commands = true;
    conv->partial.clear();
    if (starts_with_nocase(text, "MAIL FROM:")) {
      *conv = Conversation{};  // a (re)started submission
      conv->saw_commands = true;
      conv->awaiting = Conversation::Awaiting::mail_from;
    } else if (starts_with_nocase(text, "RCPT TO:")) {
      conv->rcpt.emplace_back();
      conv->awaiting = Conversation::Awaiting::rcpt;
    } else if (starts_with_nocase(text, "DATA")) {
      conv->awaiting = Conversation::Awaiting::data;
    } else {
      conv->awaiting = Conversation::Awaiting::other;
    }
  } else if (type == CURLINFO_HEADER_IN) {
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t eol = text.find('\n', pos);
      std::size_t end = eol == std::string_view::npos ? text.size() : eol + 1;
      on_reply_line(*conv, text.substr(pos, end - pos));
      pos = end;
    }
  }
  return 0;
}

Status status_of(long code) {
  if (code >= 200 && code < 300) return Status::accepted;
  if (code >= 500 && code < 600) return Status::refused_permanently;
  return Status::refused_for_now;
}

// The whole result from the recipients' fates: sent when any took it, permanent when all
// refused it for good, else transient.
SendResult::Outcome outcome_of(const std::vector<RecipientResult>& rs) {
  bool all_permanent = !rs.empty();
  for (const auto& r : rs) {
    if (r.status == Status::accepted) return SendResult::Outcome::sent;
    all_permanent = all_permanent && r.status == Status::refused_permanently;
  }
  return all_permanent ? SendResult::Outcome::permanent : SendResult::Outcome::transient;
}

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

bool server_unreachable(int curl_code) {
  auto rc = static_cast<CURLcode>(curl_code);
  return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_COULDNT_CONNECT ||
         rc == CURLE_OPERATION_TIMEDOUT;
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

std::vector<std::string> SendResult::with(RecipientResult::Status st) const {
  std::vector<std::string> out;
  for (const auto& r : recipients)
    if (r.status == st) out.push_back(r.address);
  return out;
}

SendResult SmtpClient::send(const std::string& mail_from, const std::vector<std::string>& recipients,
                            const std::string& bytes) {
  SendResult res;
  for (const auto& r : recipients) res.recipients.push_back({Status::accepted, r, 0, ""});
  auto all = [&res](Status st, long code, const std::string& why) {
    for (auto& r : res.recipients)
      if (r.code == 0 && r.reply.empty()) r = {st, r.address, code, why};
    res.outcome = outcome_of(res.recipients);
    res.smtp_code = code;
    res.error = why;
    return res;
  };
  // The outbox should hold only checked addresses (queue_mail); rows queued by an older
  // version may not. libcurl puts an address into MAIL FROM / RCPT TO as it is, so
  // "<a@x,b@y>" or a CRLF would become a second recipient or command: such an address is
  // refused here, for good, without touching the network (the other recipients still get it).
  if (!valid_addr_spec(mail_from))
    return all(Status::refused_permanently, 0, "not a mail address we can send from: " + shown(mail_from));
  if (recipients.empty()) {
    res.outcome = SendResult::Outcome::permanent;
    res.error = "no recipient";
    return res;
  }
  std::vector<std::size_t> asked;  // indexes of the recipients sent as RCPT TO
  for (std::size_t k = 0; k < recipients.size(); ++k) {
    if (valid_addr_spec(recipients[k])) asked.push_back(k);
    else res.recipients[k] = {Status::refused_permanently, recipients[k], 0, "not a mail address we can send to: " + shown(recipients[k])};
  }
  if (asked.empty()) {
    res.outcome = SendResult::Outcome::permanent;
    res.error = res.recipients.front().reply;
    return res;
  }
  if (settings_.fail_at_call > 0 && --settings_.fail_at_call == 0) {
    // Classified as libcurl would report it: a refused command, or no connection for code 0.
    long code = settings_.fail_code;
    auto outcome = failure_outcome(code == 0 ? CURLE_COULDNT_CONNECT : CURLE_SEND_ERROR, code);
    return all(outcome == SendResult::Outcome::permanent ? Status::refused_permanently : Status::refused_for_now,
               code, fmt::format("injected fault (SMTP {})", code));
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = static_cast<CURL*>(prepare(errbuf));
  if (!c) return all(Status::refused_for_now, 0, "curl_easy_init failed");
  Reader reader{&bytes};
  curl_slist* rcpt = nullptr;
  for (std::size_t k : asked) rcpt = curl_slist_append(rcpt, ("<" + recipients[k] + ">").c_str());
  std::string from = "<" + mail_from + ">";
  Conversation conv;
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
#if LIBCURL_VERSION_NUM >= 0x080200
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
#else
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);  // its name before libcurl 8.2 (Debian 12: 7.88)
#endif
  curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb);
  curl_easy_setopt(c, CURLOPT_DEBUGDATA, &conv);
  curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(c, CURLOPT_READDATA, &reader);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);

  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(rcpt);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  res.smtp_code = code;

  // The mail's own fate, for the recipients whose RCPT TO was accepted or not answered: taken
  // (libcurl says so), or refused as the failure rule says of the refusal of MAIL FROM, DATA
  // or the mail's end. A failure after accepted RCPTs with no such refusal (a connection
  // lost) is transient. Without a record of the conversation: libcurl's last reply code.
  Reply mail = conv.saw_commands ? conv.mail : Reply{code, ""};
  Status mail_status = Status::accepted;
  if (rc != CURLE_OK)
    mail_status = failure_outcome(rc, mail.code) == SendResult::Outcome::permanent ? Status::refused_permanently
                                                                                   : Status::refused_for_now;
  std::string what = rc == CURLE_OK ? std::string()
                                    : fmt::format("{} (SMTP {}): {}", curl_easy_strerror(rc), code,
                                                  !mail.text.empty() ? mail.text : errbuf[0] ? errbuf : "no detail");
  bool refused_at_rcpt = false, mail_refused = false;
  for (std::size_t i = 0; i < asked.size(); ++i) {
    auto& r = res.recipients[asked[i]];
    const Reply* own = i < conv.rcpt.size() && conv.rcpt[i].code != 0 ? &conv.rcpt[i] : nullptr;
    if (own && status_of(own->code) != Status::accepted) {
      r = {status_of(own->code), r.address, own->code, own->text};
      refused_at_rcpt = true;
    } else if (mail_status == Status::accepted) {
      r = {Status::accepted, r.address, own ? own->code : code, own ? own->text : ""};
    } else {
      r = {mail_status, r.address, mail.code, mail.text.empty() ? what : mail.text};
      mail_refused = true;
    }
  }
  res.outcome = outcome_of(res.recipients);
  if (res.outcome != SendResult::Outcome::sent) {
    // Refused at RCPT TO (libcurl names only the last code): each recipient with its reply.
    res.error = what;
    if (refused_at_rcpt && !mail_refused) {
      res.error.clear();
      for (const auto& r : res.recipients)
        res.error += fmt::format("{}{}: {}", res.error.empty() ? "" : "; ", shown(r.address), r.reply);
    }
  }
  return res;
}

SendResult SmtpClient::check() {
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = static_cast<CURL*>(prepare(errbuf));
  SendResult res;
  res.outcome = SendResult::Outcome::transient;
  if (!c) {
    res.error = "curl_easy_init failed";
    return res;
  }
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "NOOP");
  curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res.smtp_code);
  if (rc == CURLE_OK) {
    res.outcome = SendResult::Outcome::sent;
    return res;
  }
  res.error = fmt::format("{} (SMTP {}): {}", curl_easy_strerror(rc), res.smtp_code, errbuf[0] ? errbuf : "no detail");
  res.unreachable = server_unreachable(rc);
  return res;
}

}  // namespace sd::notify
