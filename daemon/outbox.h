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
// Blocking: call it off the event loop.
#pragma once

#include "config/config.h"
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
};

OutboxRun deliver_due(store::Store& store, notify::SmtpClient& smtp, const Config& config,
                      const std::function<store::Time()>& now, const std::atomic<bool>& stopping);

// Backoff before retry number `attempt` (1-based): initial * 2^(attempt-1), capped.
store::Time retry_delay(const Config& config, std::int64_t attempt);

}  // namespace sd
