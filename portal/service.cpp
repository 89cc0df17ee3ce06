// portal/service.cpp: the `servicedesk portal` process (see service.h): the store, a Desk
// without the token secret, the App behind the HTTP server, the metrics listener, signals
// and the housekeeping thread.
//
// Diagnostics: what keeps the portal from starting (no [portal] listen, an address in use, a
// TLS file it cannot read, a store it cannot open) is one log line and exit 78 or 75; a
// failed request is the server's to log (http/server.h); housekeeping that fails is logged
// and tried again at the next round.
//
// Security: the Desk is built with read_token_secret = false, and nothing here reads the
// IMAP or SMTP password: a portal that is broken into holds no credential of the desk's
// mail. Store work runs on the server's worker pool and on the housekeeping thread, never on
// the io_context's threads.
#include "portal/service.h"

#include "core/log.h"
#include "desk/desk.h"
#include "http/metrics.h"
#include "http/parse.h"
#include "http/server.h"
#include "portal/app.h"
#include "portal/page_texts.h"
#include "store/store.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <map>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace sd::portal {
namespace {

constexpr int kExitConfig = 78;     // EX_CONFIG
constexpr int kExitTempFail = 75;   // EX_TEMPFAIL: the store is busy or unreachable for now
constexpr auto kHousekeeping = std::chrono::minutes(1);

store::Time now_with(const Config& c) { return static_cast<store::Time>(std::time(nullptr)) + c.test.clock_offset_s; }

// The store as the portal's threads use it: one connection per thread (the HTTP server's
// workers, housekeeping, the metrics worker), opened on its first use there. A SQLite store
// is one connection, used by one thread at a time; sharing one across the workers made
// concurrent requests fail ("cannot start a transaction within a transaction", seen by the
// benchmark at 10 clients). Connections live until the portal stops.
class StorePerThread final : public store::Store {
 public:
  explicit StorePerThread(const Config& c) : config_(c) { backend_ = mine().backend(); }  // opened (and migrated) at start
  std::unique_ptr<store::Transaction> begin(Mode mode) override { return mine().begin(mode); }
  tl::expected<std::unique_ptr<store::OutboxListener>, std::string> listen_for_outbox() override {
    return mine().listen_for_outbox();
  }
  void backup(const std::string& path) override { mine().backup(path); }
  void set_fence(std::optional<Fence>) override {}  // the portal writes no watermark
  std::string backend() const override { return backend_; }
  bool shared() const override { return backend_ != "sqlite"; }

 private:
  store::Store& mine() {
    std::lock_guard lock(mutex_);
    auto& s = stores_[std::this_thread::get_id()];
    if (!s) s = open_store(config_);
    return *s;
  }
  const Config config_;
  std::string backend_;
  std::mutex mutex_;
  std::map<std::thread::id, std::unique_ptr<store::Store>> stores_;
};

// Forgets used and expired sign-in links, ended sessions, old rate counters and form keys
// once a minute, on a thread of its own (never the io_context's), until stop() is called.
class Housekeeping {
 public:
  Housekeeping(store::Store& store, const Config& c) : thread_([this, &store, &c] { run(store, c); }) {}
  ~Housekeeping() { stop(); }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run(store::Store& store, const Config& c) {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, kHousekeeping, [this] { return stopping_; })) {
      lock.unlock();
      try {
        const store::Time now = now_with(c);
        auto tx = store.begin(store::Store::Mode::write);
        tx->forget_expired_portal(now, now - c.portal.session_idle_minutes * 60LL,
                                  now - c.portal.session_max_hours * 3600LL);
        tx->commit();
      } catch (const std::exception& e) {
        log::warning("portal: housekeeping of sessions and sign-in links failed, trying again in a minute: {}",
                     e.what());
      }
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

int run_portal(const Config& config) {
  if (config.portal.listen.empty()) {
    log::error("{}: [portal] listen is not set: the portal needs an address to listen on, e.g. listen = \"127.0.0.1:8080\"",
               config.path);
    return kExitConfig;
  }
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Desk> desk;
  try {
    store = std::make_unique<StorePerThread>(config);
    desk = std::make_unique<Desk>(config, /*read_token_secret=*/false);
  } catch (const store::StoreError& e) {
    log::error("portal: cannot open the store: {}", e.what());
    return e.transient ? kExitTempFail : kExitConfig;
  } catch (const ConfigError& e) {
    log::error("{}", e.what());
    return kExitConfig;
  }

  // The operator's page texts, checked now: a mistake names its file and line and the
  // portal does not start, rather than show a wrong text.
  auto texts = load_page_texts(config.portal.templates_dir);
  if (!texts) {
    log::error("portal: page texts: {}", texts.error());
    return kExitConfig;
  }
  // A trusted proxy the HTTP layer cannot read would silently never be trusted: refused.
  for (const auto& proxy : config.portal.trusted_proxies)
    if (auto ok = http::check_proxy_entry(proxy); !ok) {
      log::error("{}: key 'portal.trusted_proxies': \"{}\": {}", config.path, proxy, ok.error());
      return kExitConfig;
    }

  App app(*store, *desk, [&config] { return now_with(config); }, &*texts);
  http::Metrics metrics;
  app.register_metrics(metrics);

  boost::asio::io_context io;
  http::ServerOptions options;
  options.listen = config.portal.listen;
  options.tls_certificate_file = config.portal.tls_certificate_file;
  options.tls_key_file = config.portal.tls_key_file;
  options.body_limit_for = [&app](const boost::beast::http::request_header<>& h) { return app.body_limit(h); };
  options.name = "portal";
  http::Server server(io, options, [&app](const http::Exchange& x) { return app.handle(x); }, &metrics);
  if (auto started = server.start(); !started) {
    log::error("portal: cannot listen on {}: {}", config.portal.listen, started.error());
    return kExitConfig;
  }

  std::unique_ptr<http::Server> metrics_server;
  if (!config.portal.metrics_listen.empty()) {
    http::ServerOptions mo;
    mo.listen = config.portal.metrics_listen;
    mo.workers = 1;
    mo.name = "portal metrics";
    metrics_server = std::make_unique<http::Server>(io, mo, http::metrics_handler(metrics, [&app] { return app.healthy(); }));
    if (auto started = metrics_server->start(); !started) {
      log::error("portal: cannot listen on metrics_listen {}: {}", config.portal.metrics_listen, started.error());
      return kExitConfig;
    }
  }

  Housekeeping housekeeping(*store, config);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::notice("portal: signal {}: stopping", sig);
    server.stop();
    if (metrics_server) metrics_server->stop();
    io.stop();
  });
  log::notice("portal: listening on {} (port {}){}", config.portal.listen, server.port(),
              config.portal.base_url.empty() ? std::string(", no base_url: mails carry no portal links")
                                             : ", links as " + config.portal.base_url);

  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&io] { io.run(); });
  for (auto& t : threads) t.join();
  housekeeping.stop();
  return 0;
}

}  // namespace sd::portal
