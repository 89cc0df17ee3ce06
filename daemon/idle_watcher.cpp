// daemon/idle_watcher.cpp: see idle_watcher.h.
#include "daemon/idle_watcher.h"

#include "core/log.h"
#include "daemon/metrics.h"
#include "imap/imap_session.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sd {

IdleWatcher::IdleWatcher(std::shared_ptr<const Config> config, std::function<void()> new_mail)
    : config_(std::move(config)), new_mail_(std::move(new_mail)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  thread_ = std::thread([this] { run(); });
}

IdleWatcher::~IdleWatcher() {
  stop_ = true;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  ::close(wake_fd_);
}

bool IdleWatcher::sleep(std::chrono::seconds d) {
  pollfd p{wake_fd_, POLLIN, 0};
  ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(d).count()));
  return !stop_;
}

void IdleWatcher::run() {
  const Config& c = *config_;
  std::string failing;  // the last error, logged once
  auto backoff = std::chrono::seconds(1);
  bool watching_logged = false;
  while (!stop_) {
    try {
      ImapSession session({c.imap.url, c.imap.username, read_secret(c.imap.password_file, "IMAP password file"),
                           c.imap.timeout_s});
      if (!session.has_capability("IDLE")) {
        log::notice("IMAP: the server offers no IDLE; new mail is fetched every {} s (imap.poll_interval_s)",
                    c.imap.poll_interval_s);
        return;
      }
      session.status();
      if (!failing.empty()) log::notice("IMAP IDLE: working again after: {}", failing);
      else if (!watching_logged) log::info("IMAP IDLE: watching {} for new mail", session.mailbox());
      failing.clear();
      watching_logged = true;
      backoff = std::chrono::seconds(1);
      new_mail_();
      while (!stop_) {
        auto end = session.idle(std::chrono::seconds(c.imap.idle_renew_s), wake_fd_);
        if (end == ImapSession::IdleEnd::new_mail) new_mail_();
        if (end == ImapSession::IdleEnd::woken) break;
      }
    } catch (const std::exception& e) {
      if (stop_) break;
      count_imap_error("idle");
      if (failing != e.what())
        log::warning("IMAP IDLE: {} (reconnecting with backoff; polling every {} s goes on)", e.what(),
                     c.imap.poll_interval_s);
      failing = e.what();
      if (!sleep(backoff)) break;
      backoff = std::min(backoff * 2, std::chrono::seconds(60));
    }
  }
}

}  // namespace sd
