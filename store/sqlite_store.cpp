// store/sqlite_store.cpp: the SQLite backend of store.h.
//
// Durability: WAL journal with synchronous=FULL (a COMMIT that returned survives power
// loss), foreign keys on. Write transactions use BEGIN IMMEDIATE so a writer waits (up to
// busy_timeout) instead of failing half-way. One connection per SqliteStore; a Store is
// used by one thread at a time (the daemon opens one per worker).
//
// Schema: versioned by PRAGMA user_version and migrated forward at open; a store newer
// than this binary is refused rather than guessed at.
//
// Diagnostics: every SQLite error becomes a StoreError naming the statement's purpose and
// SQLite's message; busy, locked, full and I/O errors are marked transient.
//
// Security: a store or backup this code creates is created mode 0600 (O_EXCL|O_NOFOLLOW)
// before SQLite opens it, so its -wal, -shm and -journal are 0600 too, whatever the umask.
#include "store/store.h"

#include "core/text.h"
#include "core/vocabulary.h"
#include "store/wake.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace sd::store {
namespace {

// "('new','open','pending')": the statuses still to be worked (core/vocabulary.h decides).
const std::string& open_statuses() {
  static const std::string list = [] {
    std::string out;
    for (auto st : kStatuses)
      if (is_open(st)) out += (out.empty() ? "('" : ",'") + std::string(to_string(st)) + "'";
    return out + ")";
  }();
  return list;
}

constexpr int kSchemaVersion = 11;

// Each entry migrates from version i to i+1.
constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE mailboxes (
  name         TEXT PRIMARY KEY,
  uidvalidity  INTEGER NOT NULL,
  last_uid     INTEGER NOT NULL,
  last_poll_at INTEGER
);
CREATE TABLE raw_mails (
  id           INTEGER PRIMARY KEY,
  received_at  INTEGER NOT NULL,
  mailbox      TEXT,
  uidvalidity  INTEGER,
  uid          INTEGER,
  message_id   TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  bytes        BLOB NOT NULL,
  problems     TEXT NOT NULL DEFAULT '',
  quarantined  INTEGER NOT NULL DEFAULT 0,
  UNIQUE (mailbox, uidvalidity, uid),
  UNIQUE (message_id, content_hash)
);
CREATE TABLE tickets (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: numbers are never reused
  subject        TEXT NOT NULL,
  status         TEXT NOT NULL DEFAULT 'new',
  requester      TEXT NOT NULL,
  requester_name TEXT NOT NULL DEFAULT '',
  priority       TEXT NOT NULL DEFAULT 'medium',
  category       TEXT NOT NULL DEFAULT '',
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  ticket_id       INTEGER REFERENCES tickets(id),
  kind            TEXT NOT NULL,
  mail_from       TEXT NOT NULL,
  recipients      TEXT NOT NULL,       -- one address per line
  message_id      TEXT NOT NULL,
  bytes           BLOB NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','sent','failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE TABLE messages (
  id          INTEGER PRIMARY KEY,
  ticket_id   INTEGER NOT NULL REFERENCES tickets(id),
  direction   TEXT NOT NULL CHECK (direction IN ('in','out')),
  raw_id      INTEGER REFERENCES raw_mails(id),
  outbox_id   INTEGER REFERENCES outbox(id),
  message_id  TEXT NOT NULL,
  from_addr   TEXT NOT NULL,
  from_name   TEXT NOT NULL,
  to_addrs    TEXT NOT NULL,           -- one address per line
  cc_addrs    TEXT NOT NULL,
  subject     TEXT NOT NULL,
  date        INTEGER,
  body_text   TEXT NOT NULL,
  new_text    TEXT NOT NULL,
  automatic   TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL
);
CREATE INDEX messages_ticket ON messages(ticket_id);
CREATE INDEX messages_message_id ON messages(message_id);
CREATE TABLE attachments (
  id           INTEGER PRIMARY KEY,
  message_id   INTEGER NOT NULL REFERENCES messages(id),
  filename     TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size         INTEGER NOT NULL,
  data         BLOB NOT NULL
);
CREATE INDEX attachments_message ON attachments(message_id);
CREATE TABLE events (
  id        INTEGER PRIMARY KEY,
  ticket_id INTEGER NOT NULL REFERENCES tickets(id),
  at        INTEGER NOT NULL,
  actor     TEXT NOT NULL,
  kind      TEXT NOT NULL,
  detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_ticket ON events(ticket_id);
)sql",
    // 2: SLA clock.
    R"sql(
ALTER TABLE tickets ADD COLUMN sla TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN first_response_at INTEGER;
ALTER TABLE tickets ADD COLUMN resolved_at INTEGER;
CREATE INDEX tickets_status ON tickets(status);
CREATE TABLE pauses (
  id        INTEGER PRIMARY KEY,
  ticket_id INTEGER NOT NULL REFERENCES tickets(id),
  from_at   INTEGER NOT NULL,
  to_at     INTEGER
);
CREATE INDEX pauses_ticket ON pauses(ticket_id);
CREATE TABLE sla_events (
  ticket_id INTEGER NOT NULL REFERENCES tickets(id),
  target    TEXT NOT NULL,
  kind      TEXT NOT NULL,
  due       INTEGER NOT NULL,
  fired_at  INTEGER NOT NULL,
  PRIMARY KEY (ticket_id, target, kind)
);
)sql",
    // 3: organisations, contacts, agents, alerts, time spent.
    R"sql(
CREATE TABLE organisations (
  id              INTEGER PRIMARY KEY,
  name            TEXT NOT NULL UNIQUE,
  sla             TEXT NOT NULL DEFAULT '',
  language        TEXT NOT NULL DEFAULT '',
  hypercare_start TEXT NOT NULL DEFAULT '',
  hypercare_weeks INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE org_domains (
  domain TEXT PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES organisations(id)
);
CREATE TABLE contacts (
  email  TEXT PRIMARY KEY,
  name   TEXT NOT NULL DEFAULT '',
  org_id INTEGER NOT NULL REFERENCES organisations(id)
);
CREATE TABLE agents (
  email TEXT PRIMARY KEY,
  name  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE time_entries (
  id        INTEGER PRIMARY KEY,
  ticket_id INTEGER NOT NULL REFERENCES tickets(id),
  at        INTEGER NOT NULL,
  agent     TEXT NOT NULL,
  seconds   INTEGER NOT NULL
);
CREATE INDEX time_entries_at ON time_entries(at);
ALTER TABLE tickets ADD COLUMN organisation TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN unverified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN hypercare INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN time_spent_s INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN alert_key TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN repeat_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN refers_to INTEGER REFERENCES tickets(id);
CREATE INDEX tickets_created ON tickets(created_at);
)sql",
    // 4: the end of a hypercare period is logged once.
    R"sql(
ALTER TABLE organisations ADD COLUMN hypercare_ended_at INTEGER;
)sql",
    // The acknowledgement rate limit looks mail up by recipient: an index instead of a scan of
    // the whole outbox per incoming mail. Existing rows are split into their recipients.
    R"sql(
CREATE TABLE outbox_recipients (
  outbox_id INTEGER NOT NULL REFERENCES outbox(id),
  address   TEXT NOT NULL  -- lower case
);
CREATE INDEX outbox_recipients_address ON outbox_recipients(address, outbox_id);
WITH RECURSIVE split(id, rest, address) AS (
  SELECT id, recipients || char(10), NULL FROM outbox
  UNION ALL
  SELECT id, substr(rest, instr(rest, char(10)) + 1), lower(substr(rest, 1, instr(rest, char(10)) - 1))
  FROM split WHERE rest != ''
)
INSERT INTO outbox_recipients(outbox_id, address) SELECT id, address FROM split WHERE address != '';
-- Mail fetched with BODY.PEEK[] gets \Seen only after its COMMIT: this records how far that
-- (or move/delete) is done. Up to version 4 the fetch itself set \Seen.
ALTER TABLE mailboxes ADD COLUMN done_uid INTEGER NOT NULL DEFAULT 0;
UPDATE mailboxes SET done_uid = last_uid;
)sql",
    // 6: trust boundaries. An internal message (an agent's note, a mail kept but not applied)
    // is not part of the customer's thread: its addresses put nobody "on the thread". `meta`
    // holds store-wide facts; a store that already had tickets accepts Reply-To tokens of the
    // old format (no issue time) for 30 days from this upgrade. The indexes serve the rate
    // limits on acknowledgements by domain and in all, and the count of capped mails.
    R"sql(
ALTER TABLE messages ADD COLUMN internal INTEGER NOT NULL DEFAULT 0;
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO meta(key, value)
  SELECT 'legacy_tokens_until', CAST(strftime('%s', 'now') AS INTEGER) + 30 * 86400 WHERE EXISTS (SELECT 1 FROM tickets);
CREATE INDEX outbox_kind_created ON outbox(kind, created_at);
CREATE INDEX outbox_recipients_outbox ON outbox_recipients(outbox_id);
CREATE INDEX events_kind_at ON events(kind, at);
)sql",
    // 7: the poller's crash breaker. One row per mailbox: the UIDs a pass has in hand,
    // written before they are parsed; `deaths` counts the processes that died with them.
    R"sql(
CREATE TABLE in_flight (
  mailbox     TEXT PRIMARY KEY,
  uidvalidity INTEGER NOT NULL,
  uids        TEXT NOT NULL,  -- ascending, comma-separated
  deaths      INTEGER NOT NULL,
  run         TEXT NOT NULL
);
)sql",
    // 8: what the portal and the queues need. An internal event is not shown to customers
    // (older events stay visible: the store cannot tell which were notices to agents).
    // sla_next_due is the earliest coming warning or breach, NULL until the SLA clock
    // computes it; the partial index holds only tickets that have one, in due order.
    R"sql(
ALTER TABLE events ADD COLUMN internal INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN sla_next_due INTEGER;
ALTER TABLE tickets ADD COLUMN resolution TEXT NOT NULL DEFAULT '';
CREATE INDEX tickets_sla_next_due ON tickets(sla_next_due) WHERE sla_next_due IS NOT NULL;
-- The kinds of event the desk has always kept for its agents only (desk/ingest.cpp,
-- desk/sla_clock.cpp) become internal, so older tickets show customers what new ones do.
UPDATE events SET internal = 1 WHERE kind IN ('security', 'note', 'team-token', 'commands-refused',
  'acknowledgement-capped', 'intake-cap-notice', 'sla-warning', 'sla-breach', 'sla-reminder');
)sql",
    // 9: working by mail. Attachments get their ticket's number (1, 2, ... in order of
    // arrival over all its messages; old ones by id) and what the parser knew of them; the
    // ticket counts the numbers it gave, so one is never given twice. An outbox row names
    // the attachments it carries (their bytes stay in attachments, once). The Cc list of a
    // ticket. Full-text search: FTS5 indexes over the messages' bodies and the tickets'
    // subjects, reading the text from those tables (external content: nothing is stored
    // twice), kept current by triggers. Indexes for the filters and sorts of find_tickets.
    R"sql(
ALTER TABLE attachments ADD COLUMN ticket_id INTEGER;  -- the message's, copied: (ticket_id, number) is one index
ALTER TABLE attachments ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attachments ADD COLUMN content_id TEXT NOT NULL DEFAULT '';
ALTER TABLE attachments ADD COLUMN is_inline INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attachments ADD COLUMN kept INTEGER NOT NULL DEFAULT 1;
UPDATE attachments SET ticket_id = (SELECT m.ticket_id FROM messages m WHERE m.id = attachments.message_id);
UPDATE attachments SET number = n.number
  FROM (SELECT id, row_number() OVER (PARTITION BY ticket_id ORDER BY id) AS number FROM attachments) AS n
  WHERE n.id = attachments.id;
UPDATE attachments SET kept = 0 WHERE size > 0 AND length(data) = 0;
CREATE UNIQUE INDEX attachments_number ON attachments(ticket_id, number);
ALTER TABLE tickets ADD COLUMN attachments_numbered INTEGER NOT NULL DEFAULT 0;
UPDATE tickets SET attachments_numbered = (SELECT coalesce(max(a.number), 0) FROM attachments a WHERE a.ticket_id = tickets.id);
CREATE TABLE outbox_attachments (
  outbox_id     INTEGER NOT NULL REFERENCES outbox(id),
  position      INTEGER NOT NULL,
  attachment_id INTEGER NOT NULL REFERENCES attachments(id),
  PRIMARY KEY (outbox_id, position)
) WITHOUT ROWID;
CREATE INDEX outbox_attachments_attachment ON outbox_attachments(attachment_id);
CREATE INDEX messages_outbox ON messages(outbox_id) WHERE outbox_id IS NOT NULL;
CREATE TABLE ticket_cc (
  id        INTEGER PRIMARY KEY,  -- the order first added
  ticket_id INTEGER NOT NULL REFERENCES tickets(id),
  address   TEXT NOT NULL,        -- lower case
  added_by  TEXT NOT NULL,
  at        INTEGER NOT NULL,
  removed   INTEGER NOT NULL DEFAULT 0,
  UNIQUE (ticket_id, address)
);
CREATE VIRTUAL TABLE message_search USING fts5(body_text, content='messages', content_rowid='id',
  tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE subject_search USING fts5(subject, content='tickets', content_rowid='id',
  tokenize='unicode61 remove_diacritics 2');
INSERT INTO message_search(message_search) VALUES ('rebuild');
INSERT INTO subject_search(subject_search) VALUES ('rebuild');
CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
  INSERT INTO message_search(rowid, body_text) VALUES (new.id, new.body_text);
END;
CREATE TRIGGER message_search_update AFTER UPDATE OF body_text ON messages BEGIN
  INSERT INTO message_search(message_search, rowid, body_text) VALUES ('delete', old.id, old.body_text);
  INSERT INTO message_search(rowid, body_text) VALUES (new.id, new.body_text);
END;
CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
  INSERT INTO message_search(message_search, rowid, body_text) VALUES ('delete', old.id, old.body_text);
END;
CREATE TRIGGER subject_search_insert AFTER INSERT ON tickets BEGIN
  INSERT INTO subject_search(rowid, subject) VALUES (new.id, new.subject);
END;
CREATE TRIGGER subject_search_update AFTER UPDATE OF subject ON tickets BEGIN
  INSERT INTO subject_search(subject_search, rowid, subject) VALUES ('delete', old.id, old.subject);
  INSERT INTO subject_search(rowid, subject) VALUES (new.id, new.subject);
END;
CREATE TRIGGER subject_search_delete AFTER DELETE ON tickets BEGIN
  INSERT INTO subject_search(subject_search, rowid, subject) VALUES ('delete', old.id, old.subject);
END;
CREATE INDEX tickets_organisation ON tickets(organisation, created_at);
CREATE INDEX tickets_assignee ON tickets(assignee, created_at);
CREATE INDEX tickets_requester ON tickets(requester, created_at);
CREATE INDEX tickets_due_order ON tickets(sla_next_due IS NULL, sla_next_due);
)sql",
    // 10: the web portal. Who sees what: an organisation's visibility ('organisation' or
    // 'own') and a contact's ('inherit', 'organisation' or 'own'). The sign-in state every
    // portal process shares: login links and sessions are keyed by the hash of their secret
    // (the store never holds the secret itself, so a copy of the store signs nobody in); the
    // CSRF token is only good together with the session cookie. Rate counters per key and
    // window; one-time form keys. The Cc list by address serves a contact's ticket list.
    R"sql(
ALTER TABLE organisations ADD COLUMN visibility TEXT NOT NULL DEFAULT 'organisation';
ALTER TABLE contacts ADD COLUMN visibility TEXT NOT NULL DEFAULT 'inherit';
CREATE TABLE portal_login_tokens (
  token_hash TEXT PRIMARY KEY,
  email      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX portal_login_tokens_expires ON portal_login_tokens(expires_at);
CREATE TABLE portal_sessions (
  session_hash TEXT PRIMARY KEY,
  email        TEXT NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('contact','agent')),
  csrf         TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX portal_sessions_email ON portal_sessions(email);
CREATE INDEX portal_sessions_seen ON portal_sessions(last_seen_at);
CREATE INDEX portal_sessions_created ON portal_sessions(created_at);
CREATE TABLE portal_rates (
  key          TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  count        INTEGER NOT NULL,
  PRIMARY KEY (key, window_start)
) WITHOUT ROWID;
CREATE INDEX portal_rates_window ON portal_rates(window_start);
CREATE TABLE portal_form_keys (
  key     TEXT PRIMARY KEY,
  used_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX portal_form_keys_used ON portal_form_keys(used_at);
CREATE INDEX ticket_cc_address ON ticket_cc(address, ticket_id) WHERE removed = 0;
CREATE INDEX tickets_status_created ON tickets(status, created_at);
CREATE INDEX tickets_organisation_due ON tickets(organisation, sla_next_due IS NULL, sla_next_due);
CREATE INDEX tickets_assignee_due ON tickets(assignee, sla_next_due IS NULL, sla_next_due);
DROP INDEX outbox_kind_created;
CREATE INDEX outbox_kind_created_status ON outbox(kind, created_at, status);
)sql",
    // 11: an organisation's domains by organisation. Each organisation read (the agent
    // queue's organisation filter reads all of them) scanned every domain row without it:
    // 200 organisations with a domain each made 40,000 row reads per queue page. And the
    // requester index carries the organisation, so a contact's "own tickets outside my
    // organisation" branch (store: TicketFilter) is judged on index entries: a contact who
    // requested 2,000 tickets of their own organisation no longer costs 2,000 row reads per
    // list page and count.
    R"sql(
CREATE INDEX org_domains_org ON org_domains(org_id);
DROP INDEX tickets_requester;
CREATE INDEX tickets_requester ON tickets(requester, created_at, organisation);
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

bool is_transient(int code) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
      return true;
    default:
      return false;
  }
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += '\n';
    out += s;
  }
  return out;
}

std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto nl = s.find('\n');
    out.emplace_back(s.substr(0, nl));
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  return out;
}

// Creates `path` empty, mode 0600, when it does not exist yet, so SQLite finds a private
// file (it gives -wal, -shm and -journal the main file's mode). O_EXCL|O_NOFOLLOW: a name
// that exists, a symlink included, is left alone here; the caller decides about it.
// Returns whether this call created the file.
bool create_private(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

class Connection {
 public:
  explicit Connection(const StoreOptions& o) : fail_at_(o.fail_at_step) {
    create_private(o.path);
    int rc = sqlite3_open_v2(o.path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw StoreError(fmt::format("cannot open store {}: {} (does its directory exist, writable by this user?)", o.path, msg), is_transient(rc));
    }
    sqlite3_extended_result_codes(db_, 1);
    busy_timeout_ms_ = o.busy_timeout_ms;
    sqlite3_busy_handler(db_, &Connection::on_busy, this);
    wake_path_ = wake_socket_path(o.path);
    wake_ = std::make_unique<WakeSender>(wake_path_);
  }
  ~Connection() {
    for (auto& [sql, cached] : statements_) sqlite3_finalize(cached.stmt);
    sqlite3_close_v2(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* get() const { return db_; }
  const std::string& wake_path() const { return wake_path_; }
  void wake_outbox() noexcept { wake_->send(); }

  [[noreturn]] void fail(int rc, std::string_view what) const {
    throw StoreError(fmt::format("store: {}: {}", what, sqlite3_errmsg(db_)), is_transient(rc));
  }

  void exec(std::string_view sql, std::string_view what) {
    tick(what);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      throw StoreError(fmt::format("store: {}: {}", what, msg), is_transient(rc));
    }
  }

  struct Cached {
    sqlite3_stmt* stmt;
    bool in_use;
  };
  // A prepared statement for `sql`, kept for the connection's life: preparing costs more than
  // running most of our statements. Give a cached one back with release(). A statement already
  // in use (the same query run inside its own loop) is prepared afresh, uncached (nullptr).
  Cached* prepare(std::string_view sql, std::string_view what, sqlite3_stmt*& st) {
    auto it = statements_.find(sql);
    if (it != statements_.end() && !it->second.in_use) {
      it->second.in_use = true;
      st = it->second.stmt;
      return &it->second;
    }
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                it == statements_.end() ? SQLITE_PREPARE_PERSISTENT : 0, &st, nullptr);
    if (rc != SQLITE_OK) fail(rc, what);
    if (it != statements_.end()) return nullptr;
    return &statements_.emplace(std::string(sql), Cached{st, true}).first->second;
  }
  // A statement built for one call (its text varies with the caller's input): not cached, so
  // the cache does not grow with every new shape of query.
  void prepare_once(std::string_view sql, std::string_view what, sqlite3_stmt*& st) {
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), 0, &st, nullptr);
    if (rc != SQLITE_OK) fail(rc, what);
  }
  static void release(Cached& cached) {
    sqlite3_reset(cached.stmt);
    sqlite3_clear_bindings(cached.stmt);
    cached.in_use = false;
  }

  // Counts statement steps for fault injection.
  void tick(std::string_view what) {
    if (fail_at_ > 0 && --fail_at_ == 0)
      throw StoreError(fmt::format("store: {}: injected fault (database is locked)", what), true);
  }

 private:
  // Waits for another connection's write lock in steps of 1 ms, up to the busy timeout.
  // SQLite's own handler (sqlite3_busy_timeout) sleeps in steps growing to 100 ms, and the
  // daemon's workers take the lock in turn many times a second: each wait would be long.
  static int on_busy(void* self, int tries) {
    if (tries >= static_cast<Connection*>(self)->busy_timeout_ms_) return 0;
    sqlite3_sleep(1);
    return 1;
  }

  sqlite3* db_ = nullptr;
  int fail_at_ = 0;
  int busy_timeout_ms_ = 0;
  std::map<std::string, Cached, std::less<>> statements_;
  std::string wake_path_;
  std::unique_ptr<WakeSender> wake_;
};

class Statement {
 public:
  Statement(Connection& c, std::string_view sql, std::string_view what) : c_(c), what_(what) {
    cached_ = c.prepare(sql, what, st_);
  }
  // A statement whose text is built from the caller's input: prepared for this one call
  // when `once`, so the cache does not grow with every new shape of query; cached when the
  // caller knows the shapes are few.
  struct Once {
    bool once = true;
  };
  Statement(Connection& c, std::string_view sql, std::string_view what, Once o) : c_(c), what_(what) {
    if (o.once) c.prepare_once(sql, what, st_);
    else cached_ = c.prepare(sql, what, st_);
  }
  ~Statement() {
    if (cached_) Connection::release(*cached_);
    else sqlite3_finalize(st_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, std::int64_t v) { return check(sqlite3_bind_int64(st_, i, v)); }
  Statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, std::string_view v) {
    return check(sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  // Not copied (a mail's bytes or an attachment may be tens of MB): the bytes must live until
  // the statement has run, i.e. bind and run() them in one expression or from one lvalue.
  Statement& bind_blob(int i, std::string_view v) {
    return check(sqlite3_bind_blob64(st_, i, v.data(), v.size(), SQLITE_STATIC));
  }
  template <class T>
  Statement& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : check(sqlite3_bind_null(st_, i));
  }

  // True while a row is available.
  bool step() {
    c_.tick(what_);
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    c_.fail(rc, what_);
  }
  void run() {
    while (step()) {
    }
  }
  // Makes the statement ready to run again; bindings are replaced by the next bind().
  void reset() { sqlite3_reset(st_); }

  std::int64_t i64(int col) const { return sqlite3_column_int64(st_, col); }
  bool is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  std::optional<std::int64_t> opt_i64(int col) const {
    return is_null(col) ? std::nullopt : std::optional<std::int64_t>(i64(col));
  }
  std::string text(int col) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_blob(st_, col));
    int n = sqlite3_column_bytes(st_, col);
    return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK) c_.fail(rc, what_);
    return *this;
  }
  Connection& c_;
  sqlite3_stmt* st_ = nullptr;
  std::string_view what_;
  Connection::Cached* cached_ = nullptr;  // nullptr: ours to finalize
};

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(Connection& c, Store::Mode mode) : c_(c) {
    c_.exec(mode == Store::Mode::write ? "BEGIN IMMEDIATE" : "BEGIN", "begin transaction");
  }
  ~SqliteTransaction() override {
    if (!done_) sqlite3_exec(c_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }

  // The wake-up goes after COMMIT returned: the listener must find the mail when it looks.
  void commit() override {
    c_.exec("COMMIT", "commit");
    done_ = true;
    if (queued_mail_) c_.wake_outbox();
  }

  std::optional<MailboxState> mailbox(const std::string& name) override {
    Statement s(c_, "SELECT uidvalidity, last_uid, last_poll_at, done_uid FROM mailboxes WHERE name = ?", "read mailbox");
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return MailboxState{name, s.i64(0), s.i64(1), s.opt_i64(2), s.i64(3)};
  }

  void set_mailbox(const MailboxState& m) override {
    Statement s(c_,
                "INSERT INTO mailboxes(name, uidvalidity, last_uid, last_poll_at, done_uid) VALUES (?,?,?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET uidvalidity = excluded.uidvalidity, "
                "last_uid = excluded.last_uid, last_poll_at = excluded.last_poll_at, done_uid = excluded.done_uid",
                "write mailbox watermark");
    s.bind(1, m.name).bind(2, m.uidvalidity).bind(3, m.last_uid).bind(4, m.last_poll_at).bind(5, m.done_uid).run();
  }

  std::optional<InFlight> in_flight(const std::string& mailbox) override {
    Statement s(c_, "SELECT uidvalidity, uids, deaths, run FROM in_flight WHERE mailbox = ?", "read mails in hand");
    s.bind(1, mailbox);
    if (!s.step()) return std::nullopt;
    InFlight f{mailbox, s.i64(0), {}, s.i64(2), s.text(3)};
    std::string text = s.text(1);
    std::string_view uids = text;
    while (!uids.empty()) {
      auto comma = uids.find(',');
      f.uids.push_back(std::stoll(std::string(uids.substr(0, comma))));
      uids.remove_prefix(comma == std::string_view::npos ? uids.size() : comma + 1);
    }
    return f;
  }

  void set_in_flight(const InFlight& f) override {
    std::string uids;
    for (auto uid : f.uids) uids += (uids.empty() ? "" : ",") + std::to_string(uid);
    Statement s(c_,
                "INSERT INTO in_flight(mailbox, uidvalidity, uids, deaths, run) VALUES (?,?,?,?,?) "
                "ON CONFLICT(mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, uids = excluded.uids, "
                "deaths = excluded.deaths, run = excluded.run",
                "record mails in hand");
    s.bind(1, f.mailbox).bind(2, f.uidvalidity).bind(3, uids).bind(4, f.deaths).bind(5, f.run).run();
  }

  std::optional<DuplicateHit> raw_at(const MailOrigin& o) override {
    Statement s(c_, kRawHitSql + std::string(" WHERE r.mailbox = ? AND r.uidvalidity = ? AND r.uid = ?"),
                "look up mail by UID");
    s.bind(1, o.mailbox).bind(2, o.uidvalidity).bind(3, o.uid);
    return hit(s);
  }

  std::optional<DuplicateHit> raw_with(const std::string& message_id, const std::string& hash) override {
    Statement s(c_, kRawHitSql + std::string(" WHERE r.message_id = ? AND r.content_hash = ?"),
                "look up mail by content");
    s.bind(1, message_id).bind(2, hash);
    return hit(s);
  }

  bool has_raw_with_message_id(const std::string& message_id) override {
    Statement s(c_, "SELECT 1 FROM raw_mails WHERE message_id = ? LIMIT 1", "look up mail by Message-ID");
    s.bind(1, message_id);
    return s.step();
  }

  std::int64_t add_raw(const RawMail& r) override {
    Statement s(c_,
                "INSERT INTO raw_mails(received_at, mailbox, uidvalidity, uid, message_id, content_hash, bytes, "
                "problems, quarantined) VALUES (?,?,?,?,?,?,?,?,?)",
                "store raw mail");
    s.bind(1, r.received_at);
    if (r.origin) s.bind(2, r.origin->mailbox).bind(3, r.origin->uidvalidity).bind(4, r.origin->uid);
    s.bind(5, r.message_id).bind(6, r.content_hash).bind_blob(7, r.bytes).bind(8, r.problems);
    s.bind(9, r.quarantined ? 1 : 0).run();
    return sqlite3_last_insert_rowid(c_.get());
  }

  std::int64_t create_ticket(const NewTicket& t) override {
    Statement s(c_,
                "INSERT INTO tickets(subject, requester, requester_name, created_at, updated_at, sla, priority, "
                "organisation, unverified, hypercare, category, assignee, alert_key, refers_to) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                "create ticket");
    s.bind(1, t.subject).bind(2, t.requester).bind(3, t.requester_name).bind(4, t.created_at).bind(5, t.created_at);
    s.bind(6, t.sla).bind(7, t.priority).bind(8, t.organisation).bind(9, t.unverified ? 1 : 0);
    s.bind(10, t.hypercare ? 1 : 0).bind(11, t.category).bind(12, t.assignee).bind(13, t.alert_key).bind(14, t.refers_to);
    s.run();
    return sqlite3_last_insert_rowid(c_.get());
  }

  std::optional<Ticket> ticket(std::int64_t id) override {
    Statement s(c_, kTicketSql + std::string(" WHERE t.id = ?"), "read ticket");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_ticket(s);
  }

  std::vector<Ticket> tickets() override {
    Statement s(c_, kTicketSql + std::string(" ORDER BY t.created_at DESC, t.id DESC"), "list tickets");
    return read_tickets(s);
  }

  void touch_ticket(std::int64_t id, Time at) override {
    Statement s(c_, "UPDATE tickets SET updated_at = max(updated_at, ?) WHERE id = ?", "touch ticket");
    s.bind(1, at).bind(2, id).run();
  }

  std::vector<Ticket> open_tickets() override {
    Statement s(c_, kTicketSql + std::string(" WHERE t.status IN " + open_statuses() + " ORDER BY t.id"),
                "list open tickets");
    return read_tickets(s);
  }

  // The tickets with a due time walked in due order on tickets_sla_next_due, then those
  // without by id, both bounded by `limit`: no sort of all open tickets. The unary + keeps
  // the planner off tickets_status, which it would otherwise pick (and then sort).
  std::vector<Ticket> open_tickets_by_sla_due(int limit) override {
    std::vector<Ticket> out;
    {
      Statement s(c_,
                  kTicketSql + std::string(" WHERE t.sla_next_due IS NOT NULL AND +t.status IN " + open_statuses() + " "
                                           "ORDER BY t.sla_next_due, t.id LIMIT ?"),
                  "list open tickets by SLA due time");
      s.bind(1, limit);
      out = read_tickets(s);
    }
    if (static_cast<int>(out.size()) >= limit) return out;
    Statement s(c_,
                kTicketSql + std::string(" WHERE t.sla_next_due IS NULL AND t.status IN " + open_statuses() + " "
                                         "ORDER BY t.id LIMIT ?"),
                "list open tickets without SLA due time");
    s.bind(1, limit - static_cast<int>(out.size()));
    for (auto& t : read_tickets(s)) out.push_back(std::move(t));
    return out;
  }

  void write_status(std::int64_t id, const std::string& status, Time at) override {
    Statement s(c_, "UPDATE tickets SET status = ?, updated_at = max(updated_at, ?) WHERE id = ?", "write ticket status");
    s.bind(1, status).bind(2, at).bind(3, id).run();
    if (sqlite3_changes(c_.get()) == 0) throw StoreError(fmt::format("store: no ticket {}", id), false, true);
  }

  bool start_pause(std::int64_t id, Time at) override {
    Statement s(c_,
                "INSERT INTO pauses(ticket_id, from_at) SELECT ?1, ?2 "
                "WHERE NOT EXISTS (SELECT 1 FROM pauses WHERE ticket_id = ?1 AND to_at IS NULL)",
                "start pause");
    s.bind(1, id).bind(2, at).run();
    return sqlite3_changes(c_.get()) > 0;
  }

  bool end_pause(std::int64_t id, Time at) override {
    Statement s(c_, "UPDATE pauses SET to_at = ? WHERE ticket_id = ? AND to_at IS NULL", "end pause");
    s.bind(1, at).bind(2, id).run();
    return sqlite3_changes(c_.get()) > 0;
  }

  void set_resolved_at(std::int64_t id, std::optional<Time> at) override {
    Statement s(c_, "UPDATE tickets SET resolved_at = ? WHERE id = ?", "set resolution time");
    s.bind(1, at).bind(2, id).run();
  }

  void set_resolution(std::int64_t id, const std::string& text) override {
    Statement s(c_, "UPDATE tickets SET resolution = ? WHERE id = ?", "set resolution");
    s.bind(1, text).bind(2, id).run();
  }

  void set_sla_next_due(std::int64_t id, std::optional<Time> at) override {
    Statement s(c_, "UPDATE tickets SET sla_next_due = ? WHERE id = ?", "set next SLA due time");
    s.bind(1, at).bind(2, id).run();
  }

  void set_priority(std::int64_t id, const std::string& v, Time at) override { set_column("priority", id, v, at); }
  void set_category(std::int64_t id, const std::string& v, Time at) override { set_column("category", id, v, at); }
  void set_assignee(std::int64_t id, const std::string& v, Time at) override { set_column("assignee", id, v, at); }
  void set_sla(std::int64_t id, const std::string& v, Time at) override { set_column("sla", id, v, at); }

  void set_first_response(std::int64_t id, Time at) override {
    Statement s(c_, "UPDATE tickets SET first_response_at = coalesce(first_response_at, ?) WHERE id = ?",
                "record first response");
    s.bind(1, at).bind(2, id).run();
  }

  std::vector<PausePeriod> pauses(std::int64_t ticket_id) override {
    Statement s(c_, "SELECT from_at, to_at FROM pauses WHERE ticket_id = ? ORDER BY id", "read pauses");
    s.bind(1, ticket_id);
    std::vector<PausePeriod> out;
    while (s.step()) out.push_back({s.i64(0), s.opt_i64(1)});
    return out;
  }

  bool record_sla_event(const SlaEvent& e) override {
    Statement s(c_,
                "INSERT INTO sla_events(ticket_id, target, kind, due, fired_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT DO NOTHING",
                "record SLA event");
    s.bind(1, e.ticket_id).bind(2, e.target).bind(3, e.kind).bind(4, e.due).bind(5, e.fired_at).run();
    return sqlite3_changes(c_.get()) > 0;
  }

  std::vector<SlaEvent> sla_events(std::int64_t ticket_id) override {
    Statement s(c_, "SELECT target, kind, due, fired_at FROM sla_events WHERE ticket_id = ? ORDER BY fired_at, rowid",
                "read SLA events");
    s.bind(1, ticket_id);
    std::vector<SlaEvent> out;
    while (s.step()) out.push_back({ticket_id, s.text(0), s.text(1), s.i64(2), s.i64(3)});
    return out;
  }

  std::vector<OutboxItem> outbox(const std::string& status) override {
    Statement s(c_,
                "SELECT id, ticket_id, kind, mail_from, recipients, message_id, '', status, attempts, next_attempt_at, "
                "last_error, created_at, sent_at FROM outbox WHERE status = ? ORDER BY id DESC LIMIT 1000",
                "list outbox");
    s.bind(1, status);
    std::vector<OutboxItem> out;
    while (s.step()) out.push_back(read_outbox(s));
    return out;
  }

  bool retry_outbox(std::int64_t id, Time at) override {
    Statement s(c_,
                "UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = '' WHERE id = ? AND "
                "status != 'sent'",
                "retry outgoing mail");
    s.bind(1, at).bind(2, id).run();
    bool changed = sqlite3_changes(c_.get()) > 0;
    queued_mail_ = queued_mail_ || changed;
    return changed;
  }

  std::vector<QuarantinedMail> quarantined_mails() override {
    Statement s(c_, std::string(kQuarantineSql) + " WHERE r.problems != '' OR r.quarantined ORDER BY r.id DESC LIMIT 1000",
                "list quarantined mails");
    std::vector<QuarantinedMail> out;
    while (s.step()) out.push_back(read_quarantined(s, false));
    return out;
  }

  std::optional<QuarantinedMail> quarantined_mail(std::int64_t raw_id) override {
    Statement s(c_, std::string(kQuarantineSql) + " WHERE r.id = ?", "read quarantined mail");
    s.bind(1, raw_id);
    if (!s.step()) return std::nullopt;
    return read_quarantined(s, true);
  }

  void set_raw_problems(std::int64_t raw_id, const std::string& problems, bool quarantined) override {
    Statement r(c_, "UPDATE raw_mails SET problems = ?, quarantined = ? WHERE id = ?", "update raw mail");
    r.bind(1, problems).bind(2, quarantined ? 1 : 0).bind(3, raw_id).run();
  }

  void replace_parsed(std::int64_t raw_id, const MessageRecord& m, const std::string& problems) override {
    Statement r(c_, "UPDATE raw_mails SET problems = ?, quarantined = 0 WHERE id = ?", "update raw mail");
    r.bind(1, problems).bind(2, raw_id).run();
    Statement find(c_, "SELECT id, ticket_id FROM messages WHERE raw_id = ?", "find parsed message");
    find.bind(1, raw_id);
    if (!find.step()) return;
    std::int64_t id = find.i64(0), ticket_id = find.i64(1);
    Statement u(c_,
                "UPDATE messages SET message_id = ?, from_addr = ?, from_name = ?, to_addrs = ?, cc_addrs = ?, "
                "subject = ?, date = ?, body_text = ?, new_text = ?, automatic = ? WHERE id = ?",
                "replace parsed message");
    u.bind(1, m.message_id).bind(2, m.from_addr).bind(3, m.from_name).bind(4, join_lines(m.to)).bind(5, join_lines(m.cc));
    u.bind(6, m.subject).bind(7, m.date).bind(8, m.body_text).bind(9, m.new_text).bind(10, m.automatic).bind(11, id).run();
    replace_attachments(id, ticket_id, m.attachments);
  }

  std::optional<std::int64_t> open_ticket_with_alert(const std::string& requester, const std::string& key) override {
    Statement s(c_,
                "SELECT id FROM tickets WHERE requester = ? AND alert_key = ? AND alert_key != '' AND "
                "status IN " + open_statuses() + " ORDER BY id DESC LIMIT 1",
                "find alert ticket");
    s.bind(1, requester).bind(2, key);
    if (!s.step()) return std::nullopt;
    return s.i64(0);
  }

  void count_repeat(std::int64_t id, Time at) override {
    Statement s(c_, "UPDATE tickets SET repeat_count = repeat_count + 1, updated_at = max(updated_at, ?) WHERE id = ?",
                "count alert repeat");
    s.bind(1, at).bind(2, id).run();
  }

  void add_time(const TimeEntry& e) override {
    Statement s(c_, "INSERT INTO time_entries(ticket_id, at, agent, seconds) VALUES (?,?,?,?)", "record time spent");
    s.bind(1, e.ticket_id).bind(2, e.at).bind(3, e.agent).bind(4, e.seconds).run();
    Statement u(c_, "UPDATE tickets SET time_spent_s = time_spent_s + ? WHERE id = ?", "add time spent");
    u.bind(1, e.seconds).bind(2, e.ticket_id).run();
  }

  std::vector<TimeEntry> time_entries(Time from, Time to) override {
    Statement s(c_,
                "SELECT e.ticket_id, e.at, e.agent, e.seconds, t.organisation, t.category FROM time_entries e "
                "JOIN tickets t ON t.id = e.ticket_id WHERE e.at >= ? AND e.at < ? ORDER BY e.at, e.id",
                "read time spent");
    s.bind(1, from).bind(2, to);
    std::vector<TimeEntry> out;
    while (s.step()) out.push_back({s.i64(0), s.i64(1), s.text(2), s.i64(3), s.text(4), s.text(5)});
    return out;
  }

  std::vector<Ticket> tickets_created(Time from, Time to) override {
    Statement s(c_, kTicketSql + std::string(" WHERE t.created_at >= ? AND t.created_at < ? ORDER BY t.created_at, t.id"),
                "list tickets by creation");
    s.bind(1, from).bind(2, to);
    return read_tickets(s);
  }

  std::vector<Ticket> resolved_before(Time before) override {
    Statement s(c_, kTicketSql + std::string(" WHERE t.status = 'resolved' AND t.resolved_at < ? ORDER BY t.id"),
                "list resolved tickets");
    s.bind(1, before);
    return read_tickets(s);
  }

  std::int64_t add_organisation(const Organisation& o) override {
    if (organisation(o.name)) throw StoreError(fmt::format("organisation '{}' exists already", o.name), false, true);
    Statement s(c_,
                "INSERT INTO organisations(name, sla, language, hypercare_start, hypercare_weeks, visibility) "
                "VALUES (?,?,?,?,?,?)",
                "add organisation");
    s.bind(1, o.name).bind(2, o.sla).bind(3, o.language).bind(4, o.hypercare_start).bind(5, o.hypercare_weeks);
    s.bind(6, o.visibility.empty() ? std::string("organisation") : o.visibility).run();
    std::int64_t id = sqlite3_last_insert_rowid(c_.get());
    Statement d(c_, "INSERT INTO org_domains(domain, org_id) VALUES (?,?)", "add organisation domain");
    for (const auto& dom : o.domains) {
      if (auto other = organisation_of_domain(dom))
        throw StoreError(fmt::format("domain {} belongs to organisation '{}' already", dom, *other), false, true);
      d.reset();
      d.bind(1, dom).bind(2, id).run();
    }
    return id;
  }

  void update_organisation(const Organisation& o) override {
    Statement s(c_,
                "UPDATE organisations SET sla = ?, language = ?, hypercare_start = ?, hypercare_weeks = ?, "
                "hypercare_ended_at = ?, visibility = ? WHERE name = ?",
                "update organisation");
    s.bind(1, o.sla).bind(2, o.language).bind(3, o.hypercare_start).bind(4, o.hypercare_weeks);
    s.bind(5, o.hypercare_ended_at).bind(6, o.visibility.empty() ? std::string("organisation") : o.visibility);
    s.bind(7, o.name).run();
  }

  std::optional<Organisation> organisation(const std::string& name) override {
    Statement s(c_, kOrgSql + std::string(" WHERE name = ?"), "read organisation");
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return read_org(s);
  }

  std::vector<Organisation> organisations() override {
    Statement s(c_, kOrgSql + std::string(" ORDER BY name"), "list organisations");
    std::vector<Organisation> out;
    while (s.step()) out.push_back(read_org(s));
    return out;
  }

  std::vector<std::string> organisation_names() override {
    Statement s(c_, "SELECT name FROM organisations ORDER BY name", "list organisation names");
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
  }

  std::optional<std::string> organisation_of_domain(const std::string& domain) override {
    Statement s(c_, "SELECT o.name FROM org_domains d JOIN organisations o ON o.id = d.org_id WHERE d.domain = ?",
                "find organisation of domain");
    s.bind(1, domain);
    if (!s.step()) return std::nullopt;
    return s.text(0);
  }

  void add_contact(const Contact& c) override {
    auto org = organisation(c.organisation);
    if (!org) throw StoreError(fmt::format("no organisation '{}'", c.organisation), false, true);
    if (auto existing = contact(c.email))
      throw StoreError(fmt::format("{} is a contact of '{}' already", c.email, existing->organisation), false, true);
    Statement s(c_, "INSERT INTO contacts(email, name, org_id, visibility) VALUES (?,?,?,?)", "add contact");
    s.bind(1, c.email).bind(2, c.name).bind(3, org->id).bind(4, c.visibility.empty() ? std::string("inherit") : c.visibility);
    s.run();
  }

  void update_contact(const Contact& c) override {
    auto org = organisation(c.organisation);
    if (!org) throw StoreError(fmt::format("no organisation '{}'", c.organisation), false, true);
    Statement s(c_, "UPDATE contacts SET name = ?, org_id = ?, visibility = ? WHERE email = ?", "update contact");
    s.bind(1, c.name).bind(2, org->id).bind(3, c.visibility.empty() ? std::string("inherit") : c.visibility);
    s.bind(4, c.email).run();
    if (sqlite3_changes(c_.get()) == 0) throw StoreError(fmt::format("no contact {}", c.email), false, true);
  }

  bool remove_contact(const std::string& email) override {
    Statement s(c_, "DELETE FROM contacts WHERE email = ?", "remove contact");
    s.bind(1, email).run();
    return sqlite3_changes(c_.get()) > 0;
  }

  std::optional<Contact> contact(const std::string& email) override {
    Statement s(c_, kContactSql + std::string(" WHERE c.email = ?"), "read contact");
    s.bind(1, email);
    if (!s.step()) return std::nullopt;
    return Contact{s.text(0), s.text(1), s.text(2), s.text(3)};
  }

  std::vector<Contact> contacts(const std::string& organisation) override {
    Statement s(c_, kContactSql + std::string(" WHERE ? = '' OR o.name = ? ORDER BY o.name, c.email"), "list contacts");
    s.bind(1, organisation).bind(2, organisation);
    std::vector<Contact> out;
    while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.text(3)});
    return out;
  }

  void add_agent(const Agent& a) override {
    if (agent(a.email)) throw StoreError(fmt::format("{} is an agent already", a.email), false, true);
    Statement s(c_, "INSERT INTO agents(email, name) VALUES (?,?)", "add agent");
    s.bind(1, a.email).bind(2, a.name).run();
  }

  bool remove_agent(const std::string& email) override {
    Statement s(c_, "DELETE FROM agents WHERE email = ?", "remove agent");
    s.bind(1, email).run();
    return sqlite3_changes(c_.get()) > 0;
  }

  std::optional<Agent> agent(const std::string& email) override {
    Statement s(c_, "SELECT email, name FROM agents WHERE email = ?", "read agent");
    s.bind(1, email);
    if (!s.step()) return std::nullopt;
    return Agent{s.text(0), s.text(1)};
  }

  std::vector<Agent> agents() override {
    Statement s(c_, "SELECT email, name FROM agents ORDER BY email", "list agents");
    std::vector<Agent> out;
    while (s.step()) out.push_back({s.text(0), s.text(1)});
    return out;
  }

  std::optional<std::int64_t> ticket_by_message_ids(const std::vector<std::string>& ids) override {
    Statement s(c_, "SELECT ticket_id FROM messages WHERE message_id = ? ORDER BY id DESC LIMIT 1",
                "thread by Message-ID");
    // References lists the oldest first; the latest parent is the best match.
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
      if (it->empty()) continue;
      s.reset();
      s.bind(1, *it);
      if (s.step()) return s.i64(0);
    }
    return std::nullopt;
  }

  std::int64_t add_message(const MessageRecord& m) override {
    Statement s(c_,
                "INSERT INTO messages(ticket_id, direction, raw_id, outbox_id, message_id, from_addr, from_name, "
                "to_addrs, cc_addrs, subject, date, body_text, new_text, automatic, created_at, internal) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                "store message");
    s.bind(1, m.ticket_id).bind(2, m.direction).bind(3, m.raw_id).bind(4, m.outbox_id).bind(5, m.message_id);
    s.bind(6, m.from_addr).bind(7, m.from_name).bind(8, join_lines(m.to)).bind(9, join_lines(m.cc));
    s.bind(10, m.subject).bind(11, m.date).bind(12, m.body_text).bind(13, m.new_text).bind(14, m.automatic);
    s.bind(15, m.created_at).bind(16, static_cast<std::int64_t>(m.internal)).run();
    std::int64_t id = sqlite3_last_insert_rowid(c_.get());
    if (m.attachments.empty()) return id;
    std::int64_t number = take_numbers(m.ticket_id, static_cast<std::int64_t>(m.attachments.size()));
    for (const auto& att : m.attachments) insert_attachment(id, m.ticket_id, number++, att);
    return id;
  }

  std::vector<MessageRecord> messages(std::int64_t ticket_id) override {
    Statement s(c_,
                "SELECT id, direction, raw_id, outbox_id, message_id, from_addr, from_name, to_addrs, cc_addrs, "
                "subject, date, body_text, new_text, automatic, created_at, internal FROM messages WHERE ticket_id = ? "
                "ORDER BY id",
                "read messages");
    s.bind(1, ticket_id);
    std::vector<MessageRecord> out;
    while (s.step()) {
      MessageRecord m;
      m.id = s.i64(0);
      m.ticket_id = ticket_id;
      m.direction = s.text(1);
      m.raw_id = s.opt_i64(2);
      m.outbox_id = s.opt_i64(3);
      m.message_id = s.text(4);
      m.from_addr = s.text(5);
      m.from_name = s.text(6);
      m.to = split_lines(s.text(7));
      m.cc = split_lines(s.text(8));
      m.subject = s.text(9);
      m.date = s.opt_i64(10);
      m.body_text = s.text(11);
      m.new_text = s.text(12);
      m.automatic = s.text(13);
      m.created_at = s.i64(14);
      m.internal = s.i64(15) != 0;
      out.push_back(std::move(m));
    }
    if (out.empty()) return out;
    // Two statements for the whole ticket, not two per message: the mailer reads a ticket's
    // messages for every mail it threads.
    std::map<std::int64_t, MessageRecord*> by_id;
    for (auto& m : out) by_id[m.id] = &m;
    {
      Statement a(c_, std::string(kAttachmentMetaSql) + ", a.message_id FROM attachments a WHERE a.ticket_id = ? ORDER BY a.number",
                  "read attachments");
      a.bind(1, ticket_id);
      while (a.step())
        if (auto it = by_id.find(a.i64(9)); it != by_id.end()) it->second->attachments.push_back(read_attachment(a, false));
    }
    // An "out" message lists what its outbox row carried, after any of its own, without repeats.
    Statement c(c_,
                std::string(kAttachmentMetaSql) +
                    ", om.id FROM messages om JOIN outbox_attachments oa ON oa.outbox_id = om.outbox_id "
                    "JOIN attachments a ON a.id = oa.attachment_id "
                    "WHERE om.ticket_id = ? AND om.direction = 'out' AND om.outbox_id IS NOT NULL ORDER BY om.id, oa.position",
                "read attachments of sent mail");
    c.bind(1, ticket_id);
    while (c.step()) {
      auto it = by_id.find(c.i64(9));
      if (it == by_id.end()) continue;
      auto& list = it->second->attachments;
      auto r = read_attachment(c, false);
      if (std::none_of(list.begin(), list.end(), [&](const AttachmentRecord& x) { return x.id == r.id; }))
        list.push_back(std::move(r));
    }
    return out;
  }

  void add_event(const Event& e) override {
    Statement s(c_, "INSERT INTO events(ticket_id, at, actor, kind, detail, internal) VALUES (?,?,?,?,?,?)",
                "record event");
    s.bind(1, e.ticket_id).bind(2, e.at).bind(3, e.actor).bind(4, e.kind).bind(5, e.detail);
    s.bind(6, static_cast<std::int64_t>(e.internal)).run();
  }

  std::vector<Event> events(std::int64_t ticket_id) override { return events(ticket_id, true); }

  std::vector<Event> events(std::int64_t ticket_id, bool include_internal) override {
    Statement s(c_,
                "SELECT at, actor, kind, detail, internal FROM events WHERE ticket_id = ? AND (? OR internal = 0) "
                "ORDER BY id",
                "read events");
    s.bind(1, ticket_id).bind(2, static_cast<std::int64_t>(include_internal));
    std::vector<Event> out;
    while (s.step()) out.push_back(Event{ticket_id, s.i64(0), s.text(1), s.text(2), s.text(3), s.i64(4) != 0});
    return out;
  }

  std::int64_t enqueue(const OutboxItem& o) override {
    Statement s(c_,
                "INSERT INTO outbox(ticket_id, kind, mail_from, recipients, message_id, bytes, next_attempt_at, "
                "created_at) VALUES (?,?,?,?,?,?,?,?)",
                "queue outgoing mail");
    s.bind(1, o.ticket_id).bind(2, o.kind).bind(3, o.mail_from).bind(4, join_lines(o.recipients));
    s.bind(5, o.message_id).bind_blob(6, o.bytes).bind(7, o.next_attempt_at).bind(8, o.created_at).run();
    std::int64_t id = sqlite3_last_insert_rowid(c_.get());
    Statement r(c_, "INSERT INTO outbox_recipients(outbox_id, address) VALUES (?, lower(?))", "queue outgoing mail");
    for (const auto& address : o.recipients) {
      r.bind(1, id).bind(2, address).run();
      r.reset();
    }
    if (!o.attachment_ids.empty()) {
      // Only the ticket's own attachments: a slip in the caller must not mail one customer's
      // file to another.
      Statement a(c_,
                  "INSERT INTO outbox_attachments(outbox_id, position, attachment_id) "
                  "SELECT ?, ?, id FROM attachments WHERE id = ? AND ticket_id IS ?",
                  "queue outgoing mail's attachments");
      std::int64_t position = 0;
      for (auto attachment : o.attachment_ids) {
        a.reset();
        a.bind(1, id).bind(2, position++).bind(3, attachment).bind(4, o.ticket_id).run();
        if (sqlite3_changes(c_.get()) == 0)
          throw StoreError(fmt::format("store: attachment {} is not one of ticket {}'s", attachment,
                                       o.ticket_id ? std::to_string(*o.ticket_id) : "(none)"),
                           false, true);
      }
    }
    queued_mail_ = true;
    return id;
  }

  std::int64_t count_sent_or_queued(const std::string& kind, const std::string& recipient, Time since) override {
    Statement s(c_,
                "SELECT count(*) FROM outbox_recipients r JOIN outbox o ON o.id = r.outbox_id "
                "WHERE o.kind = ? AND o.created_at >= ? AND o.status != 'failed' AND r.address = lower(?)",
                "count recent mail");
    s.bind(1, kind).bind(2, since).bind(3, recipient);
    s.step();
    return s.i64(0);
  }

  AckCounts count_acknowledgements(const std::string& address, Time since, std::int64_t max_rows) override {
    // The canonical address: lower case, without +detail; its domain; and all senders.
    std::string a = address;
    for (auto& ch : a) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto at = a.rfind('@');
    std::string local = at == std::string::npos ? a : a.substr(0, at), domain = at == std::string::npos ? "" : a.substr(at + 1);
    local = local.substr(0, local.find('+'));
    auto like_escape = [](const std::string& x) {
      std::string out;
      for (char ch : x) {
        if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
        out += ch;
      }
      return out;
    };
    // outbox_kind_created_status covers kind, time and status, so the rows' mail bytes are
    // never read here (they were: every mail's check read the hour's acknowledgements whole).
    // An acknowledgement has one recipient: a row of the join is one mail. Only the newest
    // `max_rows` of the hour are read: once that many exist the total cap is reached anyway,
    // so a flood costs each new mail a bounded scan, not one that grows with the flood.
    Statement s(c_,
                "SELECT count(*), coalesce(sum(address LIKE ? ESCAPE '\\'), 0), "
                "  coalesce(sum(address = ? OR address LIKE ? ESCAPE '\\'), 0) "
                "FROM (SELECT r.address FROM outbox o JOIN outbox_recipients r ON r.outbox_id = o.id "
                "      WHERE o.kind = 'acknowledgement' AND o.created_at >= ? AND o.status != 'failed' "
                "      ORDER BY o.created_at DESC LIMIT ?)",
                "count recent acknowledgements");
    s.bind(1, "%@" + like_escape(domain)).bind(2, local + "@" + domain).bind(3, like_escape(local) + "+%@" + like_escape(domain));
    s.bind(4, since).bind(5, max_rows);
    s.step();
    return AckCounts{s.i64(2), s.i64(1), s.i64(0)};
  }

  std::int64_t count_events(const std::string& kind, const std::string& detail, Time since) override {
    Statement s(c_, "SELECT count(*) FROM events WHERE kind = ? AND at >= ? AND (? = '' OR detail = ?)", "count events");
    s.bind(1, kind).bind(2, since).bind(3, detail).bind(4, detail);
    s.step();
    return s.i64(0);
  }

  std::optional<std::string> meta(const std::string& key) override {
    Statement s(c_, "SELECT value FROM meta WHERE key = ?", "read store fact");
    s.bind(1, key);
    if (!s.step()) return std::nullopt;
    return s.text(0);
  }

  // Declared for issue 13; implemented by the store's owner (stubs until then).
  // A contact's scope (visible_to) is a union of disjoint branches, each walking an index of
  // its own in the list's order and stopping at offset + limit, so a page of an
  // organisation's 10,000 tickets reads about 50 rows of each branch, not all of them
  // (docs/PERFORMANCE.md, "The web portal"); its count is the sum of the branches' counts.
  std::vector<Ticket> find_tickets(const TicketQuery& q) override {
    auto where = TicketFilter(q);
    const bool due = q.sort == TicketQuery::Sort::due;
    std::string order = due ? " ORDER BY (t.sla_next_due IS NULL), t.sla_next_due, t.id"
                            : " ORDER BY t.created_at DESC, t.id DESC";
    std::string sql = kTicketSql;
    std::vector<std::string> params;
    if (where.branches.empty()) {
      sql += where.sql();
      params = where.params;
    } else {
      std::string ids;
      for (const auto& b : where.branches) {
        ids += ids.empty() ? "" : " UNION ALL ";
        ids += "SELECT id FROM (SELECT t.id FROM tickets t" + where.sql(b.sql) + order + " LIMIT ?)";
        params.insert(params.end(), b.params.begin(), b.params.end());
        params.insert(params.end(), where.params.begin(), where.params.end());
        params.push_back(q.limit > 0 ? std::to_string(std::int64_t{q.limit} + std::max(q.offset, 0)) : "-1");
      }
      sql += " WHERE t.id IN (" + ids + ")";
    }
    Statement s(c_, sql + order + " LIMIT ? OFFSET ?", "find tickets", Statement::Once{few_shapes(q)});
    int n = 0;
    for (const auto& p : params) s.bind(++n, p);
    s.bind(n + 1, q.limit > 0 ? q.limit : -1).bind(n + 2, std::max(q.offset, 0));
    return read_tickets(s);
  }

  std::int64_t count_tickets(const TicketQuery& q) override {
    // A count has no order: without Sort::due's unary plus, tickets_status counts the open
    // tickets from its entries (1 ms for 10,000) instead of the whole table (9 ms for 100,000).
    TicketQuery unordered = q;
    unordered.sort = TicketQuery::Sort::newest;
    auto where = TicketFilter(unordered);
    const std::int64_t cap = std::max<std::int64_t>(q.count_at_most, 0);
    // One count of the tickets a WHERE selects; with a cap, of at most `cap` of them.
    auto counted = [&](const std::string& where_sql, std::vector<std::string>& params) {
      if (cap == 0) return "(SELECT count(*) FROM tickets t" + where_sql + ")";
      params.push_back(std::to_string(cap));
      return "(SELECT count(*) FROM (SELECT 1 FROM tickets t" + where_sql + " LIMIT ?))";
    };
    std::string sql;
    std::vector<std::string> params;
    if (where.branches.empty()) {
      params = where.params;
      sql = "SELECT " + counted(where.sql(), params);
    } else {
      // The branches are disjoint: their counts add up (each capped, so the sum is too).
      for (const auto& b : where.branches) {
        params.insert(params.end(), b.params.begin(), b.params.end());
        params.insert(params.end(), where.params.begin(), where.params.end());
        sql += (sql.empty() ? "SELECT " : " + ") + counted(where.sql(b.sql), params);
      }
    }
    Statement s(c_, sql, "count tickets", Statement::Once{few_shapes(q)});
    int n = 0;
    for (const auto& p : params) s.bind(++n, p);
    s.step();
    return cap == 0 ? s.i64(0) : std::min(s.i64(0), cap);
  }

  // internal: its message is internal, and no customer-visible "out" message's outbox row
  // carried it (an agent's attachment becomes the customer's once it was mailed to them;
  // agents' notifications are no messages of the thread, so they do not count).
  std::vector<AttachmentInfo> attachments(std::int64_t ticket_id) override {
    Statement s(c_,
                "SELECT a.id, a.number, a.message_id, a.filename, a.content_type, a.content_id, a.is_inline, a.size, a.kept, "
                "  m.internal AND NOT EXISTS (SELECT 1 FROM outbox_attachments oa JOIN messages om ON om.outbox_id = oa.outbox_id "
                "    WHERE oa.attachment_id = a.id AND om.direction = 'out' AND om.internal = 0), m.created_at "
                "FROM attachments a JOIN messages m ON m.id = a.message_id WHERE a.ticket_id = ? ORDER BY a.number",
                "list attachments");
    s.bind(1, ticket_id);
    std::vector<AttachmentInfo> out;
    while (s.step()) {
      AttachmentInfo a;
      a.id = s.i64(0);
      a.number = s.i64(1);
      a.message_id = s.i64(2);
      a.filename = s.text(3);
      a.content_type = s.text(4);
      a.content_id = s.text(5);
      a.is_inline = s.i64(6) != 0;
      a.size = s.i64(7);
      a.kept = s.i64(8) != 0;
      a.internal = s.i64(9) != 0;
      a.created_at = s.i64(10);
      out.push_back(std::move(a));
    }
    return out;
  }

  std::optional<AttachmentRecord> attachment(std::int64_t ticket_id, std::int64_t number) override {
    Statement s(c_, std::string(kAttachmentDataSql) + " FROM attachments a WHERE a.ticket_id = ? AND a.number = ?",
                "read attachment");
    s.bind(1, ticket_id).bind(2, number);
    if (!s.step()) return std::nullopt;
    return read_attachment(s, true);
  }

  std::optional<AttachmentRecord> attachment_by_id(std::int64_t id) override {
    Statement s(c_, std::string(kAttachmentDataSql) + " FROM attachments a WHERE a.id = ?", "read attachment");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_attachment(s, true);
  }

  std::vector<CcEntry> cc_entries(std::int64_t ticket_id) override {
    Statement s(c_, "SELECT address, added_by, at, removed FROM ticket_cc WHERE ticket_id = ? ORDER BY id", "read Cc list");
    s.bind(1, ticket_id);
    std::vector<CcEntry> out;
    while (s.step()) out.push_back(CcEntry{s.text(0), s.text(1), s.i64(2), s.i64(3) != 0});
    return out;
  }

  // A removal of an address never on the list is recorded too, so it sticks when the
  // address turns up in a Cc later.
  bool set_cc(std::int64_t ticket_id, const CcEntry& e, bool force) override {
    std::string address = lower(e.address);
    Statement find(c_, "SELECT removed FROM ticket_cc WHERE ticket_id = ? AND address = ?", "read Cc entry");
    find.bind(1, ticket_id).bind(2, address);
    std::optional<bool> removed;
    if (find.step()) removed = find.i64(0) != 0;
    if (removed == e.removed) return false;
    if (removed && *removed && !force) return false;
    Statement s(c_,
                "INSERT INTO ticket_cc(ticket_id, address, added_by, at, removed) VALUES (?,?,?,?,?) "
                "ON CONFLICT(ticket_id, address) DO UPDATE SET added_by = excluded.added_by, at = excluded.at, "
                "removed = excluded.removed",
                "write Cc entry");
    s.bind(1, ticket_id).bind(2, address).bind(3, e.added_by).bind(4, e.at).bind(5, static_cast<std::int64_t>(e.removed)).run();
    return true;
  }

  // outbox_recipients stays as queued: the rate limits count a mail for everyone it was meant
  // for, and those who took it did get it.
  void set_recipients(std::int64_t id, const std::vector<std::string>& recipients) override {
    Statement s(c_, "UPDATE outbox SET recipients = ? WHERE id = ?", "set outgoing mail's recipients");
    s.bind(1, join_lines(recipients)).bind(2, id).run();
  }

  std::vector<OutboxItem> due_outbox(Time now, int limit) override {
    Statement s(c_, kOutboxSql + std::string(" WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"),
                "read due outbox");
    s.bind(1, now).bind(2, limit);
    std::vector<OutboxItem> out;
    while (s.step()) out.push_back(read_outbox(s));
    Statement a(c_, "SELECT attachment_id FROM outbox_attachments WHERE outbox_id = ? ORDER BY position",
                "read outgoing mail's attachments");
    for (auto& o : out) {
      a.reset();
      a.bind(1, o.id);
      while (a.step()) o.attachment_ids.push_back(a.i64(0));
    }
    return out;
  }

  std::optional<Time> next_outbox_attempt() override {
    Statement s(c_, "SELECT min(next_attempt_at) FROM outbox WHERE status = 'pending'", "read outbox schedule");
    s.step();
    return s.opt_i64(0);
  }

  void mark_sent(std::int64_t id, Time at) override {
    Statement s(c_,
                "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = '', "
                "bytes = CASE WHEN kind = 'login-link' THEN x'' ELSE bytes END WHERE id = ?",
                "mark mail sent");
    s.bind(1, at).bind(2, id).run();
  }

  void mark_retry(std::int64_t id, Time next, const std::string& error) override {
    Statement s(c_,
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                "schedule mail retry");
    s.bind(1, next).bind(2, error).bind(3, id).run();
  }

  void mark_failed(std::int64_t id, const std::string& error) override {
    // A login link's mail holds a sign-in URL (a credential): once delivered or given up,
    // its bytes are blanked; the row stays for the counts and the listing.
    Statement s(c_,
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, "
                "bytes = CASE WHEN kind = 'login-link' THEN x'' ELSE bytes END WHERE id = ?",
                "mark mail failed");
    s.bind(1, error).bind(2, id).run();
  }

  // Portal: each "once" is a single conditional UPDATE/INSERT, so of two racing portals
  // (each in its own write transaction, one after the other) only the first changes a row.
  void add_login_token(const std::string& token_hash, const std::string& email, Time created_at,
                       Time expires_at) override {
    Statement s(c_,
                "INSERT INTO portal_login_tokens(token_hash, email, created_at, expires_at) VALUES (?, lower(?), ?, ?)",
                "store login link");
    s.bind(1, token_hash).bind(2, email).bind(3, created_at).bind(4, expires_at).run();
  }

  std::optional<std::string> use_login_token(const std::string& token_hash, Time now) override {
    Statement s(c_,
                "UPDATE portal_login_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND ? < expires_at "
                "RETURNING email",
                "use login link");
    s.bind(1, now).bind(2, token_hash).bind(3, now);
    if (!s.step()) return std::nullopt;
    std::string email = s.text(0);
    s.run();
    return email;
  }

  void add_session(const std::string& session_hash, const PortalSession& p) override {
    Statement s(c_,
                "INSERT INTO portal_sessions(session_hash, email, role, csrf, created_at, last_seen_at) "
                "VALUES (?, lower(?), ?, ?, ?, ?)",
                "store portal session");
    s.bind(1, session_hash).bind(2, p.email).bind(3, p.role).bind(4, p.csrf).bind(5, p.created_at);
    s.bind(6, p.last_seen_at).run();
  }

  std::optional<PortalSession> session(const std::string& session_hash) override {
    Statement s(c_,
                "SELECT email, role, csrf, created_at, last_seen_at FROM portal_sessions WHERE session_hash = ?",
                "read portal session");
    s.bind(1, session_hash);
    if (!s.step()) return std::nullopt;
    return PortalSession{s.text(0), s.text(1), s.text(2), s.i64(3), s.i64(4)};
  }

  void touch_session(const std::string& session_hash, Time now) override {
    Statement s(c_, "UPDATE portal_sessions SET last_seen_at = max(last_seen_at, ?) WHERE session_hash = ?",
                "touch portal session");
    s.bind(1, now).bind(2, session_hash).run();
  }

  bool remove_session(const std::string& session_hash) override {
    Statement s(c_, "DELETE FROM portal_sessions WHERE session_hash = ?", "end portal session");
    s.bind(1, session_hash).run();
    return sqlite3_changes(c_.get()) > 0;
  }

  std::int64_t remove_sessions_of(const std::string& email) override {
    Statement s(c_, "DELETE FROM portal_sessions WHERE email = lower(?)", "end portal sessions of an address");
    s.bind(1, email).run();
    return sqlite3_changes(c_.get());
  }

  std::int64_t count_sessions(Time seen_since) override {
    Statement s(c_, "SELECT count(*) FROM portal_sessions WHERE last_seen_at >= ?", "count portal sessions");
    s.bind(1, seen_since);
    s.step();
    return s.i64(0);
  }

  void forget_expired_portal(Time now, Time idle_before, Time created_before) override {
    constexpr Time kDay = 86400;
    {
      Statement s(c_, "DELETE FROM portal_login_tokens WHERE used_at IS NOT NULL OR expires_at <= ?",
                  "forget used login links");
      s.bind(1, now).run();
    }
    {
      Statement s(c_, "DELETE FROM portal_sessions WHERE last_seen_at < ? OR created_at < ?",
                  "forget expired portal sessions");
      s.bind(1, idle_before).bind(2, created_before).run();
    }
    {
      Statement s(c_, "DELETE FROM portal_rates WHERE window_start < ?", "forget old rate counters");
      s.bind(1, now - kDay).run();
    }
    Statement s(c_, "DELETE FROM portal_form_keys WHERE used_at < ?", "forget old form keys");
    s.bind(1, now - kDay).run();
  }

  std::int64_t count_rate(const std::string& key, Time window_start) override {
    Statement s(c_,
                "INSERT INTO portal_rates(key, window_start, count) VALUES (?, ?, 1) "
                "ON CONFLICT(key, window_start) DO UPDATE SET count = count + 1 RETURNING count",
                "count portal request");
    s.bind(1, key).bind(2, window_start);
    if (!s.step()) throw StoreError("store: count portal request: no count returned", false);
    std::int64_t n = s.i64(0);
    s.run();
    return n;
  }

  bool use_form_key(const std::string& key, Time now) override {
    Statement s(c_, "INSERT INTO portal_form_keys(key, used_at) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
                "use form key");
    s.bind(1, key).bind(2, now).run();
    return sqlite3_changes(c_.get()) > 0;
  }

 private:
  // The WHERE clause of a TicketQuery and its parameters, in order; a contact's scope
  // (visible_to) apart, as disjoint branches (organisation when visible, requester outside
  // it, Cc list outside both), each with its own parameters.
  // Whether the SQL of a ticket query is one of a few hundred texts, worth keeping prepared
  // (a list page prepared its two queries afresh for 15% of its time): the filters only add or
  // leave out their terms, the statuses are at most the vocabulary's. Each search word adds a
  // term of its own, so a search is prepared for its call.
  static Statement::Once few_shapes(const TicketQuery& q) { return Statement::Once{!q.search.empty()}; }

  struct TicketFilter {
    struct Branch {
      std::string sql;
      std::vector<std::string> params;
    };
    std::vector<std::string> terms;
    std::vector<std::string> params;
    std::vector<Branch> branches;

    // " WHERE ..." of the terms, with `branch` first when given; "" when there is nothing.
    std::string sql(const std::string& branch = "") const {
      std::string out;
      if (!branch.empty()) out = " WHERE " + branch;
      for (const auto& t : terms) out += (out.empty() ? " WHERE " : " AND ") + t;
      return out;
    }

    explicit TicketFilter(const TicketQuery& q) {
      if (!q.statuses.empty()) {
        std::string list;
        for (const auto& st : q.statuses) {
          list += list.empty() ? "?" : ",?";
          params.push_back(st);
        }
        // In due order the unary + keeps the planner off tickets_status (it would read every
        // open ticket and sort them): it walks a due-order index and stops at the page's end.
        terms.push_back(std::string(q.sort == TicketQuery::Sort::due ? "+t.status" : "t.status") + " IN (" + list + ")");
      }
      auto equal = [&](const char* column, const std::string& value) {
        if (value.empty()) return;
        terms.push_back(fmt::format("t.{} = ?", column));
        params.push_back(value);
      };
      equal("organisation", q.organisation);
      equal("assignee", lower(q.assignee));
      equal("requester", lower(q.requester));
      if (!q.visible_to.empty()) {
        const std::string me = lower(q.visible_to);
        const std::string& org = q.visible_organisation;
        const std::string cc = "t.id IN (SELECT ticket_id FROM ticket_cc WHERE address = ? AND removed = 0)";
        if (!org.empty()) {
          branches.push_back({"t.organisation = ?", {org}});
          branches.push_back({"t.requester = ? AND t.organisation IS NOT ?", {me, org}});
          branches.push_back({cc + " AND t.requester <> ? AND t.organisation IS NOT ?", {me, me, org}});
        } else {
          branches.push_back({"t.requester = ?", {me}});
          branches.push_back({cc + " AND t.requester <> ?", {me, me}});
        }
      }
      if (q.breaching)
        terms.push_back("t.status IN " + open_statuses() +
                        " AND EXISTS (SELECT 1 FROM sla_events e WHERE e.ticket_id = t.id AND e.kind = 'breach')");
      if (!q.search.empty()) {
        auto words = search_words(q.search);
        // Nothing searchable in it (only quotes, stars, dashes ...): it matches nothing,
        // rather than everything.
        if (words.empty()) terms.push_back("0");
        // Each word somewhere in the ticket: its subject or the body of one of its messages.
        for (auto& w : words) {
          terms.push_back(
              "t.id IN (SELECT m.ticket_id FROM message_search s JOIN messages m ON m.id = s.rowid "
              "WHERE message_search MATCH ? UNION SELECT rowid FROM subject_search WHERE subject_search MATCH ?)");
          params.push_back(w);
          params.push_back(std::move(w));
        }
      }
    }
  };

  // The words of a plain-text search as FTS5 strings: each in double quotes (a quote inside
  // doubled), so FTS5's operators (OR, NOT, NEAR, *, -, ^, :, parentheses) are mere
  // characters in it; the tokenizer then splits a string into words as it does the text.
  // A word without a letter or digit (word_char) would be an empty FTS5 string, which matches
  // nothing: it is left out, as FTS5 leaves out an empty string beside others.
  static std::vector<std::string> search_words(std::string_view text) {
    constexpr std::size_t kMaxWords = 64;  // each is a subquery; SQLite limits a query's depth
    std::vector<std::string> out;
    while (!text.empty()) {
      auto start = text.find_first_not_of(" \t\r\n\f\v");
      if (start == std::string_view::npos) break;
      text.remove_prefix(start);
      auto word = text.substr(0, text.find_first_of(" \t\r\n\f\v"));
      text.remove_prefix(word.size());
      bool has_word_char = false;
      for (std::size_t i = 0; i < word.size() && !has_word_char;) {
        auto ch = text_detail::decode_utf8(word, i);
        has_word_char = ch.len == 0 || word_char(ch.cp);  // a broken byte: kept, the tokenizer decides
        i += ch.len == 0 ? 1 : ch.len;
      }
      if (!has_word_char) continue;
      std::string quoted = "\"";
      for (char ch : word) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      out.push_back(quoted + "\"");
    }
    if (out.size() > kMaxWords)
      throw StoreError(fmt::format("store: a search of {} words; at most {} are taken", out.size(), kMaxWords), false, true);
    return out;
  }

  // Whether the FTS5 tokenizer (unicode61: letters, digits, private use) makes part of a word
  // of this character, approximately: ASCII letters and digits, and whatever non-ASCII is not
  // in the punctuation and symbol blocks below (dashes, quotes, arrows, emoji ...). A rare
  // miss (a superscript digit alone) makes a search match nothing, never something else.
  static bool word_char(char32_t cp) {
    if (cp < 0x80) return std::isalnum(static_cast<unsigned char>(cp)) != 0;
    if (cp <= 0xBF) return cp == 0xAA || cp == 0xB2 || cp == 0xB3 || cp == 0xB5 || cp == 0xB9 || cp == 0xBA || (cp >= 0xBC && cp <= 0xBE);
    if (cp == 0xD7 || cp == 0xF7) return false;
    static constexpr std::pair<char32_t, char32_t> kSeparators[] = {
        {0x2000, 0x206F}, {0x20A0, 0x20CF}, {0x2190, 0x23FF}, {0x2500, 0x2775}, {0x2794, 0x27BF},
        {0x2E00, 0x2E7F}, {0x3000, 0x3004}, {0x3008, 0x3020}, {0xFE00, 0xFE0F}, {0xFE10, 0xFE1F},
        {0xFE30, 0xFE6F}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF20}, {0xFF3B, 0xFF40}, {0xFF5B, 0xFF65},
        {0x1F000, 0x1FAFF}};
    for (auto [from, to] : kSeparators)
      if (cp >= from && cp <= to) return false;
    return true;
  }

  // Reserves `n` attachment numbers of the ticket; returns the first. Numbers are never given
  // twice, even after an attachment row went (replace_parsed).
  std::int64_t take_numbers(std::int64_t ticket_id, std::int64_t n) {
    Statement s(c_, "UPDATE tickets SET attachments_numbered = attachments_numbered + ? WHERE id = ? RETURNING attachments_numbered",
                "number attachments");
    s.bind(1, n).bind(2, ticket_id);
    if (!s.step()) throw StoreError(fmt::format("store: no ticket {}", ticket_id), false, true);
    std::int64_t last = s.i64(0);
    s.run();
    return last - n + 1;
  }

  void insert_attachment(std::int64_t message_id, std::int64_t ticket_id, std::int64_t number, const AttachmentRecord& att) {
    Statement a(c_,
                "INSERT INTO attachments(message_id, ticket_id, number, filename, content_type, size, data, content_id, "
                "is_inline, kept) VALUES (?,?,?,?,?,?,?,?,?,?)",
                "store attachment");
    a.bind(1, message_id).bind(2, ticket_id).bind(3, number).bind(4, att.filename).bind(5, att.content_type);
    a.bind(6, att.size).bind_blob(7, att.data).bind(8, att.content_id).bind(9, static_cast<std::int64_t>(att.is_inline));
    a.bind(10, static_cast<std::int64_t>(kept(att))).run();
  }

  // Only metadata was kept when a size limit dropped the bytes of a non-empty part.
  static bool kept(const AttachmentRecord& att) { return att.kept && (!att.data.empty() || att.size == 0); }

  // A mail parsed anew keeps the numbers (and rows) of its attachments found again: the same
  // name, type and size, in order. New ones get the ticket's next numbers. One no longer
  // found goes, unless an outbox row carried it (what was mailed stays listed).
  void replace_attachments(std::int64_t message_id, std::int64_t ticket_id, const std::vector<AttachmentRecord>& fresh) {
    struct Old {
      std::int64_t id;
      std::string filename, content_type;
      std::int64_t size;
      bool matched = false;
    };
    std::vector<Old> old;
    {
      Statement s(c_, "SELECT id, filename, content_type, size FROM attachments WHERE message_id = ? ORDER BY number",
                  "read old attachments");
      s.bind(1, message_id);
      while (s.step()) old.push_back(Old{s.i64(0), s.text(1), s.text(2), s.i64(3)});
    }
    std::vector<const AttachmentRecord*> added;
    for (const auto& att : fresh) {
      auto it = std::find_if(old.begin(), old.end(), [&](const Old& o) {
        return !o.matched && o.filename == att.filename && o.content_type == att.content_type && o.size == att.size;
      });
      if (it == old.end()) {
        added.push_back(&att);
        continue;
      }
      it->matched = true;
      Statement u(c_, "UPDATE attachments SET data = ?, content_id = ?, is_inline = ?, kept = ? WHERE id = ?",
                  "replace attachment");
      u.bind_blob(1, att.data).bind(2, att.content_id).bind(3, static_cast<std::int64_t>(att.is_inline));
      u.bind(4, static_cast<std::int64_t>(kept(att))).bind(5, it->id).run();
    }
    for (const auto& o : old) {
      if (o.matched) continue;
      Statement d(c_,
                  "DELETE FROM attachments WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM outbox_attachments WHERE attachment_id = ?1)",
                  "drop old attachment");
      d.bind(1, o.id).run();
    }
    if (added.empty()) return;
    std::int64_t number = take_numbers(ticket_id, static_cast<std::int64_t>(added.size()));
    for (const auto* att : added) insert_attachment(message_id, ticket_id, number++, *att);
  }

  static constexpr const char* kAttachmentColumns =
      "SELECT a.id, a.number, a.filename, a.content_type, a.size, a.content_id, a.is_inline, a.kept, ";
  static inline const std::string kAttachmentMetaSql = std::string(kAttachmentColumns) + "''";
  static inline const std::string kAttachmentDataSql = std::string(kAttachmentColumns) + "a.data";
  static AttachmentRecord read_attachment(const Statement& s, bool with_data) {
    AttachmentRecord r;
    r.id = s.i64(0);
    r.number = s.i64(1);
    r.filename = s.text(2);
    r.content_type = s.text(3);
    r.size = s.i64(4);
    r.content_id = s.text(5);
    r.is_inline = s.i64(6) != 0;
    r.kept = s.i64(7) != 0;
    if (with_data) r.data = s.text(8);
    return r;
  }

  static constexpr const char* kRawHitSql =
      "SELECT r.id, (SELECT m.ticket_id FROM messages m WHERE m.raw_id = r.id LIMIT 1) FROM raw_mails r";
  static constexpr const char* kTicketSql =
      "SELECT t.id, t.subject, t.status, t.requester, t.requester_name, t.priority, t.category, t.created_at, "
      "t.updated_at, (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id), t.sla, t.assignee, "
      "t.first_response_at, t.resolved_at, t.organisation, t.unverified, t.hypercare, t.time_spent_s, t.alert_key, "
      "t.repeat_count, t.refers_to, t.sla_next_due, t.resolution FROM tickets t";

  // The column name is one of a fixed set chosen by the caller above, never user input.
  void set_column(std::string_view column, std::int64_t id, const std::string& value, Time at) {
    Statement s(c_, fmt::format("UPDATE tickets SET {} = ?, updated_at = max(updated_at, ?) WHERE id = ?", column),
                "update ticket");
    s.bind(1, value).bind(2, at).bind(3, id).run();
  }
  static constexpr const char* kQuarantineSql =
      "SELECT r.id, r.received_at, r.message_id, r.problems, r.quarantined, "
      "(SELECT m.ticket_id FROM messages m WHERE m.raw_id = r.id LIMIT 1), r.bytes FROM raw_mails r";
  static QuarantinedMail read_quarantined(const Statement& s, bool with_bytes) {
    return QuarantinedMail{s.i64(0), s.i64(1), s.text(2), s.text(3), s.i64(4) != 0, s.opt_i64(5),
                           with_bytes ? s.text(6) : std::string()};
  }
  static constexpr const char* kOrgSql =
      "SELECT id, name, sla, language, hypercare_start, hypercare_weeks, "
      "(SELECT group_concat(domain, char(10)) FROM org_domains d WHERE d.org_id = organisations.id), "
      "hypercare_ended_at, visibility FROM organisations";
  static constexpr const char* kContactSql =
      "SELECT c.email, c.name, o.name, c.visibility FROM contacts c JOIN organisations o ON o.id = c.org_id";
  static Organisation read_org(const Statement& s) {
    Organisation o;
    o.id = s.i64(0);
    o.name = s.text(1);
    o.sla = s.text(2);
    o.language = s.text(3);
    o.hypercare_start = s.text(4);
    o.hypercare_weeks = s.i64(5);
    o.domains = split_lines(s.text(6));
    o.hypercare_ended_at = s.opt_i64(7);
    o.visibility = s.text(8);
    return o;
  }
  static constexpr const char* kOutboxSql =
      "SELECT id, ticket_id, kind, mail_from, recipients, message_id, bytes, status, attempts, next_attempt_at, "
      "last_error, created_at, sent_at FROM outbox";

  static std::optional<DuplicateHit> hit(Statement& s) {
    if (!s.step()) return std::nullopt;
    return DuplicateHit{s.i64(0), s.opt_i64(1)};
  }
  static std::vector<Ticket> read_tickets(Statement& s) {
    std::vector<Ticket> out;
    while (s.step()) out.push_back(read_ticket(s));
    return out;
  }
  static Ticket read_ticket(const Statement& s) {
    Ticket t;
    t.id = s.i64(0);
    t.subject = s.text(1);
    t.status = s.text(2);
    t.requester = s.text(3);
    t.requester_name = s.text(4);
    t.priority = s.text(5);
    t.category = s.text(6);
    t.created_at = s.i64(7);
    t.updated_at = s.i64(8);
    t.message_count = s.i64(9);
    t.sla = s.text(10);
    t.assignee = s.text(11);
    t.first_response_at = s.opt_i64(12);
    t.resolved_at = s.opt_i64(13);
    t.organisation = s.text(14);
    t.unverified = s.i64(15) != 0;
    t.hypercare = s.i64(16) != 0;
    t.time_spent_s = s.i64(17);
    t.alert_key = s.text(18);
    t.repeat_count = s.i64(19);
    t.refers_to = s.opt_i64(20);
    t.sla_next_due = s.opt_i64(21);
    t.resolution = s.text(22);
    return t;
  }
  static OutboxItem read_outbox(const Statement& s) {
    OutboxItem o;
    o.id = s.i64(0);
    o.ticket_id = s.opt_i64(1);
    o.kind = s.text(2);
    o.mail_from = s.text(3);
    o.recipients = split_lines(s.text(4));
    o.message_id = s.text(5);
    o.bytes = s.text(6);
    o.status = s.text(7);
    o.attempts = s.i64(8);
    o.next_attempt_at = s.i64(9);
    o.last_error = s.text(10);
    o.created_at = s.i64(11);
    if (!s.is_null(12)) o.sent_at = s.i64(12);
    return o;
  }

  Connection& c_;
  bool done_ = false;
  bool queued_mail_ = false;  // enqueue or retry_outbox ran: the commit wakes the outbox
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const StoreOptions& o) : c_(o) {
    enable_wal(o.busy_timeout_ms);
    c_.exec("PRAGMA synchronous = FULL", "set synchronous=FULL");
    c_.exec("PRAGMA foreign_keys = ON", "enable foreign keys");
    migrate();
  }

  std::unique_ptr<Transaction> begin(Mode mode) override { return std::make_unique<SqliteTransaction>(c_, mode); }

  tl::expected<std::unique_ptr<OutboxListener>, std::string> listen_for_outbox() override {
    return bind_wake_socket(c_.wake_path());
  }

  void backup(const std::string& path) override {
    // The copy is created here, 0600, before SQLite writes into it; a name that exists (a
    // symlink to somewhere else included) is refused, never followed or overwritten.
    if (!create_private(path)) {
      int err = errno;
      throw StoreError(fmt::format("store: backup to {} refused: {}", path,
                                   err == EEXIST ? "it exists (a symbolic link counts); give a new file name"
                                                 : std::strerror(err)),
                       false, err == EEXIST);
    }
    sqlite3* dest = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
    if (rc == SQLITE_OK) {
      sqlite3_backup* b = sqlite3_backup_init(dest, "main", c_.get(), "main");
      if (b) {
        // Copy in steps so a writer is held up for moments, not for the whole copy.
        do {
          rc = sqlite3_backup_step(b, 256);
          if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(20);
        } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
        sqlite3_backup_finish(b);
      }
      rc = sqlite3_errcode(dest);
    }
    std::string msg = dest ? sqlite3_errmsg(dest) : sqlite3_errstr(rc);
    sqlite3_close(dest);
    if (rc != SQLITE_OK && rc != SQLITE_DONE) {
      ::unlink(path.c_str());  // ours (created above): a half copy must not pass for a backup
      throw StoreError(fmt::format("store: backup to {} failed: {}", path, msg), is_transient(rc));
    }
  }

 private:
  // Switching a new database to WAL needs it to itself, and SQLite answers "locked" at once
  // (no busy handler) when another process opens it at the same moment, e.g. the daemon's
  // workers and an operator's command on a fresh store. A store already in WAL stays so.
  void enable_wal(int timeout_ms) {
    {
      Statement mode(c_, "PRAGMA journal_mode", "read journal mode");
      if (mode.step() && mode.text(0) == "wal") return;
    }
    for (int waited = 0;; waited += 20) {
      Statement s(c_, "PRAGMA journal_mode = WAL", "enable WAL");
      try {
        if (s.step() && s.text(0) == "wal") return;
        throw StoreError("store: enable WAL: the database refused WAL mode", false);
      } catch (const StoreError& e) {
        if (!e.transient || waited >= timeout_ms) throw;
      }
      sqlite3_sleep(20);
    }
  }

  void migrate() {
    SqliteTransaction tx(c_, Mode::write);
    std::int64_t version = 0;
    {
      Statement s(c_, "PRAGMA user_version", "read schema version");
      if (s.step()) version = s.i64(0);
    }
    if (version > kSchemaVersion)
      throw StoreError(fmt::format("store schema version {} is newer than this servicedesk ({}); upgrade servicedesk",
                                   version, kSchemaVersion),
                       false);
    if (version == kSchemaVersion) return;
    for (auto v = version; v < kSchemaVersion; ++v) c_.exec(kMigrations[v], fmt::format("migrate schema to version {}", v + 1));
    c_.exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion), "write schema version");
    tx.commit();
  }

  Connection c_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const StoreOptions& options) { return std::make_unique<SqliteStore>(options); }

}  // namespace sd::store
