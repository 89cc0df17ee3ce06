// daemon/sd_notify.cpp: see sd_notify.h.
#include "daemon/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace sd::systemd {

bool notify(const std::string& message) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return false;
  std::size_t len = std::strlen(path);
  sockaddr_un addr{};
  if (len >= sizeof(addr.sun_path)) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  auto addrlen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  bool ok = ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), addrlen) ==
            static_cast<ssize_t>(message.size());
  ::close(fd);
  return ok;
}

std::chrono::milliseconds watchdog_interval() {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (!usec) return std::chrono::milliseconds(0);
  if (const char* pid = std::getenv("WATCHDOG_PID"); pid && std::atol(pid) != static_cast<long>(::getpid()))
    return std::chrono::milliseconds(0);
  long long us = std::atoll(usec);
  return std::chrono::milliseconds(us > 0 ? us / 2000 : 0);
}

}  // namespace sd::systemd
