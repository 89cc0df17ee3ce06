// tests/support/pg_cluster.cpp: see pg_cluster.h for the contract.
#include "tests/support/pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace sd::test {
namespace {

const std::string kBin = "/usr/lib/postgresql/15/bin/";

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  close(fd);
  if (!ok) throw std::runtime_error("cannot bind a free port on 127.0.0.1");
  return ntohs(a.sin_port);
}

// pg_ctl hands -o to /bin/sh, so the socket directory goes in single quotes.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

PgCluster::PgCluster() : owner_pid_(getpid()), run_uid_(getuid()), run_gid_(getgid()) {
  if (access((kBin + "initdb").c_str(), X_OK) != 0)
    throw std::runtime_error("PostgreSQL 15 is not installed in " + kBin + " (scripts/deps installs postgresql-15)");
  std::string tmpl = (std::filesystem::temp_directory_path() / "sd-pg.XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed: " + std::string(strerror(errno)));
  dir_ = tmpl;
  try {
    chmod(dir_.c_str(), 0755);
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (!pw) throw std::runtime_error("no user postgres to run PostgreSQL as (scripts/deps installs postgresql-15)");
      run_uid_ = pw->pw_uid;
      run_gid_ = pw->pw_gid;
      if (chown(dir_.c_str(), run_uid_, run_gid_) != 0)
        throw std::runtime_error("cannot chown " + dir_ + " to postgres: " + strerror(errno));
    }
    run({kBin + "initdb", "-D", data_dir(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "-N"}, true);
    // The free port may be taken by someone else before the server binds it: try another.
    for (int attempt = 1;; ++attempt) {
      port_ = free_port();
      try {
        start_server();
        break;
      } catch (const std::runtime_error&) {
        if (attempt == 3) throw;
      }
    }
  } catch (...) {
    stop();
    throw;
  }
}

PgCluster::~PgCluster() { stop(); }

std::string PgCluster::url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PgCluster::create_database() {
  std::string name = "sd_test_" + std::to_string(getpid()) + "_" + std::to_string(++databases_);
  run({kBin + "createdb", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres", name}, false);
  return url(name);
}

std::string PgCluster::pg_ctl_start_options() const {
  return "-p " + std::to_string(port_) + " -k " + shell_quote(dir_) +
         " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200";
}

void PgCluster::start_server() {
  if (running_) return;
  run({kBin + "pg_ctl", "-D", data_dir(), "-l", dir_ + "/log", "-o", pg_ctl_start_options(), "-w", "-t", "60", "start"},
      true);
  running_ = true;
}

void PgCluster::stop_server() {
  if (!running_) return;
  run({kBin + "pg_ctl", "-D", data_dir(), "-m", "fast", "-w", "stop"}, true);
  running_ = false;
}

void PgCluster::stop() noexcept {
  if (dir_.empty() || getpid() != owner_pid_) return;
  for (const char* mode : {"fast", "immediate"}) {
    if (!running_) break;
    try {
      run({kBin + "pg_ctl", "-D", data_dir(), "-m", mode, "-w", "stop"}, true);
      running_ = false;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "PgCluster: %s\n", e.what());
    }
  }
  // A server that would not stop shuts itself down within a minute of its postmaster.pid
  // going away with the directory.
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  dir_.clear();
}

void PgCluster::run(const std::vector<std::string>& argv, bool as_owner) const {
  // Everything the child needs is prepared before fork(): another thread may hold malloc's lock.
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "PG", 2) != 0) envp.push_back(*e);  // PGHOST, PGPORT, ... would override ours
  envp.push_back(nullptr);
  bool drop = as_owner && geteuid() == 0;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0) _exit(126);
    if (drop && (setgroups(0, nullptr) != 0 || setgid(run_gid_) != 0 || setuid(run_uid_) != 0)) {
      static const char msg[] = "cannot switch to the postgres user\n";
      (void)!write(2, msg, sizeof msg - 1);
      _exit(126);
    }
    if (chdir(dir_.c_str()) != 0) _exit(126);  // the postgres user may not reach our cwd
    execve(args[0], args.data(), envp.data());
    static const char msg[] = "exec failed\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(127);
  }
  close(out[1]);
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) != 0;) {
    if (n > 0) output.append(buf, static_cast<std::size_t>(n));
    else if (errno != EINTR) break;
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  std::string command;
  for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
  throw std::runtime_error("PgCluster: `" + command + "` failed (status " + std::to_string(status) + "):\n" + output +
                           "server log " + dir_ + "/log, last lines:\n" + log_tail());
}

std::string PgCluster::log_tail() const {
  std::ifstream in(dir_ + "/log");
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
    if (lines.size() > 20) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out.empty() ? "(empty)\n" : out;
}

PgCluster& shared_pg_cluster() {
  static PgCluster cluster;  // destroyed at exit; stop() leaves it alone in forked children
  return cluster;
}

}  // namespace sd::test
