// store/table_rows.h: whole tables, row by row, on a backend's own connection: what `store
// copy` (store/copy.cpp) reads from one store and writes into another. Internal to store/:
// no other folder includes it.
//
// Contract: a TableAccess is one backend connection's view of its tables as rows of
// optional<string> values (nullopt: NULL), in the column order of a TableSpec the caller
// gives: integers as their decimal text, text as its bytes, blobs as their bytes exactly.
// Rows come in a stable order both backends agree on: by `id`, by the order sla_events
// fired in (the backend's own counter, store/sql_transaction.h kSlaEventOrder), or by the
// key columns with text compared byte by byte (PostgreSQL: COLLATE "C"; SQLite's BINARY),
// so a hash over the rows in that order is the same on both. Reads come a page at a time:
// libpq holds a whole result in memory, and a table of raw mails may be larger than it.
// begin()/commit()/rollback() are the connection's transaction (read: a snapshot; write:
// the store's one writer lock); the destructor rolls back one still open. The Store the
// access came from must not be used while the access has a transaction open: they share one
// connection. Each backend hands one out for a Store of its own (sqlite_table_access,
// pg_table_access: nullptr for another backend's Store), from a few lines in its .cpp.
//
// Identity counters: counter() is the last id the backend gave for the table (SQLite's
// sqlite_sequence for an AUTOINCREMENT table, PostgreSQL's identity sequence), nullopt
// when it keeps none or gave none; set_counter() makes the next id given last + 1.
//
// Diagnostics: errors are the backend's StoreErrors, each statement named after its table.
// Security: table and column names come from the caller's TableSpec (store/copy.cpp's own
// list), never from input, so they are written into the SQL as they are; values are bound.
#pragma once

#include "store/store.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sd::store::rows {

using Value = std::optional<std::string>;
using Row = std::vector<Value>;

enum class Kind { integer, text, blob };

struct Column {
  std::string_view name;
  Kind kind;
};

struct TableSpec {
  std::string_view name;
  std::vector<Column> columns;
  // How rows are ordered: by the integer column `id` (which has an identity counter), by the
  // order the backend recorded them in (sla_events), or by `key`'s columns.
  enum class Order { id, recorded, key } order = Order::id;
  std::vector<std::string_view> key{};
  // Columns one backend has and the copy leaves to the target to fill (PostgreSQL's
  // sla_events.seq: the firing order, given anew in the order the rows are inserted).
  std::vector<std::string_view> generated{};
  bool has_blobs() const {
    for (const auto& c : columns)
      if (c.kind == Kind::blob) return true;
    return false;
  }
};

class TableAccess {
 public:
  virtual ~TableAccess() = default;
  virtual std::string backend() const = 0;  // "sqlite" or "postgresql"
  virtual void begin(Store::Mode mode) = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;

  // The store's tables (not SQLite's own, its FTS5 indexes or PostgreSQL's schema_version),
  // and one table's columns.
  virtual std::vector<std::string> tables() = 0;
  virtual std::vector<std::string> columns(std::string_view table) = 0;
  virtual bool has_rows(const TableSpec& t) = 0;
  // Every row in the table's order; `each` may not use this access.
  virtual void read(const TableSpec& t, const std::function<void(const Row&)>& each) = 0;
  virtual void insert(const TableSpec& t, const Row& row) = 0;
  virtual std::optional<std::int64_t> max_id(const TableSpec& t) = 0;
  virtual std::optional<std::int64_t> counter(const TableSpec& t) = 0;
  virtual void set_counter(const TableSpec& t, std::int64_t last) = 0;
  // What this backend keeps of a text value (PostgreSQL: UTF-8 only, bad bytes and NUL as U+FFFD).
  virtual std::string stored_text(std::string_view text) const = 0;
};

// Nullptr when `s` is not a store of that backend.
std::unique_ptr<TableAccess> sqlite_table_access(Store& s);
std::unique_ptr<TableAccess> pg_table_access(Store& s);
// PostgreSQL's text as pg_store.cpp binds it (its valid_text()).
std::string pg_stored_text(std::string_view text);

// The dialects: what differs between the backends for whole tables.
struct SqliteDialect {
  static constexpr const char* kName = "sqlite";
  // FTS5's virtual tables and their shadow tables are indexes the triggers fill on insert
  // (pragma_table_list tells them apart: SQLite 3.37 or later; Debian 12 has 3.40).
  static constexpr const char* kTables =
      "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' "
      "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
  static constexpr const char* kColumns = "SELECT name FROM pragma_table_info(?) ORDER BY cid";
  static constexpr const char* kByteOrder = "";  // BINARY: memcmp
  static std::string stored_text(std::string_view s) { return std::string(s); }

  // Only AUTOINCREMENT tables (tickets) keep a counter; the others give max(id) + 1.
  template <class Db>
  static std::optional<std::int64_t> counter(Db& c, std::string_view table) {
    typename Db::Statement s(c, "SELECT seq FROM sqlite_sequence WHERE name = ?", "read the id counter");
    s.bind(1, table);
    if (!s.step() || s.is_null(0)) return std::nullopt;
    return s.i64(0);
  }
  template <class Db>
  static void set_counter(Db& c, std::string_view table, std::int64_t last) {
    {
      typename Db::Statement a(c, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ? AND sql LIKE '%AUTOINCREMENT%'",
                               "set the id counter");
      a.bind(1, table);
      if (!a.step()) return;
    }
    typename Db::Statement u(c, "UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1", "set the id counter");
    u.bind(1, table).bind(2, last).run();
    if (u.changes() > 0) return;
    typename Db::Statement i(c, "INSERT INTO sqlite_sequence(name, seq) VALUES (?1, ?2)", "set the id counter");
    i.bind(1, table).bind(2, last).run();
  }
};

struct PgDialect {
  static constexpr const char* kName = "postgresql";
  static constexpr const char* kTables =
      "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
      "AND table_type = 'BASE TABLE' AND table_name <> 'schema_version' ORDER BY 1";
  static constexpr const char* kColumns =
      "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
      "AND table_name = ? ORDER BY ordinal_position";
  static constexpr const char* kByteOrder = " COLLATE \"C\"";
  static std::string stored_text(std::string_view s) { return pg_stored_text(s); }

  // pg_sequence_last_value: NULL while the sequence has given nothing.
  template <class Db>
  static std::optional<std::int64_t> counter(Db& c, std::string_view table) {
    typename Db::Statement s(c, "SELECT pg_sequence_last_value(CAST(pg_get_serial_sequence(?, 'id') AS regclass))",
                             "read the id counter");
    s.bind(1, table);
    if (!s.step() || s.is_null(0)) return std::nullopt;
    return s.i64(0);
  }
  template <class Db>
  static void set_counter(Db& c, std::string_view table, std::int64_t last) {
    // setval(.., 1, false): the next value is 1, for a table that has given none.
    typename Db::Statement s(c,
                             "SELECT setval(CAST(pg_get_serial_sequence(?1, 'id') AS regclass), "
                             "CASE WHEN CAST(?2 AS BIGINT) > 0 THEN CAST(?2 AS BIGINT) ELSE 1 END, CAST(?2 AS BIGINT) > 0)",
                             "set the id counter");
    s.bind(1, table).bind(2, last).run();
  }
};

template <class Db, class Dialect>
class SqlTableAccess final : public TableAccess {
  using Stmt = typename Db::Statement;

 public:
  explicit SqlTableAccess(Db& c) : c_(c) {}
  ~SqlTableAccess() override { rollback(); }
  SqlTableAccess(const SqlTableAccess&) = delete;
  SqlTableAccess& operator=(const SqlTableAccess&) = delete;

  std::string backend() const override { return Dialect::kName; }
  void begin(Store::Mode mode) override {
    c_.begin(mode);
    open_ = true;
  }
  void commit() override {
    c_.commit(false);  // no wake-up: no daemon runs on a store being copied into
    open_ = false;
  }
  void rollback() noexcept override {
    if (open_) c_.rollback();
    open_ = false;
  }

  std::vector<std::string> tables() override {
    Stmt s(c_, Dialect::kTables, "list the tables");
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
  }
  std::vector<std::string> columns(std::string_view table) override {
    Stmt s(c_, Dialect::kColumns, "list a table's columns");
    s.bind(1, table);
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
  }

  bool has_rows(const TableSpec& t) override {
    Stmt s(c_, "SELECT 1 FROM " + std::string(t.name) + " LIMIT 1", "look for rows");
    return s.step();
  }

  void read(const TableSpec& t, const std::function<void(const Row&)>& each) override {
    // A few raw mails or files a page (each may be megabytes), many narrow rows.
    const std::int64_t page = t.has_blobs() ? 16 : 2000;
    std::string cols = column_list(t);
    std::string what = "read " + std::string(t.name);
    const std::size_t n = t.columns.size();
    Row row(n);
    auto take = [&](Stmt& s) {
      for (std::size_t i = 0; i < n; ++i) {
        int col = static_cast<int>(i);
        if (s.is_null(col)) row[i].reset();
        else row[i] = s.text(col);
      }
      each(row);
    };
    if (t.order == TableSpec::Order::key) {
      std::string order;
      for (auto k : t.key) {
        order += (order.empty() ? "" : ", ") + std::string(k);
        if (kind_of(t, k) == Kind::text) order += Dialect::kByteOrder;
      }
      Stmt s(c_, fmt::format("SELECT {} FROM {} ORDER BY {} LIMIT {} OFFSET ?", cols, t.name, order, page), what);
      for (std::int64_t offset = 0;; offset += page) {
        s.reset();
        s.bind(1, offset);
        std::int64_t got = 0;
        while (s.step()) {
          take(s);
          ++got;
        }
        if (got < page) return;
      }
    }
    // Keyset paging: the order's integer goes last, and each page starts after the one before.
    std::string ord = t.order == TableSpec::Order::id ? std::string("id") : std::string(Db::kSlaEventOrder);
    Stmt s(c_, fmt::format("SELECT {}, {} FROM {} WHERE {} > ? ORDER BY {} LIMIT {}", cols, ord, t.name, ord, ord, page),
           what);
    std::int64_t after = std::numeric_limits<std::int64_t>::min();
    for (;;) {
      s.reset();
      s.bind(1, after);
      std::int64_t got = 0;
      while (s.step()) {
        take(s);
        after = s.i64(static_cast<int>(n));
        ++got;
      }
      if (got < page) return;
    }
  }

  void insert(const TableSpec& t, const Row& row) override {
    std::string marks;
    for (std::size_t i = 0; i < t.columns.size(); ++i) marks += i ? ",?" : "?";
    // A statement keeps its purpose by reference: it must outlive the statement.
    std::string what = "copy into " + std::string(t.name);
    Stmt s(c_, fmt::format("INSERT INTO {}({}) VALUES ({})", t.name, column_list(t), marks), what);
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      int at = static_cast<int>(i + 1);
      const Value& v = row[i];
      if (!v) {
        s.bind(at, std::optional<std::int64_t>());
        continue;
      }
      switch (t.columns[i].kind) {
        case Kind::blob:
          s.bind_blob(at, *v);
          break;
        case Kind::integer: {
          std::int64_t x = 0;
          auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
          // Not an integer after all (SQLite keeps what it is given): as text, for the target to judge.
          if (ec == std::errc() && end == v->data() + v->size()) s.bind(at, x);
          else s.bind(at, *v);
          break;
        }
        case Kind::text:
          s.bind(at, *v);
          break;
      }
    }
    s.run();
  }

  std::optional<std::int64_t> max_id(const TableSpec& t) override {
    Stmt s(c_, "SELECT max(id) FROM " + std::string(t.name), "read the highest id");
    if (!s.step()) return std::nullopt;
    return s.opt_i64(0);
  }
  std::optional<std::int64_t> counter(const TableSpec& t) override { return Dialect::counter(c_, t.name); }
  void set_counter(const TableSpec& t, std::int64_t last) override { Dialect::set_counter(c_, t.name, last); }
  std::string stored_text(std::string_view text) const override { return Dialect::stored_text(text); }

 private:
  static std::string column_list(const TableSpec& t) {
    std::string out;
    for (const auto& c : t.columns) out += (out.empty() ? "" : ", ") + std::string(c.name);
    return out;
  }
  static Kind kind_of(const TableSpec& t, std::string_view column) {
    for (const auto& c : t.columns)
      if (c.name == column) return c.kind;
    return Kind::integer;
  }

  Db& c_;
  bool open_ = false;
};

}  // namespace sd::store::rows
