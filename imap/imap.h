// imap/imap.h: the service desk's mailbox on the IMAP server.
//
// Two ways to reach it, one interface (Mailbox) for a poll pass:
// - ImapSession (imap/imap_session.h, imap.fetch = "range", the default): libcurl logs in
//   (CONNECT_ONLY) and we speak IMAP on that connection ourselves, so a batch of mails comes
//   in one `UID FETCH a:b BODY.PEEK[]` and IDLE can hold the connection.
// - ImapClient (here, imap.fetch = "per_uid"): libcurl's URL form (`;UIDVALIDITY=v/;UID=n`),
//   one request per mail. Simple and slow (~800 mails/s on loopback): libcurl sends
//   BODY[], so the server sets \Seen on the fetch, before the COMMIT. Its list of new mail
//   comes from an ImapSession (libcurl loses parts of long SEARCH answers).
// \Seen is therefore never the record of what was ingested: the store's watermark is.
//
// Contract: every call blocks (run it off the event loop) and throws ImapError on failure.
// An object is used by one thread; it keeps its connection between calls. An ImapError's
// text does not say "IMAP": the log line or report that shows it names the protocol, once.
//
// Security: the server is not trusted with our memory. ImapLimits bound what one answer can
// make us hold; a mail above the size we keep is read and dropped, and reported by its size
// (Mailbox::fetch's `too_large`), so that the poller can quarantine it by its header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sd {

struct ImapError : std::runtime_error {
  enum class Kind { connect, login, timeout, uidvalidity_changed, protocol };
  ImapError(Kind k, const std::string& what) : std::runtime_error(what), kind(k) {}
  Kind kind;
};

struct ImapSettings {
  std::string url;  // imap[s]://host[:port]/MAILBOX
  std::string username;
  std::string password;
  long timeout_s = 60;
};

// What one answer of a server can make us hold (daemon/poller.h: imap_limits() derives them
// from the config). Exceeding one is an ImapError(protocol) that names it.
struct ImapLimits {
  // The largest literal kept: limits.max_message_bytes. A bigger mail in a fetch is read and
  // dropped and goes to `too_large`; a bigger literal anywhere else is an error.
  std::size_t max_literal = std::size_t(64) << 20;
  // All that the answer to one command holds, its lines and kept literals together: a
  // batch's mails (imap.batch_max_bytes), one mail more (the one that starts a batch may be
  // bigger than the batch limit) and 1 MiB of lines. The listing of new mail counts too
  // (about 45 bytes a mail: 1.6 million mails at the defaults).
  std::size_t max_answer_bytes = (std::size_t(8) << 20) + (std::size_t(64) << 20) + (std::size_t(1) << 20);
  // Literals in one response: we ask for one (BODY.PEEK[] or BODY.PEEK[HEADER]) per FETCH.
  std::size_t max_literals_per_response = 8;
  // One line of a response, without its CRLF: far above any line a server sends for our
  // commands (the listing of new mail comes as one short FETCH response a mail).
  std::size_t max_line = std::size_t(1) << 20;
};

struct MailboxStatus {
  std::int64_t uidvalidity = 0;
  std::int64_t uidnext = 0;
};

struct ListedMail {
  std::int64_t uid = 0;
  std::int64_t size = 0;  // RFC822.SIZE; 0 when the client does not know it
};

// What one poll pass needs of the mailbox.
class Mailbox {
 public:
  using Take = std::function<void(std::int64_t uid, std::string&& raw)>;
  using TooLarge = std::function<void(std::int64_t uid, std::int64_t bytes)>;
  virtual ~Mailbox() = default;
  virtual const std::string& mailbox() const = 0;  // decoded name, as the store keys the watermark
  virtual MailboxStatus status() = 0;
  virtual std::vector<ListedMail> list_from(std::int64_t first_uid) = 0;  // ascending, all >= first_uid
  // Fetches `uids` (ascending) and hands each mail to `take` in UID order, once. A UID that
  // has gone from the server meanwhile is skipped. A mail above ImapLimits::max_literal is not
  // kept: `too_large` gets its size instead (at least the bytes seen, if the client cannot
  // tell). Does not set \Seen where the client can help it.
  virtual void fetch(std::int64_t uidvalidity, const std::vector<std::int64_t>& uids, const Take& take,
                     const TooLarge& too_large) = 0;
  // The header of each of `uids` (BODY.PEEK[HEADER]), for mails too large to fetch. Sets no
  // flag. A header above max_literal is handed over empty.
  virtual void fetch_headers(std::int64_t uidvalidity, const std::vector<std::int64_t>& uids, const Take& take) = 0;
  virtual void mark_seen(const std::vector<std::int64_t>& uids) = 0;
  virtual void move(const std::vector<std::int64_t>& uids, const std::string& folder) = 0;
  virtual void remove(const std::vector<std::int64_t>& uids) = 0;  // \Deleted and UID EXPUNGE
  virtual void create_folder(const std::string& folder) = 0;       // no error when it exists
};

// The parts of an imap.url.
struct ImapUrl {
  std::string base;         // imap://host:port/
  std::string mailbox;      // decoded mailbox name
  std::string mailbox_url;  // base + encoded mailbox
};
ImapUrl parse_imap_url(const std::string& url);  // throws ImapError(protocol) when it names no mailbox

class ImapClient final : public Mailbox {
 public:
  explicit ImapClient(ImapSettings settings, ImapLimits limits = {});
  ~ImapClient() override;
  ImapClient(const ImapClient&) = delete;
  ImapClient& operator=(const ImapClient&) = delete;

  const std::string& mailbox() const override { return url_.mailbox; }
  MailboxStatus status() override;
  std::vector<ListedMail> list_from(std::int64_t first_uid) override;
  void fetch(std::int64_t uidvalidity, const std::vector<std::int64_t>& uids, const Take& take,
             const TooLarge& too_large) override;
  void fetch_headers(std::int64_t uidvalidity, const std::vector<std::int64_t>& uids, const Take& take) override;
  void mark_seen(const std::vector<std::int64_t>& uids) override;
  void move(const std::vector<std::int64_t>& uids, const std::string& folder) override;
  void remove(const std::vector<std::int64_t>& uids) override;
  void create_folder(const std::string& folder) override;

 private:
  std::string command(const std::string& url, const std::string& request);  // untagged response text
  // libcurl's answer, at most `cap` bytes; past that the transfer stops and `*over` is set
  // (or, with `over` null, an ImapError(protocol) naming the cap is thrown).
  std::string perform(const std::string& url, const std::string* request, std::size_t cap, bool* over = nullptr);

  ImapSettings settings_;
  ImapLimits limits_;
  ImapUrl url_;
  void* curl_ = nullptr;
};

// "INBOX" -> "\"INBOX\"": an IMAP quoted string.
std::string imap_quote(const std::string& s);
// {1,2,3,7,9,10} -> "1:3,7,9:10": an IMAP sequence set of ascending UIDs.
std::string uid_set(const std::vector<std::int64_t>& uids);

namespace imap_detail {
// Shared by both clients: libcurl options every IMAP handle gets (login, timeouts, TLS policy)
// and the mapping of a failed curl call to an ImapError.
void set_common_options(void* curl, const ImapSettings& settings, const std::string& url, char* errbuf);
[[noreturn]] void throw_curl_error(int curl_code, const char* errbuf);
}  // namespace imap_detail

}  // namespace sd
