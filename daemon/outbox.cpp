// daemon/outbox.cpp: see outbox.h.
#include "daemon/outbox.h"

#include "core/log.h"
#include "desk/ingest.h"

#include <algorithm>

namespace sd {

store::Time retry_delay(const Config& c, std::int64_t attempt) {
  store::Time d = c.smtp.retry_initial_s;
  for (std::int64_t i = 1; i < attempt && d < c.smtp.retry_max_s; ++i) d *= 2;
  return std::min<store::Time>(d, c.smtp.retry_max_s);
}

OutboxRun deliver_due(store::Store& st, notify::SmtpClient& smtp, const Config& c,
                      const std::function<store::Time()>& now, const std::atomic<bool>& stopping) {
  OutboxRun run;
  std::vector<store::OutboxItem> due;
  {
    auto tx = st.begin(store::Store::Mode::read);
    due = tx->due_outbox(now(), 50);
  }
  // After a connection-level failure the rest of the batch is not tried: the server is
  // down for all of them, and each gets its retry time as if it had been, in one transaction.
  std::size_t i = 0;
  bool server_down = false;
  for (; i < due.size() && !stopping && !server_down; ++i) {
    const auto& item = due[i];
    auto res = smtp.send(item.mail_from, item.recipients, item.bytes);
    std::string ticket = item.ticket_id ? ticket_ref(c, *item.ticket_id) : "-";
    if (res.outcome == notify::SendResult::Outcome::sent) {
      // The server has the mail: failing to record that sends it again next run. A store
      // busy beyond its timeout (a big ingest batch) is worth a few more tries first; each
      // waits up to the busy timeout by itself.
      for (int attempt = 1;; ++attempt) {
        try {
          auto tx = st.begin(store::Store::Mode::write);
          tx->mark_sent(item.id, now());
          if (item.ticket_id) tx->add_event({*item.ticket_id, now(), "system", item.kind + "-sent", "<" + item.message_id + ">"});
          tx->commit();
          break;
        } catch (const store::StoreError& e) {
          if (!e.transient || attempt == 3 || stopping) throw;
        }
      }
      log::info("sent {} for ticket {} to {} <{}>", item.kind, ticket, item.recipients.empty() ? "" : item.recipients[0],
                item.message_id);
      ++run.sent;
      continue;
    }
    auto tx = st.begin(store::Store::Mode::write);
    if (res.outcome == notify::SendResult::Outcome::permanent) {
      tx->mark_failed(item.id, res.error);
      if (item.ticket_id) tx->add_event({*item.ticket_id, now(), "system", "delivery-failed", res.error});
      log::error("SMTP refused {} for ticket {} <{}>: {}", item.kind, ticket, item.message_id, res.error);
      ++run.failed;
    } else {
      tx->mark_retry(item.id, now() + retry_delay(c, item.attempts + 1), res.error);
      run.last_error = res.error;
      ++run.retried;
    }
    tx->commit();
    server_down = res.outcome == notify::SendResult::Outcome::transient && res.smtp_code == 0;
  }
  if (server_down && i < due.size()) {
    auto tx = st.begin(store::Store::Mode::write);
    for (; i < due.size(); ++i) {
      tx->mark_retry(due[i].id, now() + retry_delay(c, due[i].attempts + 1), run.last_error);
      ++run.retried;
    }
    tx->commit();
  }
  auto tx = st.begin(store::Store::Mode::read);
  run.next_attempt_at = tx->next_outbox_attempt();
  return run;
}

}  // namespace sd
