// daemon/cluster.cpp: see cluster.h.
#include "daemon/cluster.h"

#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <mutex>

namespace sd {
namespace {

constexpr store::Time kDay = 86400;

std::string host_name() {
  char buf[HOST_NAME_MAX + 1] = {0};
  if (::gethostname(buf, sizeof buf - 1) == 0 && buf[0]) return buf;
  struct utsname u{};
  if (::uname(&u) == 0 && u.nodename[0]) return u.nodename;
  return "localhost";
}

}  // namespace

const DaemonIdentity& this_daemon() {
  static std::mutex m;
  static DaemonIdentity me;
  std::lock_guard lock(m);
  if (me.pid != ::getpid()) {
    me.host = host_name();
    me.pid = ::getpid();
    me.started_at = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    me.id = fmt::format("{}:{}:{}", me.host, me.pid, me.started_at);
  }
  return me;
}

LeaseTiming lease_timing(int lease_s) {
  using std::chrono::milliseconds;
  const milliseconds lease(std::int64_t(std::max(lease_s, 1)) * 1000);
  LeaseTiming t;
  t.renew = std::max(lease / 3, milliseconds(100));
  t.standby = std::max(lease / 4, milliseconds(1000));
  t.heartbeat = std::clamp(lease / 3, milliseconds(1000), milliseconds(5000));
  return t;
}

LeaseAttempt take_mailbox_lease(store::Store& st, const std::string& name, const std::string& holder,
                                std::int64_t seconds) {
  LeaseAttempt a;
  auto tx = st.begin(store::Store::Mode::write);
  a.now = tx->database_now();
  a.before = tx->lease(name);
  a.lease = tx->take_lease(name, holder, seconds);
  tx->commit();
  a.held = a.lease.holder == holder;
  a.taken = a.held && (!a.before || a.before->holder != holder);
  return a;
}

LeaseAttempt renew_mailbox_lease(store::Store& st, const std::string& name, const std::string& holder,
                                 std::int64_t seconds) {
  LeaseAttempt a;
  auto tx = st.begin(store::Store::Mode::write);
  a.now = tx->database_now();
  a.before = tx->lease(name);
  if (!a.before || a.before->holder != holder) {
    if (a.before) a.lease = *a.before;
    return a;  // rolled back: nothing was written
  }
  a.lease = tx->take_lease(name, holder, seconds);
  tx->commit();
  a.held = a.lease.holder == holder;
  return a;
}

void heartbeat(store::Store& st, const DaemonIdentity& me) {
  auto tx = st.begin(store::Store::Mode::write);
  tx->heartbeat({me.id, me.host, me.pid, me.started_at, 0, {}, 0});
  tx->forget_daemons_before(tx->database_now() - kDay);
  tx->commit();
}

int forget_dead_daemons(store::Store& st, const DaemonIdentity& me) {
  auto tx = st.begin(store::Store::Mode::write);
  int n = 0;
  for (const auto& d : tx->daemons(0)) {
    if (d.id == me.id) continue;
    tx->release_outbox_claims(d.id);
    tx->forget_daemon(d.id);
    ++n;
  }
  tx->commit();
  return n;
}

void leave_store(store::Store& st, const DaemonIdentity& me, const std::string& lease) {
  auto tx = st.begin(store::Store::Mode::write);
  if (!lease.empty()) tx->release_lease(lease, me.id);
  tx->release_outbox_claims(me.id);
  tx->forget_daemon(me.id);
  tx->commit();
}

}  // namespace sd
