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
#include "store/sql_transaction.h"
#include "store/store.h"
#include "store/table_rows.h"
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
// Each entry migrates from version i to i+1 (kSchemaVersion: store/sql_transaction.h).
using sql::kSchemaVersion;
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
    // 12: several daemons on one store (a PostgreSQL store; an SQLite store keeps the same
    // records for its one daemon). Leases (the mailbox's poller) with an epoch as fencing
    // token, the daemons' heartbeats, and outbox rows claimed by one daemon until a time.
    R"sql(
CREATE TABLE leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  epoch      INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE daemons (
  id           TEXT PRIMARY KEY,
  host         TEXT NOT NULL,
  pid          INTEGER NOT NULL,
  started_at   INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
);
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
)sql",
    // 13: the seeds' processes: major incidents, maintenance notices, estimates, keeping
    // customers informed (pg_store.cpp's kMigrations has the same in its dialect).
    R"sql(
-- 13 incidents (begin)
CREATE TABLE incidents (
  ticket_id   INTEGER PRIMARY KEY REFERENCES tickets(id),
  title       TEXT NOT NULL,
  declared_by TEXT NOT NULL,
  declared_at INTEGER NOT NULL,
  all_orgs    INTEGER NOT NULL DEFAULT 0,
  root_cause  TEXT NOT NULL DEFAULT '',
  follow_up   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incidents_declared ON incidents(declared_at);
CREATE TABLE incident_orgs (
  incident_id  INTEGER NOT NULL REFERENCES incidents(ticket_id),
  organisation TEXT NOT NULL,
  PRIMARY KEY (incident_id, organisation)
) WITHOUT ROWID;
CREATE TABLE incident_alert_keys (
  incident_id INTEGER NOT NULL REFERENCES incidents(ticket_id),
  alert_key   TEXT NOT NULL,
  PRIMARY KEY (incident_id, alert_key)
) WITHOUT ROWID;
CREATE INDEX incident_alert_keys_key ON incident_alert_keys(alert_key);
CREATE TABLE incident_links (
  ticket_id   INTEGER PRIMARY KEY REFERENCES tickets(id),
  incident_id INTEGER NOT NULL REFERENCES incidents(ticket_id),
  linked_by   TEXT NOT NULL,
  linked_at   INTEGER NOT NULL,
  how         TEXT NOT NULL,
  unlinked_by TEXT NOT NULL DEFAULT '',
  unlinked_at INTEGER
);
CREATE INDEX incident_links_incident ON incident_links(incident_id, linked_at);
-- 13 incidents (end)

-- 13 notices (begin)
-- Maintenance notices (desk/notices.h): the window, whom it concerns (every organisation, or
-- those in notice_orgs), its texts, and each mail decided once per notice, recipient and
-- kind of mail (the key that makes a second run, or a second daemon, send nothing twice).
CREATE TABLE notices (
  id           INTEGER PRIMARY KEY,
  kind         TEXT NOT NULL,
  starts_at    INTEGER NOT NULL,
  ends_at      INTEGER NOT NULL,
  all_orgs     INTEGER NOT NULL,
  text         TEXT NOT NULL,
  text_sv      TEXT NOT NULL DEFAULT '',
  text_da      TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  created_by   TEXT NOT NULL DEFAULT '',
  cancelled_at INTEGER
);
CREATE INDEX notices_ends ON notices(ends_at);
CREATE TABLE notice_orgs (
  notice_id INTEGER NOT NULL REFERENCES notices(id),
  org_id    INTEGER NOT NULL REFERENCES organisations(id),
  PRIMARY KEY (notice_id, org_id)
);
CREATE TABLE notice_mails (
  notice_id    INTEGER NOT NULL REFERENCES notices(id),
  recipient    TEXT NOT NULL,
  what         TEXT NOT NULL CHECK (what IN ('notice','cancellation')),
  organisation TEXT NOT NULL,
  at           INTEGER NOT NULL,
  PRIMARY KEY (notice_id, recipient, what)
);
-- 13 notices (end)

-- 13 estimates (begin)
CREATE TABLE estimates (
  id            INTEGER PRIMARY KEY,
  ticket_id     INTEGER NOT NULL REFERENCES tickets(id),
  seconds       INTEGER NOT NULL,
  text          TEXT NOT NULL,
  agent         TEXT NOT NULL,
  requester     TEXT NOT NULL,
  organisation  TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  state         TEXT NOT NULL,
  answered_by   TEXT NOT NULL DEFAULT '',
  answered_at   INTEGER,
  answered_via  TEXT NOT NULL DEFAULT '',
  answer_detail TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX estimates_awaiting ON estimates(ticket_id) WHERE state = 'awaiting';
CREATE INDEX estimates_answered ON estimates(answered_at);
CREATE TABLE estimate_notices (
  estimate_id INTEGER NOT NULL REFERENCES estimates(id),
  kind        TEXT NOT NULL,
  at          INTEGER NOT NULL,
  PRIMARY KEY (estimate_id, kind)
);
CREATE TABLE allowance_notices (
  organisation TEXT NOT NULL,
  month        TEXT NOT NULL,
  ticket_id    INTEGER NOT NULL REFERENCES tickets(id),
  agent        TEXT NOT NULL,
  at           INTEGER NOT NULL,
  PRIMARY KEY (organisation, month)
);
-- 13 estimates (end)

-- 13 keep informed (begin)
CREATE TABLE org_account_agents (
  org_id INTEGER PRIMARY KEY REFERENCES organisations(id),
  agent  TEXT NOT NULL
);
CREATE TABLE org_events (
  id     INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES organisations(id),
  at     INTEGER NOT NULL,
  actor  TEXT NOT NULL,
  kind   TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX org_events_org ON org_events(org_id, at);
CREATE TABLE org_mailings (
  org_id  INTEGER NOT NULL REFERENCES organisations(id),
  mailing TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  PRIMARY KEY (org_id, mailing)
);
CREATE TABLE customer_words (
  ticket_id INTEGER PRIMARY KEY REFERENCES tickets(id),
  at        INTEGER NOT NULL,
  agent     TEXT NOT NULL,
  words     TEXT NOT NULL
);
CREATE INDEX tickets_organisation_resolved ON tickets(organisation, resolved_at);
-- 13 keep informed (end)

-- 13 performance (begin)
-- The acknowledgement caps' counts (sql_transaction.h count_acknowledgements), each on an
-- index of its own: every acknowledgement's recipients by canonical address (lower case,
-- without +detail) and domain, and whether the mail failed (then it no longer counts).
CREATE TABLE ack_recipients (
  id         INTEGER PRIMARY KEY,
  outbox_id  INTEGER NOT NULL REFERENCES outbox(id),
  created_at INTEGER NOT NULL,  -- the outbox row's
  mailbox    TEXT NOT NULL,     -- local@domain, without +detail; a recipient without '@' as it is
  domain     TEXT,              -- NULL: a recipient without '@'
  failed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ack_recipients_mailbox ON ack_recipients(mailbox, created_at) WHERE failed = 0;
CREATE INDEX ack_recipients_domain ON ack_recipients(domain, created_at) WHERE failed = 0;
CREATE INDEX ack_recipients_recent ON ack_recipients(created_at) WHERE failed = 0;
CREATE INDEX ack_recipients_outbox ON ack_recipients(outbox_id);
-- The part after the last '@' of an address: what rtrim() leaves of it up to that '@', replaced.
INSERT INTO ack_recipients(outbox_id, created_at, mailbox, domain, failed)
  SELECT outbox_id, created_at,
         CASE WHEN d IS NULL THEN address
              WHEN instr(local, '+') > 0 THEN substr(local, 1, instr(local, '+') - 1) || '@' || d
              ELSE local || '@' || d END,
         d, failed
  FROM (SELECT r.outbox_id, o.created_at, r.address, o.status = 'failed' AS failed, d,
               substr(r.address, 1, length(r.address) - length(d) - 1) AS local
        FROM (SELECT outbox_id, address,
                     CASE WHEN instr(address, '@') > 0
                          THEN replace(address, rtrim(address, replace(address, '@', '')), '') END AS d
              FROM outbox_recipients) AS r
        JOIN outbox o ON o.id = r.outbox_id
        WHERE o.kind = 'acknowledgement'
        ORDER BY r.outbox_id, r.address);
-- 13 performance (end)
SELECT 1;
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

// Returns whether this call created the file.
bool create_private(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

class Statement;

// The SQLite connection, and the SQLite dialect of the shared SQL (store/sql_transaction.h).
class Connection {
 public:
  using Statement = store::Statement;
  static constexpr const char* kNow = "CAST(strftime('%s', 'now') AS INTEGER)";
  // The unary + keeps SQLite's planner off tickets_status in due order (it would read every
  // open ticket and sort them) so it walks a due-order index and stops at the page's end.
  static constexpr const char* kOffIndex = "+";
  static constexpr const char* kSkipLocked = "";  // one writer at a time: nothing to skip
  static constexpr const char* kEmptyBytes = "x''";
  static constexpr const char* kDomainList =
      "SELECT group_concat(domain, char(10)) FROM org_domains d WHERE d.org_id = organisations.id";
  static constexpr const char* kSlaEventOrder = "rowid";
  static constexpr const char* kSearchTerm =
      "t.id IN (SELECT m.ticket_id FROM message_search s JOIN messages m ON m.id = s.rowid "
      "WHERE message_search MATCH ? UNION SELECT rowid FROM subject_search WHERE subject_search MATCH ?)";
  // A word as an FTS5 string: in double quotes (a quote inside doubled), so FTS5's operators
  // (OR, NOT, NEAR, *, -, ^, :, parentheses) are mere characters in it; the tokenizer then
  // splits it into words as it does the text.
  static std::string search_param(const std::string& word) {
    std::string quoted = "\"";
    for (char ch : word) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return quoted + "\"";
  }
  // FTS5's triggers index bodies and subjects from their own columns: no search column here
  // (PostgreSQL's, pg_store.cpp, is given the text folded by the daemon).
  static constexpr const char* kBodySearchColumn = "";
  static constexpr const char* kSubjectSearchColumn = "";
  static constexpr const char* kSearchValue = "";
  static constexpr const char* kSearchSet = "";
  static constexpr bool kSearchColumns = false;
  static std::string search_text(std::string_view) { return {}; }

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

  // BEGIN IMMEDIATE: a writer takes the write lock at once (waiting up to the busy timeout)
  // instead of failing half-way. The wake-up goes after COMMIT returned: the listener must
  // find the mail when it looks.
  void begin(Store::Mode mode) { exec(mode == Store::Mode::write ? "BEGIN IMMEDIATE" : "BEGIN", "begin transaction"); }
  void commit(bool queued_mail) {
    exec("COMMIT", "commit");
    if (queued_mail) wake_->send();
  }
  void rollback() noexcept { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

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
  Statement(Connection& c, std::string_view text, std::string_view what, sql::Once o) : c_(c), what_(what) {
    if (o.once) c.prepare_once(text, what, st_);
    else cached_ = c.prepare(text, what, st_);
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
  // A write whose result nobody reads (sql_transaction.h): run now, SQLite being in-process.
  void run_later() { run(); }
  // Makes the statement ready to run again; bindings are replaced by the next bind().
  void reset() { sqlite3_reset(st_); }
  std::int64_t changes() const { return sqlite3_changes(c_.get()); }

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

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const StoreOptions& o) : c_(o) {
    enable_wal(o.busy_timeout_ms);
    c_.exec("PRAGMA synchronous = FULL", "set synchronous=FULL");
    c_.exec("PRAGMA foreign_keys = ON", "enable foreign keys");
    migrate();
  }

  std::unique_ptr<Transaction> begin(Mode mode) override {
    return std::make_unique<sql::SqlTransaction<Connection>>(c_, mode, fence_);
  }
  void set_fence(std::optional<Fence> fence) override { fence_ = std::move(fence); }
  std::string backend() const override { return "sqlite"; }
  bool shared() const override { return false; }
  // store copy's rows (store/table_rows.h), on this store's connection.
  std::unique_ptr<rows::TableAccess> table_access() {
    return std::make_unique<rows::SqlTableAccess<Connection, rows::SqliteDialect>>(c_);
  }

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
    sql::SqlTransaction<Connection> tx(c_, Mode::write, fence_);
    std::int64_t version = 0;
    {
      Statement s(c_, "PRAGMA user_version", "read schema version");
      if (s.step()) version = s.i64(0);
    }
    sql::refuse_newer_schema(version);
    if (version == kSchemaVersion) return;
    for (auto v = version; v < kSchemaVersion; ++v) c_.exec(kMigrations[v], fmt::format("migrate schema to version {}", v + 1));
    c_.exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion), "write schema version");
    tx.commit();
  }

  Connection c_;
  std::optional<Fence> fence_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const StoreOptions& options) { return std::make_unique<SqliteStore>(options); }

std::unique_ptr<rows::TableAccess> rows::sqlite_table_access(Store& s) {
  auto* mine = dynamic_cast<SqliteStore*>(&s);
  return mine ? mine->table_access() : nullptr;
}

}  // namespace sd::store
