// daemon/daemon.h: the long-running service: an Asio event loop whose timers drive the
// IMAP poll, the outbox and the SLA clock, on three worker threads (IMAP, SMTP, clock).
//
// Contract: run() returns the process exit code: 0 after SIGTERM/SIGINT (the mail in hand
// is finished first). SIGHUP reloads the config file; a config that fails to load is
// logged and the old one kept. IMAP and SMTP failures are logged once per change of state
// and retried with backoff; they never end the daemon. On a store of one daemon (SQLite) a
// second run() returns 75 at once; on a shared store (PostgreSQL) any number run, one polls
// the mailbox (the lease, daemon/cluster.h) and the others stand by, all deliver the outbox.
#pragma once

#include "config/config.h"

namespace sd {

int run_daemon(const Config& initial);

}  // namespace sd
