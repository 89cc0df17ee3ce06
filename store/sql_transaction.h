// store/sql_transaction.h: the store's transaction (store.h) written once in the SQL that
// SQLite and PostgreSQL share, for either backend's connection (store/sqlite_store.cpp,
// store/pg_store.cpp). Internal to store/: no other folder includes it.
//
// Contract: `Db` is a backend's connection. It offers begin(mode), commit(queued_mail)
// (which wakes the outbox's listener: SQLite after COMMIT, PostgreSQL by a NOTIFY inside
// it), rollback(), and a `Statement` type: constructed from (Db&, sql, what) or with a
// `Once` for text built from input, bind(i, value) (1-based; `?`, or `?N` to use one value
// twice), bind_blob, step() (true while a row is there), run(), run_later() (a write whose
// rows and changes() nobody reads: PostgreSQL sends it without waiting, and a failure of it
// is thrown by the connection's next statement or commit), reset(), i64/opt_i64/
// is_null/text(col) (0-based), changes() (rows the last run changed). Where the two
// dialects differ the backend says how (Db::kNow, the database's clock in seconds; kOffIndex,
// a prefix that keeps a planner off an index; kSkipLocked; kEmptyBytes; kDomainList;
// kSlaEventOrder; kSearchTerm with search_param(); kBodySearchColumn, kSubjectSearchColumn
// and kSearchValue (kSearchSet in an UPDATE), with search_text() bound when kSearchColumns,
// for a backend that stores the searched words beside the text). Everything else is one SQL text for
// both: RETURNING ids, CASE instead of two-argument max(), IS DISTINCT FROM, aliased
// subqueries, integers for flags.
//
// Diagnostics: each statement names its purpose (`what`), which the backends put in their
// StoreErrors.
#pragma once

#include "core/text.h"
#include "core/vocabulary.h"
#include "store/sql_text.h"
#include "store/store.h"

// Estimates the customer approves (schema 13, section estimates).
#include "store/sql_estimates.h"
// Maintenance notices (schema 13, section notices).
#include "store/sql_notices.h"
#include "store/sql_incidents.h"
#include "store/sql_keep_informed.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sd::store::sql {

// The schema both backends migrate to (each in its dialect: sqlite_store.cpp, pg_store.cpp).
inline constexpr int kSchemaVersion = 13;

// A store of a newer schema than this binary's is refused rather than guessed at.
inline void refuse_newer_schema(std::int64_t version) {
  if (version > kSchemaVersion)
    throw StoreError(fmt::format("store schema version {} is newer than this servicedesk ({}); upgrade servicedesk",
                                 version, kSchemaVersion),
                     false);
}

// A statement whose text is built from the caller's input: prepared for this one call when
// `once`, so a backend's cache of prepared statements does not grow with every new shape of
// query; cached when the caller knows the shapes are few.
struct Once {
  bool once = true;
};


inline std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += '\n';
    out += s;
  }
  return out;
}

inline std::vector<std::string> split_lines(std::string_view s) {
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

template <class Db>
class SqlTransaction final : public Transaction {
  using Stmt = typename Db::Statement;

 public:
  SqlTransaction(Db& c, Store::Mode mode, const std::optional<Store::Fence>& fence) : c_(c), fence_(fence) {
    c_.begin(mode);
  }
  ~SqlTransaction() override {
    if (!done_) c_.rollback();
  }

  // The wake-up goes after COMMIT returned: the listener must find the mail when it looks.
  void commit() override {
    write_events();
    c_.commit(queued_mail_);
    done_ = true;
  }

  Estimates& estimates() override { return estimates_; }  // store/sql_estimates.h
  Incidents& incidents() override { return incidents_; }
  KeepInformed& keep_informed() override { return keep_informed_; }

  std::optional<MailboxState> mailbox(const std::string& name) override {
    Stmt s(c_, "SELECT uidvalidity, last_uid, last_poll_at, done_uid FROM mailboxes WHERE name = ?", "read mailbox");
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return MailboxState{name, s.i64(0), s.i64(1), s.opt_i64(2), s.i64(3)};
  }

  void set_mailbox(const MailboxState& m) override {
    check_fence();
    Stmt s(c_,
                "INSERT INTO mailboxes(name, uidvalidity, last_uid, last_poll_at, done_uid) VALUES (?,?,?,?,?) "
                "ON CONFLICT(name) DO UPDATE SET uidvalidity = excluded.uidvalidity, "
                "last_uid = excluded.last_uid, last_poll_at = excluded.last_poll_at, done_uid = excluded.done_uid",
                "write mailbox watermark");
    s.bind(1, m.name).bind(2, m.uidvalidity).bind(3, m.last_uid).bind(4, m.last_poll_at).bind(5, m.done_uid).run_later();
  }

  std::optional<InFlight> in_flight(const std::string& mailbox) override {
    Stmt s(c_, "SELECT uidvalidity, uids, deaths, run FROM in_flight WHERE mailbox = ?", "read mails in hand");
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
    check_fence();
    std::string uids;
    for (auto uid : f.uids) uids += (uids.empty() ? "" : ",") + std::to_string(uid);
    Stmt s(c_,
                "INSERT INTO in_flight(mailbox, uidvalidity, uids, deaths, run) VALUES (?,?,?,?,?) "
                "ON CONFLICT(mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, uids = excluded.uids, "
                "deaths = excluded.deaths, run = excluded.run",
                "record mails in hand");
    s.bind(1, f.mailbox).bind(2, f.uidvalidity).bind(3, uids).bind(4, f.deaths).bind(5, f.run).run();
  }

  std::optional<DuplicateHit> raw_at(const MailOrigin& o) override {
    Stmt s(c_, kRawHitSql + std::string(" WHERE r.mailbox = ? AND r.uidvalidity = ? AND r.uid = ?"),
                "look up mail by UID");
    s.bind(1, o.mailbox).bind(2, o.uidvalidity).bind(3, o.uid);
    return hit(s);
  }

  std::optional<DuplicateHit> raw_with(const std::string& message_id, const std::string& hash) override {
    Stmt s(c_, kRawHitSql + std::string(" WHERE r.message_id = ? AND r.content_hash = ?"),
                "look up mail by content");
    s.bind(1, message_id).bind(2, hash);
    return hit(s);
  }

  bool has_raw_with_message_id(const std::string& message_id) override {
    Stmt s(c_, "SELECT 1 FROM raw_mails WHERE message_id = ? LIMIT 1", "look up mail by Message-ID");
    s.bind(1, message_id);
    return s.step();
  }

  RawLookup look_up_raw(const std::optional<MailOrigin>& o, const std::string& message_id) override {
    Stmt s(c_,
           "SELECT h.id, h.ticket_id, CASE WHEN EXISTS (SELECT 1 FROM raw_mails WHERE message_id = ?4) THEN 1 ELSE 0 END "
           "FROM (SELECT 1 AS one) AS x LEFT JOIN (SELECT r.id AS id, (SELECT m.ticket_id FROM messages m WHERE "
           "m.raw_id = r.id LIMIT 1) AS ticket_id FROM raw_mails r WHERE r.mailbox = ?1 AND r.uidvalidity = ?2 AND "
           "r.uid = ?3) AS h ON 1 = 1",
           "look up mail by UID and Message-ID");
    if (o) s.bind(1, o->mailbox).bind(2, o->uidvalidity).bind(3, o->uid);
    s.bind(4, message_id);
    s.step();
    RawLookup out;
    if (!s.is_null(0)) out.at = DuplicateHit{s.i64(0), s.opt_i64(1)};
    out.message_id_stored = s.i64(2) != 0;
    return out;
  }

  std::int64_t add_raw(const RawMail& r) override {
    Stmt s(c_,
                "INSERT INTO raw_mails(received_at, mailbox, uidvalidity, uid, message_id, content_hash, bytes, "
                "problems, quarantined) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
                "store raw mail");
    s.bind(1, r.received_at);
    if (r.origin) s.bind(2, r.origin->mailbox).bind(3, r.origin->uidvalidity).bind(4, r.origin->uid);
    s.bind(5, r.message_id).bind(6, r.content_hash).bind_blob(7, r.bytes).bind(8, r.problems);
    s.bind(9, r.quarantined ? 1 : 0);
    return inserted_id(s);
  }

  std::int64_t create_ticket(const NewTicket& t) override {
    Stmt s(c_,
                "INSERT INTO tickets(subject, requester, requester_name, created_at, updated_at, sla, priority, "
                "organisation, unverified, hypercare, category, assignee, alert_key, refers_to, sla_next_due" +
                    std::string(Db::kSubjectSearchColumn) + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?" + Db::kSearchValue +
                    ") RETURNING id",
                "create ticket");
    s.bind(1, t.subject).bind(2, t.requester).bind(3, t.requester_name).bind(4, t.created_at).bind(5, t.created_at);
    s.bind(6, t.sla).bind(7, t.priority).bind(8, t.organisation).bind(9, t.unverified ? 1 : 0);
    s.bind(10, t.hypercare ? 1 : 0).bind(11, t.category).bind(12, t.assignee).bind(13, t.alert_key).bind(14, t.refers_to);
    s.bind(15, t.sla_next_due);
    if constexpr (Db::kSearchColumns) s.bind(16, Db::search_text(t.subject));
    return inserted_id(s);
  }

  std::optional<Ticket> ticket(std::int64_t id) override {
    Stmt s(c_, kTicketSql + std::string(" WHERE t.id = ?"), "read ticket");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_ticket(s);
  }

  std::vector<Ticket> tickets() override {
    Stmt s(c_, kTicketSql + std::string(" ORDER BY t.created_at DESC, t.id DESC"), "list tickets");
    return read_tickets(s);
  }

  void touch_ticket(std::int64_t id, Time at) override {
    Stmt s(c_, "UPDATE tickets SET updated_at = CASE WHEN updated_at > ?1 THEN updated_at ELSE ?1 END WHERE id = ?2", "touch ticket");
    s.bind(1, at).bind(2, id).run_later();
  }

  std::vector<Ticket> open_tickets() override {
    Stmt s(c_, kTicketSql + std::string(" WHERE t.status IN " + open_statuses() + " ORDER BY t.id"),
                "list open tickets");
    return read_tickets(s);
  }

  // The tickets with a due time walked in due order on tickets_sla_next_due, then those
  // without by id, both bounded by `limit`: no sort of all open tickets. The unary + keeps
  // the planner off tickets_status, which it would otherwise pick (and then sort).
  std::vector<Ticket> open_tickets_by_sla_due(int limit) override {
    std::vector<Ticket> out;
    {
      Stmt s(c_,
                  kTicketSql + std::string(" WHERE t.sla_next_due IS NOT NULL AND " + std::string(Db::kOffIndex) + "t.status IN " + open_statuses() + " "
                                           "ORDER BY t.sla_next_due, t.id LIMIT ?"),
                  "list open tickets by SLA due time");
      s.bind(1, limit);
      out = read_tickets(s);
    }
    if (static_cast<int>(out.size()) >= limit) return out;
    Stmt s(c_,
                kTicketSql + std::string(" WHERE t.sla_next_due IS NULL AND t.status IN " + open_statuses() + " "
                                         "ORDER BY t.id LIMIT ?"),
                "list open tickets without SLA due time");
    s.bind(1, limit - static_cast<int>(out.size()));
    for (auto& t : read_tickets(s)) out.push_back(std::move(t));
    return out;
  }

  void write_status(std::int64_t id, const std::string& status, Time at) override {
    Stmt s(c_, "UPDATE tickets SET status = ?1, updated_at = CASE WHEN updated_at > ?2 THEN updated_at ELSE ?2 END WHERE id = ?3", "write ticket status");
    s.bind(1, status).bind(2, at).bind(3, id).run();
    if (s.changes() == 0) throw StoreError(fmt::format("store: no ticket {}", id), false, true);
  }

  bool start_pause(std::int64_t id, Time at) override {
    Stmt s(c_,
                "INSERT INTO pauses(ticket_id, from_at) SELECT CAST(?1 AS BIGINT), CAST(?2 AS BIGINT) "
                "WHERE NOT EXISTS (SELECT 1 FROM pauses WHERE ticket_id = ?1 AND to_at IS NULL)",
                "start pause");
    s.bind(1, id).bind(2, at).run();
    return s.changes() > 0;
  }

  bool end_pause(std::int64_t id, Time at) override {
    Stmt s(c_, "UPDATE pauses SET to_at = ? WHERE ticket_id = ? AND to_at IS NULL", "end pause");
    s.bind(1, at).bind(2, id).run();
    return s.changes() > 0;
  }

  void set_resolved_at(std::int64_t id, std::optional<Time> at) override {
    Stmt s(c_, "UPDATE tickets SET resolved_at = ? WHERE id = ?", "set resolution time");
    s.bind(1, at).bind(2, id).run();
  }

  void set_resolution(std::int64_t id, const std::string& text) override {
    Stmt s(c_, "UPDATE tickets SET resolution = ? WHERE id = ?", "set resolution");
    s.bind(1, text).bind(2, id).run();
  }

  void set_sla_next_due(std::int64_t id, std::optional<Time> at) override {
    Stmt s(c_, "UPDATE tickets SET sla_next_due = ? WHERE id = ?", "set next SLA due time");
    s.bind(1, at).bind(2, id).run_later();
  }

  void set_priority(std::int64_t id, const std::string& v, Time at) override { set_column("priority", id, v, at); }
  void set_category(std::int64_t id, const std::string& v, Time at) override { set_column("category", id, v, at); }
  void set_assignee(std::int64_t id, const std::string& v, Time at) override { set_column("assignee", id, v, at); }
  void set_sla(std::int64_t id, const std::string& v, Time at) override { set_column("sla", id, v, at); }

  void set_first_response(std::int64_t id, Time at) override {
    Stmt s(c_, "UPDATE tickets SET first_response_at = coalesce(first_response_at, ?) WHERE id = ?",
                "record first response");
    s.bind(1, at).bind(2, id).run();
  }

  std::vector<PausePeriod> pauses(std::int64_t ticket_id) override {
    Stmt s(c_, "SELECT from_at, to_at FROM pauses WHERE ticket_id = ? ORDER BY id", "read pauses");
    s.bind(1, ticket_id);
    std::vector<PausePeriod> out;
    while (s.step()) out.push_back({s.i64(0), s.opt_i64(1)});
    return out;
  }

  bool record_sla_event(const SlaEvent& e) override {
    Stmt s(c_,
                "INSERT INTO sla_events(ticket_id, target, kind, due, fired_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT DO NOTHING",
                "record SLA event");
    s.bind(1, e.ticket_id).bind(2, e.target).bind(3, e.kind).bind(4, e.due).bind(5, e.fired_at).run();
    return s.changes() > 0;
  }

  std::vector<SlaEvent> sla_events(std::int64_t ticket_id) override {
    Stmt s(c_, "SELECT target, kind, due, fired_at FROM sla_events WHERE ticket_id = ? ORDER BY fired_at, " + std::string(Db::kSlaEventOrder),
                "read SLA events");
    s.bind(1, ticket_id);
    std::vector<SlaEvent> out;
    while (s.step()) out.push_back({ticket_id, s.text(0), s.text(1), s.i64(2), s.i64(3)});
    return out;
  }

  std::vector<OutboxItem> outbox(const std::string& status) override {
    Stmt s(c_,
                "SELECT id, ticket_id, kind, mail_from, recipients, message_id, '', status, attempts, next_attempt_at, "
                "last_error, created_at, sent_at FROM outbox WHERE status = ? ORDER BY id DESC LIMIT 1000",
                "list outbox");
    s.bind(1, status);
    std::vector<OutboxItem> out;
    while (s.step()) out.push_back(read_outbox(s));
    return out;
  }

  bool retry_outbox(std::int64_t id, Time at) override {
    Stmt s(c_,
                "UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = '' WHERE id = ? AND "
                "status != 'sent'",
                "retry outgoing mail");
    s.bind(1, at).bind(2, id).run();
    bool changed = s.changes() > 0;
    queued_mail_ = queued_mail_ || changed;
    if (changed) {
      Stmt a(c_, "UPDATE ack_recipients SET failed = 0 WHERE outbox_id = ? AND failed != 0", "retry outgoing mail");
      a.bind(1, id).run();
    }
    return changed;
  }

  std::vector<QuarantinedMail> quarantined_mails() override {
    Stmt s(c_, std::string(kQuarantineSql) + " WHERE r.problems != '' OR r.quarantined != 0 ORDER BY r.id DESC LIMIT 1000",
                "list quarantined mails");
    std::vector<QuarantinedMail> out;
    while (s.step()) out.push_back(read_quarantined(s, false));
    return out;
  }

  std::optional<QuarantinedMail> quarantined_mail(std::int64_t raw_id) override {
    Stmt s(c_, std::string(kQuarantineSql) + " WHERE r.id = ?", "read quarantined mail");
    s.bind(1, raw_id);
    if (!s.step()) return std::nullopt;
    return read_quarantined(s, true);
  }

  void set_raw_problems(std::int64_t raw_id, const std::string& problems, bool quarantined) override {
    Stmt r(c_, "UPDATE raw_mails SET problems = ?, quarantined = ? WHERE id = ?", "update raw mail");
    r.bind(1, problems).bind(2, quarantined ? 1 : 0).bind(3, raw_id).run();
  }

  void replace_parsed(std::int64_t raw_id, const MessageRecord& m, const std::string& problems) override {
    Stmt r(c_, "UPDATE raw_mails SET problems = ?, quarantined = 0 WHERE id = ?", "update raw mail");
    r.bind(1, problems).bind(2, raw_id).run();
    Stmt find(c_, "SELECT id, ticket_id FROM messages WHERE raw_id = ?", "find parsed message");
    find.bind(1, raw_id);
    if (!find.step()) return;
    std::int64_t id = find.i64(0), ticket_id = find.i64(1);
    Stmt u(c_,
                "UPDATE messages SET message_id = ?1, from_addr = ?2, from_name = ?3, to_addrs = ?4, cc_addrs = ?5, "
                "subject = ?6, date = ?7, body_text = ?8, new_text = ?9, automatic = ?10" +
                    std::string(Db::kSearchSet) + " WHERE id = ?11",
                "replace parsed message");
    u.bind(1, m.message_id).bind(2, m.from_addr).bind(3, m.from_name).bind(4, join_lines(m.to)).bind(5, join_lines(m.cc));
    u.bind(6, m.subject).bind(7, m.date).bind(8, m.body_text).bind(9, m.new_text).bind(10, m.automatic).bind(11, id);
    if constexpr (Db::kSearchColumns) u.bind(12, Db::search_text(m.body_text));
    u.run();
    replace_attachments(id, ticket_id, m.attachments);
  }

  std::optional<std::int64_t> open_ticket_with_alert(const std::string& requester, const std::string& key) override {
    Stmt s(c_,
                "SELECT id FROM tickets WHERE requester = ? AND alert_key = ? AND alert_key != '' AND "
                "status IN " + open_statuses() + " ORDER BY id DESC LIMIT 1",
                "find alert ticket");
    s.bind(1, requester).bind(2, key);
    if (!s.step()) return std::nullopt;
    return s.i64(0);
  }

  void count_repeat(std::int64_t id, Time at) override {
    Stmt s(c_, "UPDATE tickets SET repeat_count = repeat_count + 1, updated_at = CASE WHEN updated_at > ?1 THEN updated_at ELSE ?1 END WHERE id = ?2",
                "count alert repeat");
    s.bind(1, at).bind(2, id).run_later();
  }

  void add_time(const TimeEntry& e) override {
    Stmt s(c_, "INSERT INTO time_entries(ticket_id, at, agent, seconds) VALUES (?,?,?,?)", "record time spent");
    s.bind(1, e.ticket_id).bind(2, e.at).bind(3, e.agent).bind(4, e.seconds).run();
    Stmt u(c_, "UPDATE tickets SET time_spent_s = time_spent_s + ? WHERE id = ?", "add time spent");
    u.bind(1, e.seconds).bind(2, e.ticket_id).run();
  }

  std::vector<TimeEntry> time_entries(Time from, Time to) override {
    Stmt s(c_,
                "SELECT e.ticket_id, e.at, e.agent, e.seconds, t.organisation, t.category FROM time_entries e "
                "JOIN tickets t ON t.id = e.ticket_id WHERE e.at >= ? AND e.at < ? ORDER BY e.at, e.id",
                "read time spent");
    s.bind(1, from).bind(2, to);
    std::vector<TimeEntry> out;
    while (s.step()) out.push_back({s.i64(0), s.i64(1), s.text(2), s.i64(3), s.text(4), s.text(5)});
    return out;
  }

  std::vector<Ticket> tickets_created(Time from, Time to) override {
    Stmt s(c_, kTicketSql + std::string(" WHERE t.created_at >= ? AND t.created_at < ? ORDER BY t.created_at, t.id"),
                "list tickets by creation");
    s.bind(1, from).bind(2, to);
    return read_tickets(s);
  }

  std::vector<Ticket> resolved_before(Time before) override {
    Stmt s(c_, kTicketSql + std::string(" WHERE t.status = 'resolved' AND t.resolved_at < ? ORDER BY t.id"),
                "list resolved tickets");
    s.bind(1, before);
    return read_tickets(s);
  }

  std::int64_t add_organisation(const Organisation& o) override {
    if (organisation(o.name)) throw StoreError(fmt::format("organisation '{}' exists already", o.name), false, true);
    Stmt s(c_,
                "INSERT INTO organisations(name, sla, language, hypercare_start, hypercare_weeks, visibility) "
                "VALUES (?,?,?,?,?,?) RETURNING id",
                "add organisation");
    s.bind(1, o.name).bind(2, o.sla).bind(3, o.language).bind(4, o.hypercare_start).bind(5, o.hypercare_weeks);
    s.bind(6, o.visibility.empty() ? std::string("organisation") : o.visibility);
    std::int64_t id = inserted_id(s);
    Stmt d(c_, "INSERT INTO org_domains(domain, org_id) VALUES (?,?)", "add organisation domain");
    for (const auto& dom : o.domains) {
      if (auto other = organisation_of_domain(dom))
        throw StoreError(fmt::format("domain {} belongs to organisation '{}' already", dom, *other), false, true);
      d.reset();
      d.bind(1, dom).bind(2, id).run();
    }
    return id;
  }

  void update_organisation(const Organisation& o) override {
    Stmt s(c_,
                "UPDATE organisations SET sla = ?, language = ?, hypercare_start = ?, hypercare_weeks = ?, "
                "hypercare_ended_at = ?, visibility = ? WHERE name = ?",
                "update organisation");
    s.bind(1, o.sla).bind(2, o.language).bind(3, o.hypercare_start).bind(4, o.hypercare_weeks);
    s.bind(5, o.hypercare_ended_at).bind(6, o.visibility.empty() ? std::string("organisation") : o.visibility);
    s.bind(7, o.name).run();
  }

  std::optional<Organisation> organisation(const std::string& name) override {
    Stmt s(c_, kOrgSql + std::string(" WHERE name = ?"), "read organisation");
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return read_org(s);
  }

  std::vector<Organisation> organisations() override {
    Stmt s(c_, kOrgSql + std::string(" ORDER BY name"), "list organisations");
    std::vector<Organisation> out;
    while (s.step()) out.push_back(read_org(s));
    return out;
  }

  std::vector<std::string> organisation_names() override {
    Stmt s(c_, "SELECT name FROM organisations ORDER BY name", "list organisation names");
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
  }

  std::optional<std::string> organisation_of_domain(const std::string& domain) override {
    Stmt s(c_, "SELECT o.name FROM org_domains d JOIN organisations o ON o.id = d.org_id WHERE d.domain = ?",
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
    Stmt s(c_, "INSERT INTO contacts(email, name, org_id, visibility) VALUES (?,?,?,?)", "add contact");
    s.bind(1, c.email).bind(2, c.name).bind(3, org->id).bind(4, c.visibility.empty() ? std::string("inherit") : c.visibility);
    s.run();
  }

  void update_contact(const Contact& c) override {
    auto org = organisation(c.organisation);
    if (!org) throw StoreError(fmt::format("no organisation '{}'", c.organisation), false, true);
    Stmt s(c_, "UPDATE contacts SET name = ?, org_id = ?, visibility = ? WHERE email = ?", "update contact");
    s.bind(1, c.name).bind(2, org->id).bind(3, c.visibility.empty() ? std::string("inherit") : c.visibility);
    s.bind(4, c.email).run();
    if (s.changes() == 0) throw StoreError(fmt::format("no contact {}", c.email), false, true);
  }

  bool remove_contact(const std::string& email) override {
    Stmt s(c_, "DELETE FROM contacts WHERE email = ?", "remove contact");
    s.bind(1, email).run();
    return s.changes() > 0;
  }

  std::optional<Contact> contact(const std::string& email) override {
    Stmt s(c_, kContactSql + std::string(" WHERE c.email = ?"), "read contact");
    s.bind(1, email);
    if (!s.step()) return std::nullopt;
    return Contact{s.text(0), s.text(1), s.text(2), s.text(3)};
  }

  std::vector<Contact> contacts(const std::string& organisation) override {
    Stmt s(c_, kContactSql + std::string(" WHERE ? = '' OR o.name = ? ORDER BY o.name, c.email"), "list contacts");
    s.bind(1, organisation).bind(2, organisation);
    std::vector<Contact> out;
    while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.text(3)});
    return out;
  }

  void add_agent(const Agent& a) override {
    if (agent(a.email)) throw StoreError(fmt::format("{} is an agent already", a.email), false, true);
    Stmt s(c_, "INSERT INTO agents(email, name) VALUES (?,?)", "add agent");
    s.bind(1, a.email).bind(2, a.name).run();
  }

  bool remove_agent(const std::string& email) override {
    Stmt s(c_, "DELETE FROM agents WHERE email = ?", "remove agent");
    s.bind(1, email).run();
    return s.changes() > 0;
  }

  std::optional<Agent> agent(const std::string& email) override {
    Stmt s(c_, "SELECT email, name FROM agents WHERE email = ?", "read agent");
    s.bind(1, email);
    if (!s.step()) return std::nullopt;
    return Agent{s.text(0), s.text(1)};
  }

  SenderLookup look_up_sender(const std::string& email, const std::string& domain) override {
    Stmt s(c_,
           "SELECT a.email, a.name, c.email, c.name, o.name, c.visibility, (SELECT od.name FROM org_domains d JOIN "
           "organisations od ON od.id = d.org_id WHERE d.domain = ?2) FROM (SELECT CAST(?1 AS TEXT) AS address) AS x "
           "LEFT JOIN agents a ON a.email = x.address LEFT JOIN contacts c ON c.email = x.address "
           "LEFT JOIN organisations o ON o.id = c.org_id",
           "look up sender");
    s.bind(1, email).bind(2, domain);
    s.step();
    SenderLookup out;
    if (!s.is_null(0)) out.agent = Agent{s.text(0), s.text(1)};
    if (!s.is_null(2) && !s.is_null(4)) out.contact = Contact{s.text(2), s.text(3), s.text(4), s.text(5)};
    if (!s.is_null(6)) out.domain_organisation = s.text(6);
    return out;
  }

  std::vector<Agent> agents() override {
    Stmt s(c_, "SELECT email, name FROM agents ORDER BY email", "list agents");
    std::vector<Agent> out;
    while (s.step()) out.push_back({s.text(0), s.text(1)});
    return out;
  }

  std::optional<std::int64_t> ticket_by_message_ids(const std::vector<std::string>& ids) override {
    Stmt s(c_, "SELECT ticket_id FROM messages WHERE message_id = ? ORDER BY id DESC LIMIT 1",
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
    Stmt s(c_,
                "INSERT INTO messages(ticket_id, direction, raw_id, outbox_id, message_id, from_addr, from_name, "
                "to_addrs, cc_addrs, subject, date, body_text, new_text, automatic, created_at, internal" +
                    std::string(Db::kBodySearchColumn) + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?" + Db::kSearchValue +
                    ") RETURNING id",
                "store message");
    s.bind(1, m.ticket_id).bind(2, m.direction).bind(3, m.raw_id).bind(4, m.outbox_id).bind(5, m.message_id);
    s.bind(6, m.from_addr).bind(7, m.from_name).bind(8, join_lines(m.to)).bind(9, join_lines(m.cc));
    s.bind(10, m.subject).bind(11, m.date).bind(12, m.body_text).bind(13, m.new_text).bind(14, m.automatic);
    s.bind(15, m.created_at).bind(16, static_cast<std::int64_t>(m.internal));
    if constexpr (Db::kSearchColumns) s.bind(17, Db::search_text(m.body_text));
    std::int64_t id = inserted_id(s);
    if (m.attachments.empty()) return id;
    std::int64_t number = take_numbers(m.ticket_id, static_cast<std::int64_t>(m.attachments.size()));
    for (const auto& att : m.attachments) insert_attachment(id, m.ticket_id, number++, att);
    return id;
  }

  std::vector<MessageRecord> messages(std::int64_t ticket_id) override {
    Stmt s(c_,
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
      Stmt a(c_, std::string(kAttachmentMetaSql) + ", a.message_id FROM attachments a WHERE a.ticket_id = ? ORDER BY a.number",
                  "read attachments");
      a.bind(1, ticket_id);
      while (a.step())
        if (auto it = by_id.find(a.i64(9)); it != by_id.end()) it->second->attachments.push_back(read_attachment(a, false));
    }
    // An "out" message lists what its outbox row carried, after any of its own, without repeats.
    Stmt c(c_,
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

  // Events are written a few at a time, in order, as one INSERT of several rows: a mail
  // records three or so, and each statement costs PostgreSQL's server more than its row. They
  // are written before anything reads the events table (events(), count_events()) and at
  // COMMIT, so nothing sees the difference; a write that fails is thrown there.
  void add_event(const Event& e) override {
    events_.push_back(e);
    if (events_.size() == kEventsAtOnce) write_events();
  }

  std::vector<Event> events(std::int64_t ticket_id) override { return events(ticket_id, true); }

  std::vector<Event> events(std::int64_t ticket_id, bool include_internal) override {
    write_events();
    Stmt s(c_,
                "SELECT at, actor, kind, detail, internal FROM events WHERE ticket_id = ? AND (? != 0 OR internal = 0) "
                "ORDER BY id",
                "read events");
    s.bind(1, ticket_id).bind(2, static_cast<std::int64_t>(include_internal));
    std::vector<Event> out;
    while (s.step()) out.push_back(Event{ticket_id, s.i64(0), s.text(1), s.text(2), s.text(3), s.i64(4) != 0});
    return out;
  }

  std::int64_t enqueue(const OutboxItem& o) override {
    Stmt s(c_,
                "INSERT INTO outbox(ticket_id, kind, mail_from, recipients, message_id, bytes, next_attempt_at, "
                "created_at) VALUES (?,?,?,?,?,?,?,?) RETURNING id",
                "queue outgoing mail");
    s.bind(1, o.ticket_id).bind(2, o.kind).bind(3, o.mail_from).bind(4, join_lines(o.recipients));
    s.bind(5, o.message_id).bind_blob(6, o.bytes).bind(7, o.next_attempt_at).bind(8, o.created_at);
    std::int64_t id = inserted_id(s);
    Stmt r(c_, "INSERT INTO outbox_recipients(outbox_id, address) VALUES (?, lower(?))", "queue outgoing mail");
    for (const auto& address : o.recipients) {
      r.bind(1, id).bind(2, address).run_later();
      r.reset();
    }
    if (o.kind == "acknowledgement") {
      Stmt a(c_, "INSERT INTO ack_recipients(outbox_id, created_at, mailbox, domain) VALUES (?,?,?,?)",
             "queue outgoing mail");
      for (const auto& address : o.recipients) {
        auto k = AckKeys::of_recipient(address);
        a.bind(1, id).bind(2, o.created_at).bind(3, k.mailbox).bind(4, k.domain).run_later();
        a.reset();
      }
    }
    if (!o.attachment_ids.empty()) {
      // Only the ticket's own attachments: a slip in the caller must not mail one customer's
      // file to another.
      Stmt a(c_,
                  "INSERT INTO outbox_attachments(outbox_id, position, attachment_id) "
                  "SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), id FROM attachments WHERE id = ? AND ticket_id = ?",
                  "queue outgoing mail's attachments");
      std::int64_t position = 0;
      for (auto attachment : o.attachment_ids) {
        a.reset();
        a.bind(1, id).bind(2, position++).bind(3, attachment).bind(4, o.ticket_id).run();
        if (a.changes() == 0)
          throw StoreError(fmt::format("store: attachment {} is not one of ticket {}'s", attachment,
                                       o.ticket_id ? std::to_string(*o.ticket_id) : "(none)"),
                           false, true);
      }
    }
    queued_mail_ = true;
    return id;
  }

  std::int64_t count_sent_or_queued(const std::string& kind, const std::string& recipient, Time since) override {
    Stmt s(c_,
                "SELECT count(*) FROM outbox_recipients r JOIN outbox o ON o.id = r.outbox_id "
                "WHERE o.kind = ? AND o.created_at >= ? AND o.status != 'failed' AND r.address = lower(?)",
                "count recent mail");
    s.bind(1, kind).bind(2, since).bind(3, recipient);
    s.step();
    return s.i64(0);
  }

  // Each count reads only its own rows: ack_recipients keeps every acknowledgement's recipients
  // by canonical address and by domain, and whether its mail failed (schema 13), so no
  // mail's check joins the outbox or matches a LIKE over the hour's rows (it did: 477 us a
  // mail on PostgreSQL at a cap of 200). The total reads at most `max_rows` index entries.
  // The address's and the domain's counts are of the whole hour: when more than `max_rows`
  // were queued (the cap was lowered) they may count rows the total leaves out, which can
  // only name another cap as the reason when the total cap is reached anyway.
  AckCounts count_acknowledgements(const std::string& address, Time since, std::int64_t max_rows) override {
    auto k = AckKeys::of_query(address);
    Stmt s(c_,
           "SELECT (SELECT count(*) FROM ack_recipients WHERE mailbox = ?1 AND created_at >= ?3 AND failed = 0), "
           "  (SELECT count(*) FROM ack_recipients WHERE domain = ?2 AND created_at >= ?3 AND failed = 0), "
           "  (SELECT count(*) FROM (SELECT 1 FROM ack_recipients WHERE created_at >= ?3 AND failed = 0 LIMIT ?4) AS recent)",
           "count recent acknowledgements");
    s.bind(1, k.mailbox).bind(2, k.domain).bind(3, since).bind(4, max_rows);
    s.step();
    return AckCounts{s.i64(0), s.i64(1), s.i64(2)};
  }

  std::int64_t count_events(const std::string& kind, const std::string& detail, Time since) override {
    write_events();
    Stmt s(c_, "SELECT count(*) FROM events WHERE kind = ? AND at >= ? AND (? = '' OR detail = ?)", "count events");
    s.bind(1, kind).bind(2, since).bind(3, detail).bind(4, detail);
    s.step();
    return s.i64(0);
  }

  std::optional<std::string> meta(const std::string& key) override {
    Stmt s(c_, "SELECT value FROM meta WHERE key = ?", "read store fact");
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
        ids += "SELECT id FROM (SELECT t.id FROM tickets t" + where.sql(b.sql) + order + " LIMIT ?) AS branch";
        params.insert(params.end(), b.params.begin(), b.params.end());
        params.insert(params.end(), where.params.begin(), where.params.end());
        params.push_back(q.limit > 0 ? std::to_string(std::int64_t{q.limit} + std::max(q.offset, 0)) : std::to_string(kNoLimit));
      }
      sql += " WHERE t.id IN (" + ids + ")";
    }
    Stmt s(c_, sql + order + " LIMIT ? OFFSET ?", "find tickets", Once{few_shapes(q)});
    int n = 0;
    for (const auto& p : params) s.bind(++n, p);
    s.bind(n + 1, q.limit > 0 ? std::int64_t{q.limit} : kNoLimit).bind(n + 2, std::max(q.offset, 0));
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
      return "(SELECT count(*) FROM (SELECT 1 FROM tickets t" + where_sql + " LIMIT ?) AS capped)";
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
    Stmt s(c_, sql, "count tickets", Once{few_shapes(q)});
    int n = 0;
    for (const auto& p : params) s.bind(++n, p);
    s.step();
    return cap == 0 ? s.i64(0) : std::min(s.i64(0), cap);
  }

  // internal: its message is internal, and no customer-visible "out" message's outbox row
  // carried it (an agent's attachment becomes the customer's once it was mailed to them;
  // agents' notifications are no messages of the thread, so they do not count).
  std::vector<AttachmentInfo> attachments(std::int64_t ticket_id) override {
    Stmt s(c_,
                "SELECT a.id, a.number, a.message_id, a.filename, a.content_type, a.content_id, a.is_inline, a.size, a.kept, "
                "  CASE WHEN m.internal != 0 AND NOT EXISTS (SELECT 1 FROM outbox_attachments oa JOIN messages om ON om.outbox_id = oa.outbox_id "
                "    WHERE oa.attachment_id = a.id AND om.direction = 'out' AND om.internal = 0) THEN 1 ELSE 0 END, m.created_at "
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
    Stmt s(c_, std::string(kAttachmentDataSql) + " FROM attachments a WHERE a.ticket_id = ? AND a.number = ?",
                "read attachment");
    s.bind(1, ticket_id).bind(2, number);
    if (!s.step()) return std::nullopt;
    return read_attachment(s, true);
  }

  std::optional<AttachmentRecord> attachment_by_id(std::int64_t id) override {
    Stmt s(c_, std::string(kAttachmentDataSql) + " FROM attachments a WHERE a.id = ?", "read attachment");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_attachment(s, true);
  }

  std::vector<CcEntry> cc_entries(std::int64_t ticket_id) override {
    Stmt s(c_, "SELECT address, added_by, at, removed FROM ticket_cc WHERE ticket_id = ? ORDER BY id", "read Cc list");
    s.bind(1, ticket_id);
    std::vector<CcEntry> out;
    while (s.step()) out.push_back(CcEntry{s.text(0), s.text(1), s.i64(2), s.i64(3) != 0});
    return out;
  }

  // A removal of an address never on the list is recorded too, so it sticks when the
  // address turns up in a Cc later.
  bool set_cc(std::int64_t ticket_id, const CcEntry& e, bool force) override {
    std::string address = lower(e.address);
    Stmt find(c_, "SELECT removed FROM ticket_cc WHERE ticket_id = ? AND address = ?", "read Cc entry");
    find.bind(1, ticket_id).bind(2, address);
    std::optional<bool> removed;
    if (find.step()) removed = find.i64(0) != 0;
    if (removed == e.removed) return false;
    if (removed && *removed && !force) return false;
    Stmt s(c_,
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
    Stmt s(c_, "UPDATE outbox SET recipients = ? WHERE id = ?", "set outgoing mail's recipients");
    s.bind(1, join_lines(recipients)).bind(2, id).run();
  }

  std::vector<OutboxItem> due_outbox(Time now, int limit) override {
    Stmt s(c_, std::string(kOutboxSql) + " WHERE status = 'pending' AND next_attempt_at <= ? AND claimed_until <= " + now_sql() +
                    " ORDER BY next_attempt_at, id LIMIT ?",
                "read due outbox");
    s.bind(1, now).bind(2, limit);
    std::vector<OutboxItem> out;
    while (s.step()) out.push_back(read_outbox(s));
    read_outbox_attachments(out);
    return out;
  }

  std::vector<OutboxItem> claim_outbox(Time now, int limit, const std::string& claimer, std::int64_t claim_s) override {
    std::vector<OutboxItem> out;
    {
      Stmt s(c_,
             std::string(kOutboxSql) + " WHERE status = 'pending' AND next_attempt_at <= ? AND claimed_until <= " + now_sql() +
                 " ORDER BY next_attempt_at, id LIMIT ?" + Db::kSkipLocked,
             "claim due outbox");
      s.bind(1, now).bind(2, limit);
      while (s.step()) out.push_back(read_outbox(s));
    }
    Stmt u(c_, "UPDATE outbox SET claimed_by = ?, claimed_until = " + now_sql() + " + ? WHERE id = ?", "claim outgoing mail");
    for (const auto& o : out) {
      u.reset();
      u.bind(1, claimer).bind(2, claim_s).bind(3, o.id).run();
    }
    read_outbox_attachments(out);
    return out;
  }

  void release_outbox_claims(const std::string& claimer) override {
    Stmt s(c_, "UPDATE outbox SET claimed_by = '', claimed_until = 0 WHERE claimed_by = ? AND status = 'pending'",
           "release outbox claims");
    s.bind(1, claimer).run();
  }

  std::optional<Time> next_outbox_attempt() override {
    Stmt s(c_, "SELECT min(CASE WHEN claimed_until > next_attempt_at THEN claimed_until ELSE next_attempt_at END) "
           "FROM outbox WHERE status = 'pending'", "read outbox schedule");
    s.step();
    return s.opt_i64(0);
  }

  void mark_sent(std::int64_t id, Time at) override {
    Stmt s(c_,
                "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = '', " + kUnclaimed +
                    ", bytes = CASE WHEN kind = 'login-link' THEN " + std::string(Db::kEmptyBytes) + " ELSE bytes END WHERE id = ?",
                "mark mail sent");
    s.bind(1, at).bind(2, id).run();
  }

  void mark_retry(std::int64_t id, Time next, const std::string& error) override {
    Stmt s(c_,
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, " + kUnclaimed + " WHERE id = ?",
                "schedule mail retry");
    s.bind(1, next).bind(2, error).bind(3, id).run();
  }

  void mark_failed(std::int64_t id, const std::string& error) override {
    // A login link's mail holds a sign-in URL (a credential): once delivered or given up,
    // its bytes are blanked; the row stays for the counts and the listing.
    Stmt s(c_,
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, " + kUnclaimed +
                    ", bytes = CASE WHEN kind = 'login-link' THEN " + std::string(Db::kEmptyBytes) + " ELSE bytes END WHERE id = ?",
                "mark mail failed");
    s.bind(1, error).bind(2, id).run();
    Stmt a(c_, "UPDATE ack_recipients SET failed = 1 WHERE outbox_id = ?", "mark mail failed");
    a.bind(1, id).run();
  }

  // Portal: each "once" is a single conditional UPDATE/INSERT, so of two racing portals
  // (each in its own write transaction, one after the other) only the first changes a row.
  void add_login_token(const std::string& token_hash, const std::string& email, Time created_at,
                       Time expires_at) override {
    Stmt s(c_,
                "INSERT INTO portal_login_tokens(token_hash, email, created_at, expires_at) VALUES (?, lower(?), ?, ?)",
                "store login link");
    s.bind(1, token_hash).bind(2, email).bind(3, created_at).bind(4, expires_at).run();
  }

  std::optional<std::string> use_login_token(const std::string& token_hash, Time now) override {
    Stmt s(c_,
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
    Stmt s(c_,
                "INSERT INTO portal_sessions(session_hash, email, role, csrf, created_at, last_seen_at) "
                "VALUES (?, lower(?), ?, ?, ?, ?)",
                "store portal session");
    s.bind(1, session_hash).bind(2, p.email).bind(3, p.role).bind(4, p.csrf).bind(5, p.created_at);
    s.bind(6, p.last_seen_at).run();
  }

  std::optional<PortalSession> session(const std::string& session_hash) override {
    Stmt s(c_,
                "SELECT email, role, csrf, created_at, last_seen_at FROM portal_sessions WHERE session_hash = ?",
                "read portal session");
    s.bind(1, session_hash);
    if (!s.step()) return std::nullopt;
    return PortalSession{s.text(0), s.text(1), s.text(2), s.i64(3), s.i64(4)};
  }

  void touch_session(const std::string& session_hash, Time now) override {
    Stmt s(c_, "UPDATE portal_sessions SET last_seen_at = CASE WHEN last_seen_at > ?1 THEN last_seen_at ELSE ?1 END WHERE session_hash = ?2",
                "touch portal session");
    s.bind(1, now).bind(2, session_hash).run();
  }

  bool remove_session(const std::string& session_hash) override {
    Stmt s(c_, "DELETE FROM portal_sessions WHERE session_hash = ?", "end portal session");
    s.bind(1, session_hash).run();
    return s.changes() > 0;
  }

  std::int64_t remove_sessions_of(const std::string& email) override {
    Stmt s(c_, "DELETE FROM portal_sessions WHERE email = lower(?)", "end portal sessions of an address");
    s.bind(1, email).run();
    return s.changes();
  }

  std::int64_t count_sessions(Time seen_since) override {
    Stmt s(c_, "SELECT count(*) FROM portal_sessions WHERE last_seen_at >= ?", "count portal sessions");
    s.bind(1, seen_since);
    s.step();
    return s.i64(0);
  }

  void forget_expired_portal(Time now, Time idle_before, Time created_before) override {
    constexpr Time kDay = 86400;
    {
      Stmt s(c_, "DELETE FROM portal_login_tokens WHERE used_at IS NOT NULL OR expires_at <= ?",
                  "forget used login links");
      s.bind(1, now).run();
    }
    {
      Stmt s(c_, "DELETE FROM portal_sessions WHERE last_seen_at < ? OR created_at < ?",
                  "forget expired portal sessions");
      s.bind(1, idle_before).bind(2, created_before).run();
    }
    {
      Stmt s(c_, "DELETE FROM portal_rates WHERE window_start < ?", "forget old rate counters");
      s.bind(1, now - kDay).run();
    }
    Stmt s(c_, "DELETE FROM portal_form_keys WHERE used_at < ?", "forget old form keys");
    s.bind(1, now - kDay).run();
  }

  std::int64_t count_rate(const std::string& key, Time window_start) override {
    Stmt s(c_,
                "INSERT INTO portal_rates(key, window_start, count) VALUES (?, ?, 1) "
                "ON CONFLICT(key, window_start) DO UPDATE SET count = portal_rates.count + 1 RETURNING count",
                "count portal request");
    s.bind(1, key).bind(2, window_start);
    if (!s.step()) throw StoreError("store: count portal request: no count returned", false);
    std::int64_t n = s.i64(0);
    s.run();
    return n;
  }

  bool use_form_key(const std::string& key, Time now) override {
    Stmt s(c_, "INSERT INTO portal_form_keys(key, used_at) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
                "use form key");
    s.bind(1, key).bind(2, now).run();
    return s.changes() > 0;
  }

  Time database_now() override {
    Stmt s(c_, "SELECT " + now_sql(), "read the database's clock");
    s.step();
    return s.i64(0);
  }

  // Renewed by its holder (same epoch), or taken when free or expired (the epoch grows by
  // one): a single conditional upsert, so of two daemons racing only one gets it.
  Lease take_lease(const std::string& name, const std::string& holder, std::int64_t seconds) override {
    {
      Stmt s(c_,
             "INSERT INTO leases(name, holder, epoch, expires_at) VALUES (?1, ?2, 1, " + now_sql() + " + ?3) "
             "ON CONFLICT(name) DO UPDATE SET "
             "epoch = CASE WHEN leases.holder = excluded.holder THEN leases.epoch ELSE leases.epoch + 1 END, "
             "holder = excluded.holder, expires_at = excluded.expires_at "
             "WHERE leases.holder = excluded.holder OR leases.expires_at <= " + now_sql(),
             "take lease");
      s.bind(1, name).bind(2, holder).bind(3, seconds).run();
    }
    auto now = lease(name);
    if (!now) throw StoreError(fmt::format("store: lease {} is missing right after it was taken", name), true);
    return *now;
  }

  std::optional<Lease> lease(const std::string& name) override {
    Stmt s(c_, "SELECT name, holder, epoch, expires_at FROM leases WHERE name = ?", "read lease");
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return Lease{s.text(0), s.text(1), s.i64(2), s.i64(3)};
  }

  std::vector<Lease> leases() override {
    Stmt s(c_, "SELECT name, holder, epoch, expires_at FROM leases ORDER BY name", "list leases");
    std::vector<Lease> out;
    while (s.step()) out.push_back(Lease{s.text(0), s.text(1), s.i64(2), s.i64(3)});
    return out;
  }

  void release_lease(const std::string& name, const std::string& holder) override {
    Stmt s(c_, "UPDATE leases SET expires_at = " + now_sql() + " - 1 WHERE name = ? AND holder = ?", "release lease");
    s.bind(1, name).bind(2, holder).run();
  }

  void heartbeat(const DaemonRecord& d) override {
    Stmt s(c_,
           "INSERT INTO daemons(id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, " + now_sql() + ") "
           "ON CONFLICT(id) DO UPDATE SET host = excluded.host, pid = excluded.pid, heartbeat_at = excluded.heartbeat_at",
           "record daemon heartbeat");
    s.bind(1, d.id).bind(2, d.host).bind(3, d.pid).bind(4, d.started_at).run();
  }

  void forget_daemon(const std::string& id) override {
    Stmt s(c_, "DELETE FROM daemons WHERE id = ?", "forget daemon");
    s.bind(1, id).run();
  }

  std::vector<DaemonRecord> daemons(Time since) override {
    std::vector<DaemonRecord> out;
    {
      Stmt s(c_, "SELECT id, host, pid, started_at, heartbeat_at FROM daemons WHERE heartbeat_at >= ? ORDER BY host, pid, id",
             "list daemons");
      s.bind(1, since);
      while (s.step()) out.push_back(DaemonRecord{s.text(0), s.text(1), s.i64(2), s.i64(3), s.i64(4), {}, 0});
    }
    Stmt l(c_, "SELECT name FROM leases WHERE holder = ? AND expires_at > " + now_sql() + " ORDER BY name",
           "list a daemon's leases");
    Stmt c(c_,
           "SELECT count(*) FROM outbox WHERE claimed_by = ? AND claimed_until > " + now_sql() + " AND status = 'pending'",
           "count a daemon's outbox claims");
    for (auto& d : out) {
      l.reset();
      l.bind(1, d.id);
      while (l.step()) d.leases.push_back(l.text(0));
      c.reset();
      c.bind(1, d.id);
      if (c.step()) d.outbox_claims = c.i64(0);
      c.run();
    }
    return out;
  }

  std::int64_t forget_daemons_before(Time before) override {
    Stmt s(c_, "DELETE FROM daemons WHERE heartbeat_at < ?", "forget silent daemons");
    s.bind(1, before).run();
    return s.changes();
  }

 private:
  static constexpr std::int64_t kNoLimit = std::numeric_limits<std::int64_t>::max();

  // The keys the acknowledgement caps count by, in lower case (ASCII, on both backends): the
  // canonical address (without +detail) and the domain. A recipient without '@' has no domain
  // and a mailbox no query's can equal; a queried address without '@' counts the recipients
  // "its-local-part@" (the LIKE patterns of schema 12's count gave the same).
  struct AckKeys {
    std::string mailbox;
    std::optional<std::string> domain;
    static AckKeys of(const std::string& address, bool query) {
      std::string a = address;
      for (auto& ch : a) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      auto at = a.rfind('@');
      if (at == std::string::npos && !query) return {a, std::nullopt};
      std::string local = at == std::string::npos ? a : a.substr(0, at), domain = at == std::string::npos ? "" : a.substr(at + 1);
      local = local.substr(0, local.find('+'));
      return {local + "@" + domain, domain};
    }
    static AckKeys of_recipient(const std::string& address) { return of(address, false); }
    static AckKeys of_query(const std::string& address) { return of(address, true); }
  };
  static inline const std::string kUnclaimed = "claimed_by = '', claimed_until = 0";
  static std::string now_sql() { return Db::kNow; }

  // A Store with a fence (Store::set_fence): the holder must still hold the lease at its
  // epoch, in this transaction; the check renews the lease's expiry. Once it has held in a
  // transaction, the lease's row is this transaction's (written, so locked on PostgreSQL; the
  // one writer on SQLite) until it ends: a later check cannot fail, and only renews.
  void check_fence() {
    if (!fence_) return;
    Stmt s(c_, "UPDATE leases SET expires_at = " + now_sql() + " + ?4 WHERE name = ?1 AND holder = ?2 AND epoch = ?3",
           "check mailbox lease");
    s.bind(1, fence_->lease).bind(2, fence_->holder).bind(3, fence_->epoch).bind(4, fence_->seconds);
    if (fenced_) return s.run_later();
    s.run();
    fenced_ = s.changes() > 0;
    if (!fenced_)
      throw FencedError(fmt::format("store: the lease {} (epoch {}) is no longer {}'s: another daemon took it over",
                                    fence_->lease, fence_->epoch, fence_->holder));
  }

  void read_outbox_attachments(std::vector<OutboxItem>& rows) {
    if (rows.empty()) return;
    Stmt a(c_, "SELECT attachment_id FROM outbox_attachments WHERE outbox_id = ? ORDER BY position",
           "read outgoing mail's attachments");
    for (auto& o : rows) {
      a.reset();
      a.bind(1, o.id);
      while (a.step()) o.attachment_ids.push_back(a.i64(0));
    }
  }

  // The id an INSERT ... RETURNING id gave.
  static std::int64_t inserted_id(Stmt& s) {
    if (!s.step()) throw StoreError("store: an insert returned no id", false);
    std::int64_t id = s.i64(0);
    s.run();
    return id;
  }

  // The WHERE clause of a TicketQuery and its parameters, in order; a contact's scope
  // (visible_to) apart, as disjoint branches (organisation when visible, requester outside
  // it, Cc list outside both), each with its own parameters.
  // Whether the SQL of a ticket query is one of a few hundred texts, worth keeping prepared
  // (a list page prepared its two queries afresh for 15% of its time): the filters only add or
  // leave out their terms, the statuses are at most the vocabulary's. Each search word adds a
  // term of its own, so a search is prepared for its call.
  static Once few_shapes(const TicketQuery& q) { return Once{!q.search.empty()}; }

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
        terms.push_back(std::string(q.sort == TicketQuery::Sort::due ? Db::kOffIndex : "") + "t.status" + " IN (" + list + ")");
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
          branches.push_back({"t.requester = ? AND t.organisation IS DISTINCT FROM ?", {me, org}});
          branches.push_back({cc + " AND t.requester <> ? AND t.organisation IS DISTINCT FROM ?", {me, me, org}});
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
        if (words.empty()) terms.push_back("1 = 0");
        // Each word somewhere in the ticket: its subject or the body of one of its messages.
        for (auto& w : words) {
          terms.push_back(Db::kSearchTerm);
          params.push_back(Db::search_param(w));
          params.push_back(Db::search_param(w));
        }
      }
    }
  };

  // The words of a plain-text search, split at white space; the backend makes each a search
  // string of its own (Db::search_param: SQLite quotes it for FTS5, so FTS5's operators are
  // mere characters in it; PostgreSQL makes a tsquery of it, store/pg_fold.h). A word without
  // a letter or digit (word_char) would be an empty search string, which matches nothing: it
  // is left out, as FTS5 leaves out an empty string beside others.
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
      out.emplace_back(word);
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
    Stmt s(c_, "UPDATE tickets SET attachments_numbered = attachments_numbered + ? WHERE id = ? RETURNING attachments_numbered",
                "number attachments");
    s.bind(1, n).bind(2, ticket_id);
    if (!s.step()) throw StoreError(fmt::format("store: no ticket {}", ticket_id), false, true);
    std::int64_t last = s.i64(0);
    s.run();
    return last - n + 1;
  }

  void insert_attachment(std::int64_t message_id, std::int64_t ticket_id, std::int64_t number, const AttachmentRecord& att) {
    Stmt a(c_,
                "INSERT INTO attachments(message_id, ticket_id, number, filename, content_type, size, data, content_id, "
                "is_inline, kept) VALUES (?,?,?,?,?,?,?,?,?,?)",
                "store attachment");
    a.bind(1, message_id).bind(2, ticket_id).bind(3, number).bind(4, att.filename).bind(5, att.content_type);
    a.bind(6, att.size).bind_blob(7, att.data).bind(8, att.content_id).bind(9, static_cast<std::int64_t>(att.is_inline));
    a.bind(10, static_cast<std::int64_t>(kept(att))).run_later();
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
      Stmt s(c_, "SELECT id, filename, content_type, size FROM attachments WHERE message_id = ? ORDER BY number",
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
      Stmt u(c_, "UPDATE attachments SET data = ?, content_id = ?, is_inline = ?, kept = ? WHERE id = ?",
                  "replace attachment");
      u.bind_blob(1, att.data).bind(2, att.content_id).bind(3, static_cast<std::int64_t>(att.is_inline));
      u.bind(4, static_cast<std::int64_t>(kept(att))).bind(5, it->id).run();
    }
    for (const auto& o : old) {
      if (o.matched) continue;
      Stmt d(c_,
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
  static AttachmentRecord read_attachment(const Stmt& s, bool with_data) {
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
    Stmt s(c_, fmt::format("UPDATE tickets SET {} = ?1, updated_at = CASE WHEN updated_at > ?2 THEN updated_at ELSE ?2 END WHERE id = ?3", column),
                "update ticket");
    s.bind(1, value).bind(2, at).bind(3, id).run();
  }
  static constexpr const char* kQuarantineSql =
      "SELECT r.id, r.received_at, r.message_id, r.problems, r.quarantined, "
      "(SELECT m.ticket_id FROM messages m WHERE m.raw_id = r.id LIMIT 1), r.bytes FROM raw_mails r";
  static QuarantinedMail read_quarantined(const Stmt& s, bool with_bytes) {
    return QuarantinedMail{s.i64(0), s.i64(1), s.text(2), s.text(3), s.i64(4) != 0, s.opt_i64(5),
                           with_bytes ? s.text(6) : std::string()};
  }
  static inline const std::string kOrgSql =
      "SELECT id, name, sla, language, hypercare_start, hypercare_weeks, (" + std::string(Db::kDomainList) +
      "), hypercare_ended_at, visibility FROM organisations";
  static constexpr const char* kContactSql =
      "SELECT c.email, c.name, o.name, c.visibility FROM contacts c JOIN organisations o ON o.id = c.org_id";
  static Organisation read_org(const Stmt& s) {
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

  static constexpr std::size_t kEventsAtOnce = 8;
  void write_events() {
    if (events_.empty()) return;
    std::string sql = "INSERT INTO events(ticket_id, at, actor, kind, detail, internal) VALUES (?,?,?,?,?,?)";
    for (std::size_t i = 1; i < events_.size(); ++i) sql += ",(?,?,?,?,?,?)";
    Stmt s(c_, sql, events_.size() == 1 ? "record event" : "record events");
    int k = 0;
    for (const auto& e : events_) {
      s.bind(k + 1, e.ticket_id).bind(k + 2, e.at).bind(k + 3, e.actor).bind(k + 4, e.kind).bind(k + 5, e.detail);
      s.bind(k + 6, static_cast<std::int64_t>(e.internal));
      k += 6;
    }
    events_.clear();
    s.run_later();
  }

  static std::optional<DuplicateHit> hit(Stmt& s) {
    if (!s.step()) return std::nullopt;
    return DuplicateHit{s.i64(0), s.opt_i64(1)};
  }
  static std::vector<Ticket> read_tickets(Stmt& s) {
    std::vector<Ticket> out;
    while (s.step()) out.push_back(read_ticket(s));
    return out;
  }
  static Ticket read_ticket(const Stmt& s) {
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
  static OutboxItem read_outbox(const Stmt& s) {
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

  Db& c_;
  SqlEstimates<Db> estimates_{c_};  // after c_, which it uses

  SqlIncidents<Db> incidents_{c_};
  SqlKeepInformed<Db> keep_informed_{c_};

  const std::optional<Store::Fence>& fence_;
  bool done_ = false;
  bool queued_mail_ = false;  // enqueue or retry_outbox ran: the commit wakes the outbox
  bool fenced_ = false;       // check_fence() found the lease held in this transaction
  std::vector<Event> events_;  // added, not yet written (write_events)

  SqlNotices<Db> notices_{c_};  // maintenance notices (store/sql_notices.h)

 public:
  Notices& notices() override { return notices_; }
};

}  // namespace sd::store::sql
