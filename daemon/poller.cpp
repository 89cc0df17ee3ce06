// daemon/poller.cpp: see poller.h.
#include "daemon/poller.h"

#include "daemon/ingest.h"
#include "daemon/log.h"

#include <csignal>

namespace sd {
namespace {

// Applies after_ingest to a committed mail. A failure is logged, not thrown: the mail is
// safely stored, and the next pass tries the action again (move/delete) or it is moot (seen).
void after_ingest(ImapClient& imap, const Config& c, std::int64_t uid) {
  try {
    if (c.imap.after_ingest == "delete") imap.remove(uid);
    else if (auto folder = c.move_target(); !folder.empty()) imap.move(uid, folder);
    else imap.mark_seen(uid);
  } catch (const ImapError& e) {
    log::warning("IMAP: {} of UID {} failed (will retry next pass): {}", c.imap.after_ingest, uid, e.what());
  }
}

}  // namespace

PollResult poll_mailbox(ImapClient& imap, store::Store& st, const Config& c, const std::function<store::Time()>& now,
                        const std::atomic<bool>& stopping) {
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
      box.last_uid = 0;
    }
    box.last_poll_at = now();
    tx->set_mailbox(box);
    tx->commit();
  }

  // With move or delete, a mail below the watermark still in the mailbox is one whose
  // action was cut short (a crash after COMMIT): finish it. With seen there is nothing to do.
  bool removes = c.imap.after_ingest != "seen";
  auto uids = imap.uids_from(removes ? 1 : box.last_uid + 1);
  for (auto uid : uids) {
    if (stopping) break;
    if (uid <= box.last_uid) {
      log::info("IMAP: UID {} was stored before; finishing '{}'", uid, c.imap.after_ingest);
      after_ingest(imap, c, uid);
      continue;
    }
    std::string raw = imap.fetch(status.uidvalidity, uid);
    ++r.fetched;
    auto res = ingest(st, c, raw, store::MailOrigin{imap.mailbox(), status.uidvalidity, uid}, now());
    std::string ref = res.ticket_id ? ticket_ref(c, res.ticket_id) : "-";
    switch (res.kind) {
      case IngestResult::Kind::created:
        ++r.created;
        log::info("ticket {} opened from UID {} <{}>{}{}", ref, uid, res.message_id, res.note.empty() ? "" : "; ", res.note);
        break;
      case IngestResult::Kind::joined:
        ++r.joined;
        log::info("ticket {} got a message from UID {} <{}>{}{}", ref, uid, res.message_id, res.note.empty() ? "" : "; ",
                  res.note);
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
    if (c.test.fault == "crash_after_commit") {
      log::warning("test fault crash_after_commit: killing the daemon after the COMMIT of UID {}", uid);
      std::raise(SIGKILL);
    }
    after_ingest(imap, c, uid);
  }
  return r;
}

}  // namespace sd
