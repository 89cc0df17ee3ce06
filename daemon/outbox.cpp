// daemon/outbox.cpp: see outbox.h.
#include "daemon/outbox.h"

#include "core/log.h"
#include "core/text.h"
#include "daemon/metrics.h"
#include "desk/agent_mail.h"
#include "desk/estimates.h"
#include "desk/ingest.h"
#include "notify/compose.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

namespace sd {

store::Time retry_delay(const Config& c, std::int64_t attempt) {
  store::Time d = c.smtp.retry_initial_s;
  for (std::int64_t i = 1; i < attempt && d < c.smtp.retry_max_s; ++i) d *= 2;
  return std::min<store::Time>(d, c.smtp.retry_max_s);
}

namespace {

using RcptStatus = notify::RecipientResult::Status;

// The mail as it goes out: the stored text mail, with the row's attachments added as parts
// (notify::with_attachments) when it names any. The bytes are read here, once per send, so
// the store keeps each file once however many mails carry it. A file whose bytes a size
// limit did not keep (kept == false) is left out: the text already says so. nullopt, with
// `why`, when the mail cannot be built (a row that is not a composed mail): retrying would
// build the same thing.
std::optional<std::string> mail_to_send(store::Store& st, const store::OutboxItem& item, std::string& why) {
  if (item.attachment_ids.empty()) return item.bytes;
  std::vector<notify::OutgoingAttachment> files;
  {
    auto tx = st.begin(store::Store::Mode::read);
    for (std::int64_t id : item.attachment_ids) {
      auto a = tx->attachment_by_id(id);
      if (!a) {
        log::warning("outbox row {} names attachment {}, which is not stored: sent without it", item.id, id);
        continue;
      }
      if (!a->kept) continue;
      notify::OutgoingAttachment f;
      f.filename = std::move(a->filename);
      f.content_type = std::move(a->content_type);
      f.content_id = std::move(a->content_id);
      f.is_inline = a->is_inline;
      f.data = std::move(a->data);
      files.push_back(std::move(f));
    }
  }
  try {
    return notify::with_attachments(item.bytes, files);
  } catch (const std::exception& e) {
    why = std::string("cannot add the attachments to the mail: ") + e.what();
    return std::nullopt;
  }
}

// The agent's Reply-To token (or an estimate mail's approval token) of a mail queued by a
// process without the secret (the portal), filled in now, in the text mail before its files are added (desk/agent_mail.h,
// fill_send_time_token(): only our own Reply-To field, never the body). The secret is read
// once per run, and only when a row needs it; unreadable, the plain desk address goes out
// instead (an agent's answer to it is kept as a note and the agent told), and the log says so.
void fill_reply_to_token(const Config& c, store::OutboxItem& item, std::optional<std::string>& secret, store::Time now) {
  if (!item.ticket_id || item.recipients.empty() || item.bytes.find(kSendTimeToken) == std::string::npos) return;
  if (!secret) {
    try {
      secret = checked_token_secret(c);
    } catch (const std::exception& e) {
      log::error("the agents' token secret cannot be read ({}): mails queued by the portal go out with the plain desk "
                 "address as Reply-To",
                 e.what());
      secret = std::string();
    }
  }
  // The token is for the row's first recipient: the agent the mail is to.
  if (auto filled = fill_send_time_token(item.bytes, c, *secret, *item.ticket_id, lower(item.recipients.front()), now))
    item.bytes = std::move(*filled);
  // An estimate mail the portal queued (desk/estimates.h): its approval token is for the
  // requester, the row's one recipient.
  else if (auto est = fill_send_time_estimate_token(item.bytes, c, *secret, *item.ticket_id,
                                                    lower(item.recipients.front()), now))
    item.bytes = std::move(*est);
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// What the row's last_error says of the recipients still waiting.
std::string waiting_error(const notify::SendResult& res) {
  std::string out;
  for (const auto& r : res.recipients)
    if (r.status == RcptStatus::refused_for_now) out += fmt::format("{}{}: {}", out.empty() ? "" : "; ", r.address, r.reply);
  return out.empty() ? res.error : out;
}

// A recipient refused for good, on the ticket for the desk (internal: an address of the
// customer's thread that bounces is the desk's business, not something to show them).
void record_refusals(store::Tickets& tx, const store::OutboxItem& item, const notify::SendResult& res, store::Time at) {
  if (!item.ticket_id) return;
  for (const auto& r : res.recipients) {
    if (r.status != RcptStatus::refused_permanently) continue;
    store::Event e;
    e.ticket_id = *item.ticket_id;
    e.at = at;
    e.actor = "system";
    e.kind = "delivery-failed";
    e.detail = fmt::format("{} <{}> to {} refused: {}", item.kind, item.message_id, r.address,
                           r.reply.empty() ? res.error : r.reply);
    e.internal = true;
    tx.add_event(e);
  }
}

// Sends one claimed row and records what came of it (sent, retry, failed), which ends its
// claim. A connection-level failure sets run.server_down.
void send_one(store::Store& st, notify::SmtpClient& smtp, const Config& c, const std::function<store::Time()>& now,
              const std::atomic<bool>& stopping, store::OutboxItem& item, std::optional<std::string>& secret,
              OutboxRun& run) {
  std::string ticket = item.ticket_id ? ticket_ref(c, *item.ticket_id) : "-";
  std::string why;
  fill_reply_to_token(c, item, secret, now());
  auto bytes = mail_to_send(st, item, why);
  if (!bytes) {
    auto tx = st.begin(store::Store::Mode::write);
    tx->mark_failed(item.id, why);
    if (item.ticket_id) tx->add_event({*item.ticket_id, now(), "system", "delivery-failed", why, true});
    tx->commit();
    log::error("{} for ticket {} <{}> not sent: {}", item.kind, ticket, item.message_id, why);
    count_smtp_error("unsendable");
    ++run.failed;
    return;
  }
  auto res = smtp.send(item.mail_from, item.recipients, *bytes);
  bytes.reset();
  std::string().swap(item.bytes);
  auto delivered = res.with(RcptStatus::accepted);
  auto waiting = res.with(RcptStatus::refused_for_now);
  auto refused = res.with(RcptStatus::refused_permanently);
  if (!delivered.empty()) {
    // The server has the mail for these: failing to record that sends it to them again next
    // run. A store busy beyond its timeout (a big ingest batch) or away for a while (a
    // PostgreSQL restart) is worth trying again for up to two SMTP timeouts, well inside the
    // row's claim, so that only a stop or a longer outage costs a second copy. Recipients
    // refused for now stay on the row, alone; those refused for good are recorded and dropped.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2 * std::max(c.smtp.timeout_s, 1));
    for (auto pause = std::chrono::milliseconds(250);; pause = std::min(pause * 2, std::chrono::milliseconds(5000))) {
      try {
        auto tx = st.begin(store::Store::Mode::write);
        if (waiting.empty()) {
          tx->mark_sent(item.id, now());
        } else {
          tx->set_recipients(item.id, waiting);
          tx->mark_retry(item.id, now() + retry_delay(c, item.attempts + 1), waiting_error(res));
        }
        if (item.ticket_id) {
          std::string detail = "<" + item.message_id + ">";
          if (delivered.size() < item.recipients.size()) detail += " to " + joined(delivered);
          tx->add_event({*item.ticket_id, now(), "system", item.kind + "-sent", detail});
        }
        record_refusals(*tx, item, res, now());
        tx->commit();
        break;
      } catch (const store::StoreError& e) {
        if (!e.transient || stopping || std::chrono::steady_clock::now() + pause > give_up) throw;
        log::info("recording {} <{}> as sent: {} (trying again)", item.kind, item.message_id, e.what());
        std::this_thread::sleep_for(pause);
      }
    }
    log::info("sent {} for ticket {} to {} <{}>", item.kind, ticket, joined(delivered), item.message_id);
    if (!refused.empty()) {
      log::error("SMTP refused {} for ticket {} <{}> to {}: {}", item.kind, ticket, item.message_id, joined(refused),
                 res.error.empty() ? "see the ticket's events" : res.error);
      count_smtp_error("refused");
    }
    if (!waiting.empty()) {
      count_smtp_error("deferred");
      log::warning("{} for ticket {} <{}> waits for {}: {}", item.kind, ticket, item.message_id, joined(waiting),
                   waiting_error(res));
      run.last_error = waiting_error(res);
      ++run.retried;
    }
    ++run.sent;
    return;
  }
  auto tx = st.begin(store::Store::Mode::write);
  record_refusals(*tx, item, res, now());
  if (waiting.empty()) {
    tx->mark_failed(item.id, res.error);
    log::error("SMTP refused {} for ticket {} <{}>: {}", item.kind, ticket, item.message_id, res.error);
    count_smtp_error("refused");
    ++run.failed;
  } else {
    if (!refused.empty()) tx->set_recipients(item.id, waiting);
    tx->mark_retry(item.id, now() + retry_delay(c, item.attempts + 1), waiting_error(res));
    run.last_error = waiting_error(res);
    ++run.retried;
  }
  tx->commit();
  run.server_down = res.outcome == notify::SendResult::Outcome::transient && res.smtp_code == 0;
  if (!waiting.empty()) count_smtp_error(run.server_down ? "unreachable" : "deferred");  // logged by the daemon's outbox_done
}

}  // namespace

OutboxRun deliver_due(store::Store& st, notify::SmtpClient& smtp, const Config& c,
                      const std::function<store::Time()>& now, const std::atomic<bool>& stopping,
                      const std::string& claimer) {
  OutboxRun run;
  const std::int64_t claim_s = std::int64_t(kOutboxBatch + 1) * std::max(c.smtp.timeout_s, 1);
  std::optional<std::string> secret;  // read when a row needs it
  // Claims this run has not finished go back, so another deliverer (or this one's next run)
  // takes them at once instead of when they expire. Best effort: they expire anyway.
  auto give_back = [&] {
    try {
      auto tx = st.begin(store::Store::Mode::write);
      tx->release_outbox_claims(claimer);
      tx->commit();
    } catch (const store::StoreError& e) {
      log::warning("outbox: cannot give back the rows claimed by {} (they wait for the claim to expire): {}", claimer,
                   e.what());
    }
  };
  try {
    for (bool first = true; !stopping && !run.server_down; first = false) {
      std::vector<store::OutboxItem> due;
      {
        auto tx = st.begin(store::Store::Mode::write);
        // What an earlier run of this daemon could not give back (the store was away) is due
        // again at once: runs of one deliverer follow each other, so none of it is in hand.
        if (first) tx->release_outbox_claims(claimer);
        due = tx->claim_outbox(now(), kOutboxBatch, claimer, claim_s);
        tx->commit();
      }
      std::size_t i = 0;
      for (; i < due.size() && !stopping && !run.server_down; ++i) send_one(st, smtp, c, now, stopping, due[i], secret, run);
      // After a connection-level failure the rest of the batch is not tried: the server is
      // down for all of them, and each gets its retry time as if it had been, in one transaction.
      if (run.server_down && i < due.size()) {
        auto tx = st.begin(store::Store::Mode::write);
        for (; i < due.size(); ++i) {
          tx->mark_retry(due[i].id, now() + retry_delay(c, due[i].attempts + 1), run.last_error);
          ++run.retried;
        }
        tx->commit();
      }
      if (due.size() < static_cast<std::size_t>(kOutboxBatch)) break;
    }
  } catch (...) {
    give_back();
    throw;
  }
  if (stopping) give_back();
  auto tx = st.begin(store::Store::Mode::read);
  run.next_attempt_at = tx->next_outbox_attempt();
  return run;
}

}  // namespace sd
