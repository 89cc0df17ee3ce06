// store/wake.cpp: see wake.h.
#include "store/wake.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace sd::store {
namespace {

// Whether `path` fits a socket name (with its NUL); fills `addr` when it does.
bool socket_address(const std::string& path, sockaddr_un& addr) {
  addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path || path.find('\0') != std::string::npos) return false;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return true;
}

class SocketListener final : public OutboxListener {
 public:
  SocketListener(int fd, std::string path, dev_t dev, ino_t ino) : fd_(fd), path_(std::move(path)), dev_(dev), ino_(ino) {}
  ~SocketListener() override {
    ::close(fd_);
    // Only our own socket file: a later daemon may have replaced it already.
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) ::unlink(path_.c_str());
  }
  SocketListener(const SocketListener&) = delete;
  SocketListener& operator=(const SocketListener&) = delete;

  int fd() const override { return fd_; }

  bool drain() override {
    bool any = false;
    char buf[16];
    // Bounded, so a flood cannot hold the caller here; what is left keeps the socket readable.
    for (int i = 0; i < 4096; ++i) {
      auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      any = true;
    }
    return any;
  }

 private:
  int fd_;
  std::string path_;
  dev_t dev_;
  ino_t ino_;
};

}  // namespace

std::string wake_socket_path(const std::string& store_path) {
  char buf[PATH_MAX];
  if (::realpath(store_path.c_str(), buf)) return std::string(buf) + ".wake";
  return store_path + ".wake";
}

WakeSender::WakeSender(const std::string& socket_path) { usable_ = socket_address(socket_path, addr_); }

WakeSender::~WakeSender() {
  if (fd_ >= 0) ::close(fd_);
}

void WakeSender::send() noexcept {
  if (!usable_) return;
  if (fd_ < 0) fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  // Errors are the contract's "no datagram": ENOENT (no daemon), ECONNREFUSED (a stale
  // socket), EAGAIN (its queue is full of wake-ups already).
  const char byte = 'w';
  [[maybe_unused]] auto n =
      ::sendto(fd_, &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
}

tl::expected<std::unique_ptr<OutboxListener>, std::string> bind_wake_socket(const std::string& path) {
  sockaddr_un addr;
  if (!socket_address(path, addr))
    return tl::make_unexpected(fmt::format("the wake-up socket's name {} is longer than the {} bytes a unix socket's may be",
                                           path, sizeof addr.sun_path - 1));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return tl::make_unexpected(fmt::format("{} exists and is not a socket: left alone", path));
    // A socket left by a daemon that died: we hold the store's lock, so nobody else listens on it.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return tl::make_unexpected(fmt::format("cannot remove the stale wake-up socket {}: {}", path, std::strerror(errno)));
  }
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return tl::make_unexpected(fmt::format("cannot make a socket: {}", std::strerror(errno)));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    return tl::make_unexpected(fmt::format("cannot bind the wake-up socket {}: {}", path, std::strerror(err)));
  }
  // bind() made it with the umask's mode; the store's users (owner and group) may write to it.
  // Not following a symbolic link put in its place meanwhile.
  if (::fchmodat(AT_FDCWD, path.c_str(), 0660, AT_SYMLINK_NOFOLLOW) != 0 || ::lstat(path.c_str(), &st) != 0 ||
      !S_ISSOCK(st.st_mode)) {
    int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return tl::make_unexpected(fmt::format("cannot set up the wake-up socket {}: {}", path, std::strerror(err)));
  }
  return std::make_unique<SocketListener>(fd, path, st.st_dev, st.st_ino);
}

}  // namespace sd::store
