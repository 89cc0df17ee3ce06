// daemon/idle_watcher.h: IMAP IDLE on a connection of its own, so new mail is fetched the
// moment it arrives instead of at the next poll.
//
// Contract: the watcher's thread logs in, SELECTs the mailbox and IDLEs, re-issuing IDLE
// every imap.idle_renew_s (servers may end an IDLE after 29 minutes, RFC 2177). It calls
// `new_mail` (on its own thread: post from there) when the server reports mail, and once
// after every (re)connect, since mail may have come while it was away. A failure is logged
// once per change and retried with backoff (1 s doubling to 60 s). A server without IDLE is
// logged once and the thread ends: the daemon's poll timer, which always runs, is then all
// there is. The destructor wakes the thread (eventfd), which ends the IDLE, and joins it.
#pragma once

#include "config/config.h"

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

namespace sd {

class IdleWatcher {
 public:
  IdleWatcher(std::shared_ptr<const Config> config, std::function<void()> new_mail);
  ~IdleWatcher();
  IdleWatcher(const IdleWatcher&) = delete;
  IdleWatcher& operator=(const IdleWatcher&) = delete;

 private:
  void run();
  bool sleep(std::chrono::seconds d);  // false when woken to stop

  std::shared_ptr<const Config> config_;
  std::function<void()> new_mail_;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sd
