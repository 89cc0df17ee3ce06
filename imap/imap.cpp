// imap/imap.cpp: see imap.h. The per-UID client (libcurl's URL form) and what both clients share.
//
// Security: imaps:// is verified by libcurl's defaults; on a plain imap:// URL that is not
// a loopback literal (core/loopback.h: exactly localhost, 127.0.0.0/8, [::1]; never a
// prefix match), STARTTLS is required (CURLUSESSL_ALL, never _TRY, which silently falls back to
// plaintext). Passwords stay in the client objects. What libcurl hands us is capped
// (ImapLimits): a mail at max_literal, any other answer at max_answer_bytes.
#include "imap/imap.h"

#include "core/loopback.h"
#include "imap/imap_session.h"
#include "imap/response.h"

#include <curl/curl.h>
#include <fmt/format.h>

namespace sd {
namespace {

struct CappedOutput {
  std::string bytes;
  std::size_t cap = 0;
  bool over = false;
};

std::size_t write_cb(char* ptr, std::size_t size, std::size_t n, void* userp) {
  auto* out = static_cast<CappedOutput*>(userp);
  if (out->bytes.size() + size * n > out->cap) {
    out->over = true;
    out->bytes.clear();  // what is past the cap is of no use: the memory goes now
    return 0;            // libcurl stops the transfer with CURLE_WRITE_ERROR
  }
  out->bytes.append(ptr, size * n);
  return size * n;
}

}  // namespace

std::string imap_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string uid_set(const std::vector<std::int64_t>& uids) {
  std::string out;
  for (std::size_t i = 0; i < uids.size();) {
    std::size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", uids[i]) : fmt::format("{}:{}", uids[i], uids[j]);
    i = j + 1;
  }
  return out;
}

ImapUrl parse_imap_url(const std::string& url) {
  auto scheme_end = url.find("://");
  auto path = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (scheme_end == std::string::npos || path == std::string::npos || path + 1 >= url.size())
    throw ImapError(ImapError::Kind::protocol, fmt::format("imap.url {} names no mailbox (e.g. imap://host/INBOX)", url));
  ImapUrl u;
  u.base = url.substr(0, path + 1);
  std::string encoded = url.substr(path + 1);
  while (!encoded.empty() && encoded.back() == '/') encoded.pop_back();
  int len = 0;
  char* dec = curl_easy_unescape(nullptr, encoded.c_str(), static_cast<int>(encoded.size()), &len);
  u.mailbox.assign(dec, static_cast<std::size_t>(len));
  curl_free(dec);
  u.mailbox_url = u.base + encoded;
  return u;
}

namespace imap_detail {

void set_common_options(void* curl, const ImapSettings& s, const std::string& url, char* errbuf) {
  CURL* c = static_cast<CURL*>(curl);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_USERNAME, s.username.c_str());
  curl_easy_setopt(c, CURLOPT_PASSWORD, s.password.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, s.timeout_s);
  if (url.rfind("imap://", 0) == 0 && !notify::is_loopback_url(url)) curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
}

void throw_curl_error(int curl_code, const char* errbuf) {
  auto rc = static_cast<CURLcode>(curl_code);
  std::string what = fmt::format("{}{}{}", curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      throw ImapError(ImapError::Kind::connect, what);
    case CURLE_LOGIN_DENIED:
      throw ImapError(ImapError::Kind::login, what);
    case CURLE_OPERATION_TIMEDOUT:
      throw ImapError(ImapError::Kind::timeout, what);
    case CURLE_REMOTE_FILE_NOT_FOUND:
      throw ImapError(ImapError::Kind::uidvalidity_changed, what);
    default:
      throw ImapError(ImapError::Kind::protocol, what);
  }
}

}  // namespace imap_detail

ImapClient::ImapClient(ImapSettings settings, ImapLimits limits)
    : settings_(std::move(settings)), limits_(limits), url_(parse_imap_url(settings_.url)) {}

ImapClient::~ImapClient() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

std::string ImapClient::perform(const std::string& url, const std::string* request, std::size_t cap, bool* over) {
  if (!curl_) curl_ = curl_easy_init();
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) throw ImapError(ImapError::Kind::protocol, "curl_easy_init failed");
  // Options are set afresh per request; the connection cache survives curl_easy_reset.
  curl_easy_reset(c);
  CappedOutput out;
  out.cap = cap;
  char errbuf[CURL_ERROR_SIZE] = {0};
  imap_detail::set_common_options(c, settings_, url, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  if (request) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request->c_str());
  CURLcode rc = curl_easy_perform(c);
  if (out.over) {
    // libcurl leaves the connection mid-literal; the next request connects afresh.
    curl_easy_cleanup(c);
    curl_ = nullptr;
    if (over) {
      *over = true;
      return {};
    }
    throw ImapError(ImapError::Kind::protocol, fmt::format("the server's answer is larger than {} bytes, the cap "
                                                           "for one answer (imap.batch_max_bytes + limits.max_message_bytes + 1 MiB)",
                                                           cap));
  }
  if (rc != CURLE_OK) imap_detail::throw_curl_error(rc, errbuf);
  return std::move(out.bytes);
}

std::string ImapClient::command(const std::string& url, const std::string& request) {
  return perform(url, &request, limits_.max_answer_bytes);
}

MailboxStatus ImapClient::status() {
  std::string text = command(url_.base, "STATUS " + imap_quote(url_.mailbox) + " (UIDVALIDITY UIDNEXT)");
  MailboxStatus s{item_number(text, "UIDVALIDITY"), item_number(text, "UIDNEXT")};
  if (s.uidvalidity <= 0)
    throw ImapError(ImapError::Kind::protocol, fmt::format("STATUS {} gave no UIDVALIDITY: {}", url_.mailbox, text));
  return s;
}

std::vector<ListedMail> ImapClient::list_from(std::int64_t first_uid) {
  // libcurl 7.88 loses parts of long untagged answers to a custom request: a `UID SEARCH` of
  // 4,000 new mails came back with 517 of them, in pieces, without an error, and the
  // watermark then passed over the rest. So the list comes from our own session's reader,
  // which keeps every answer whole; the mails themselves still come one request each.
  return ImapSession(settings_, limits_).list_from(first_uid);
}

void ImapClient::fetch(std::int64_t uidvalidity, const std::vector<std::int64_t>& uids, const Take& take,
                       const TooLarge& too_large) {
  for (auto uid : uids) {
    bool over = false;
    auto raw = perform(fmt::format("{};UIDVALIDITY={}/;UID={}", url_.mailbox_url, uidvalidity, uid), nullptr,
                       limits_.max_literal, &over);
    // libcurl does not say the literal's size: the mail is at least one byte over the cap.
    if (over) too_large(uid, static_cast<std::int64_t>(limits_.max_literal) + 1);
    else take(uid, std::move(raw));
  }
}

void ImapClient::fetch_headers(std::int64_t uidvalidity, const std::vector<std::int64_t>& uids, const Take& take) {
  // libcurl's `;SECTION=HEADER` sends BODY[HEADER], which sets \Seen: our session peeks.
  if (!uids.empty()) ImapSession(settings_, limits_).fetch_headers(uidvalidity, uids, take);
}

void ImapClient::mark_seen(const std::vector<std::int64_t>& uids) {
  if (!uids.empty()) command(url_.mailbox_url, fmt::format("UID STORE {} +FLAGS.SILENT (\\Seen)", uid_set(uids)));
}

void ImapClient::move(const std::vector<std::int64_t>& uids, const std::string& folder) {
  if (!uids.empty()) command(url_.mailbox_url, fmt::format("UID MOVE {} {}", uid_set(uids), imap_quote(folder)));
}

void ImapClient::remove(const std::vector<std::int64_t>& uids) {
  if (uids.empty()) return;
  command(url_.mailbox_url, fmt::format("UID STORE {} +FLAGS.SILENT (\\Deleted)", uid_set(uids)));
  command(url_.mailbox_url, fmt::format("UID EXPUNGE {}", uid_set(uids)));
}

void ImapClient::create_folder(const std::string& folder) {
  try {
    command(url_.base, "CREATE " + imap_quote(folder));
  } catch (const ImapError& e) {
    if (e.kind != ImapError::Kind::protocol) throw;  // "already exists" comes back as a NO
  }
}

}  // namespace sd
