// daemon/metrics.cpp: the daemon's registry and metrics listener; see metrics.h.
//
// The store's figures are read by the scrape itself, on the listener's worker thread, so
// they are as fresh as the scrape and cost nothing between scrapes. The outbox's depth is
// outbox("pending").size(): the store has no count query yet, and the rows come without
// their bytes; a deep outbox makes a scrape read every pending row's header fields.
#include "daemon/metrics.h"

#include "core/log.h"
#include "desk/desk.h"
#include "http/server.h"
#include "imap/imap.h"

#include <algorithm>
#include <exception>
#include <mutex>

namespace sd {

namespace {

void describe_daemon_metrics(http::Metrics& m) {
  using http::MetricType;
  m.describe("servicedesk_mails_ingested_total", MetricType::counter,
             "Mails the daemon took from the mailbox, by what became of them");
  m.describe("servicedesk_mails_quarantined", MetricType::gauge, "Stored mails the parser could not read (quarantine list)");
  m.describe("servicedesk_outbox_pending", MetricType::gauge, "Outgoing mails waiting to be sent");
  m.describe("servicedesk_outbox_failed", MetricType::gauge, "Outgoing mails given up on (outbox list --failed)");
  m.describe("servicedesk_imap_errors_total", MetricType::counter, "IMAP failures: poll passes, IDLE connections, after-ingest actions");
  m.describe("servicedesk_smtp_errors_total", MetricType::counter, "SMTP failures: refused, deferred, server unreachable, mail unsendable");
  m.describe("servicedesk_store_errors_total", MetricType::counter, "Poll passes and outbox runs that failed on the store");
  m.describe("servicedesk_sla_warnings_total", MetricType::counter, "SLA warnings fired (all tickets, from the store)");
  m.describe("servicedesk_sla_breaches_total", MetricType::counter, "SLA breaches fired (all tickets, from the store)");
  m.describe("servicedesk_last_poll_timestamp_seconds", MetricType::gauge, "When the mailbox was last polled (Unix time)");
  m.describe("servicedesk_store_readable", MetricType::gauge, "1 when the last scrape could read the store");
  // Present from the start, so a rate() has its zero.
  for (auto where : {"poll", "idle", "after_ingest"}) m.add("servicedesk_imap_errors_total", {{"where", where}}, 0);
  for (auto kind : {"refused", "deferred", "unreachable", "unsendable"})
    m.add("servicedesk_smtp_errors_total", {{"kind", kind}}, 0);
  for (auto result : {"new_ticket", "reply", "duplicate", "other"})
    m.add("servicedesk_mails_ingested_total", {{"result", result}}, 0);
  m.add("servicedesk_store_errors_total", {}, 0);
}

}  // namespace

http::Metrics& daemon_metrics() {
  static http::Metrics m;
  static const bool described = (describe_daemon_metrics(m), true);
  (void)described;
  return m;
}

void count_imap_error(std::string_view where) { daemon_metrics().add("servicedesk_imap_errors_total", {{"where", std::string(where)}}); }

void count_smtp_error(std::string_view kind) { daemon_metrics().add("servicedesk_smtp_errors_total", {{"kind", std::string(kind)}}); }

void count_store_error() { daemon_metrics().add("servicedesk_store_errors_total"); }

void count_mails(int new_tickets, int replies, int duplicates, int fetched) {
  auto& m = daemon_metrics();
  m.add("servicedesk_mails_ingested_total", {{"result", "new_ticket"}}, new_tickets);
  m.add("servicedesk_mails_ingested_total", {{"result", "reply"}}, replies);
  m.add("servicedesk_mails_ingested_total", {{"result", "duplicate"}}, duplicates);
  // Agents' mails, quarantined ones, refused senders ...
  m.add("servicedesk_mails_ingested_total", {{"result", "other"}}, std::max(0, fetched - new_tickets - replies - duplicates));
}

void read_store_metrics(store::Store& st, const std::string& mailbox, http::Metrics& m) {
  auto tx = st.begin(store::Store::Mode::read);
  auto quarantine = tx->quarantined_mails();
  m.set("servicedesk_mails_quarantined",
        static_cast<double>(std::count_if(quarantine.begin(), quarantine.end(), [](const auto& q) { return q.quarantined; })));
  m.set("servicedesk_outbox_pending", static_cast<double>(tx->outbox("pending").size()));
  m.set("servicedesk_outbox_failed", static_cast<double>(tx->outbox("failed").size()));
  m.set("servicedesk_sla_warnings_total", static_cast<double>(tx->count_events("sla-warning", "", 0)));
  m.set("servicedesk_sla_breaches_total", static_cast<double>(tx->count_events("sla-breach", "", 0)));
  if (!mailbox.empty())
    if (auto box = tx->mailbox(mailbox); box && box->last_poll_at)
      m.set("servicedesk_last_poll_timestamp_seconds", static_cast<double>(*box->last_poll_at));
}

struct MetricsListener::Impl {
  Impl(boost::asio::io_context& io, const Config& c)
      : config(c), mailbox(mailbox_of(c)), server(io, options(c), handler(), &daemon_metrics()) {}

  static std::string mailbox_of(const Config& c) {
    try {
      return parse_imap_url(c.imap.url).mailbox;
    } catch (const std::exception&) {
      return "";  // the poller says what is wrong with the URL; the last poll is left out
    }
  }

  static http::ServerOptions options(const Config& c) {
    http::ServerOptions o;
    o.listen = c.service.metrics_listen;
    o.workers = 1;  // one thread owns `store`
    o.max_connections = 16;
    o.read_timeout = std::chrono::seconds(5);
    o.name = "metrics";
    return o;
  }

  // The store connection, opened on first use; worker thread only. A failure drops it, so
  // the next scrape opens it anew.
  store::Store& connection() {
    if (!store) store = open_store(config);
    return *store;
  }

  void refresh() {
    try {
      read_store_metrics(connection(), mailbox, daemon_metrics());
      daemon_metrics().set("servicedesk_store_readable", 1);
    } catch (const std::exception& e) {
      store.reset();
      daemon_metrics().set("servicedesk_store_readable", 0);
      log::warning("metrics: the store cannot be read, its figures are the last ones read: {}", e.what());
    }
  }

  bool healthy() {
    try {
      auto tx = connection().begin(store::Store::Mode::read);
      tx->mailbox(mailbox);
      return true;
    } catch (const std::exception& e) {
      store.reset();
      log::warning("metrics: /healthz: the store cannot be read: {}", e.what());
      return false;
    }
  }

  http::Handler handler() {
    auto inner = http::metrics_handler(daemon_metrics(), [this] { return healthy(); });
    return [this, inner](const http::Exchange& ex) {
      auto target = ex.request.target();
      if (target.substr(0, target.find('?')) == "/metrics") refresh();
      return inner(ex);
    };
  }

  const Config config;  // a copy: the store to open (open_store) outlives any reload
  const std::string mailbox;
  std::unique_ptr<store::Store> store;
  http::Server server;  // last: stopped and its worker joined before the store goes
};

MetricsListener::MetricsListener(boost::asio::io_context& io, const Config& config)
    : impl_(std::make_unique<Impl>(io, config)) {}

MetricsListener::~MetricsListener() = default;

tl::expected<void, std::string> MetricsListener::start() { return impl_->server.start(); }

unsigned short MetricsListener::port() const { return impl_->server.port(); }

}  // namespace sd
