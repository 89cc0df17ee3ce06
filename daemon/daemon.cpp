// daemon/daemon.cpp: see daemon.h.
//
// Threads: the main thread runs the io_context (timers, signals, state, the current Desk).
// Each worker (IMAP, SMTP, SLA clock) is a thread with its own io_context and its own store
// connection (IMAP and SMTP also their own libcurl handle); jobs are posted to it with the
// Desk they run under and post their result back. Wake-ups are hints:
// the outbox is also scanned on a timer, the mailbox on its poll interval. Mail queued by
// other processes (`servicedesk ingest` from the MTA, `ticket set` ...) wakes the outbox
// through the store (Store::listen_for_outbox), watched on the main thread.
//
// Several daemons on one store (Store::shared(), PostgreSQL): no lock file. Each pass first
// takes the mailbox's lease (daemon/cluster.h) on the IMAP worker and fences that worker's
// store with its epoch; a daemon that does not get it stands by and tries again every
// lease_s/4. A fourth worker (coordination, its own store connection, so a long pass never
// delays it) renews the lease every lease_s/3 and writes the heartbeat. A pass that finds the
// lease taken over (FencedError) committed nothing of what it had in hand; the daemon stands
// by. Outbox rows are claimed by the daemon's id (daemon/outbox.h); the SLA clock's events
// fire once by their unique keys whichever daemon's clock gets there first. A clean stop
// gives back the lease, the outbox claims and the daemon's record.
#include "daemon/daemon.h"

#include "core/log.h"
#include "daemon/cluster.h"
#include "daemon/idle_watcher.h"
#include "daemon/metrics.h"
#include "daemon/outbox.h"
#include "daemon/poller.h"
#include "daemon/sd_notify.h"
#include "desk/desk.h"
#include "desk/notices.h"
#include "desk/sla_clock.h"
#include "imap/imap.h"
#include "imap/imap_session.h"
#include "notify/smtp.h"
#include "store/store.h"

#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include <boost/asio.hpp>

#include <fcntl.h>
#include <malloc.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/chrono.h>

namespace sd {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;


// Whether two failure texts say the same apart from their figures ("after 0 ms", "after 3 ms"),
// so a lasting failure is logged once, not once per attempt.
bool same_failure(const std::string& a, const std::string& b) {
  auto strip = [](std::string s) {
    s.erase(std::remove_if(s.begin(), s.end(), [](unsigned char ch) { return std::isdigit(ch); }), s.end());
    return s;
  };
  return a.empty() == b.empty() && strip(a) == strip(b);
}

// A thread running its own io_context until stopped; jobs posted to it run in order.
class Worker {
 public:
  Worker() : guard_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~Worker() { join(); }
  template <class F>
  void post(F&& f) {
    asio::post(io_, std::forward<F>(f));
  }
  void join() {
    guard_.reset();
    if (thread_.joinable()) thread_.join();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// One daemon per store: an flock on STORE.lock, held for the process's life (the kernel
// releases it however the process ends, kill -9 included). The file holds the holder's PID.
class StoreLock {
 public:
  explicit StoreLock(const std::string& store_path) : path_(store_path + ".lock") {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) {
      error_ = fmt::format("cannot open the lock file {}: {}", path_, std::strerror(errno));
      return;
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char pid[32] = {0};
      [[maybe_unused]] auto n = ::pread(fd_, pid, sizeof pid - 1, 0);
      std::string holder(pid);
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      error_ = fmt::format("another servicedesk daemon{} is already running on the store {} (it holds {}): not starting",
                           holder.empty() ? "" : " (pid " + holder + ")", store_path, path_);
      return;
    }
    std::string me = fmt::format("{}\n", ::getpid());
    if (::ftruncate(fd_, 0) == 0) [[maybe_unused]] auto n = ::pwrite(fd_, me.data(), me.size(), 0);
  }
  ~StoreLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  const std::string& error() const { return error_; }  // empty: held

 private:
  std::string path_, error_;
  int fd_ = -1;
};

// A background write that may fail for a moment without harm (the coordination worker's
// renewal and heartbeat wait behind a long ingest transaction for the store's write lock):
// said at info level when it starts failing, as a warning only once it has failed for
// `patience`, and at notice level when it works again after a warning.
class PatientFailure {
 public:
  PatientFailure(std::string what, std::string harm) : what_(std::move(what)), harm_(std::move(harm)) {}
  void report(const std::string& error, std::chrono::milliseconds patience) {
    auto now = std::chrono::steady_clock::now();
    if (error.empty()) {
      if (warned_) log::notice("{}: working again after: {}", what_, last_);
      since_.reset();
      warned_ = false;
      last_.clear();
      return;
    }
    if (!since_) {
      since_ = now;
      log::info("{}: {} (trying again)", what_, error);
    }
    if (!warned_ && now - *since_ >= patience) {
      log::warning("{}: failing for {} s: {} ({})", what_,
                   std::chrono::duration_cast<std::chrono::seconds>(now - *since_).count(), error, harm_);
      warned_ = true;
    }
    last_ = error;
  }

 private:
  std::string what_, harm_, last_;
  std::optional<std::chrono::steady_clock::time_point> since_;
  bool warned_ = false;
};

// What a worker keeps between jobs; rebuilt when the config changes. Worker thread only.
struct ImapSide {
  std::shared_ptr<const Config> config;
  std::unique_ptr<store::Store> store;
  bool folder_ready = false;
};
struct ClockSide {
  std::shared_ptr<const Config> config;
  std::unique_ptr<store::Store> store;
};
struct SmtpSide {
  std::shared_ptr<const Config> config;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<notify::SmtpClient> client;
};
struct CoordinationSide {
  std::shared_ptr<const Config> config;
  std::unique_ptr<store::Store> store;
};

// What a pass on the IMAP worker came to, for the main thread.
struct PassOutcome {
  PollResult r;
  std::string error;
  bool store_failed = false;
  // A shared store only: the lease attempt before the pass; standby: another daemon holds
  // it and no pass ran; fenced: the pass found the lease taken over and stopped.
  std::optional<LeaseAttempt> lease;
  bool standby = false, fenced = false;
};

std::string utc_time(store::Time t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", tm);
}

// The mailbox's lease of a config (the mailbox named by imap.url, decoded as the poller keys it).
std::string lease_of(const Config& c) { return mailbox_lease_name(parse_imap_url(c.imap.url).mailbox); }

class Service {
 public:
  explicit Service(const Config& c)
      : config_(std::make_shared<const Config>(c)),
        desk_(std::make_shared<const Desk>(*config_)),
        signals_(io_, SIGINT, SIGTERM, SIGHUP),
        poll_timer_(io_),
        outbox_timer_(io_),
        sla_timer_(io_),
        watchdog_timer_(io_),
        renew_timer_(io_),
        heartbeat_timer_(io_),
        outbox_wakeups_(io_) {}

  int run() {
    // Open the store once here so a broken store stops the start with a clear error.
    auto home = open_store(*config_);
    shared_ = home->shared();
    std::optional<StoreLock> lock;
    if (!shared_) {
      lock.emplace(config_->store.path);
      if (!lock->error().empty()) {
        log::error("{}", lock->error());
        return 75;  // EX_TEMPFAIL: may start once the other one has stopped
      }
    }
    // A PostgreSQL URL may hold a password: it is never logged.
    log::notice("servicedesk starting: mailbox {}, store {}, daemon {}", config_->imap.url,
                shared_ ? home->backend() + " (shared with other daemons)" : config_->store.path, me_.id);
    heartbeat(*home, me_);  // before any outbox claim: a claimer is always on record
    if (!shared_) {
      // Under the lock no other daemon runs: those recorded died, so their claims go now.
      if (int dead = forget_dead_daemons(*home, me_); dead > 0)
        log::notice("{} daemon{} that ran on this store before did not stop cleanly; {} outbox claims are released",
                    dead, dead == 1 ? "" : "s", dead == 1 ? "its" : "their");
    }
    listen_for_outbox(*home);
    start_metrics();
    systemd::notify("STATUS=store open; logging in to the IMAP server");
    wait_signal();
    watchdog();
    schedule_heartbeat();
    schedule_poll(0s);
    schedule_outbox(0s);
    start_sla();  // what fell due while the daemon was down fires now, once
    start_idle();
    io_.run();
    idle_.reset();
    metrics_.reset();  // a scrape in hand finishes first
    imap_worker_.join();
    smtp_worker_.join();
    clock_worker_.join();
    coordination_worker_.join();
    // Only now, with no pass or send in hand: another daemon may take over at once.
    try {
      leave_store(*home, me_, shared_ ? lease_of(*config_) : "");
    } catch (const std::exception& e) {
      log::warning("the mailbox lease and outbox claims were not given back (they expire by themselves): {}", e.what());
    }
    log::notice("servicedesk stopped");
    return 0;
  }

 private:
  void wait_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_signal();
        return;
      }
      log::notice("signal {}: finishing the mail in hand and stopping", sig);
      systemd::notify("STOPPING=1\nSTATUS=stopping: finishing the mail in hand");
      stopping_ = true;
      idle_.reset();
      watchdog_timer_.cancel();
      renew_timer_.cancel();
      heartbeat_timer_.cancel();
      poll_timer_.cancel();
      outbox_timer_.cancel();
      sla_timer_.cancel();
      outbox_wakeups_.cancel();
      io_.stop();
    });
  }

  // WATCHDOG=1 from the event loop itself: a loop that hangs stops the pings and systemd
  // restarts the service.
  void watchdog() {
    auto interval = systemd::watchdog_interval();
    if (interval.count() <= 0 || stopping_) return;
    systemd::notify("WATCHDOG=1");
    watchdog_timer_.expires_after(interval);
    watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) watchdog();
    });
  }

  void reload() {
    systemd::notify("RELOADING=1");
    struct Done {
      ~Done() { systemd::notify("READY=1"); }
    } done;
    try {
      auto fresh = std::make_shared<const Config>(load_config(config_->path));
      check_files_for_run(*fresh);  // a reload takes nothing a start would refuse
      auto fresh_desk = std::make_shared<const Desk>(*fresh);  // templates, secret, SLAs: checked before use
      log::set_level(fresh->service.log_level);
      if (fresh->service.metrics_listen != config_->service.metrics_listen)
        log::notice("service.metrics_listen changed: the metrics listener moves at the next start");
      config_ = fresh;
      desk_ = fresh_desk;
      log::notice("configuration reloaded from {}", config_->path);
      schedule_poll(0s);
      start_sla();
      start_idle();
    } catch (const std::exception& e) {
      log::error("configuration not reloaded, keeping the old one: {}", e.what());
    }
  }

  // The metrics listener on this io_context; its store reads run on its own worker. One that
  // cannot listen is logged and the daemon runs on without it: the mail matters more.
  void start_metrics() {
    if (config_->service.metrics_listen.empty()) return;
    metrics_ = std::make_unique<MetricsListener>(io_, *config_);
    if (auto started = metrics_->start(); !started) {
      log::error("{} (running on without metrics)", started.error());
      metrics_.reset();
    }
  }

  // --- IMAP IDLE -----------------------------------------------------------------
  // A wake-up from IDLE is a hint like the poll timer: it starts a pass now, or one more
  // right after the pass in hand (which may have listed the mailbox before the mail came).
  void start_idle() {
    idle_.reset();
    if (!config_->imap.idle || stopping_ || (shared_ && !holding_)) return;  // IDLE only while polling
    idle_ = std::make_unique<IdleWatcher>(config_, [this] { asio::post(io_, [this] { wake_poll(); }); });
  }

  void wake_poll() {
    if (stopping_) return;
    if (poll_running_) poll_again_ = true;
    else start_poll();
  }

  // --- IMAP poll -----------------------------------------------------------------
  void schedule_poll(std::chrono::milliseconds delay) {
    poll_timer_.expires_after(delay);
    poll_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) start_poll();
    });
  }

  void start_poll() {
    if (poll_running_ || stopping_) return;
    poll_running_ = true;
    poll_again_ = false;
    auto cfg = config_;
    auto desk = desk_;
    imap_worker_.post([this, cfg, desk] {
      PassOutcome out;
      try {
        poll_job(cfg, *desk, out);
      } catch (const store::FencedError& e) {
        // Another daemon took the mailbox over while this pass had it in hand: nothing of the
        // batch was committed. No more passes until the lease is ours again.
        if (imap_.store) imap_.store->set_fence(std::nullopt);
        out.fenced = true;
        out.error = e.what();
      } catch (const store::StoreError& e) {
        out.error = e.what();
        out.store_failed = true;
      } catch (const std::exception& e) {
        out.error = e.what();
      }
      asio::post(io_, [this, out] { poll_done(out); });
    });
  }

  void poll_job(const std::shared_ptr<const Config>& cfg, const Desk& desk, PassOutcome& out) {
    if (imap_.config != cfg) {
      imap_.store.reset();
      imap_.folder_ready = false;
      imap_.config = cfg;
    }
    if (!imap_.store) imap_.store = open_store(*cfg);
    if (shared_) {
      // The lease first, then a fence of its epoch on the store the pass writes through: a
      // pass that outlives the lease (a freeze, a slow server) cannot commit.
      auto name = lease_of(*cfg);
      out.lease = take_mailbox_lease(*imap_.store, name, me_.id, cfg->imap.lease_s);
      if (!out.lease->held) {
        imap_.store->set_fence(std::nullopt);
        out.standby = true;
        return;
      }
      imap_.store->set_fence(store::Store::Fence{name, me_.id, out.lease->lease.epoch, cfg->imap.lease_s});
      // Held from now: the renewals start before the pass, which may be long (a backlog).
      asio::post(io_, [this, a = *out.lease] {
        if (!stopping_) hold_mailbox(a);
      });
    }
    // A fresh IMAP session per pass: a server's open session may keep an old view of the
    // mailbox (Dovecot after a UIDVALIDITY change answers STATUS from it until relogin),
    // and a login every poll interval costs little.
    ImapSettings settings{cfg->imap.url, cfg->imap.username, read_secret(cfg->imap.password_file, "IMAP password file"),
                          cfg->imap.timeout_s};
    std::unique_ptr<Mailbox> client;
    if (cfg->imap.fetch == "per_uid") client = std::make_unique<ImapClient>(settings, imap_limits(*cfg));
    else client = std::make_unique<ImapSession>(settings, imap_limits(*cfg));
    if (!imap_.folder_ready) {
      if (auto folder = cfg->move_target(); !folder.empty()) client->create_folder(folder);
      imap_.folder_ready = true;
    }
    // Acknowledgements go out while later batches of a long backlog are still coming in.
    auto committed = [this](const PollResult& so_far) {
      if (so_far.mail_queued) asio::post(io_, [this] { wake_outbox(); });
    };
    out.r = poll_mailbox(*client, *imap_.store, desk, [&cfg] { return clock_now(*cfg); }, stopping_, committed);
  }

  void poll_done(const PassOutcome& out) {
    poll_running_ = false;
    if (stopping_) return;
    if (!ready_) {
      // READY once the store is open and the first IMAP login (or lease attempt) has been
      // tried, whatever came of it.
      systemd::notify("READY=1");
      ready_ = true;
    }
    if (out.fenced) {
      lose_mailbox(out.error);
      schedule_poll(timing().standby);
      return;
    }
    if (out.standby) {
      if (store_failing_) log::notice("store: working again after: {}", imap_error_);
      store_failing_ = false;
      imap_error_.clear();
      imap_failures_ = 0;
      stand_by(*out.lease);
      return;
    }
    const auto& r = out.r;
    const auto& error = out.error;
    const bool store_failed = out.store_failed;
    const std::string state = shared_ ? "polling: " : "";
    systemd::notify(error.empty()   ? fmt::format("STATUS={}mailbox polled: {} new, {} replies, {} repeats; next poll in {} s",
                                                  state, r.created, r.joined, r.duplicates, config_->imap.poll_interval_s)
                    : store_failed ? "STATUS=store failing, mail waits on the server: " + error
                                   : "STATUS=" + state + "IMAP failing, retrying: " + error);
    auto interval = std::chrono::seconds(config_->imap.poll_interval_s);
    if (store_failed) count_store_error();
    else if (!error.empty()) count_imap_error("poll");
    count_mails(r.created, r.joined, r.duplicates, r.fetched);
    if (error.empty()) {
      if (!imap_error_.empty()) log::notice("{}: working again after: {}", store_failing_ ? "store" : "IMAP", imap_error_);
      store_failing_ = false;
      imap_error_.clear();
      imap_failures_ = 0;
      if (r.mail_queued) wake_outbox();
      if (r.created + r.joined > 0) start_sla();  // a ticket changed: re-arm the SLA clock
      next_pass(poll_again_ ? 0s : interval);
      return;
    }
    ++imap_failures_;
    auto delay = std::min<std::chrono::seconds>(interval * (1 << std::min(imap_failures_, 6)), 300s);
    if (store_failed) {
      // A full disk or a locked store: nothing of the batch was committed and nothing was
      // flagged on the server, so the mail waits there. Look again soon: space may return any time.
      constexpr auto store_retry = 30s;
      delay = std::min<std::chrono::seconds>(delay, store_retry);
      if (error != imap_error_)
        log::error("{}: not taking mail from the server until the store accepts writes again; the mail stays on the "
                   "server (retrying every {} s at most)",
                   error, store_retry.count());
    } else {
      delay = std::max(delay, interval);
      if (error != imap_error_) log::error("IMAP: {} (retrying with backoff)", error);
    }
    imap_error_ = error;
    store_failing_ = store_failed;
    next_pass(delay);
  }

  // A daemon that lost the lease during the pass stands by from now: it looks at the lease
  // every lease_s/4, not after the poll interval.
  void next_pass(std::chrono::milliseconds delay) {
    schedule_poll(shared_ && !holding_ ? std::min(delay, timing().standby) : delay);
  }

  // --- The mailbox's lease (a shared store) -------------------------------------
  LeaseTiming timing() const { return lease_timing(config_->imap.lease_s); }

  // A pass got the lease: polling. Taken anew, it is said with the previous holder's expiry,
  // so the time a handover took can be read off the log.
  void hold_mailbox(const LeaseAttempt& a) {
    if (holding_ && !a.taken) return;
    if (a.before && a.before->holder != me_.id)
      log::notice("mailbox lease taken (epoch {}): polling; the lease of the previous holder {} had expired at {}, {} s "
                  "before",
                  a.lease.epoch, daemon_words(a.before->holder), utc_time(a.before->expires_at),
                  a.now - a.before->expires_at);
    else log::notice("mailbox lease taken (epoch {}): polling", a.lease.epoch);
    holding_ = true;
    loss_said_ = false;
    standby_holder_.clear();
    ++lease_generation_;
    start_idle();
    schedule_renewal();
  }

  // Another daemon holds the mailbox: no pass, no IDLE; look again by the time its lease may
  // have run out, and every lease_s/4 at least.
  void stand_by(const LeaseAttempt& a) {
    if (holding_) lose_mailbox(fmt::format("another daemon ({}) took the mailbox over", daemon_words(a.lease.holder)));
    std::string words = fmt::format("standby (mailbox held by {})", daemon_words(a.lease.holder));
    if (a.lease.holder != standby_holder_) {
      standby_holder_ = a.lease.holder;
      log::notice("{}: taking over if its lease runs out (epoch {}, imap.lease_s {})", words, a.lease.epoch,
                  config_->imap.lease_s);
    }
    systemd::notify("STATUS=" + words);
    using std::chrono::milliseconds;
    auto until_expiry = milliseconds(std::max<store::Time>(a.lease.expires_at - a.now, 0) * 1000 + 200);
    schedule_poll(std::clamp(until_expiry, milliseconds(1000), std::max(timing().standby, milliseconds(1000))));
  }

  // The lease is gone (a renewal or the fence found another holder): said once per loss.
  void lose_mailbox(const std::string& why) {
    if (!loss_said_)
      log::warning("mailbox lease lost: {}; standing by", why);
    loss_said_ = true;
    holding_ = false;
    standby_holder_.clear();
    ++lease_generation_;
    idle_.reset();
    renew_timer_.cancel();
    systemd::notify("STATUS=standby (mailbox lease lost)");
  }

  // The holder renews on the coordination worker, which a long pass does not hold up (the
  // pass's own writes renew it too, through the fence's check).
  void schedule_renewal() {
    if (!shared_ || !holding_ || stopping_) return;
    renew_timer_.expires_after(timing().renew);
    renew_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) renew();
    });
  }

  void renew() {
    if (!holding_ || stopping_) return;
    if (renew_running_) return schedule_renewal();
    renew_running_ = true;
    auto cfg = config_;
    auto generation = lease_generation_;
    coordination_worker_.post([this, cfg, generation] {
      std::optional<LeaseAttempt> a;
      std::string error;
      try {
        a = renew_mailbox_lease(coordination_store(cfg), lease_of(*cfg), me_.id, cfg->imap.lease_s);
      } catch (const std::exception& e) {
        error = e.what();
      }
      asio::post(io_, [this, a, error, generation] { renew_done(a, error, generation); });
    });
  }

  void renew_done(const std::optional<LeaseAttempt>& a, const std::string& error, std::uint64_t generation) {
    renew_running_ = false;
    if (stopping_) return;
    renew_failure_.report(error, std::chrono::seconds(config_->imap.lease_s));
    // A result from before the lease last changed hands says nothing of the lease now.
    if (generation != lease_generation_ || !holding_) return;
    if (a && !a->held) {
      lose_mailbox(a->lease.holder.empty() ? std::string("the lease is gone from the store")
                                           : fmt::format("another daemon ({}) took the mailbox over", daemon_words(a->lease.holder)));
      schedule_poll(timing().standby);
      return;
    }
    schedule_renewal();
  }

  // --- Heartbeat -----------------------------------------------------------------
  // Every daemon, on any store, so `status` lists them; silent ones are forgotten after a day.
  void schedule_heartbeat() {
    heartbeat_timer_.expires_after(timing().heartbeat);
    heartbeat_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) beat();
    });
  }

  void beat() {
    if (stopping_) return;
    if (heartbeat_running_) return schedule_heartbeat();
    heartbeat_running_ = true;
    auto cfg = config_;
    coordination_worker_.post([this, cfg] {
      std::string error;
      try {
        heartbeat(coordination_store(cfg), me_);
      } catch (const std::exception& e) {
        error = e.what();
      }
      asio::post(io_, [this, error] {
        heartbeat_running_ = false;
        if (stopping_) return;
        heartbeat_failure_.report(error, 3 * timing().heartbeat);
        schedule_heartbeat();
      });
    });
  }

  // Coordination worker only.
  store::Store& coordination_store(const std::shared_ptr<const Config>& cfg) {
    if (coordination_.config != cfg) {
      coordination_.store.reset();
      coordination_.config = cfg;
    }
    if (!coordination_.store) coordination_.store = open_store(*cfg);
    return *coordination_.store;
  }

  // --- Outbox --------------------------------------------------------------------
  void schedule_outbox(std::chrono::seconds delay) {
    outbox_timer_.expires_after(delay);
    outbox_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) start_outbox();
    });
  }

  // New mail queued: send it now, unless the SMTP server is failing; then the outbox's
  // timer (retry_initial_s at most) tries again, and a stream of new mail does not make a
  // stream of attempts.
  void wake_outbox() {
    if (smtp_error_.empty()) start_outbox();
  }

  void start_outbox() {
    if (stopping_) return;
    if (outbox_running_) {
      outbox_again_ = true;
      return;
    }
    outbox_running_ = true;
    outbox_again_ = false;
    auto cfg = config_;
    smtp_worker_.post([this, cfg] {
      std::string error;
      OutboxRun r;
      try {
        r = outbox_job(cfg);
      } catch (const store::StoreError& e) {
        // Not the SMTP server's fault: said as what it is, and the outbox is looked at again soon.
        log::error("outbox: {} (what was sent is recorded; the rest is tried again)", e.what());
        count_store_error();
        r.next_attempt_at = clock_now(*cfg) + cfg->smtp.retry_initial_s;
      } catch (const std::exception& e) {
        error = e.what();
        count_smtp_error("unreachable");
      }
      asio::post(io_, [this, r, error] { outbox_done(r, error); });
    });
  }

  OutboxRun outbox_job(const std::shared_ptr<const Config>& cfg) {
    if (smtp_.config != cfg) {
      smtp_.client.reset();
      smtp_.store.reset();
      smtp_.config = cfg;
    }
    if (!smtp_.store) smtp_.store = open_store(*cfg);
    if (!smtp_.client) {
      std::string password =
          cfg->smtp.password_file.empty() ? "" : read_secret(cfg->smtp.password_file, "SMTP password file");
      smtp_.client = std::make_unique<notify::SmtpClient>(
          notify::SmtpSettings{cfg->smtp.url, cfg->smtp.username, password, cfg->smtp.timeout_s});
    }
    return deliver_due(*smtp_.store, *smtp_.client, *cfg, [&cfg] { return clock_now(*cfg); }, stopping_, me_.id);
  }

  void outbox_done(const OutboxRun& r, const std::string& error) {
    outbox_running_ = false;
    if (stopping_) return;
    std::string state = !error.empty() ? error : r.last_error;
    if (error.empty() && r.sent + r.retried + r.failed == 0) state = smtp_error_;  // nothing was due: no news
    if (!same_failure(state, smtp_error_)) {
      if (state.empty()) log::notice("SMTP: working again after: {}", smtp_error_);
      else log::error("SMTP: {} (mail stays queued and is retried with backoff)", state);
      smtp_error_ = state;
    }
    if (outbox_again_) {
      start_outbox();
      return;
    }
    // Sleep until the next mail falls due; scan at least once a minute regardless.
    auto delay = 60s;
    if (error.empty() && r.next_attempt_at)
      delay = std::clamp<std::chrono::seconds>(std::chrono::seconds(*r.next_attempt_at - clock_now(*config_)), 0s, 60s);
    // The server out of reach: the rows not tried stay due (for daemons that can reach theirs)
    // and this one waits as after a failed run, instead of trying every row in turn.
    if (!error.empty() || r.server_down) delay = std::chrono::seconds(config_->smtp.retry_initial_s);
    schedule_outbox(delay);
  }

  // Other processes' commits of outgoing mail: each burst wakes the outbox once. Without it
  // (logged once) their mail waits for the outbox's next scan, a minute at most.
  void listen_for_outbox(store::Store& st) {
    auto listener = st.listen_for_outbox();
    int fd = listener ? ::dup((*listener)->fd()) : -1;  // the descriptor Asio owns and closes
    if (fd < 0) {
      log::warning("outbox: mail queued by other processes goes out at the next scan of the outbox (a minute at most): {}",
                   listener ? std::string(std::strerror(errno)) : listener.error());
      return;
    }
    outbox_listener_ = std::move(*listener);
    outbox_wakeups_.assign(fd);
    wait_outbox_wakeup();
  }

  void wait_outbox_wakeup() {
    outbox_wakeups_.async_wait(asio::posix::descriptor_base::wait_read, [this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      if (outbox_listener_->drain()) wake_outbox();
      wait_outbox_wakeup();
    });
  }

  // --- SLA clock ------------------------------------------------------------------
  // Sleeps until the earliest coming warning or breach across all open tickets, or the next
  // maintenance notice's moment to mail (desk/notices.h); any change
  // to a ticket re-arms it. A look every five minutes is the backstop for changes made by other
  // processes (e.g. `servicedesk ticket set`).
  void start_sla() {
    if (stopping_) return;
    if (sla_running_) {
      sla_again_ = true;
      return;
    }
    sla_running_ = true;
    sla_again_ = false;
    auto cfg = config_;
    auto desk = desk_;
    clock_worker_.post([this, cfg, desk] {
      std::string error;
      SlaFireResult r;
      try {
        if (clock_.config != cfg) {
          clock_.store.reset();
          clock_.config = cfg;
        }
        if (!clock_.store) clock_.store = open_store(*cfg);
        r = fire_due_sla_events(*clock_.store, *desk, clock_now(*cfg));
        // Maintenance notices run on the same clock: their next moment to mail wakes it too.
        auto notices = send_due_notices(*clock_.store, *desk, clock_now(*cfg));
        r.mail_queued = r.mail_queued || notices.mail_queued;
        if (notices.next_at) r.next_at = r.next_at ? std::min(*r.next_at, *notices.next_at) : *notices.next_at;
      } catch (const std::exception& e) {
        error = e.what();
      }
      asio::post(io_, [this, r, error] { sla_done(r, error); });
    });
  }

  void sla_done(const SlaFireResult& r, const std::string& error) {
    sla_running_ = false;
    if (stopping_) return;
    if (!error.empty()) log::error("SLA clock: {} (trying again in a minute)", error);
    if (r.mail_queued) wake_outbox();
    if (sla_again_) {
      start_sla();
      return;
    }
    auto delay = std::chrono::seconds(300);
    if (!error.empty()) delay = 60s;
    else if (r.next_at) delay = std::clamp<std::chrono::seconds>(std::chrono::seconds(*r.next_at - clock_now(*config_)), 0s, 300s);
    sla_timer_.expires_after(delay);
    sla_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) start_sla();
    });
  }

  std::shared_ptr<const Config> config_;
  std::shared_ptr<const Desk> desk_;  // built from config_, rebuilt with it on SIGHUP
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer poll_timer_, outbox_timer_, sla_timer_, watchdog_timer_, renew_timer_, heartbeat_timer_;
  const DaemonIdentity& me_ = this_daemon();
  bool shared_ = false;  // several daemons may share the store: the lease decides who polls (set before any job)
  bool ready_ = false;
  std::atomic<bool> stopping_{false};
  bool store_failing_ = false;  // imap_error_ is the store's
  bool poll_running_ = false, poll_again_ = false, outbox_running_ = false, outbox_again_ = false, sla_running_ = false, sla_again_ = false;
  int imap_failures_ = 0;
  std::string imap_error_, smtp_error_;
  // The mailbox's lease (a shared store; main thread): whether this daemon holds it, the
  // holder it last stood by for, whether its loss was said, and a count of changes of hand
  // that tells a renewal's late result from a current one.
  bool holding_ = false, loss_said_ = false, renew_running_ = false, heartbeat_running_ = false;
  std::string standby_holder_;
  PatientFailure renew_failure_{"mailbox lease: renewing",
                                "another daemon may take the mailbox over; the fence keeps that safe"};
  PatientFailure heartbeat_failure_{"heartbeat", "status shows this daemon as silent meanwhile"};
  std::uint64_t lease_generation_ = 0;
  ImapSide imap_;  // IMAP worker thread only
  SmtpSide smtp_;  // SMTP worker thread only
  ClockSide clock_;  // clock worker thread only
  CoordinationSide coordination_;  // coordination worker thread only
  std::unique_ptr<store::OutboxListener> outbox_listener_;  // main thread only; null: no wake-ups
  asio::posix::stream_descriptor outbox_wakeups_;         // a dup() of its descriptor
  std::unique_ptr<MetricsListener> metrics_;              // main thread only; null: off (before io_ goes)
  // Declared last: destroyed first, so their threads end before the state they use.
  Worker imap_worker_, smtp_worker_, clock_worker_, coordination_worker_;
  std::unique_ptr<IdleWatcher> idle_;  // main thread only
};

}  // namespace

int run_daemon(const Config& initial) {
  log::set_level(initial.service.log_level);
  // glibc gives each thread that allocates a heap (an arena) of its own, up to 8 a core, and
  // an arena keeps what was freed in it. The IMAP worker's mails are fetched, parsed and
  // stored on three threads (daemon/poller.cpp, desk/ingest.cpp ParseAhead), each holding
  // a batch's worth at times: two arenas kept the peak RSS of a 10,000-mail backlog at 52 MiB,
  // where one each made it 59-74 MiB (docs/PERFORMANCE.md). Set before any thread starts.
  ::mallopt(M_ARENA_MAX, 2);
  Service service(initial);
  return service.run();
}

}  // namespace sd
