// store/pg_store.cpp: the PostgreSQL backend of store.h, on libpq (store/sql_transaction.h
// holds the SQL both backends share).
//
// Why libpq itself: Debian 12's libpqxx is 6.4 while upstream's 7.x changed its API; the
// little this backend needs (prepared statements, text results, the socket for LISTEN) is a
// few calls of libpq, which every PostgreSQL release keeps.
//
// Durability and writers: synchronous_commit is on for every session, so a COMMIT that
// returned is on the primary's disk. Every write transaction first takes one transaction-
// scoped advisory lock, so writers run one at a time as on SQLite and the desk's rules
// (read, decide, write) need no retry loops; readers never wait (REPEATABLE READ snapshots).
// A writer waits at most busy_timeout_ms for the lock (lock_timeout), and the server ends a
// session idle in a transaction after idle_in_transaction_ms, so a frozen process cannot hold
// the lock for ever. Ticket numbers come from an identity sequence, which does not roll back:
// a failed transaction leaves a gap in the numbers.
//
// Schema: a fresh database is created at schema 12 in one step (the dialect's CREATE
// statements); later versions migrate both backends. The version is in `schema_version`.
// Migration runs inside a write transaction, so of several daemons starting at once one
// migrates and the others find it done.
//
// Diagnostics: errors carry the statement's purpose and the server's message. Connection
// loss, serialization failures, deadlocks, lock timeouts, a full disk and a server shutting
// down are transient (SQLSTATE classes 08, 40, 53, 57P, 58 and 55P03, 25P03); the connection
// is re-established at the next transaction. Security: messages never repeat the URL (it may
// hold a password); text that is not UTF-8 (or holds NUL, which PostgreSQL's text cannot) is
// stored with U+FFFD in place of the bad bytes: the raw mail keeps them exactly (bytea).
#include "store/sql_transaction.h"
#include "store/store.h"
#include "store/table_rows.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sd::store {
namespace {

constexpr unsigned kByteaOid = 17;
constexpr const char* kNotifyChannel = "servicedesk_outbox";
constexpr long long kWriteLockKey = 0x5344657363;  // "SDesc": the one lock every write transaction takes

// The version kSchema creates; kMigrations follow as in sqlite_store.cpp, the i-th from
// version kFirstVersion + i to the next.
constexpr int kFirstVersion = 12;
constexpr std::string_view kMigrations[] = {
    // 13: the seeds' processes: major incidents, maintenance notices, estimates, keeping
    // customers informed (sqlite_store.cpp's migration 13 in SQLite's dialect).
    R"sql(
-- 13 incidents (begin)
-- 13 incidents (end)

-- 13 notices (begin)
-- 13 notices (end)

-- 13 estimates (begin)
-- 13 estimates (end)

-- 13 keep informed (begin)
-- 13 keep informed (end)

-- 13 performance (begin)
-- 13 performance (end)
SELECT 1;
)sql",
};
static_assert(kFirstVersion + std::size(kMigrations) == sql::kSchemaVersion,
              "add a PostgreSQL migration for the new schema version");

// Schema 12 in PostgreSQL's dialect: what sqlite_store.cpp's migrations 1-12 add up to.
// Flags are integers (0/1) as in SQLite, so the shared SQL compares them alike. Message-IDs
// may be long (a hostile mail's): they are indexed by hash, and their uniqueness is checked
// on an md5 of them, never in a b-tree entry that could pass PostgreSQL's 2.7 kB limit.
// Full-text search: sd_fold() makes text the words FTS5's unicode61 tokenizer (with
// remove_diacritics 2) makes of it, whatever the database's locale: lower case by ICU (a
// database in the C locale lowers ASCII only: Æ, Cyrillic), diacritics that decompose removed
// (Malmö is malmo; ø, ł and æ stay, as in FTS5), and every run of what is no letter or digit a
// space, so that the 'simple' parser finds words where FTS5 does (anna@kund.se, faktura.pdf
// and 1.2.3 are words of their parts, not one e-mail, file or version token). It needs a
// server built with ICU (Debian's, PGDG's) and a UTF8 database. The first 100,000 characters
// of a body are indexed (tsvector's 1 MB limit).
constexpr std::string_view kSchema = R"sql(
CREATE FUNCTION sd_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT regexp_replace(regexp_replace(normalize(lower(t COLLATE "und-x-icu"), NFD) COLLATE "und-x-icu",
                                       '[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]', '', 'g'),
                        '[^[:alnum:]]+', ' ', 'g')
$$;
CREATE TABLE mailboxes (
  name         TEXT PRIMARY KEY,
  uidvalidity  BIGINT NOT NULL,
  last_uid     BIGINT NOT NULL,
  last_poll_at BIGINT,
  done_uid     BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE raw_mails (
  id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  received_at  BIGINT NOT NULL,
  mailbox      TEXT,
  uidvalidity  BIGINT,
  uid          BIGINT,
  message_id   TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  bytes        BYTEA NOT NULL,
  problems     TEXT NOT NULL DEFAULT '',
  quarantined  INTEGER NOT NULL DEFAULT 0,
  UNIQUE (mailbox, uidvalidity, uid)
);
CREATE UNIQUE INDEX raw_mails_content ON raw_mails(content_hash, md5(message_id));
CREATE INDEX raw_mails_message_id ON raw_mails USING hash (message_id);
ALTER TABLE raw_mails ALTER COLUMN bytes SET STORAGE EXTERNAL;
CREATE TABLE tickets (
  id                   BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  subject              TEXT NOT NULL,
  status               TEXT NOT NULL DEFAULT 'new',
  requester            TEXT NOT NULL,
  requester_name       TEXT NOT NULL DEFAULT '',
  priority             TEXT NOT NULL DEFAULT 'medium',
  category             TEXT NOT NULL DEFAULT '',
  created_at           BIGINT NOT NULL,
  updated_at           BIGINT NOT NULL,
  sla                  TEXT NOT NULL DEFAULT '',
  assignee             TEXT NOT NULL DEFAULT '',
  first_response_at    BIGINT,
  resolved_at          BIGINT,
  organisation         TEXT NOT NULL DEFAULT '',
  unverified           INTEGER NOT NULL DEFAULT 0,
  hypercare            INTEGER NOT NULL DEFAULT 0,
  time_spent_s         BIGINT NOT NULL DEFAULT 0,
  alert_key            TEXT NOT NULL DEFAULT '',
  repeat_count         BIGINT NOT NULL DEFAULT 0,
  refers_to            BIGINT REFERENCES tickets(id),
  sla_next_due         BIGINT,
  resolution           TEXT NOT NULL DEFAULT '',
  attachments_numbered BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX tickets_status ON tickets(status);
CREATE INDEX tickets_created ON tickets(created_at);
CREATE INDEX tickets_sla_next_due ON tickets(sla_next_due) WHERE sla_next_due IS NOT NULL;
CREATE INDEX tickets_organisation ON tickets(organisation, created_at);
CREATE INDEX tickets_assignee ON tickets(assignee, created_at);
CREATE INDEX tickets_requester ON tickets(requester, created_at, organisation);
CREATE INDEX tickets_due_order ON tickets((sla_next_due IS NULL), sla_next_due);
CREATE INDEX tickets_status_created ON tickets(status, created_at);
CREATE INDEX tickets_organisation_due ON tickets(organisation, (sla_next_due IS NULL), sla_next_due);
CREATE INDEX tickets_assignee_due ON tickets(assignee, (sla_next_due IS NULL), sla_next_due);
CREATE INDEX tickets_subject_search ON tickets USING gin (to_tsvector('simple', sd_fold(subject)));
CREATE TABLE outbox (
  id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  ticket_id       BIGINT REFERENCES tickets(id),
  kind            TEXT NOT NULL,
  mail_from       TEXT NOT NULL,
  recipients      TEXT NOT NULL,
  message_id      TEXT NOT NULL,
  bytes           BYTEA NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','sent','failed')),
  attempts        BIGINT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  last_error      TEXT NOT NULL DEFAULT '',
  created_at      BIGINT NOT NULL,
  sent_at         BIGINT,
  claimed_by      TEXT NOT NULL DEFAULT '',
  claimed_until   BIGINT NOT NULL DEFAULT 0
);
ALTER TABLE outbox ALTER COLUMN bytes SET STORAGE EXTERNAL;
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_kind_created_status ON outbox(kind, created_at, status);
CREATE TABLE outbox_recipients (
  outbox_id BIGINT NOT NULL REFERENCES outbox(id),
  address   TEXT NOT NULL
);
CREATE INDEX outbox_recipients_address ON outbox_recipients(address, outbox_id);
CREATE INDEX outbox_recipients_outbox ON outbox_recipients(outbox_id);
CREATE TABLE messages (
  id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  ticket_id   BIGINT NOT NULL REFERENCES tickets(id),
  direction   TEXT NOT NULL CHECK (direction IN ('in','out')),
  raw_id      BIGINT REFERENCES raw_mails(id),
  outbox_id   BIGINT REFERENCES outbox(id),
  message_id  TEXT NOT NULL,
  from_addr   TEXT NOT NULL,
  from_name   TEXT NOT NULL,
  to_addrs    TEXT NOT NULL,
  cc_addrs    TEXT NOT NULL,
  subject     TEXT NOT NULL,
  date        BIGINT,
  body_text   TEXT NOT NULL,
  new_text    TEXT NOT NULL,
  automatic   TEXT NOT NULL DEFAULT '',
  created_at  BIGINT NOT NULL,
  internal    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_ticket ON messages(ticket_id);
CREATE INDEX messages_message_id ON messages USING hash (message_id);
CREATE INDEX messages_raw ON messages(raw_id);
CREATE INDEX messages_outbox ON messages(outbox_id) WHERE outbox_id IS NOT NULL;
CREATE INDEX messages_body_search ON messages USING gin (to_tsvector('simple', sd_fold(left(body_text, 100000))));
CREATE TABLE attachments (
  id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  message_id   BIGINT NOT NULL REFERENCES messages(id),
  filename     TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size         BIGINT NOT NULL,
  data         BYTEA NOT NULL,
  ticket_id    BIGINT,
  number       BIGINT NOT NULL DEFAULT 0,
  content_id   TEXT NOT NULL DEFAULT '',
  is_inline    INTEGER NOT NULL DEFAULT 0,
  kept         INTEGER NOT NULL DEFAULT 1
);
ALTER TABLE attachments ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE INDEX attachments_message ON attachments(message_id);
CREATE UNIQUE INDEX attachments_number ON attachments(ticket_id, number);
CREATE TABLE outbox_attachments (
  outbox_id     BIGINT NOT NULL REFERENCES outbox(id),
  position      BIGINT NOT NULL,
  attachment_id BIGINT NOT NULL REFERENCES attachments(id),
  PRIMARY KEY (outbox_id, position)
);
CREATE INDEX outbox_attachments_attachment ON outbox_attachments(attachment_id);
CREATE TABLE events (
  id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  ticket_id BIGINT NOT NULL REFERENCES tickets(id),
  at        BIGINT NOT NULL,
  actor     TEXT NOT NULL,
  kind      TEXT NOT NULL,
  detail    TEXT NOT NULL DEFAULT '',
  internal  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_ticket ON events(ticket_id);
CREATE INDEX events_kind_at ON events(kind, at);
CREATE TABLE pauses (
  id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  ticket_id BIGINT NOT NULL REFERENCES tickets(id),
  from_at   BIGINT NOT NULL,
  to_at     BIGINT
);
CREATE INDEX pauses_ticket ON pauses(ticket_id);
CREATE TABLE sla_events (
  ticket_id BIGINT NOT NULL REFERENCES tickets(id),
  target    TEXT NOT NULL,
  kind      TEXT NOT NULL,
  due       BIGINT NOT NULL,
  fired_at  BIGINT NOT NULL,
  seq       BIGINT GENERATED BY DEFAULT AS IDENTITY,
  PRIMARY KEY (ticket_id, target, kind)
);
CREATE TABLE organisations (
  id                 BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  name               TEXT NOT NULL UNIQUE,
  sla                TEXT NOT NULL DEFAULT '',
  language           TEXT NOT NULL DEFAULT '',
  hypercare_start    TEXT NOT NULL DEFAULT '',
  hypercare_weeks    BIGINT NOT NULL DEFAULT 0,
  hypercare_ended_at BIGINT,
  visibility         TEXT NOT NULL DEFAULT 'organisation'
);
CREATE TABLE org_domains (
  domain TEXT PRIMARY KEY,
  org_id BIGINT NOT NULL REFERENCES organisations(id)
);
CREATE INDEX org_domains_org ON org_domains(org_id);
CREATE TABLE contacts (
  email      TEXT PRIMARY KEY,
  name       TEXT NOT NULL DEFAULT '',
  org_id     BIGINT NOT NULL REFERENCES organisations(id),
  visibility TEXT NOT NULL DEFAULT 'inherit'
);
CREATE TABLE agents (
  email TEXT PRIMARY KEY,
  name  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE time_entries (
  id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  ticket_id BIGINT NOT NULL REFERENCES tickets(id),
  at        BIGINT NOT NULL,
  agent     TEXT NOT NULL,
  seconds   BIGINT NOT NULL
);
CREATE INDEX time_entries_at ON time_entries(at);
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE in_flight (
  mailbox     TEXT PRIMARY KEY,
  uidvalidity BIGINT NOT NULL,
  uids        TEXT NOT NULL,
  deaths      BIGINT NOT NULL,
  run         TEXT NOT NULL
);
CREATE TABLE ticket_cc (
  id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  ticket_id BIGINT NOT NULL REFERENCES tickets(id),
  address   TEXT NOT NULL,
  added_by  TEXT NOT NULL,
  at        BIGINT NOT NULL,
  removed   INTEGER NOT NULL DEFAULT 0,
  UNIQUE (ticket_id, address)
);
CREATE INDEX ticket_cc_address ON ticket_cc(address, ticket_id) WHERE removed = 0;
CREATE TABLE portal_login_tokens (
  token_hash TEXT PRIMARY KEY,
  email      TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at    BIGINT
);
CREATE INDEX portal_login_tokens_expires ON portal_login_tokens(expires_at);
CREATE TABLE portal_sessions (
  session_hash TEXT PRIMARY KEY,
  email        TEXT NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('contact','agent')),
  csrf         TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL
);
CREATE INDEX portal_sessions_email ON portal_sessions(email);
CREATE INDEX portal_sessions_seen ON portal_sessions(last_seen_at);
CREATE INDEX portal_sessions_created ON portal_sessions(created_at);
CREATE TABLE portal_rates (
  key          TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  count        BIGINT NOT NULL,
  PRIMARY KEY (key, window_start)
);
CREATE INDEX portal_rates_window ON portal_rates(window_start);
CREATE TABLE portal_form_keys (
  key     TEXT PRIMARY KEY,
  used_at BIGINT NOT NULL
);
CREATE INDEX portal_form_keys_used ON portal_form_keys(used_at);
CREATE TABLE leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  epoch      BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE TABLE daemons (
  id           TEXT PRIMARY KEY,
  host         TEXT NOT NULL,
  pid          BIGINT NOT NULL,
  started_at   BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL
);
)sql";

// Whether trying again later may succeed, from the SQLSTATE (PostgreSQL's appendix A).
bool is_transient(const char* sqlstate) {
  if (!sqlstate) return true;  // no server answer at all: the connection is gone
  std::string_view s(sqlstate);
  return s.starts_with("08") || s.starts_with("40") || s.starts_with("53") || s.starts_with("57P") ||
         s.starts_with("58") || s == "55P03" || s == "25P03" || s == "57014";
}

// `s` with every byte sequence that is not UTF-8, and every NUL, replaced by U+FFFD.
std::string valid_text(std::string_view s) {
  if (sd::valid_utf8(s) && s.find('\0') == std::string_view::npos) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto ch = text_detail::decode_utf8(s, i);
    if (ch.len == 0 || ch.cp == 0) {
      out += "\xEF\xBF\xBD";
      i += ch.len == 0 ? 1 : ch.len;
      continue;
    }
    out.append(s.substr(i, ch.len));
    i += ch.len;
  }
  return out;
}

// The shared SQL's `?` placeholders as PostgreSQL's $1, $2, ...; `?N` as $N. Quoted text
// ('...', "...") is left alone.
std::string numbered_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int next = 0;
  char quote = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    char ch = sql[i];
    if (quote) {
      out += ch;
      if (ch == quote) quote = 0;
      continue;
    }
    if (ch == '\'' || ch == '"') {
      quote = ch;
      out += ch;
      continue;
    }
    if (ch != '?') {
      out += ch;
      continue;
    }
    std::size_t j = i + 1;
    while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') ++j;
    out += '$';
    if (j > i + 1) {
      out.append(sql.substr(i + 1, j - i - 1));
      i = j - 1;
    } else {
      out += std::to_string(++next);
    }
  }
  return out;
}

std::string read_password(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw StoreError(fmt::format("store: cannot read store.password_file {}: {}", file, std::strerror(errno)), false);
  std::string pw;
  std::getline(in, pw);
  while (!pw.empty() && (pw.back() == '\r' || pw.back() == ' ')) pw.pop_back();
  return pw;
}

struct PgResult {
  PGresult* r = nullptr;
  explicit PgResult(PGresult* x = nullptr) : r(x) {}
  ~PgResult() { PQclear(r); }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  PgResult(PgResult&& o) noexcept : r(o.r) { o.r = nullptr; }
  PgResult& operator=(PgResult&& o) noexcept {
    std::swap(r, o.r);
    return *this;
  }
};

// One libpq connection, opened from the URI and the password, with the session settings the
// store's contract needs.
PGconn* connect_pg(const StoreOptions& o) {
  std::string password = !o.password.empty() || o.password_file.empty() ? o.password : read_password(o.password_file);
  std::vector<const char*> keys{"dbname", "application_name", "connect_timeout"};
  std::vector<const char*> values{o.conninfo.c_str(), "servicedesk", "10"};
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 1);
  if (!conn) throw StoreError("store: cannot open the PostgreSQL store: out of memory", true);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    throw StoreError(fmt::format("store: cannot connect to the PostgreSQL store: {}", msg), true);
  }
  return conn;
}

class PgStatement;

// The PostgreSQL connection, and the PostgreSQL dialect of the shared SQL.
class PgConnection {
 public:
  using Statement = PgStatement;
  static constexpr const char* kNow = "CAST(extract(epoch FROM clock_timestamp()) AS BIGINT)";
  static constexpr const char* kOffIndex = "";
  static constexpr const char* kSkipLocked = " FOR UPDATE SKIP LOCKED";
  static constexpr const char* kEmptyBytes = "'\\x'::bytea";
  static constexpr const char* kDomainList =
      "SELECT string_agg(domain, E'\\n' ORDER BY domain) FROM org_domains d WHERE d.org_id = organisations.id";
  static constexpr const char* kSlaEventOrder = "seq";
  static constexpr const char* kSearchTerm =
      "t.id IN (SELECT m.ticket_id FROM messages m "
      "WHERE to_tsvector('simple', sd_fold(left(m.body_text, 100000))) @@ phraseto_tsquery('simple', sd_fold(?)) "
      "UNION SELECT st.id FROM tickets st "
      "WHERE to_tsvector('simple', sd_fold(st.subject)) @@ phraseto_tsquery('simple', sd_fold(?)))";
  static std::string search_param(const std::string& word) { return word; }

  explicit PgConnection(const StoreOptions& o) : options_(o), fail_at_(o.fail_at_step) { open(); }
  ~PgConnection() {
    if (conn_) PQfinish(conn_);
  }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  PGconn* get() const { return conn_; }
  const StoreOptions& options() const { return options_; }

  // A connection lost since the last transaction is opened again here (its prepared
  // statements went with it), also when only BEGIN finds out, as after a server restart that
  // this idle connection slept through: nothing of the transaction has happened yet, so it is
  // begun once more on a new connection. A BEGIN that failed (the write lock's timeout) is
  // rolled back, so the connection is fit for the next transaction.
  void begin(Store::Mode mode) {
    if (PQstatus(conn_) != CONNECTION_OK) reopen();
    const std::string sql =
        mode == Store::Mode::write
            ? fmt::format("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({})", kWriteLockKey)
            : std::string("BEGIN ISOLATION LEVEL REPEATABLE READ");
    try {
      exec_or_roll_back(sql, "begin transaction");
    } catch (const StoreError&) {
      if (PQstatus(conn_) == CONNECTION_OK) throw;
      reopen();
      exec_or_roll_back(sql, "begin transaction");
    }
  }
  // NOTIFY is delivered at COMMIT, to every listening daemon, and not at all on a rollback.
  void commit(bool queued_mail) {
    if (queued_mail) exec(fmt::format("NOTIFY {}", kNotifyChannel), "wake the outbox");
    PgResult r(PQexec(conn_, "COMMIT"));
    check(r, "commit");
    if (std::string_view(PQcmdStatus(r.r)) != "COMMIT")
      throw StoreError("store: commit: the server rolled the transaction back", true);
  }
  void rollback() noexcept {
    if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE) PQclear(PQexec(conn_, "ROLLBACK"));
  }

  void exec(const std::string& sql, std::string_view what) {
    tick(what);
    PgResult r(PQexec(conn_, sql.c_str()));
    check(r, what);
  }
  void exec_or_roll_back(const std::string& sql, std::string_view what) {
    try {
      exec(sql, what);
    } catch (const StoreError&) {
      rollback();
      throw;
    }
  }

  // The name of `sql`'s prepared statement on this connection, prepared on first use.
  const std::string& prepared(const std::string& sql, std::string_view what) {
    auto it = prepared_.find(sql);
    if (it != prepared_.end()) return it->second;
    std::string name = fmt::format("sd{}", prepared_.size() + 1);
    PgResult r(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
    check(r, what);
    return prepared_.emplace(sql, std::move(name)).first->second;
  }

  void check(const PgResult& r, std::string_view what) const {
    auto status = r.r ? PQresultStatus(r.r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    const char* state = r.r ? PQresultErrorField(r.r, PG_DIAG_SQLSTATE) : nullptr;
    std::string msg = r.r ? PQresultErrorMessage(r.r) : PQerrorMessage(conn_);
    if (msg.empty()) msg = PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    bool transient = is_transient(state) || PQstatus(conn_) != CONNECTION_OK;
    throw StoreError(fmt::format("store: {}: {}", what, msg), transient);
  }

  void tick(std::string_view what) {
    if (fail_at_ > 0 && --fail_at_ == 0)
      throw StoreError(fmt::format("store: {}: injected fault (connection lost)", what), true);
  }

 private:
  void open() {
    conn_ = connect_pg(options_);
    try {
      exec(fmt::format("SET synchronous_commit = on; SET client_encoding = 'UTF8'; SET standard_conforming_strings = on; "
                       "SET lock_timeout = {}; SET idle_in_transaction_session_timeout = {}; "
                       "SET client_min_messages = warning",
                       std::max(options_.busy_timeout_ms, 1), std::max(options_.idle_in_transaction_ms, 0)),
           "set up the session");
    } catch (...) {
      PQfinish(conn_);  // thrown from the constructor, no destructor would close it
      conn_ = nullptr;
      throw;
    }
  }
  void reopen() {
    prepared_.clear();
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    open();
  }

  StoreOptions options_;
  PGconn* conn_ = nullptr;
  int fail_at_ = 0;
  std::map<std::string, std::string, std::less<>> prepared_;
};

// A statement of the shared SQL: parameters are sent as text (bytea in binary), results come
// back as text; it runs at its first step().
class PgStatement {
 public:
  PgStatement(PgConnection& c, std::string_view sql, std::string_view what) : PgStatement(c, sql, what, sql::Once{false}) {}
  PgStatement(PgConnection& c, std::string_view text, std::string_view what, sql::Once o)
      : c_(c), sql_(numbered_placeholders(text)), what_(what), once_(o.once) {}
  PgStatement(const PgStatement&) = delete;
  PgStatement& operator=(const PgStatement&) = delete;

  PgStatement& bind(int i, std::int64_t v) { return set(i, std::to_string(v), false); }
  PgStatement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  PgStatement& bind(int i, std::string_view v) { return set(i, valid_text(v), false); }
  PgStatement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  PgStatement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  PgStatement& bind_blob(int i, std::string_view v) { return set(i, std::string(v), true); }
  template <class T>
  PgStatement& bind(int i, const std::optional<T>& v) {
    if (v) return bind(i, *v);
    slot(i) = Param{};
    return *this;
  }

  bool step() {
    if (!res_.r) execute();
    return ++row_ < PQntuples(res_.r);
  }
  void run() {
    if (!res_.r) execute();
    row_ = PQntuples(res_.r);
  }
  void reset() {
    res_ = PgResult();
    row_ = -1;
  }
  std::int64_t changes() const {
    const char* n = res_.r ? PQcmdTuples(res_.r) : "";
    std::int64_t v = 0;
    std::from_chars(n, n + std::strlen(n), v);
    return v;
  }

  bool is_null(int col) const { return PQgetisnull(res_.r, row_, col) != 0; }
  std::int64_t i64(int col) const {
    if (is_null(col)) return 0;
    const char* p = PQgetvalue(res_.r, row_, col);
    std::int64_t v = 0;
    std::from_chars(p, p + PQgetlength(res_.r, row_, col), v);
    return v;
  }
  std::optional<std::int64_t> opt_i64(int col) const {
    return is_null(col) ? std::nullopt : std::optional<std::int64_t>(i64(col));
  }
  std::string text(int col) const {
    if (is_null(col)) return {};
    const char* p = PQgetvalue(res_.r, row_, col);
    std::size_t n = static_cast<std::size_t>(PQgetlength(res_.r, row_, col));
    if (PQftype(res_.r, col) != kByteaOid) return std::string(p, n);
    return unhex(std::string_view(p, n));
  }

 private:
  struct Param {
    std::optional<std::string> value;
    bool binary = false;
  };
  Param& slot(int i) {
    if (static_cast<std::size_t>(i) > params_.size()) params_.resize(static_cast<std::size_t>(i));
    return params_[static_cast<std::size_t>(i - 1)];
  }
  PgStatement& set(int i, std::string v, bool binary) {
    slot(i) = Param{std::move(v), binary};
    return *this;
  }

  void execute() {
    c_.tick(what_);
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (const auto& p : params_) {
      values.push_back(p.value ? p.value->data() : nullptr);
      lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
      formats.push_back(p.binary ? 1 : 0);
    }
    int n = static_cast<int>(params_.size());
    if (once_)
      res_ = PgResult(PQexecParams(c_.get(), sql_.c_str(), n, nullptr, values.data(), lengths.data(), formats.data(), 0));
    else
      res_ = PgResult(PQexecPrepared(c_.get(), c_.prepared(sql_, what_).c_str(), n, values.data(), lengths.data(),
                                     formats.data(), 0));
    c_.check(res_, what_);
    row_ = -1;
  }

  // bytea's text form: \x followed by two hex digits a byte.
  static std::string unhex(std::string_view s) {
    if (s.size() < 2 || s[0] != '\\' || s[1] != 'x') return std::string(s);
    auto nibble = [](char h) { return h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10; };
    std::string out((s.size() - 2) / 2, '\0');
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<char>(nibble(s[2 + 2 * i]) << 4 | nibble(s[3 + 2 * i]));
    return out;
  }

  PgConnection& c_;
  std::string sql_;
  std::string_view what_;
  bool once_;
  std::vector<Param> params_;
  PgResult res_;
  int row_ = -1;
};

// LISTEN on a connection of its own, watched by a thread that turns each notification into a
// byte on a pipe: the pipe is the descriptor the daemon waits on, and it stays the same when
// the server goes away and the thread connects again (every 2 s, so an outage is no busy loop).
// The first LISTEN is done before the constructor returns, so every commit after it wakes the
// listener and nothing else does; when the server cannot be reached then, or the connection is
// lost later, the thread connects and wakes the listener once (mail queued meanwhile).
class PgListener final : public OutboxListener {
 public:
  explicit PgListener(const StoreOptions& o) : options_(o) {
    if (::pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) != 0)
      throw StoreError(fmt::format("store: outbox wake-up: pipe: {}", std::strerror(errno)), true);
    PGconn* conn = listening();
    thread_ = std::thread([this, conn] { watch(conn); });
  }
  ~PgListener() override {
    stop_ = true;
    thread_.join();
    ::close(pipe_[0]);
    ::close(pipe_[1]);
  }
  int fd() const override { return pipe_[0]; }
  bool drain() override {
    bool any = false;
    char buf[256];
    while (::read(pipe_[0], buf, sizeof buf) > 0) any = true;
    return any;
  }

 private:
  // A connection that LISTENs, or nullptr when the server cannot be reached.
  PGconn* listening() const {
    PGconn* conn = nullptr;
    try {
      conn = connect_pg(options_);
      PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);  // its end in an outage is no news
      PgResult r(PQexec(conn, fmt::format("LISTEN {}", kNotifyChannel).c_str()));
      if (PQresultStatus(r.r) == PGRES_COMMAND_OK) return conn;
    } catch (const StoreError&) {
    }
    if (conn) PQfinish(conn);
    return nullptr;
  }

  void watch(PGconn* conn) {
    while (!stop_) {
      if (!conn || PQstatus(conn) != CONNECTION_OK) {
        if (conn) PQfinish(conn);
        conn = listening();
        if (!conn) {
          for (int i = 0; i < 20 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
        poke();  // mail queued while this was away: look once
      }
      pollfd p{PQsocket(conn), POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      if (!PQconsumeInput(conn)) continue;  // the connection broke: PQstatus says so next round
      bool any = false;
      while (PGnotify* n = PQnotifies(conn)) {
        PQfreemem(n);
        any = true;
      }
      if (any) poke();
    }
    if (conn) PQfinish(conn);
  }
  void poke() noexcept {
    char one = 1;
    [[maybe_unused]] auto n = ::write(pipe_[1], &one, 1);  // a full pipe holds a wake-up already
  }

  StoreOptions options_;
  int pipe_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class PgStore final : public Store {
 public:
  explicit PgStore(const StoreOptions& o) : c_(o) { migrate(); }

  std::unique_ptr<Transaction> begin(Mode mode) override {
    return std::make_unique<sql::SqlTransaction<PgConnection>>(c_, mode, fence_);
  }
  void set_fence(std::optional<Fence> fence) override { fence_ = std::move(fence); }
  std::string backend() const override { return "postgresql"; }
  bool shared() const override { return true; }
  // store copy's rows (store/table_rows.h), on this store's connection.
  std::unique_ptr<rows::TableAccess> table_access() {
    return std::make_unique<rows::SqlTableAccess<PgConnection, rows::PgDialect>>(c_);
  }

  tl::expected<std::unique_ptr<OutboxListener>, std::string> listen_for_outbox() override {
    try {
      return std::make_unique<PgListener>(c_.options());
    } catch (const StoreError& e) {
      return tl::unexpected(std::string(e.what()));
    }
  }

  // pg_dump's custom format (restore with pg_restore), into a file created here 0600.
  void backup(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      int err = errno;
      throw StoreError(fmt::format("store: backup to {} refused: {}", path,
                                   err == EEXIST ? "it exists (a symbolic link counts); give a new file name"
                                                 : std::strerror(err)),
                       false, err == EEXIST);
    }
    const auto& o = c_.options();
    std::string password = !o.password.empty() || o.password_file.empty() ? o.password : read_password(o.password_file);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(fd, STDOUT_FILENO);
      if (!password.empty()) ::setenv("PGPASSWORD", password.c_str(), 1);
      const std::string& uri = c_.options().conninfo;
      ::execlp("pg_dump", "pg_dump", "--format=custom", "--no-owner", "--dbname", uri.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fd);
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ::unlink(path.c_str());
      throw StoreError(WIFEXITED(status) && WEXITSTATUS(status) == 127
                           ? "store: backup: pg_dump is not installed (Debian: postgresql-client)"
                           : "store: backup: pg_dump failed (its message is above)",
                       false);
    }
  }

 private:
  void migrate() {
    sql::SqlTransaction<PgConnection> tx(c_, Mode::write, fence_);
    c_.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", "read schema version");
    std::int64_t version = 0;
    {
      PgStatement s(c_, "SELECT version FROM schema_version", "read schema version");
      if (s.step()) version = s.i64(0);
    }
    sql::refuse_newer_schema(version);
    if (version == sql::kSchemaVersion) return;
    if (version == 0) c_.exec(std::string(kSchema), fmt::format("create schema version {}", kFirstVersion));
    for (auto v = std::max<std::int64_t>(version, kFirstVersion); v < sql::kSchemaVersion; ++v)
      c_.exec(std::string(kMigrations[v - kFirstVersion]), fmt::format("migrate schema to version {}", v + 1));
    c_.exec(fmt::format("DELETE FROM schema_version; INSERT INTO schema_version VALUES ({})", sql::kSchemaVersion),
            "write schema version");
    tx.commit();
  }

  PgConnection c_;
  std::optional<Fence> fence_;
};

}  // namespace

std::unique_ptr<Store> open_pg_store(const StoreOptions& options) { return std::make_unique<PgStore>(options); }

std::unique_ptr<rows::TableAccess> rows::pg_table_access(Store& s) {
  auto* mine = dynamic_cast<PgStore*>(&s);
  return mine ? mine->table_access() : nullptr;
}
std::string rows::pg_stored_text(std::string_view text) { return valid_text(text); }

}  // namespace sd::store
