// imap/imap_session.h: one IMAP connection that we speak ourselves, for range fetches and IDLE.
//
// libcurl has neither `UID FETCH a:b BODY.PEEK[]` (a custom FETCH request loses the literals)
// nor IDLE. So libcurl connects, does TLS/STARTTLS and logs in (CURLOPT_CONNECT_ONLY), and
// this class sends tagged commands over that connection with curl_easy_send/recv and reads
// the responses, literals included (RFC 3501 4.3, 7.4.2). BODY.PEEK[] leaves \Seen alone,
// so only mark_seen() sets it, after the store's COMMIT.
//
// Contract: blocking, one thread; a read fails when the server sends nothing for
// settings.timeout_s (a big mail may take longer as a whole; idle() waits until its renew time); failures throw ImapError (a tagged NO/BAD is
// Kind::protocol with the server's text). After an ImapError the session is unusable: make
// a new one. The mailbox is SELECTed by status(), which every other mailbox call needs first.
//
// Security: TLS policy and the login are libcurl's (imap_detail::set_common_options). The
// server is not trusted with our memory (ImapLimits): a literal's length comes from the
// server, so it is read in pieces, never reserved up front; one above max_literal is read and
// dropped in a mail fetch (the mail is reported too large) and an error anywhere else; a
// response holds at most max_literals_per_response literals, and the answer to one command
// at most max_answer_bytes of lines and kept literals. A literal announced above 4 GiB is an
// error even where it would be dropped: no mail is that large (SQLite keeps 1 GB a row).
#pragma once

#include "imap/imap.h"

#include <chrono>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>

namespace sd {

class ImapSession final : public Mailbox {
 public:
  // Connects and logs in; throws ImapError.
  explicit ImapSession(ImapSettings settings, ImapLimits limits = {});
  ~ImapSession() override;
  ImapSession(const ImapSession&) = delete;
  ImapSession& operator=(const ImapSession&) = delete;

  bool has_capability(std::string_view name) const;  // e.g. "IDLE", "MOVE", "UIDPLUS"

  const std::string& mailbox() const override { return url_.mailbox; }
  MailboxStatus status() override;  // SELECT
  std::vector<ListedMail> list_from(std::int64_t first_uid) override;
  void fetch(std::int64_t uidvalidity, const std::vector<std::int64_t>& uids, const Take& take,
             const TooLarge& too_large) override;
  void fetch_headers(std::int64_t uidvalidity, const std::vector<std::int64_t>& uids, const Take& take) override;
  void mark_seen(const std::vector<std::int64_t>& uids) override;
  void move(const std::vector<std::int64_t>& uids, const std::string& folder) override;
  void remove(const std::vector<std::int64_t>& uids) override;
  void create_folder(const std::string& folder) override;

  enum class IdleEnd { new_mail, renew, woken };
  // IDLE (RFC 2177) until the server reports mail (EXISTS), `renew` has passed, or `wake_fd`
  // (an eventfd or pipe; -1: none) becomes readable; then DONE. Needs status() first. After
  // `woken` the session is left mid-response: it is only good for destruction.
  IdleEnd idle(std::chrono::seconds renew, int wake_fd);

 private:
  struct Response {           // one untagged or tagged response
    std::string text;         // its lines joined, each literal replaced by "{n}"
    std::vector<std::string> literals;  // a dropped one (above max_literal) is left empty
    std::size_t dropped_bytes = 0;      // the largest literal dropped; 0: none
  };
  using Untagged = std::function<void(Response&)>;

  // Throws on NO/BAD. `drop_big_literals`: a literal above max_literal is read and dropped
  // (Response::dropped_bytes) rather than an error: for mail fetches.
  void command(const std::string& cmd, const Untagged& on_untagged = {}, bool drop_big_literals = false);
  // UID FETCH of `uids` with `item` (BODY.PEEK[] or BODY.PEEK[HEADER]): each listed UID's
  // first response with one literal, in UID order.
  void fetch_items(const std::vector<std::int64_t>& uids, std::string_view item,
                   const std::function<void(std::int64_t uid, Response& r)>& each);
  // True for the tagged OK that ends command `tag`; throws on its NO/BAD and on a BYE.
  static bool completes(const Response& r, const std::string& tag, std::string_view verb);
  std::string next_tag();
  void send(std::string_view bytes);
  Response read_response(bool drop_big_literals = false);
  std::string read_line();
  void read_exact(std::string& out, std::size_t n);
  void skip_exact(std::size_t n);  // reads n bytes and keeps none
  void spend(std::size_t bytes);   // counts bytes against the answer's cap (answer_left_)
  // Reads what the connection has into in_; false when `wake_fd` woke us first. Throws a
  // timeout when nothing came by `deadline`.
  bool fill(std::chrono::steady_clock::time_point deadline, int wake_fd = -1);
  std::chrono::steady_clock::time_point deadline() const;  // now + timeout_s: the wait for the next bytes

  ImapSettings settings_;
  ImapUrl url_;
  ImapLimits limits_;
  std::size_t answer_left_ = 0;  // of max_answer_bytes, for the command under way
  void* curl_ = nullptr;
  long socket_ = -1;
  std::string in_;        // received, not yet consumed from in_pos_
  std::size_t in_pos_ = 0;
  unsigned tag_ = 0;
  std::set<std::string> capabilities_;
  bool selected_ = false;
  std::int64_t exists_ = -1;  // the mailbox's message count as last reported
};

}  // namespace sd
