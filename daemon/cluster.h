// daemon/cluster.h: several daemons on one store: who this process is, the mailbox's lease
// as a daemon takes, renews and gives it back, and the daemon's record in the store.
//
// Contract: this_daemon() is unique per process, "HOST:PID:STARTSECONDS" (a forked child gets
// its own), and names the process in the store: the holder of the mailbox's lease, the
// claimer of outbox rows, the id of its heartbeat record. Leases are judged by the database's
// clock (store::Coordination); every function here is one write transaction and throws
// store::StoreError as the store does. Only a daemon that holds the mailbox's lease polls it,
// and only through a Store fenced with the lease's epoch (Store::set_fence), so a holder that
// lost the lease while frozen cannot commit: the lease decides who polls, the fence makes a
// mistake in that harmless.
//
// On a store that takes one daemon (SQLite), the lock file decides instead (daemon.cpp,
// StoreLock): no lease is taken, but the daemon keeps its heartbeat record for `status`, and
// whatever daemons the store still records from before were dead when the lock was taken:
// their outbox claims are released at once (forget_dead_daemons) instead of when they expire.
#pragma once

#include "store/store.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace sd {

struct DaemonIdentity {
  std::string id;  // "HOST:PID:STARTSECONDS"
  std::string host;
  std::int64_t pid = 0;
  store::Time started_at = 0;  // this host's clock, seconds
};
const DaemonIdentity& this_daemon();

// "HOST pid N" of a daemon's id, for log lines and status; an id of another form as it is.
// (Inline, as the next one: `status` uses them without linking the daemon.)
inline std::string daemon_words(const std::string& id) {
  auto last = id.rfind(':');
  if (last == std::string::npos || last == 0) return id;
  auto middle = id.rfind(':', last - 1);
  if (middle == std::string::npos || middle == 0 || middle + 1 == last) return id;
  std::string pid = id.substr(middle + 1, last - middle - 1);
  for (unsigned char ch : pid)
    if (ch < '0' || ch > '9') return id;
  return id.substr(0, middle) + " pid " + pid;
}

// The lease of the mailbox a poller reads ("mailbox:" + its decoded name, imap/imap.h).
inline std::string mailbox_lease_name(const std::string& mailbox) { return "mailbox:" + mailbox; }

// The lease's rhythm from imap.lease_s: the holder renews every lease_s/3; a standby looks
// every lease_s/4 (at least 1 s), so it takes over within lease_s/4 of the lease's expiry;
// the heartbeat comes every min(5 s, lease_s/3), at least 1 s.
struct LeaseTiming {
  std::chrono::milliseconds renew, standby, heartbeat;
};
LeaseTiming lease_timing(int lease_s);

// The mailbox's lease after one attempt to take or renew it.
struct LeaseAttempt {
  bool held = false;   // by the asking daemon, now
  bool taken = false;  // newly: before, another daemon held it (live or expired) or nobody had
  store::Lease lease;  // as it stands after the attempt (held: ours; else the holder's)
  std::optional<store::Lease> before;  // as it stood before the attempt (taken: the previous holder's)
  store::Time now = 0;                 // the database's clock in that transaction
};

// Takes the lease for `holder` for `seconds` when it is free, expired or already theirs
// (renewed, the epoch stays); otherwise reports the daemon that holds it.
LeaseAttempt take_mailbox_lease(store::Store& st, const std::string& name, const std::string& holder,
                                std::int64_t seconds);
// Renews the lease only if `holder` is still its holder; never takes a lease another daemon
// held, even an expired one (taking is the poll pass's, which then fences its store).
LeaseAttempt renew_mailbox_lease(store::Store& st, const std::string& name, const std::string& holder,
                                 std::int64_t seconds);

// Records that `me` is alive (the database's clock) and forgets daemons silent for a day.
void heartbeat(store::Store& st, const DaemonIdentity& me);
// A store of one daemon, under its lock file: the daemons recorded there other than `me` are
// dead; their outbox claims are released and their records forgotten. Returns how many.
int forget_dead_daemons(store::Store& st, const DaemonIdentity& me);
// A clean stop: `me`'s lease (`lease`, empty: none), its outbox claims and its record go.
void leave_store(store::Store& st, const DaemonIdentity& me, const std::string& lease);

}  // namespace sd
