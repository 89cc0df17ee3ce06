// store/store.h: the service desk's durable state (tickets, their messages, the raw mails
// they came from, the outbox, the mailbox watermark, events) behind narrow interfaces.
//
// Contract: all SQL lives in store/. Callers see a Store that opens Transactions; every
// read and write happens inside one, and a Transaction that is destroyed without commit()
// rolls back. A write transaction is exclusive (one writer at a time, on either backend);
// COMMIT returning means the change is durable (SQLite: WAL with synchronous=FULL;
// PostgreSQL: synchronous_commit on). A read transaction sees one snapshot. A Transaction is
// the sum of one interface per aggregate (MailLog, Tickets, Directory, Outbox, Quarantine,
// Meta, Portal, Coordination): a function that needs only the outbox takes an Outbox&. The
// store records what it is told; the service desk's rules (which status pauses the SLA
// clock, who may see what) are the caller's (desk/). Two backends implement Store and
// Transaction, SQLite (one daemon per store) and PostgreSQL (several daemons and portals on
// one database); open_store() chooses the backend from a URL.
//
// Diagnostics: failures throw StoreError; `transient` is true when trying again later may
// succeed (database busy or locked, disk full, I/O error, the connection lost, a
// serialization failure), so an MTA pipe can answer EX_TEMPFAIL and the daemon can retry,
// and false for a broken or incompatible store.
//
// Security: a PostgreSQL URL may carry a password (postgresql://user:secret@host/db):
// messages about a URL name its scheme, never the whole URL; store.password_file is the
// better place for it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace sd::store {

// Major incidents (store/incidents.h), a view of a Transaction like the interfaces below.
class Incidents;

using Time = std::int64_t;  // seconds since the epoch, UTC

struct StoreError : std::runtime_error {
  StoreError(const std::string& what, bool transient_, bool refused_ = false)
      : std::runtime_error(what), transient(transient_), refused(refused_) {}
  bool transient;
  bool refused;  // the change contradicts what is stored (a name that exists): bad input, not a broken store
};

// A transaction of a Store with a fence (Store::set_fence) found that its holder no longer
// holds the lease: another daemon took the mailbox over. Nothing of the transaction commits;
// the caller stops polling until it holds the lease again.
struct FencedError : StoreError {
  explicit FencedError(const std::string& what) : StoreError(what, false) {}
};

struct MailboxState {
  std::string name;
  std::int64_t uidvalidity = 0;
  std::int64_t last_uid = 0;  // highest UID whose mail is committed (the watermark)
  std::optional<Time> last_poll_at;
  std::int64_t done_uid = 0;  // highest UID whose after_ingest action (\Seen, move, delete) is done
};

// The mails a poll pass has in hand (fetched, not yet committed), recorded in a committed
// transaction before they are parsed: after a restart, those still above the watermark are
// the ones the process died with (the poller's crash breaker, daemon/poller.h).
struct InFlight {
  std::string mailbox;
  std::int64_t uidvalidity = 0;
  std::vector<std::int64_t> uids;  // ascending
  std::int64_t deaths = 0;         // processes that died before with (some of) these in hand
  std::string run;                 // which process recorded it (daemon/poller.cpp: process_run_id)
};

// Where a raw mail came from: an IMAP mailbox position, or a pipe/file (no position).
struct MailOrigin {
  std::string mailbox;
  std::int64_t uidvalidity = 0;
  std::int64_t uid = 0;
};

struct RawMail {
  Time received_at = 0;
  std::optional<MailOrigin> origin;
  std::string message_id;    // as parsed; empty if none
  std::string content_hash;  // hex SHA-256 of the mail without its trace fields
  std::string_view bytes;    // the caller's, alive until add_raw() returns: a big mail is not copied
  std::string problems;      // what the parser could not read, one per line; empty when clean
  bool quarantined = false;  // parsing failed outright: stored for an operator to look at
};

struct AttachmentRecord {
  std::string filename;
  std::string content_type;
  std::int64_t size = 0;
  std::string data;  // may be empty when a size limit kept only the metadata
  // Given by the store (add_message ignores them), filled in when read back:
  std::int64_t id = 0;      // the row, what an outbox row's attachment_ids name
  std::int64_t number = 0;  // 1, 2, ...: the ticket's attachments in order of arrival, over all its messages; stable, never reused
  // Stored by add_message:
  std::string content_id;   // without <>; empty if none
  bool is_inline = false;   // an inline part (an image in HTML mail)
  bool kept = true;         // false: a size limit kept only the metadata (data stays empty); stored false whenever data is empty and size > 0
};

// One of a ticket's attachments as listed (no bytes): for `attachment list`, `show` and the
// portal. `internal`: it came on an internal message and was never mailed to the customer,
// so customers do not see it.
struct AttachmentInfo {
  std::int64_t id = 0;
  std::int64_t number = 0;
  std::int64_t message_id = 0;  // the messages row it arrived on
  std::string filename, content_type, content_id;
  bool is_inline = false;
  std::int64_t size = 0;
  bool kept = true;
  bool internal = false;
  Time created_at = 0;
};

// A listing of tickets (`tickets`, the portal's lists): filters are ANDed; empty ones do not
// filter. `search` is full-text over subjects and message bodies (words, all of them must
// occur, each anywhere in the ticket: its subject or any message's body; SQLite FTS5 here);
// it is plain text, never query syntax: quotes and operators in it are just characters, and
// at most 64 words (more: StoreError, refused). It reads internal messages too: a list for
// customers must not offer it as it is.
struct TicketQuery {
  std::vector<std::string> statuses;  // e.g. {"open", "pending"}
  std::string organisation;           // name
  std::string assignee;               // agent's address
  std::string requester;              // address
  bool breaching = false;             // open, and an SLA breach has fired on it
  // A contact's scope (desk/visibility.h: scope_for builds it, so a list and may_see agree):
  // tickets whose requester is this address (lower case), or on whose Cc list it is (not
  // removed), or, when `visible_organisation` is set, that organisation's. Empty: no scope.
  std::string visible_to;
  std::string visible_organisation;   // only with visible_to
  std::string search;
  enum class Sort { newest, due } sort = Sort::newest;  // due: stored next SLA due time, earliest first, none last
  int limit = 0;                                        // 0: no limit
  int offset = 0;
  // count_tickets stops counting there and answers min(count, count_at_most), so a list's
  // "more than N" costs N index entries, not all of them. 0: the exact count.
  std::int64_t count_at_most = 0;
};

// One address on a ticket's Cc list. `removed`: an agent dropped it (#cc remove), and the
// desk does not put it back by itself when it turns up in a Cc again; only #cc add does.
struct CcEntry {
  std::string address;  // lower case (set_cc lowers it)
  std::string added_by;  // who last changed the entry: an agent's address, or "system" (a contact in To/Cc of a mail)
  Time at = 0;           // when
  bool removed = false;
};

struct MessageRecord {
  std::int64_t id = 0;
  std::int64_t ticket_id = 0;
  std::string direction;  // "in" or "out"
  std::optional<std::int64_t> raw_id;
  std::optional<std::int64_t> outbox_id;
  std::string message_id;
  std::string from_addr, from_name;
  std::vector<std::string> to, cc;
  std::string subject;
  std::optional<Time> date;
  std::string body_text;
  std::string new_text;
  std::string automatic;  // why it is automatic mail; empty for a person's mail
  Time created_at = 0;
  std::vector<AttachmentRecord> attachments;
  // Not part of the customer's thread (an agent's note, a mail kept but not applied): its
  // addresses put nobody on the thread, and customers never see it.
  bool internal = false;
};

struct Ticket {
  std::int64_t id = 0;
  std::string subject;
  std::string status;  // new, open, pending, awaiting-approval, resolved, closed
  std::string requester, requester_name;
  std::string priority, category;
  Time created_at = 0, updated_at = 0;
  std::int64_t message_count = 0;
  std::string sla;       // name of the SLA the ticket runs on
  std::string assignee;  // agent's address; empty: unassigned
  std::optional<Time> first_response_at, resolved_at;
  std::string organisation;  // name; empty: sender of no organisation
  bool unverified = false;   // opened by a sender who is no registered contact
  bool hypercare = false;    // opened during the organisation's hypercare period
  std::int64_t time_spent_s = 0;
  std::string alert_key;     // monitoring alerts: the key repeats join on
  std::int64_t repeat_count = 0;
  std::optional<std::int64_t> refers_to;  // a closed ticket this one continues
  // The earliest coming SLA warning or breach, kept current by the desk's ticket changes and
  // its SLA clock, so queues sort without evaluating every ticket's SLA. nullopt: nothing
  // is coming (or, for a ticket from before schema 8, not computed yet).
  std::optional<Time> sla_next_due;
  std::string resolution;  // what the agent said solved it; empty: none given
};

struct Organisation {
  std::int64_t id = 0;
  std::string name;
  std::vector<std::string> domains;  // lower case
  std::string sla;                   // empty: the default SLA
  std::string language;              // en, sv, da; empty: the service's
  std::string hypercare_start;       // YYYY-MM-DD; empty: none
  std::int64_t hypercare_weeks = 0;
  std::optional<Time> hypercare_ended_at;  // when the end of the period was noticed and logged
  // Which tickets its contacts see: "organisation" (all of the organisation's) or "own"
  // (those they requested or are on the Cc list of). desk/visibility.h applies it.
  std::string visibility = "organisation";
};

struct Contact {
  std::string email;  // lower case
  std::string name;
  std::string organisation;
  std::string visibility = "inherit";  // "inherit" (the organisation's), "organisation" or "own"
};

struct Agent {
  std::string email;  // lower case
  std::string name;
};

// Directory::look_up_sender: who a mail's sender is, in one question.
struct SenderLookup {
  std::optional<Agent> agent;                      // agent(email)
  std::optional<Contact> contact;                  // contact(email)
  std::optional<std::string> domain_organisation;  // organisation_of_domain(domain)
};

struct TimeEntry {
  std::int64_t ticket_id = 0;
  Time at = 0;
  std::string agent;
  std::int64_t seconds = 0;
  std::string organisation;  // of the ticket, filled in by time_entries()
  std::string category;      // of the ticket, filled in by time_entries()
};

// A period in which the ticket's SLA clock stood still (pending, or resolved until reopened).
struct PausePeriod {
  Time from = 0;
  std::optional<Time> to;  // open while the ticket still waits
};

// A warning or breach that has fired; at most one per ticket, target and kind.
struct SlaEvent {
  std::int64_t ticket_id = 0;
  std::string target;  // "first_response", "resolution", "update"
  std::string kind;    // "warning", "breach", "reminder"
  Time due = 0;        // the instant it fell due
  Time fired_at = 0;
};

struct NewTicket {
  std::string subject;
  std::string requester, requester_name;
  Time created_at = 0;
  std::string sla;
  std::string priority = "medium";
  std::string organisation;
  bool unverified = false;
  bool hypercare = false;
  std::string category;
  std::string assignee;
  std::string alert_key;
  std::optional<std::int64_t> refers_to;
  std::optional<Time> sla_next_due;  // its first SLA due time, written with it (no UPDATE after)
};

struct OutboxItem {
  std::int64_t id = 0;
  std::optional<std::int64_t> ticket_id;
  std::string kind;  // e.g. "acknowledgement"
  std::string mail_from;
  std::vector<std::string> recipients;
  std::string message_id;
  std::string bytes;  // the whole RFC 5322 message, 7-bit (without the attachments below)
  // Attachments (rows of the attachments table) the outbox adds as parts at send time, so
  // their bytes are stored once however many mails carry them (notify/compose.h:
  // with_attachments). In order. enqueue() refuses (StoreError, refused) an id that is not
  // an attachment of the row's ticket; due_outbox() fills them in; empty for most mails.
  std::vector<std::int64_t> attachment_ids;
  std::string status;  // pending, sent, failed
  std::int64_t attempts = 0;
  Time next_attempt_at = 0;
  std::string last_error;
  Time created_at = 0;
  std::optional<Time> sent_at;
};

struct Event {
  std::int64_t ticket_id = 0;
  Time at = 0;
  std::string actor;  // "system", a mail address, "operator:NAME"
  std::string kind;   // created, message, acknowledgement-sent, delivery-failed, ...
  std::string detail;
  // Not for the customer's eyes (security events, the desk's notices to agents): the portal
  // and anything shown to a customer leave it out.
  bool internal = false;
};

// A stored mail the parser had trouble with (or could not read at all).
struct QuarantinedMail {
  std::int64_t raw_id = 0;
  Time received_at = 0;
  std::string message_id;
  std::string problems;
  bool quarantined = false;  // parsing failed outright
  std::optional<std::int64_t> ticket_id;
  std::string bytes;  // filled by quarantined_mail() only
};

// Acknowledgements queued or sent since a time: to one canonical address (lower case, +detail
// dropped), to its domain, and to anyone.
struct AckCounts {
  std::int64_t address = 0, domain = 0, all = 0;
};

struct DuplicateHit {
  std::int64_t raw_id = 0;
  std::optional<std::int64_t> ticket_id;
};

// MailLog::look_up_raw: the two questions de-duplication asks of every mail first.
struct RawLookup {
  std::optional<DuplicateHit> at;  // raw_at(origin)
  bool message_id_stored = false;  // has_raw_with_message_id(message_id)
};

// The interfaces below are views of one Transaction: they are never owned (or deleted)
// through themselves, hence the protected destructors.

// The mailbox's watermark and in-hand record, and the raw mails taken in with their
// de-duplication keys (mailbox position; Message-ID plus content hash). Raw bytes are kept
// whatever happens to their parsed form.
class MailLog {
 public:
  virtual std::optional<MailboxState> mailbox(const std::string& name) = 0;
  virtual void set_mailbox(const MailboxState& state) = 0;
  virtual std::optional<InFlight> in_flight(const std::string& mailbox) = 0;
  virtual void set_in_flight(const InFlight& f) = 0;  // replaces the mailbox's record

  virtual std::optional<DuplicateHit> raw_at(const MailOrigin& origin) = 0;
  virtual std::optional<DuplicateHit> raw_with(const std::string& message_id, const std::string& content_hash) = 0;
  virtual bool has_raw_with_message_id(const std::string& message_id) = 0;  // "" asks for one without
  // Both at once (no origin: `at` is empty); a round trip fewer on PostgreSQL.
  virtual RawLookup look_up_raw(const std::optional<MailOrigin>& origin, const std::string& message_id) = 0;
  virtual std::int64_t add_raw(const RawMail& raw) = 0;

 protected:
  ~MailLog() = default;
};

// Tickets with their messages, events, SLA pauses and fired SLA events, time spent and
// monitoring alerts. Setters write what they are given (updated_at only moves forward);
// deciding a change is the caller's. A ticket id that does not exist changes nothing,
// except where a setter says it throws.
class Tickets {
 public:
  virtual std::int64_t create_ticket(const NewTicket& t) = 0;
  virtual std::optional<Ticket> ticket(std::int64_t id) = 0;
  virtual std::vector<Ticket> tickets() = 0;  // newest first
  virtual std::vector<Ticket> find_tickets(const TicketQuery& q) = 0;
  virtual std::int64_t count_tickets(const TicketQuery& q) = 0;  // limit and offset ignored; count_at_most not
  virtual void touch_ticket(std::int64_t id, Time at) = 0;
  virtual std::vector<Ticket> open_tickets() = 0;  // status new, open, pending or awaiting-approval
  // Open tickets by their next SLA due time, the earliest first, then those with none (by
  // id); at most `limit`. Served by an index: no SLA is evaluated.
  virtual std::vector<Ticket> open_tickets_by_sla_due(int limit) = 0;

  // Writes the status and updated_at, nothing else. Throws StoreError (refused) for an
  // unknown ticket.
  virtual void write_status(std::int64_t id, const std::string& status, Time at) = 0;
  // Opens a pause of the SLA clock at `at` unless one is open; true when it opened one.
  virtual bool start_pause(std::int64_t id, Time at) = 0;
  // Closes the open pause at `at`; false when none was open.
  virtual bool end_pause(std::int64_t id, Time at) = 0;
  virtual void set_resolved_at(std::int64_t id, std::optional<Time> at) = 0;  // nullopt: not resolved
  virtual void set_resolution(std::int64_t id, const std::string& text) = 0;
  // Leaves updated_at alone. nullopt once nothing is coming (a resolved or closed ticket):
  // the ticket then leaves the due-time index the queue walks.
  virtual void set_sla_next_due(std::int64_t id, std::optional<Time> at) = 0;
  virtual void set_priority(std::int64_t id, const std::string& priority, Time at) = 0;
  virtual void set_category(std::int64_t id, const std::string& category, Time at) = 0;
  virtual void set_assignee(std::int64_t id, const std::string& assignee, Time at) = 0;
  virtual void set_sla(std::int64_t id, const std::string& sla, Time at) = 0;
  virtual void set_first_response(std::int64_t id, Time at) = 0;  // keeps the first one
  virtual std::vector<PausePeriod> pauses(std::int64_t ticket_id) = 0;
  // Records a fired SLA event; false when it had fired before (nothing changes then).
  virtual bool record_sla_event(const SlaEvent& e) = 0;
  virtual std::vector<SlaEvent> sla_events(std::int64_t ticket_id) = 0;

  // The ticket holding a message (in or out) with one of these Message-IDs, latest match first.
  virtual std::optional<std::int64_t> ticket_by_message_ids(const std::vector<std::string>& ids) = 0;
  virtual std::int64_t add_message(const MessageRecord& m) = 0;  // with its attachments
  // Oldest first, each with its attachments' metadata (no data), by number. An "out"
  // message lists the attachments its outbox row carried (after any of its own).
  virtual std::vector<MessageRecord> messages(std::int64_t ticket_id) = 0;
  // The ticket's attachments by number (metadata only), and one with its bytes (nullopt: no
  // such number on that ticket, or no such row).
  virtual std::vector<AttachmentInfo> attachments(std::int64_t ticket_id) = 0;
  virtual std::optional<AttachmentRecord> attachment(std::int64_t ticket_id, std::int64_t number) = 0;
  virtual std::optional<AttachmentRecord> attachment_by_id(std::int64_t id) = 0;
  // The Cc list, removed entries included (in the order first added).
  virtual std::vector<CcEntry> cc_entries(std::int64_t ticket_id) = 0;
  // Adds (or, with removed = true, marks removed) an address; true when something changed.
  // An address marked removed is put back only with `force` (an agent's #cc add).
  virtual bool set_cc(std::int64_t ticket_id, const CcEntry& e, bool force) = 0;
  virtual void add_event(const Event& e) = 0;
  virtual std::vector<Event> events(std::int64_t ticket_id) = 0;  // oldest first, internal ones included
  // include_internal = false: only the events a customer may see.
  virtual std::vector<Event> events(std::int64_t ticket_id, bool include_internal) = 0;
  // Events of `kind` (and `detail`, unless empty) since `since`, over all tickets.
  virtual std::int64_t count_events(const std::string& kind, const std::string& detail, Time since) = 0;

  // The open ticket of a repeated monitoring alert (same requester, same key), if any.
  virtual std::optional<std::int64_t> open_ticket_with_alert(const std::string& requester, const std::string& key) = 0;
  virtual void count_repeat(std::int64_t id, Time at) = 0;
  virtual void add_time(const TimeEntry& e) = 0;  // and adds to the ticket's time_spent_s
  virtual std::vector<TimeEntry> time_entries(Time from, Time to) = 0;  // [from, to)
  virtual std::vector<Ticket> tickets_created(Time from, Time to) = 0;   // [from, to), oldest first
  // Resolved tickets whose resolution is older than `before`: they close by themselves.
  virtual std::vector<Ticket> resolved_before(Time before) = 0;

 protected:
  ~Tickets() = default;
};

// Organisations (with their mail domains), their contacts, and the agents. Adding a name or
// address that exists throws a non-transient StoreError (refused) saying so.
class Directory {
 public:
  virtual std::int64_t add_organisation(const Organisation& o) = 0;
  virtual void update_organisation(const Organisation& o) = 0;  // by name: sla, language, hypercare, visibility
  virtual std::optional<Organisation> organisation(const std::string& name) = 0;
  virtual std::vector<Organisation> organisations() = 0;
  virtual std::vector<std::string> organisation_names() = 0;  // by name; what a filter's choices need
  virtual std::optional<std::string> organisation_of_domain(const std::string& domain) = 0;
  virtual void add_contact(const Contact& c) = 0;
  // By email: name, organisation, visibility. Throws StoreError (refused) for an unknown
  // contact or organisation. Ending portal sessions is the caller's (desk/directory.h).
  virtual void update_contact(const Contact& c) = 0;
  virtual bool remove_contact(const std::string& email) = 0;
  virtual std::optional<Contact> contact(const std::string& email) = 0;
  virtual std::vector<Contact> contacts(const std::string& organisation) = 0;  // empty: all
  virtual void add_agent(const Agent& a) = 0;
  virtual bool remove_agent(const std::string& email) = 0;
  virtual std::optional<Agent> agent(const std::string& email) = 0;
  // agent(email), contact(email) and organisation_of_domain(domain) at once; a round trip
  // where they were three on PostgreSQL.
  virtual SenderLookup look_up_sender(const std::string& email, const std::string& domain) = 0;
  virtual std::vector<Agent> agents() = 0;

 protected:
  ~Directory() = default;
};

// Outgoing mail, queued in the transaction that decided it and delivered at least once
// later: a row is pending until marked sent or failed.
class Outbox {
 public:
  virtual std::int64_t enqueue(const OutboxItem& item) = 0;
  virtual std::int64_t count_sent_or_queued(const std::string& kind, const std::string& recipient, Time since) = 0;
  // At most the newest `max_rows` acknowledgements are looked at (the total cap).
  virtual AckCounts count_acknowledgements(const std::string& address, Time since, std::int64_t max_rows) = 0;
  // Pending rows due at `now` that no daemon has claimed (or whose claim expired), oldest first.
  virtual std::vector<OutboxItem> due_outbox(Time now, int limit) = 0;
  // The same rows, claimed for `claimer` until database_now() + claim_s, so that of several
  // daemons each row is sent by one (PostgreSQL: FOR UPDATE SKIP LOCKED, so claimers do not
  // wait for each other). A claimer that dies leaves its rows to another once the claim
  // expires. mark_sent, mark_retry and mark_failed end the claim. Write transactions only.
  virtual std::vector<OutboxItem> claim_outbox(Time now, int limit, const std::string& claimer, std::int64_t claim_s) = 0;
  // Ends `claimer`'s claims on rows it has not finished (a daemon stopping).
  virtual void release_outbox_claims(const std::string& claimer) = 0;
  virtual std::optional<Time> next_outbox_attempt() = 0;
  virtual void mark_sent(std::int64_t id, Time at) = 0;
  virtual void mark_retry(std::int64_t id, Time next_attempt_at, const std::string& error) = 0;
  virtual void mark_failed(std::int64_t id, const std::string& error) = 0;
  // Some recipients refused for now (4xx) while others took it: the row is retried for these
  // only. The rate limits (count_sent_or_queued, count_acknowledgements) still count the mail
  // for everyone it was queued for.
  virtual void set_recipients(std::int64_t id, const std::vector<std::string>& recipients) = 0;
  virtual std::vector<OutboxItem> outbox(const std::string& status) = 0;  // "pending", "failed", "sent"; bytes left empty
  virtual bool retry_outbox(std::int64_t id, Time at) = 0;                 // pending again, due at `at`

 protected:
  ~Outbox() = default;
};

// Mails with parse problems, newest first; one with its bytes; and replacing a mail's
// parsed form after a parser upgrade (the message keeps its id and ticket).
class Quarantine {
 public:
  virtual std::vector<QuarantinedMail> quarantined_mails() = 0;
  virtual std::optional<QuarantinedMail> quarantined_mail(std::int64_t raw_id) = 0;
  virtual void replace_parsed(std::int64_t raw_id, const MessageRecord& parsed, const std::string& problems) = 0;
  // What the parser now says of a stored mail (after `quarantine retry` ingested it anew).
  virtual void set_raw_problems(std::int64_t raw_id, const std::string& problems, bool quarantined) = 0;

 protected:
  ~Quarantine() = default;
};

// Store-wide facts (table meta).
class Meta {
 public:
  // E.g. "legacy_tokens_until"; nullopt when not recorded.
  virtual std::optional<std::string> meta(const std::string& key) = 0;

 protected:
  ~Meta() = default;
};

// The web portal's sign-in state, shared by every portal process through the store: login
// links, sessions, rate counters and one-time form keys.
//
// Security: tokens and session ids are credentials, so only their hashes are stored (the
// caller hashes; the store keeps what it is given and never sees the secret). Every use
// that must happen once (a login link, a form key) is one conditional write inside the
// write transaction, so two portals racing cannot both succeed.
struct PortalSession {
  std::string email;  // lower case
  std::string role;   // "contact" or "agent"
  std::string csrf;   // the session's CSRF token as the portal compares it
  Time created_at = 0, last_seen_at = 0;
};

class Portal {
 public:
  // A login link's token (its hash), for `email`, usable once before `expires_at`.
  virtual void add_login_token(const std::string& token_hash, const std::string& email, Time created_at,
                               Time expires_at) = 0;
  // Marks the token used and returns its email, only if it exists, was unused and now <
  // expires_at; else nullopt (and nothing changes). Needs a write transaction.
  virtual std::optional<std::string> use_login_token(const std::string& token_hash, Time now) = 0;

  virtual void add_session(const std::string& session_hash, const PortalSession& s) = 0;
  virtual std::optional<PortalSession> session(const std::string& session_hash) = 0;
  virtual void touch_session(const std::string& session_hash, Time now) = 0;  // last_seen_at = now
  virtual bool remove_session(const std::string& session_hash) = 0;           // true: there was one
  // Ends every session of an address (removed, moved to another organisation); how many.
  virtual std::int64_t remove_sessions_of(const std::string& email) = 0;
  virtual std::int64_t count_sessions(Time seen_since) = 0;  // last_seen_at >= seen_since
  // Deletes used or expired login tokens, sessions last seen before `session_idle_before` or
  // created before `session_created_before`, and rate counters and form keys older than a
  // day before `now` (the longest window a limit counts in is an hour).
  virtual void forget_expired_portal(Time now, Time session_idle_before, Time session_created_before) = 0;

  // Adds one to the counter of (key, window_start) and returns the count after adding.
  virtual std::int64_t count_rate(const std::string& key, Time window_start) = 0;
  // True the first time `key` is used, false every time after (a double click posts once).
  virtual bool use_form_key(const std::string& key, Time now) = 0;

 protected:
  ~Portal() = default;
};

// Several daemons on one store (PostgreSQL; an SQLite store has one daemon, but keeps the
// same records). A lease is a row with a holder and an expiry judged by the database's clock,
// never a host's: a daemon that dies or freezes loses it once it expires, and another takes it.
// Its epoch grows by one each time it changes hands: the fencing token a holder's writes are
// checked against (Store::set_fence), so a holder that wakes after losing it cannot commit.
struct Lease {
  std::string name;    // e.g. "mailbox:INBOX"
  std::string holder;  // a daemon's id
  std::int64_t epoch = 0;
  Time expires_at = 0;  // the database's clock
};

// A running daemon as it last told the store (heartbeat), with what it holds.
struct DaemonRecord {
  std::string id;  // unique per process: host, pid and start (daemon/cluster.h)
  std::string host;
  std::int64_t pid = 0;
  Time started_at = 0;
  Time heartbeat_at = 0;            // the database's clock; filled in by heartbeat()
  std::vector<std::string> leases;  // names of the leases it holds unexpired; filled in by daemons()
  std::int64_t outbox_claims = 0;   // outbox rows it has claimed and not finished; filled in by daemons()
};

class Coordination {
 public:
  // Seconds since the epoch on the database's clock (SQLite: this host's).
  virtual Time database_now() = 0;
  // Takes the lease for `holder` until database_now() + seconds when it is free, expired or
  // already theirs (renewed: the epoch stays); returns the lease as it stands afterwards, so
  // `holder` differs when another daemon holds it unexpired. Write transactions only.
  virtual Lease take_lease(const std::string& name, const std::string& holder, std::int64_t seconds) = 0;
  virtual std::optional<Lease> lease(const std::string& name) = 0;
  virtual std::vector<Lease> leases() = 0;
  // Lets the lease expire now if `holder` has it (a daemon stopping); the epoch stays.
  virtual void release_lease(const std::string& name, const std::string& holder) = 0;
  // Records (or refreshes) a daemon; heartbeat_at is the database's clock.
  virtual void heartbeat(const DaemonRecord& d) = 0;
  virtual void forget_daemon(const std::string& id) = 0;
  // Daemons whose heartbeat is at or after `since`, by host and pid, with their leases and claims.
  virtual std::vector<DaemonRecord> daemons(Time since) = 0;
  // Daemons whose heartbeat is older than `before` are forgotten; how many.
  virtual std::int64_t forget_daemons_before(Time before) = 0;

 protected:
  ~Coordination() = default;
};

// Estimates the customer approves (store/estimates.h).
class Estimates;
// Maintenance notices (store/notices.h): an interface of its own, so a change to it does not
// rebuild everything that includes this header.
class Notices;
// Keeping customers informed (store/keep_informed.h).
class KeepInformed;

class Transaction : public MailLog,
                    public Tickets,
                    public Directory,
                    public Outbox,
                    public Quarantine,
                    public Meta,
                    public Portal,
                    public Coordination {
 public:
  virtual ~Transaction() = default;
  virtual void commit() = 0;

  virtual Estimates& estimates() = 0;  // estimates the customer approves (store/estimates.h)
  virtual Notices& notices() = 0;  // maintenance notices (store/notices.h)
  virtual Incidents& incidents() = 0;  // major incidents (store/incidents.h)
  virtual KeepInformed& keep_informed() = 0;  // keeping customers informed (store/keep_informed.h)
};

// Wakes whoever delivers the outbox (the daemon) when any process has queued mail; see
// Store::listen_for_outbox.
class OutboxListener {
 public:
  virtual ~OutboxListener() = default;
  // Readable when a wake-up may be waiting: wait on it (poll(2); Asio on a dup() of it). The
  // listener owns it and closes it; never read from it or close it yourself.
  virtual int fd() const = 0;
  // Takes every wake-up waiting, without blocking; true when there was one or more, so a
  // burst of commits is one wake-up.
  virtual bool drain() = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  enum class Mode { read, write };
  virtual std::unique_ptr<Transaction> begin(Mode mode) = 0;
  // The outbox's wake-up. Contract: once the COMMIT of a write transaction that queued
  // outgoing mail (enqueue, or a retry_outbox that made a row pending) has returned, in any
  // process, the store's listener is woken; a rollback or a failed commit wakes nobody, nor
  // does the sender's own bookkeeping (mark_sent, mark_retry ...). A hint only: best-effort,
  // it never blocks or fails the commit, and a lost wake-up only delays the mail until the
  // listener's own rescan of the outbox, which stays the truth. A daemon calls this once at
  // start (on SQLite, where there is one listener per store, while it holds the store's
  // lock). The SQLite backend uses a unix datagram socket beside the store file
  // (`<path>.wake`, store/wake.h); the PostgreSQL backend LISTENs on a connection of its own,
  // for the NOTIFY a commit with mail sends, listening before this returns; after an outage
  // it connects again by itself and wakes the listener once. An error (the socket's path too
  // long, something that is no socket in its place) says why; the caller goes on without
  // wake-ups.
  virtual tl::expected<std::unique_ptr<OutboxListener>, std::string> listen_for_outbox() = 0;
  // A consistent copy of the whole store at `path` while others keep using it (online backup).
  // `path` is created here, mode 0600 (O_EXCL|O_NOFOLLOW); a name that exists, a symlink
  // included, is refused (StoreError, refused) and left as it was.
  virtual void backup(const std::string& path) = 0;

  // Fencing (Coordination): from now on, every transaction of this Store that writes a
  // mailbox's watermark or in-hand record (set_mailbox, set_in_flight) checks in that same
  // transaction that `holder` still holds `lease` at `epoch`, renewing its expiry, and
  // otherwise throws FencedError, so nothing of it commits. nullopt: no check (one daemon).
  struct Fence {
    std::string lease, holder;
    std::int64_t epoch = 0;
    std::int64_t seconds = 0;  // the expiry a passing check renews to
  };
  virtual void set_fence(std::optional<Fence> fence) = 0;

  // Which backend: "sqlite" or "postgresql" (status, store copy, messages).
  virtual std::string backend() const = 0;
  // Whether several daemons may share this store (PostgreSQL), or one only (SQLite: the
  // daemon's lock file decides).
  virtual bool shared() const = 0;
};

struct StoreOptions {
  std::string path;  // the SQLite file; open_store() takes it from the URL
  // SQLite: how long a writer waits for another's lock. PostgreSQL: the same (lock_timeout),
  // for the lock every write transaction takes.
  int busy_timeout_ms = 5000;
  // Test aid (fault injection): the Nth SQL statement step from now throws a transient
  // StoreError, as a locked database or a lost connection would. 0 = never.
  int fail_at_step = 0;
  // PostgreSQL: the libpq connection URI (open_store() takes it from the URL) and the file
  // holding the password (mode 0600 or a systemd credential; empty: libpq's own, e.g. PGPASSFILE).
  std::string conninfo{};
  std::string password_file{};
  // PostgreSQL: a session idle inside a transaction this long is ended by the server, so a
  // frozen process (SIGSTOP, a hung host) does not hold the write lock for ever.
  int idle_in_transaction_ms = 10000;
  // PostgreSQL: the password itself, read by the caller (desk::open_store: read_secret's
  // checks); wins over password_file.
  std::string password{};
};

// Opens (creating if needed) and migrates the SQLite store. Throws StoreError.
std::unique_ptr<Store> open_sqlite_store(const StoreOptions& options);

// Opens (creating its tables if needed) and migrates a PostgreSQL store (options.conninfo).
// Throws StoreError: transient when the server cannot be reached.
std::unique_ptr<Store> open_pg_store(const StoreOptions& options);

// Opens the store a URL names (store/url.h: `sqlite://PATH` or `postgresql://...`), with
// `extra`'s settings; the URL replaces extra.path or extra.conninfo. Throws StoreError: not transient for a URL this build
// cannot open (an unknown scheme, no path), else as the backend's open.
std::unique_ptr<Store> open_store(const std::string& url, const StoreOptions& extra = {});

}  // namespace sd::store
