// store/copy.h: `servicedesk store copy`: a whole desk from one store into another, SQLite to
// PostgreSQL and back, checked table by table.
//
// Contract: copy_store() copies every table of the schema (copied_tables(), foreign keys
// first) from one read transaction on the source (a snapshot) in one write transaction on
// the target, so the target gets all of it or nothing. Ids are copied as they are, and the
// target's id counters are set past the highest id (or the source's own counter, when that
// is higher: a number PostgreSQL gave in a transaction that rolled back is not given
// again), so new tickets continue at the next number. Before it commits, it reads every
// table back from the target and compares the row count and a SHA-256 over the rows' values
// in a stable order (by id, or by the key with text compared byte by byte) with what it read
// from the source; a difference rolls back and names the table. Both stores are opened by
// open_store() as usual: a target that does not exist is created, and either one is migrated
// to this version first. Text PostgreSQL cannot hold (not UTF-8, or NUL) arrives there with
// U+FFFD in place of the bad bytes, as every write of the PostgreSQL store does: the
// comparison expects that, and the report counts those values (the raw mails keep their bytes).
//
// Refusals (CopyRefused, before the target is written): the same store on both sides; an
// SQLite source that does not exist; a store a daemon runs on (SQLite: its lock file
// STORE.lock is held, daemon/daemon.cpp; PostgreSQL: a daemon's heartbeat in the last 60 s
// by the database's clock); a target with a row in any of the desk's tables; a store with a
// table or column this version does not know. An SQLite store's lock is held by the copy
// until it ends, so a daemon started meanwhile exits 75 instead of writing into it.
//
// Diagnostics: CopyRefused says why and what to do; other failures are the backends'
// StoreErrors. Security: no message repeats a URL (a PostgreSQL one may hold a password):
// they name an SQLite store's file and a PostgreSQL store's scheme only (describe_store()).
#pragma once

#include "store/store.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sd::store {

struct CopyRefused : StoreError {
  enum class Reason { same_store, no_source, daemon_running, target_holds_data, unknown_schema };
  CopyRefused(Reason r, const std::string& what)
      : StoreError(what, r == Reason::daemon_running, r != Reason::daemon_running), reason(r) {}
  Reason reason;
};

// One side of the copy: its URL (store/url.h) and how to open it (StoreOptions: a
// PostgreSQL store's password_file; empty: libpq's own, e.g. PGPASSFILE).
struct CopyEnd {
  std::string url;
  StoreOptions options{};
};

struct CopiedTable {
  std::string name;
  std::int64_t rows = 0;
  std::string sha256;               // hex, over the rows as the target holds them
  std::int64_t text_replaced = 0;   // text values that arrived with U+FFFD (PostgreSQL target)
};

struct CopyReport {
  std::string from, to;             // describe_store() of each
  std::vector<CopiedTable> tables;  // in copy order
  std::int64_t next_ticket = 1;     // the number the target gives its next ticket
};

CopyReport copy_store(const CopyEnd& from, const CopyEnd& to);

// The tables copy_store() copies, in its order (each after those its foreign keys name).
std::vector<std::string> copied_tables();

// A store as messages name it: "sqlite store FILE", "postgresql store" (never the URL).
std::string describe_store(const std::string& url);

}  // namespace sd::store
