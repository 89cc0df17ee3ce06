// daemon/metrics.h: the daemon's Prometheus metrics and its listener at `[service]
// metrics_listen` (GET /metrics, GET /healthz).
//
// Contract: daemon_metrics() is the process's one registry (http/metrics.h, thread-safe).
// The daemon's parts count what happens where they log it: count_imap_error() (a failed
// poll pass, IDLE connection or after-ingest action), count_smtp_error() (a recipient or
// mail refused, a delivery deferred, the server unreachable), count_store_error(), and
// count_mails() after a pass. What the store knows is read when scraped, not counted:
// mails quarantined, the outbox's pending and failed rows, SLA warnings and breaches
// fired (events over all tickets, so they survive restarts) and the mailbox's last poll.
//
// The MetricsListener serves them on the daemon's io_context; its one worker thread (the
// http::Server's pool) reads the store with a connection of its own, so a scrape never
// blocks the event loop and never shares a connection with the IMAP, SMTP or clock
// workers. /healthz is 200 "ok" when a read transaction on the store succeeds, else 503.
//
// Metric names (all servicedesk_ but the server's own http_*):
//   servicedesk_mails_ingested_total{result="new_ticket"|"reply"|"duplicate"|"other"}  counter
//   servicedesk_mails_quarantined          gauge: stored mails the parser could not read
//   servicedesk_outbox_pending             gauge: outgoing mails waiting to be sent
//   servicedesk_outbox_failed              gauge: outgoing mails given up on
//   servicedesk_imap_errors_total{where="poll"|"idle"|"after_ingest"}                  counter
//   servicedesk_smtp_errors_total{kind="refused"|"deferred"|"unreachable"|"unsendable"}  counter
//   servicedesk_store_errors_total         counter: passes or runs that failed on the store
//   servicedesk_sla_warnings_total, servicedesk_sla_breaches_total  counter (from the store)
//   servicedesk_last_poll_timestamp_seconds  gauge: the mailbox's last poll (absent: never)
//   servicedesk_store_readable             gauge: 1 when the scrape could read the store
//
// Diagnostics: start() says why the listener cannot listen (the daemon logs it and runs on
// without metrics). A store that cannot be read at a scrape is logged; its gauges keep
// their last values and servicedesk_store_readable says 0.
//
// Security: the metrics carry counts and times only, never addresses or subjects; the
// listener is for loopback or a monitoring network.
#pragma once

#include "config/config.h"
#include "http/metrics.h"
#include "store/store.h"

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace sd {

http::Metrics& daemon_metrics();

void count_imap_error(std::string_view where);  // "poll", "idle", "after_ingest"
void count_smtp_error(std::string_view kind);   // "refused", "deferred", "unreachable", "unsendable"
void count_store_error();
void count_mails(int new_tickets, int replies, int duplicates, int fetched);

// Reads the store's side of the metrics into `metrics` (one read transaction). Throws
// StoreError.
void read_store_metrics(store::Store& store, const std::string& mailbox, http::Metrics& metrics);

class MetricsListener {
 public:
  MetricsListener(boost::asio::io_context& io, const Config& config);
  ~MetricsListener();
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  tl::expected<void, std::string> start();  // listens on config.service.metrics_listen
  unsigned short port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sd
