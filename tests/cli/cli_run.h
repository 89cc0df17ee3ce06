// tests/cli/cli_run.h: running the built `servicedesk` binary as an operator does, for the
// tests of tests/cli/: its exit status, standard output and standard error, each whole, and
// a config of a desk whose store is in a test's own directory.
//
// Contract: SERVICEDESK_BIN (CMake) names the binary. servicedesk() runs it through
// /bin/sh with the arguments as given (the caller quotes paths), standard input from
// /dev/null unless `stdin_file` is given, in `cwd` when given; its output goes to files in a
// directory of its own, removed afterwards, so a test sees every byte the command wrote.
#pragma once

#include "tests/support/tempdir.h"

#include <fmt/format.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace sd::test {

struct Run {
  int status = -1;  // the exit status; -1 when the command did not exit (a signal)
  std::string out, err;
};

struct RunOptions {
  std::string cwd;         // empty: the test's own
  std::string stdin_file;  // empty: /dev/null
};

inline std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline Run servicedesk(const std::string& config, const std::string& args, const RunOptions& o = {}) {
  TempDir io;
  std::string cmd = fmt::format("{}'{}' --config '{}' {} <'{}' >'{}' 2>'{}'", o.cwd.empty() ? "" : "cd '" + o.cwd + "' && ",
                                SERVICEDESK_BIN, config, args, o.stdin_file.empty() ? "/dev/null" : o.stdin_file,
                                io.file("out"), io.file("err"));
  int st = std::system(cmd.c_str());
  Run r;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = read_whole(io.file("out"));
  r.err = read_whole(io.file("err"));
  return r;
}

inline std::size_t lines_in(const std::string& s) {
  std::size_t n = 0;
  for (char ch : s) n += ch == '\n';
  return n;
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A desk with the built-in SLAs whose store is `dir`/sd.db; IMAP and SMTP point nowhere.
inline std::string write_config(const TempDir& dir) {
  auto pw = dir.write("pw", "x\n");
  return dir.write("servicedesk.toml", fmt::format(R"(
[service]
name = "Example Servicedesk"
address = "servicedesk@example.com"

[imap]
url = "imap://127.0.0.1:1/INBOX"
username = "desk"
password_file = "{}"

[smtp]
url = "smtp://127.0.0.1:1"

[store]
path = "{}"
)",
                                                   pw, dir.file("sd.db")));
}

}  // namespace sd::test
