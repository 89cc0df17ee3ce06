// daemon/imap.h: the service desk's mailbox on the IMAP server, through libcurl.
//
// Contract: every call blocks (run it off the event loop) and throws ImapError on failure.
// One client is used by one thread; it keeps its connection between calls.
// fetch() uses libcurl's URL form (`;UIDVALIDITY=v/;UID=n`), the only form that returns
// the whole message (mail-stack-notes.md); it sends BODY[], so the server sets \Seen.
// \Seen is therefore never the record of what was ingested: the store's watermark is.
#pragma once

#include <cstdint>
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

struct MailboxStatus {
  std::int64_t uidvalidity = 0;
  std::int64_t uidnext = 0;
};

class ImapClient {
 public:
  explicit ImapClient(ImapSettings settings);
  ~ImapClient();
  ImapClient(const ImapClient&) = delete;
  ImapClient& operator=(const ImapClient&) = delete;

  const std::string& mailbox() const { return mailbox_; }
  MailboxStatus status();
  std::vector<std::int64_t> uids_from(std::int64_t first_uid);  // ascending, all >= first_uid
  std::string fetch(std::int64_t uidvalidity, std::int64_t uid);
  void mark_seen(std::int64_t uid);
  void move(std::int64_t uid, const std::string& folder);
  void remove(std::int64_t uid);  // \Deleted and UID EXPUNGE
  void create_folder(const std::string& folder);  // no error when it exists

 private:
  std::string command(const std::string& url, const std::string& request);  // untagged response text
  std::string perform(const std::string& url, const std::string* request);

  ImapSettings settings_;
  std::string base_url_;     // imap://host:port/
  std::string mailbox_;      // decoded mailbox name
  std::string mailbox_url_;  // base_url_ + encoded mailbox
  void* curl_ = nullptr;
};

// "INBOX" -> "\"INBOX\"": an IMAP quoted string.
std::string imap_quote(const std::string& s);

}  // namespace sd
