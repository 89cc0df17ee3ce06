// imap/imap_session.h: one IMAP connection that we speak ourselves, for range fetches and IDLE.
//
// libcurl has neither `UID FETCH a:b BODY.PEEK[]` (a custom FETCH request loses the literals)
// nor IDLE. So libcurl connects, does TLS/STARTTLS and logs in (CURLOPT_CONNECT_ONLY), and
// this class sends tagged commands over that connection with curl_easy_send and reads the
// responses, literals included, with the ResponseReader (imap/response_reader.h) over
// curl_easy_recv. BODY.PEEK[] leaves \Seen alone, so only mark_seen() sets it, after the
// store's COMMIT.
//
// Contract: blocking, one thread; a read fails when the server sends nothing for
// settings.timeout_s (a big mail may take longer as a whole; idle() waits until its renew time); failures throw ImapError (a tagged NO/BAD is
// Kind::protocol with the server's text). After an ImapError the session is unusable: make
// a new one. The mailbox is SELECTed by status(), which every other mailbox call needs first.
//
// Security: TLS policy and the login are libcurl's (imap_detail::set_common_options). The
// server is not trusted with our memory: the reader holds what one answer may make us hold to
// ImapLimits (see response_reader.h); a literal above max_literal is read and dropped in a
// mail fetch (the mail is reported too large) and an error anywhere else.
#pragma once

#include "imap/imap.h"
#include "imap/response_reader.h"

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
  using Response = ImapResponse;
  using Untagged = std::function<void(Response&)>;

  // libcurl's logged-in connection: the reader's byte source and where commands go.
  class Connection final : public ByteSource {
   public:
    // Connects and logs in to `url` (imap[s]://host:port/); throws ImapError.
    Connection(const ImapSettings& settings, const std::string& url);
    ~Connection() override;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Waits settings.timeout_s for bytes.
    std::size_t read(std::span<char> buffer) override;
    // Waits until bytes have come (true: the next read() has them), `until` has passed
    // (ImapError timeout) or `wake_fd` (-1: none) is readable (false).
    bool wait(std::chrono::steady_clock::time_point until, int wake_fd);
    void send(std::string_view bytes);
    std::chrono::steady_clock::time_point deadline() const;  // now + timeout_s: the wait for the next bytes

   private:
    // One curl_easy_recv into `buf`, waiting as wait() does; sets `woken` instead of reading.
    std::size_t receive(char* buf, std::size_t size, std::chrono::steady_clock::time_point until, int wake_fd,
                        bool& woken);

    void* curl_ = nullptr;
    long socket_ = -1;
    long timeout_s_;
    std::string pending_;  // what wait() received, for the next read()
    bool closed_ = false;  // wait() saw the end of the connection; read() reports it
  };

  // Throws on NO/BAD. `drop_big_literals`: a literal above max_literal is read and dropped
  // (Response::dropped_bytes) rather than an error: for mail fetches.
  void command(const std::string& cmd, const Untagged& on_untagged = {}, bool drop_big_literals = false);
  // UID FETCH of `uids` with `item` (BODY.PEEK[] or BODY.PEEK[HEADER]): each listed UID's
  // first response with one literal, in UID order.
  void fetch_items(const std::vector<std::int64_t>& uids, std::string_view item,
                   const std::function<void(std::int64_t uid, Response& r)>& each);
  std::string next_tag();

  ImapSettings settings_;
  ImapUrl url_;
  ImapLimits limits_;
  Connection connection_;
  ResponseReader reader_;
  unsigned tag_ = 0;
  std::set<std::string> capabilities_;
  bool selected_ = false;
  std::int64_t exists_ = -1;  // the mailbox's message count as last reported
};

}  // namespace sd
