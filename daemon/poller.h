// daemon/poller.h: one pass over the service desk's IMAP mailbox.
//
// Contract: a pass reads the mailbox's UIDVALIDITY, fetches every mail above the store's
// watermark in UID order, in batches (imap.batch_max_mails / batch_max_bytes; the per-UID
// client takes one mail per batch), ingests each batch in one transaction (one COMMIT) and
// only then applies the after_ingest action (seen, move, delete) to the batch on the server.
// A changed UIDVALIDITY resets the watermark and rescans; content de-duplication keeps the
// rescan from opening tickets twice. Blocking: run it off the event loop. Throws ImapError
// or store::StoreError when the pass cannot go on; what was committed before stays committed.
#pragma once

#include "daemon/config.h"
#include "daemon/imap.h"
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
PollResult poll_mailbox(Mailbox& imap, store::Store& store, const Config& config,
                        const std::function<store::Time()>& now, const std::atomic<bool>& stopping,
                        const std::function<void(const PollResult&)>& committed = {});

}  // namespace sd
