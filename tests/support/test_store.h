// tests/support/test_store.h: the store a store contract test runs against, so that one suite
// checks both backends: SQLite in the test's temporary directory, or, when the environment says
// SD_TEST_STORE=postgresql, a fresh database on the process's throwaway PostgreSQL cluster
// (tests/support/pg_cluster.h: started on first use, about 1.5 s, and stopped at exit).
//
// Contract: test_store_url(dir) names one store per TempDir. The first call makes it (the SQLite
// file dir/sd.db, or a new database whose URL is kept in dir/store.url); later calls name the
// same one, so a test reopens it, or opens a second connection, by open_test_store(dir) again.
// open_test_store(dir, extra) is store::open_store() on that URL with `extra`'s settings (busy
// timeout, fault injection). test_store_sql(dir, sql) runs SQL behind the store's back (the
// sqlite3 shell, or psql) and returns what it prints: a row a line, columns separated by '|',
// the same for both; SQL that differs between the dialects is the test's to choose by
// testing_postgresql(). SD_TEST_STORE is "sqlite" (or unset) or "postgresql"; anything else
// throws, so a typo never quietly tests SQLite twice.
//
// Tests about one backend itself (SQLite's file, WAL, query plans, migrations of old SQLite
// schemas, the wake-up socket; PostgreSQL's connections, encodings, LISTEN) carry the tag
// [sqlite] or [postgresql] and open their backend directly; tests/store/CMakeLists.txt runs the
// untagged ones once per backend.
//
// Diagnostics: a failed shell command fails the test (REQUIRE) with its exit status. Security:
// test code; the SQL goes to the shell in single quotes.
#pragma once

#include "store/store.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/tempdir.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

namespace sd::test {

// Whether this run tests the PostgreSQL backend (SD_TEST_STORE=postgresql).
inline bool testing_postgresql() {
  static const bool pg = [] {
    const char* v = std::getenv("SD_TEST_STORE");
    std::string name = v ? v : "";
    if (name.empty() || name == "sqlite") return false;
    if (name == "postgresql") return true;
    throw std::runtime_error("SD_TEST_STORE=" + name + ": say sqlite or postgresql");
  }();
  return pg;
}

// A fresh, empty database on the shared cluster: for the [postgresql] tests, whatever the run.
inline std::string pg_test_database() { return shared_pg_cluster().create_database(); }

inline std::string test_store_url(const TempDir& dir) {
  if (!testing_postgresql()) return "sqlite://" + dir.file("sd.db");
  const std::string keep = dir.file("store.url");
  if (std::ifstream in(keep); in) {
    std::string url;
    std::getline(in, url);
    if (!url.empty()) return url;
  }
  std::string url = pg_test_database();
  std::ofstream(keep) << url << "\n";
  return url;
}

inline std::unique_ptr<store::Store> open_test_store(const TempDir& dir, store::StoreOptions extra = {}) {
  return store::open_store(test_store_url(dir), extra);
}

inline std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// What `command` prints on its standard output; the test fails when it exits non-zero.
inline std::string command_output(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = ::pclose(p);
  INFO(command);
  REQUIRE(status == 0);
  return out;
}

// psql's unaligned, tuples-only output is the sqlite3 shell's list mode: "a|b\n" a row.
inline std::string test_store_sql(const TempDir& dir, const std::string& sql) {
  std::string url = test_store_url(dir);
  if (testing_postgresql())
    return command_output("/usr/lib/postgresql/15/bin/psql -X -q -At -v ON_ERROR_STOP=1 -d " + shell_quoted(url) +
                          " -c " + shell_quoted(sql));
  return command_output("sqlite3 " + shell_quoted(dir.file("sd.db")) + " " + shell_quoted(sql));
}

}  // namespace sd::test
