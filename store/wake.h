// store/wake.h: the SQLite backend's outbox wake-up (store.h: Store::listen_for_outbox): a
// one-byte datagram on a unix datagram socket beside the store file, `<store path>.wake`,
// sent after each commit that queued outgoing mail, to the one listener (the daemon).
//
// Contract: sending is best-effort and never blocks or fails: no socket there (no daemon),
// nobody bound to it (a daemon that died), its queue full (a burst: the listener wakes for
// it anyway) or a path too long for a socket name all mean no datagram, and the listener's
// own rescan finds the mail later. The listener binds the path, replacing a stale socket
// file (the caller holds the store's lock, so no live listener owns it) but nothing that is
// not a socket, and removes it again when destroyed if it is still its own.
//
// Security: the socket is mode 0660 (owner and group may wake the daemon); the directory's
// own permissions, those of the store, are what keep others out. A datagram's content is
// never read: all anyone who may write to it can do is make the daemon look at its outbox
// sooner, and bursts are taken as one wake-up.
#pragma once

#include "store/store.h"

#include <sys/un.h>

#include <memory>
#include <string>

#include <tl/expected.hpp>

namespace sd::store {

// `<store_path>.wake`, with store_path made canonical (symbolic links and relative parts
// resolved, when it exists), so every process reaching the store by another name finds it.
std::string wake_socket_path(const std::string& store_path);

// One per store connection; sends from the thread using that connection.
class WakeSender {
 public:
  explicit WakeSender(const std::string& socket_path);
  ~WakeSender();
  WakeSender(const WakeSender&) = delete;
  WakeSender& operator=(const WakeSender&) = delete;
  void send() noexcept;

 private:
  sockaddr_un addr_{};
  bool usable_ = false;  // false: the path does not fit a socket name
  int fd_ = -1;          // opened at the first send
};

tl::expected<std::unique_ptr<OutboxListener>, std::string> bind_wake_socket(const std::string& socket_path);

}  // namespace sd::store
