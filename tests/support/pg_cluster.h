// tests/support/pg_cluster.h: a throwaway PostgreSQL 15 cluster for tests of the PostgreSQL
// store, so that they run against the real server, not a mock (docs/web-and-scale-notes.md,
// "PostgreSQL 15 in tests").
//
// Contract: the constructor returns once the server accepts connections on 127.0.0.1 (a free
// port the kernel chose; its Unix socket is in the cluster's directory) or throws. The cluster
// owns one temporary directory (mktemp -d, chmod 755): data/ from `initdb -A trust -U postgres
// -E UTF8 --locale=C -N` (no fsync, about 1 s instead of 4) and the server's log; the server
// runs with fsync=off and max_connections=200. A test cluster loses its data on a crash of the
// machine, and that is fine. stop() and the destructor stop the server (`pg_ctl -m fast`) and
// remove the directory; both are safe to call twice. stop_server() / start_server() stop and
// start the same server on the same port and data, for outage tests: connections break, the
// data stays. create_database() makes an empty database of its own for each call and returns
// its URL; several threads may call it at once. Only the process that started a cluster stops
// it: a forked child that calls exit() leaves it alone. shared_pg_cluster() is one cluster for
// the whole test process, started on first use (about 1 s) and stopped at exit. A process
// killed by SIGKILL leaves its cluster running (`pg_ctl -D /tmp/sd-pg.XXXXXX/data stop`).
//
// Diagnostics: failures throw std::runtime_error with the command, its output and the tail of
// the server's log; missing binaries name scripts/deps. The client binaries run by fork/exec
// (no shell, no libpq). Security: test code only. As root (PostgreSQL refuses to run as
// root) the directory belongs to the `postgres` user and initdb/pg_ctl run as it; otherwise
// everything runs as the current user. Any local user may connect (trust), on loopback only.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <string>
#include <vector>

namespace sd::test {

class PgCluster {
 public:
  PgCluster();
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int port() const { return port_; }
  std::string data_dir() const { return dir_ + "/data"; }
  // postgresql://postgres@127.0.0.1:PORT/postgres, for administration.
  std::string admin_url() const { return url("postgres"); }
  // A new empty database, sd_test_<pid>_<n>, and its URL postgresql://postgres@127.0.0.1:PORT/NAME.
  std::string create_database();

  void stop_server();   // no-op when stopped
  void start_server();  // no-op when running
  void stop() noexcept;

 private:
  std::string url(const std::string& database) const;
  std::string pg_ctl_start_options() const;
  // Runs argv (as the postgres user when as_owner and we are root); throws when it fails.
  void run(const std::vector<std::string>& argv, bool as_owner) const;
  std::string log_tail() const;

  std::string dir_;
  int port_ = 0;
  bool running_ = false;
  pid_t owner_pid_ = 0;
  uid_t run_uid_ = 0;  // the postgres user when we are root, else ourselves
  gid_t run_gid_ = 0;
  std::atomic<int> databases_{0};
};

PgCluster& shared_pg_cluster();

}  // namespace sd::test
