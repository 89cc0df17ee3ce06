// daemon/poller.h: one pass over the service desk's IMAP mailbox.
//
// Contract: a pass reads the mailbox's UIDVALIDITY, fetches every mail above the store's
// watermark in UID order, in batches (imap.batch_max_mails / batch_max_bytes; the per-UID
// client takes one mail per batch), ingests each batch in one transaction (one COMMIT) and
// only then applies the after_ingest action (seen, move, delete) to the batch on the server.
// A changed UIDVALIDITY resets the watermark and rescans; content de-duplication keeps the
// rescan from opening tickets twice. Blocking: run it off the event loop. Throws ImapError
// or store::StoreError when the pass cannot go on; what was committed before stays committed.
//
// No single mail blocks the mailbox:
// - Too large: a mail above limits.max_message_bytes (by its RFC822.SIZE in the listing, or a
//   literal that runs past it) is not fetched whole. Its header (BODY.PEEK[HEADER]) and size
//   go to ingest (IncomingMail::too_large_bytes: a quarantined ticket, the agents told); the
//   mail stays on the server untouched (no \Seen, move or delete), and the watermark and
//   done_uid pass it.
// - Crash breaker: before a batch is parsed, its UIDs are recorded in hand (one small
//   committed write, store::InFlight). A process that finds them still above the watermark
//   knows the one before died with them. After two such deaths the mails are taken one by
//   one, and one that kills the process again alone is stored raw and quarantined without
//   parsing (quarantine_unhandled) and passed. A batch whose ingest throws clears the record
//   (best effort), so a store failure followed by a stop does not count as a death.
//
// Diagnostics: both cases are logged as errors naming the UID; `servicedesk quarantine list`
// shows the mails. Test aid: [test] fault = "crash_on_subject:TEXT" kills the process (SIGKILL)
// when a mail whose Subject contains TEXT is about to be parsed.
#pragma once

#include "config/config.h"
#include "desk/desk.h"
#include "imap/imap.h"
#include "store/store.h"

#include <atomic>
#include <functional>

namespace sd {

struct PollResult {
  int fetched = 0, created = 0, joined = 0, duplicates = 0;
  bool mail_queued = false;  // an acknowledgement or other mail was queued: wake the outbox
};

// `committed` (may be empty) is called after each batch's COMMIT with the pass so far, so the
// outbox can start on the acknowledgements while later batches are still being fetched.
PollResult poll_mailbox(Mailbox& imap, store::Store& store, const Desk& desk,
                        const std::function<store::Time()>& now, const std::atomic<bool>& stopping,
                        const std::function<void(const PollResult&)>& committed = {});
// The same with a Desk built from `config` for this pass (tests; throws ConfigError).
PollResult poll_mailbox(Mailbox& imap, store::Store& store, const Config& config,
                        const std::function<store::Time()>& now, const std::atomic<bool>& stopping,
                        const std::function<void(const PollResult&)>& committed = {});

// What one answer of the IMAP server may make the daemon hold, from [limits] and [imap]:
// a literal up to limits.max_message_bytes, an answer up to a batch plus one mail plus 1 MiB.
ImapLimits imap_limits(const Config& config);

}  // namespace sd
