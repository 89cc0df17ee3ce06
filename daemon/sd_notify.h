// daemon/sd_notify.h: the systemd notify protocol (sd_notify(3)) without libsystemd: one
// datagram per message to $NOTIFY_SOCKET (a path, or an abstract socket "@name").
//
// Contract: without NOTIFY_SOCKET every call does nothing (run outside systemd).
// watchdog_interval() is half of $WATCHDOG_USEC (when meant for this process), or zero.
#pragma once

#include <chrono>
#include <string>

namespace sd::systemd {

bool notify(const std::string& message);  // e.g. "READY=1", "STATUS=polling", "WATCHDOG=1"; false if not sent
std::chrono::milliseconds watchdog_interval();

}  // namespace sd::systemd
