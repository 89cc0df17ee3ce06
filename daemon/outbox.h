// daemon/outbox.h: delivers the outbox over SMTP.
//
// Contract: the outbox table is the truth; this only works through what is due. A mail is
// marked sent only after the SMTP server accepted it for every recipient (so a crash in
// between sends it again: at-least-once, with the same Message-ID and, attachments
// included, the same bytes). Delivery is per recipient: those the server refuses for good
// (5xx) are recorded on the ticket (an internal delivery-failed event naming the address
// and the server's reply) and do not fail the others; those refused for now (4xx) stay
// alone on the row (set_recipients), which is retried with exponential backoff, so the
// others do not get it twice. Refused for good by everyone: the row is marked failed.
// A row's attachments are read from the store and added at send time
// (notify::with_attachments); the stored row keeps only the text mail.
//
// Several deliverers on one store (daemons sharing PostgreSQL): rows are claimed a few at a
// time (Outbox::claim_outbox, on the database's clock) for `claimer`, for long enough to send
// them all (kOutboxBatch + 1 times smtp.timeout_s), so each row is sent by one deliverer. One
// that dies mid-send leaves its claimed rows to the others once the claim expires (at least
// once, the same Message-ID). A run that stops (`stopping`) or fails gives its unsent claims
// back. After a connection-level failure only the claimed rows get their retry time; the
// rest stay due for deliverers that can reach their server, and the run says server_down so
// the caller backs off. On a store of one daemon the same path runs, with one claimer.
// Blocking: call it off the event loop.
#pragma once

#include "config/config.h"
#include "daemon/cluster.h"
#include "notify/smtp.h"
#include "store/store.h"

#include <atomic>
#include <functional>
#include <optional>
#include <string>

namespace sd {

struct OutboxRun {
  int sent = 0, retried = 0, failed = 0;
  std::optional<store::Time> next_attempt_at;  // earliest pending mail after this run
  std::string last_error;                      // of the last transient failure; empty when none
  bool server_down = false;                    // the SMTP server could not be reached: back off
};

// Rows claimed at a time; the claim lasts (kOutboxBatch + 1) * smtp.timeout_s.
inline constexpr int kOutboxBatch = 5;

OutboxRun deliver_due(store::Store& store, notify::SmtpClient& smtp, const Config& config,
                      const std::function<store::Time()>& now, const std::atomic<bool>& stopping,
                      const std::string& claimer = this_daemon().id);

// Backoff before retry number `attempt` (1-based): initial * 2^(attempt-1), capped.
store::Time retry_delay(const Config& config, std::int64_t attempt);

}  // namespace sd
