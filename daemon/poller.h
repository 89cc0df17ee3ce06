// daemon/poller.h: one pass over the service desk's IMAP mailbox.
//
// Contract: a pass reads the mailbox's UIDVALIDITY, fetches every mail above the store's
// watermark in UID order, ingests each (one COMMIT per mail) and only then applies the
// after_ingest action (seen, move, delete) on the server. A changed UIDVALIDITY resets the
// watermark and rescans; content de-duplication keeps the rescan from opening tickets
// twice. Blocking: run it off the event loop. Throws ImapError or store::StoreError when
// the pass cannot go on; what was committed before stays committed.
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

PollResult poll_mailbox(ImapClient& imap, store::Store& store, const Config& config,
                        const std::function<store::Time()>& now, const std::atomic<bool>& stopping);

}  // namespace sd
