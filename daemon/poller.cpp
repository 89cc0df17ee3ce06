// daemon/poller.cpp: see poller.h.
#include "daemon/poller.h"

#include "daemon/ingest.h"
#include "daemon/log.h"

#include <csignal>
#include <future>

namespace sd {
namespace {

// Applies after_ingest to committed mails, then records it done (MailboxState::done_uid). A
// failure is logged, not thrown: the mails are safely stored, and the next pass finds them
// between done_uid and the watermark (seen) or still in the mailbox (move, delete) and tries again.
void after_ingest(Mailbox& imap, store::Store& st, const Config& c, const std::vector<std::int64_t>& uids) {
  if (uids.empty()) return;
  // In pieces, so that a long backlog of unfinished actions does not make one command line
  // longer than servers accept.
  constexpr std::size_t piece = 1000;
  for (std::size_t i = 0; i < uids.size(); i += piece) {
    std::vector<std::int64_t> some(uids.begin() + static_cast<std::ptrdiff_t>(i),
                                   uids.begin() + static_cast<std::ptrdiff_t>(std::min(uids.size(), i + piece)));
    try {
      if (c.imap.after_ingest == "delete") imap.remove(some);
      else if (auto folder = c.move_target(); !folder.empty()) imap.move(some, folder);
      else imap.mark_seen(some);
    } catch (const ImapError& e) {
      log::warning("IMAP: {} of UID {} failed (will retry next pass): {}", c.imap.after_ingest, uid_set(some), e.what());
      return;
    }
  }
  auto tx = st.begin(store::Store::Mode::write);
  if (auto box = tx->mailbox(imap.mailbox()); box && box->done_uid < uids.back()) {
    box->done_uid = std::min(uids.back(), box->last_uid);
    tx->set_mailbox(*box);
    tx->commit();
  }
}

void log_result(const Config& c, std::int64_t uid, const IngestResult& res, PollResult& r) {
  std::string ref = res.ticket_id ? ticket_ref(c, res.ticket_id) : "-";
  const std::string sep = res.note.empty() ? "" : "; ";
  switch (res.kind) {
    case IngestResult::Kind::created:
      ++r.created;
      log::info("ticket {} opened from UID {} <{}>{}{}", ref, uid, res.message_id, sep, res.note);
      break;
    case IngestResult::Kind::joined:
      ++r.joined;
      log::info("ticket {} got a message from UID {} <{}>{}{}", ref, uid, res.message_id, sep, res.note);
      break;
    case IngestResult::Kind::rejected:
      log::notice("UID {} <{}> stored without a ticket: {}", uid, res.message_id, res.note);
      break;
    case IngestResult::Kind::duplicate:
      ++r.duplicates;
      log::info("UID {} <{}> is already stored (ticket {}): not stored again", uid, res.message_id, ref);
      break;
  }
  r.mail_queued = r.mail_queued || res.mail_queued;
}

}  // namespace

PollResult poll_mailbox(Mailbox& imap, store::Store& st, const Config& c, const std::function<store::Time()>& now,
                        const std::atomic<bool>& stopping, const std::function<void(const PollResult&)>& committed) {
  PollResult r;
  auto status = imap.status();
  store::MailboxState box;
  {
    auto tx = st.begin(store::Store::Mode::write);
    box = tx->mailbox(imap.mailbox()).value_or(store::MailboxState{imap.mailbox(), status.uidvalidity, 0, {}});
    if (box.uidvalidity != status.uidvalidity) {
      log::warning("IMAP: UIDVALIDITY of {} changed from {} to {}: rescanning the mailbox; mails already stored are "
                   "recognised by their content",
                   imap.mailbox(), box.uidvalidity, status.uidvalidity);
      box.uidvalidity = status.uidvalidity;
      box.last_uid = box.done_uid = 0;
    }
    box.last_poll_at = now();
    tx->set_mailbox(box);
    tx->commit();
  }

  // A mail at or below the watermark but above done_uid is one whose action was cut short (a
  // crash after COMMIT, a failed STORE or MOVE): it is finished first. (Range fetches use
  // BODY.PEEK[], so only our STORE sets \Seen.)
  auto listed = imap.list_from(std::min(box.done_uid, box.last_uid) + 1);
  log::debug("IMAP: {} mails listed above UID {}{}", listed.size(), std::min(box.done_uid, box.last_uid),
             listed.empty() ? "" : fmt::format(" (UID {} to {})", listed.front().uid, listed.back().uid));
  std::vector<std::int64_t> unfinished;
  std::size_t next = 0;
  for (; next < listed.size() && listed[next].uid <= box.last_uid; ++next) unfinished.push_back(listed[next].uid);
  if (!unfinished.empty()) {
    log::info("IMAP: UID {} stored before; finishing '{}'", uid_set(unfinished), c.imap.after_ingest);
    after_ingest(imap, st, c, unfinished);
  }

  // Batches bound both the memory held (the raw mails of two batches: the one being stored
  // and the next, being fetched meanwhile) and the work a crash can undo (one uncommitted
  // batch, fetched again next time).
  std::size_t max_mails = c.imap.fetch == "per_uid" ? 1 : static_cast<std::size_t>(c.imap.batch_max_mails);
  auto next_uids = [&] {
    std::vector<std::int64_t> uids;
    std::size_t bytes = 0;
    for (; next < listed.size() && uids.size() < max_mails; ++next) {
      auto size = static_cast<std::size_t>(listed[next].size);
      if (!uids.empty() && bytes + size > c.imap.batch_max_bytes) break;
      uids.push_back(listed[next].uid);
      bytes += size;
    }
    return uids;
  };
  const std::string mailbox = imap.mailbox();
  auto fetch = [&imap, &mailbox, uidvalidity = status.uidvalidity](const std::vector<std::int64_t>& uids) {
    std::vector<IncomingMail> mails;
    mails.reserve(uids.size());
    imap.fetch(uidvalidity, uids, [&](std::int64_t uid, std::string&& raw) {
      mails.push_back({std::move(raw), store::MailOrigin{mailbox, uidvalidity, uid}});
    });
    return mails;
  };

  std::vector<IncomingMail> mails;
  if (next < listed.size() && !stopping) mails = fetch(next_uids());
  while (!mails.empty()) {
    // The next batch comes over the IMAP connection while this one is parsed and stored: the
    // server and the store each get a core. The connection is used by one thread at a time:
    // the action on this batch waits until the next one is in.
    std::future<std::vector<IncomingMail>> coming;
    if (next < listed.size() && !stopping) coming = std::async(std::launch::async, fetch, next_uids());
    r.fetched += static_cast<int>(mails.size());
    auto results = ingest_batch(st, c, mails, now());
    std::vector<std::int64_t> stored;
    for (std::size_t i = 0; i < results.size(); ++i) {
      log_result(c, mails[i].origin->uid, results[i], r);
      stored.push_back(mails[i].origin->uid);
    }
    mails.clear();  // the batch's memory goes before the one after next comes
    if (c.test.fault == "crash_after_commit") {
      log::warning("test fault crash_after_commit: killing the daemon after the COMMIT of UID {}", uid_set(stored));
      std::raise(SIGKILL);
    }
    if (committed) committed(r);
    if (coming.valid()) mails = coming.get();  // a failed fetch throws here, after this batch's COMMIT
    after_ingest(imap, st, c, stored);
  }
  return r;
}

}  // namespace sd
