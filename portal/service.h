// portal/service.h: the `servicedesk portal` process: the store, a Desk without the token
// secret, the portal's App behind the HTTP server, its metrics listener, signals and the
// housekeeping timer that forgets expired sign-in links and sessions.
//
// Contract: run_portal() returns the process exit status: 0 after SIGTERM/SIGINT, 78
// (EX_CONFIG) when [portal] listen is unset or cannot be bound, or the TLS files cannot be
// read. It never reads the IMAP or SMTP password or the agents' token secret: mail it decides
// is queued in the outbox, whose wake-up tells the daemon at once (store/wake.h).
#pragma once

#include "config/config.h"

namespace sd::portal {

int run_portal(const Config& config);

}  // namespace sd::portal
