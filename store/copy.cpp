// store/copy.cpp: store copy (store/copy.h): every table of the schema from one store into
// another through store/table_rows.h, verified by row count and SHA-256 before COMMIT.
//
// Diagnostics: refusals say which side (--from, --to) and what to do; a verification
// failure names the table and both counts and hashes. Security: messages name an SQLite
// store's file and a PostgreSQL store's scheme, never a URL (describe_store); the SQLite
// lock file is opened O_NOFOLLOW and created 0600, as the daemon does.
#include "store/copy.h"

#include "store/sql_transaction.h"
#include "store/table_rows.h"
#include "store/url.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sd::store {
namespace {

using rows::Column;
using rows::Kind;
using rows::TableSpec;

// A new schema version adds or changes tables: say here how they are copied (both
// schemas: sqlite_store.cpp kMigrations, pg_store.cpp kSchema), then move this on.
static_assert(sql::kSchemaVersion == 13, "store copy: add the new schema's tables and columns to kTables");

constexpr Column I(std::string_view n) { return {n, Kind::integer}; }
constexpr Column T(std::string_view n) { return {n, Kind::text}; }
constexpr Column B(std::string_view n) { return {n, Kind::blob}; }

// Schema 12's tables, each after the tables its foreign keys name (tickets.refers_to names
// an older ticket: a lower id, copied before it).
const std::vector<TableSpec>& tables() {
  using O = TableSpec::Order;
  static const std::vector<TableSpec> all = {
      {"organisations", {I("id"), T("name"), T("sla"), T("language"), T("hypercare_start"), I("hypercare_weeks"),
                         I("hypercare_ended_at"), T("visibility")}},
      {"org_domains", {T("domain"), I("org_id")}, O::key, {"domain"}},
      {"contacts", {T("email"), T("name"), I("org_id"), T("visibility")}, O::key, {"email"}},
      {"agents", {T("email"), T("name")}, O::key, {"email"}},
      {"tickets", {I("id"), T("subject"), T("status"), T("requester"), T("requester_name"), T("priority"), T("category"),
                   I("created_at"), I("updated_at"), T("sla"), T("assignee"), I("first_response_at"), I("resolved_at"),
                   T("organisation"), I("unverified"), I("hypercare"), I("time_spent_s"), T("alert_key"),
                   I("repeat_count"), I("refers_to"), I("sla_next_due"), T("resolution"), I("attachments_numbered")},
       // PostgreSQL's words of the subject and the body (schema 13): its triggers make them
       // from the copied text.
       O::id, {}, {"subject_search"}},
      {"raw_mails", {I("id"), I("received_at"), T("mailbox"), I("uidvalidity"), I("uid"), T("message_id"),
                     T("content_hash"), B("bytes"), T("problems"), I("quarantined")}},
      {"outbox", {I("id"), I("ticket_id"), T("kind"), T("mail_from"), T("recipients"), T("message_id"), B("bytes"),
                  T("status"), I("attempts"), I("next_attempt_at"), T("last_error"), I("created_at"), I("sent_at"),
                  T("claimed_by"), I("claimed_until")}},
      {"outbox_recipients", {I("outbox_id"), T("address")}, O::key, {"outbox_id", "address"}},
      {"ack_recipients", {I("id"), I("outbox_id"), I("created_at"), T("mailbox"), T("domain"), I("failed")}},
      {"messages", {I("id"), I("ticket_id"), T("direction"), I("raw_id"), I("outbox_id"), T("message_id"),
                    T("from_addr"), T("from_name"), T("to_addrs"), T("cc_addrs"), T("subject"), I("date"),
                    T("body_text"), T("new_text"), T("automatic"), I("created_at"), I("internal")},
       O::id, {}, {"body_search"}},
      {"attachments", {I("id"), I("message_id"), T("filename"), T("content_type"), I("size"), B("data"),
                       I("ticket_id"), I("number"), T("content_id"), I("is_inline"), I("kept")}},
      {"outbox_attachments", {I("outbox_id"), I("position"), I("attachment_id")}, O::key, {"outbox_id", "position"}},
      {"events", {I("id"), I("ticket_id"), I("at"), T("actor"), T("kind"), T("detail"), I("internal")}},
      {"pauses", {I("id"), I("ticket_id"), I("from_at"), I("to_at")}},
      // In the order they fired: the desk lists a ticket's SLA events so.
      {"sla_events", {I("ticket_id"), T("target"), T("kind"), I("due"), I("fired_at")}, O::recorded, {}, {"seq"}},
      {"time_entries", {I("id"), I("ticket_id"), I("at"), T("agent"), I("seconds")}},
      {"ticket_cc", {I("id"), I("ticket_id"), T("address"), T("added_by"), I("at"), I("removed")}},
      {"mailboxes", {T("name"), I("uidvalidity"), I("last_uid"), I("last_poll_at"), I("done_uid")}, O::key, {"name"}},
      {"in_flight", {T("mailbox"), I("uidvalidity"), T("uids"), I("deaths"), T("run")}, O::key, {"mailbox"}},
      {"meta", {T("key"), T("value")}, O::key, {"key"}},
      {"portal_login_tokens", {T("token_hash"), T("email"), I("created_at"), I("expires_at"), I("used_at")}, O::key,
       {"token_hash"}},
      {"portal_sessions", {T("session_hash"), T("email"), T("role"), T("csrf"), I("created_at"), I("last_seen_at")},
       O::key, {"session_hash"}},
      {"portal_rates", {T("key"), I("window_start"), I("count")}, O::key, {"key", "window_start"}},
      {"portal_form_keys", {T("key"), I("used_at")}, O::key, {"key"}},
      // Leases keep their epochs, so a holder of the old store's lease is fenced on the new one too.
      {"leases", {T("name"), T("holder"), I("epoch"), I("expires_at")}, O::key, {"name"}},
      {"daemons", {T("id"), T("host"), I("pid"), I("started_at"), I("heartbeat_at")}, O::key, {"id"}},
      // Schema 13, estimates the customer approves (store/estimates.h).
      {"estimates", {I("id"), I("ticket_id"), I("seconds"), T("text"), T("agent"), T("requester"), T("organisation"),
                     I("created_at"), T("state"), T("answered_by"), I("answered_at"), T("answered_via"),
                     T("answer_detail")}},
      {"estimate_notices", {I("estimate_id"), T("kind"), I("at")}, O::key, {"estimate_id", "kind"}},
      {"allowance_notices", {T("organisation"), T("month"), I("ticket_id"), T("agent"), I("at")}, O::key,
       {"organisation", "month"}},
      // Maintenance notices (schema 13), after the organisations they name.
      {"notices", {I("id"), T("kind"), I("starts_at"), I("ends_at"), I("all_orgs"), T("text"), T("text_sv"),
                   T("text_da"), I("created_at"), T("created_by"), I("cancelled_at")}},
      {"notice_orgs", {I("notice_id"), I("org_id")}, O::key, {"notice_id", "org_id"}},
      {"notice_mails", {I("notice_id"), T("recipient"), T("what"), T("organisation"), I("at")}, O::key,
       {"notice_id", "recipient", "what"}},
      // Major incidents (store/incidents.h), after the tickets their keys name.
      {"incidents", {I("ticket_id"), T("title"), T("declared_by"), I("declared_at"), I("all_orgs"), T("root_cause"),
                     T("follow_up")}, O::key, {"ticket_id"}},
      {"incident_orgs", {I("incident_id"), T("organisation")}, O::key, {"incident_id", "organisation"}},
      {"incident_alert_keys", {I("incident_id"), T("alert_key")}, O::key, {"incident_id", "alert_key"}},
      {"incident_links", {I("ticket_id"), I("incident_id"), T("linked_by"), I("linked_at"), T("how"), T("unlinked_by"),
                          I("unlinked_at")}, O::key, {"ticket_id"}},
      // Keeping customers informed (schema 13).
      {"org_account_agents", {I("org_id"), T("agent")}, O::key, {"org_id"}},
      {"org_events", {I("id"), I("org_id"), I("at"), T("actor"), T("kind"), T("detail")}},
      {"org_mailings", {I("org_id"), T("mailing"), I("sent_at")}, O::key, {"org_id", "mailing"}},
      {"customer_words", {I("ticket_id"), I("at"), T("agent"), T("words")}, O::key, {"ticket_id"}},
  };
  return all;
}

const char* side_name(bool source) { return source ? "source (--from)" : "target (--to)"; }

// SHA-256 over a table's rows: each value as a tag (NULL or not) and, when not NULL, its
// length (8 bytes, little endian) and its bytes, so no two different rows hash alike.
class TableHash {
 public:
  TableHash() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) throw StoreError("store copy: SHA-256 unavailable", false);
  }
  ~TableHash() { EVP_MD_CTX_free(ctx_); }
  TableHash(const TableHash&) = delete;
  TableHash& operator=(const TableHash&) = delete;

  void add(const rows::Row& row) {
    for (const auto& v : row) {
      unsigned char head[9] = {static_cast<unsigned char>(v ? 1 : 0)};
      std::uint64_t n = v ? v->size() : 0;
      for (int i = 0; i < 8; ++i) head[1 + i] = static_cast<unsigned char>(n >> (8 * i));
      EVP_DigestUpdate(ctx_, head, v ? sizeof head : 1);
      if (v && !v->empty()) EVP_DigestUpdate(ctx_, v->data(), v->size());
    }
    ++rows_;
  }
  std::int64_t rows() const { return rows_; }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    std::string out;
    for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
  std::int64_t rows_ = 0;
};

// The daemon's lock on an SQLite store (daemon/daemon.cpp StoreLock: an flock on
// STORE.lock, which the kernel drops however the process ends), taken without waiting and
// held for the copy.
class StoreFileLock {
 public:
  StoreFileLock(const std::string& store_path, bool source) : path_(store_path + ".lock") {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    bool writable = fd_ >= 0;
    if (fd_ < 0 && errno == EACCES) fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd_ < 0)
      throw StoreError(fmt::format("store copy: cannot open the lock file {} of the {}: {}", path_, side_name(source),
                                   std::strerror(errno)),
                       false);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char pid[32] = {0};
      [[maybe_unused]] auto n = ::pread(fd_, pid, sizeof pid - 1, 0);
      std::string holder(pid);
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      ::close(fd_);
      throw CopyRefused(CopyRefused::Reason::daemon_running,
                        fmt::format("a servicedesk daemon{} is running on the {} {} (it holds {}): stop it and the "
                                    "portal, then copy",
                                    holder.empty() ? "" : " (pid " + holder + ")", side_name(source), store_path, path_));
    }
    // As the daemon does: a daemon started now says which process holds the store.
    std::string me = fmt::format("{}\n", ::getpid());
    if (writable && ::ftruncate(fd_, 0) == 0) [[maybe_unused]] auto n = ::pwrite(fd_, me.data(), me.size(), 0);
  }
  ~StoreFileLock() { ::close(fd_); }
  StoreFileLock(const StoreFileLock&) = delete;
  StoreFileLock& operator=(const StoreFileLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

// Which PostgreSQL database a URI names: host (or hostaddr), port and database, with
// libpq's defaults (PGHOST, PGPORT, PGDATABASE, the user's name) for those it leaves out.
std::string pg_database_of(const std::string& uri) {
  std::map<std::string, std::string> v;
  if (PQconninfoOption* d = PQconndefaults()) {
    for (auto* o = d; o->keyword; ++o)
      if (o->val) v[o->keyword] = o->val;
    PQconninfoFree(d);
  }
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(uri.c_str(), &err);
  if (!parsed) {
    PQfreemem(err);
    return "unparsed:" + uri;  // compared only, never shown; libpq says what is wrong when it connects
  }
  for (auto* o = parsed; o->keyword; ++o)
    if (o->val && *o->val) v[o->keyword] = o->val;
  PQconninfoFree(parsed);
  std::string db = v.count("dbname") ? v["dbname"] : v["user"];
  return fmt::format("{}|{}|{}|{}", v["host"], v["hostaddr"], v["port"], db);
}

bool same_store(const std::string& a, const std::string& b, const StoreUrl& ua, const StoreUrl& ub) {
  if (a == b) return true;
  if (ua.backend != ub.backend) return false;
  if (ua.backend == StoreUrl::Backend::postgresql) return pg_database_of(ua.conninfo) == pg_database_of(ub.conninfo);
  struct stat sa{}, sb{};
  return ::stat(ua.path.c_str(), &sa) == 0 && ::stat(ub.path.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// A store many daemons share (PostgreSQL) has no lock file: a heartbeat in the last minute
// (daemons beat every few seconds, by the database's clock) is a daemon running.
void refuse_running_daemons(Store& s, bool source) {
  auto tx = s.begin(Store::Mode::read);
  auto running = tx->daemons(tx->database_now() - 60);
  if (running.empty()) return;
  std::string who;
  for (const auto& d : running) who += fmt::format("{}{} pid {}", who.empty() ? "" : ", ", d.host, d.pid);
  throw CopyRefused(CopyRefused::Reason::daemon_running,
                    fmt::format("{} servicedesk daemon{} ran on the {} in the last minute ({}): stop {} and the "
                                "portal, then copy",
                                running.size(), running.size() == 1 ? "" : "s", side_name(source), who,
                                running.size() == 1 ? "it" : "them"));
}

std::unique_ptr<rows::TableAccess> table_access(Store& s) {
  if (auto a = rows::sqlite_table_access(s)) return a;
  if (auto a = rows::pg_table_access(s)) return a;
  throw StoreError(fmt::format("store copy: the {} backend cannot be copied", s.backend()), false);
}

// The store's tables and columns are the ones kTables copies, so nothing is left behind.
void check_schema(rows::TableAccess& a, bool source) {
  std::set<std::string> known;
  for (const auto& t : tables()) known.insert(std::string(t.name));
  for (const auto& name : a.tables())
    if (!known.count(name))
      throw CopyRefused(CopyRefused::Reason::unknown_schema,
                        fmt::format("the {} has a table '{}' that store copy does not know: nothing copied", side_name(source), name));
  for (const auto& t : tables()) {
    std::set<std::string> want, have;
    for (const auto& c : t.columns) want.insert(std::string(c.name));
    for (const auto& c : a.columns(t.name))
      if (std::find(t.generated.begin(), t.generated.end(), c) == t.generated.end()) have.insert(c);
    if (want != have)
      throw CopyRefused(CopyRefused::Reason::unknown_schema,
                        fmt::format("the table '{}' of the {} {} (store copy knows schema {}): nothing copied", t.name,
                                    side_name(source), have.empty() ? "is missing" : "has other columns than it knows",
                                    sql::kSchemaVersion));
  }
}

}  // namespace

std::vector<std::string> copied_tables() {
  std::vector<std::string> out;
  for (const auto& t : tables()) out.emplace_back(t.name);
  return out;
}

std::string describe_store(const std::string& url) {
  auto parsed = parse_store_url(url);
  if (!parsed) return "a store of an unknown kind";
  if (parsed->backend == StoreUrl::Backend::sqlite) return "sqlite store " + parsed->path;
  return "postgresql store";
}

CopyReport copy_store(const CopyEnd& from, const CopyEnd& to) {
  auto src_url = parse_store_url(from.url);
  if (!src_url) throw StoreError("--from: " + src_url.error(), false);
  auto dst_url = parse_store_url(to.url);
  if (!dst_url) throw StoreError("--to: " + dst_url.error(), false);
  CopyReport report{describe_store(from.url), describe_store(to.url), {}, 1};
  if (same_store(from.url, to.url, *src_url, *dst_url))
    throw CopyRefused(CopyRefused::Reason::same_store,
                      fmt::format("--from and --to name the same store ({}): give a new store as --to", report.from));

  // Locks and the daemons' check before the target is opened: a refusal writes nothing.
  std::optional<StoreFileLock> src_lock, dst_lock;
  if (src_url->backend == StoreUrl::Backend::sqlite) {
    struct stat st{};
    // open_store() would create an empty store in its place.
    if (::stat(src_url->path.c_str(), &st) != 0)
      throw CopyRefused(CopyRefused::Reason::no_source,
                        fmt::format("the source (--from) {} does not exist: {}", src_url->path, std::strerror(errno)));
    src_lock.emplace(src_url->path, true);
  }
  // A PostgreSQL session idle in its transaction is ended after idle_in_transaction_ms: the
  // source's waits while a page goes into the target, the target's while one is read.
  StoreOptions src_options = from.options, dst_options = to.options;
  src_options.idle_in_transaction_ms = dst_options.idle_in_transaction_ms = 10 * 60 * 1000;
  auto src = open_store(from.url, src_options);
  if (src->shared()) refuse_running_daemons(*src, true);
  if (dst_url->backend == StoreUrl::Backend::sqlite) dst_lock.emplace(dst_url->path, false);
  auto dst = open_store(to.url, dst_options);
  if (dst->shared()) refuse_running_daemons(*dst, false);

  auto in = table_access(*src);
  auto out = table_access(*dst);
  in->begin(Store::Mode::read);
  out->begin(Store::Mode::write);
  check_schema(*in, true);
  check_schema(*out, false);
  for (const auto& t : tables())
    if (out->has_rows(t))
      throw CopyRefused(CopyRefused::Reason::target_holds_data,
                        fmt::format("the target (--to) holds data (its table {} has rows): store copy writes only into "
                                    "an empty store; give a new one",
                                    t.name));

  // The rows go in as the target will hold them, and the expected hash is over that.
  std::vector<std::string> expected;
  for (const auto& t : tables()) {
    TableHash hash;
    CopiedTable done{std::string(t.name), 0, {}, 0};
    rows::Row stored;
    in->read(t, [&](const rows::Row& row) {
      stored = row;
      for (std::size_t i = 0; i < row.size(); ++i) {
        if (t.columns[i].kind != Kind::text || !row[i]) continue;
        stored[i] = out->stored_text(*row[i]);
        if (*stored[i] != *row[i]) ++done.text_replaced;
      }
      out->insert(t, stored);
      hash.add(stored);
    });
    done.rows = hash.rows();
    expected.push_back(hash.hex());
    report.tables.push_back(std::move(done));
  }

  // New ids continue past the highest id and past any number the source already gave.
  for (const auto& t : tables()) {
    if (t.order != TableSpec::Order::id) continue;
    std::int64_t last = std::max({in->counter(t).value_or(0), out->max_id(t).value_or(0), std::int64_t{0}});
    out->set_counter(t, last);
    if (t.name == "tickets") report.next_ticket = last + 1;
  }
  in->rollback();  // the snapshot is read

  for (std::size_t i = 0; i < tables().size(); ++i) {
    const auto& t = tables()[i];
    TableHash back;
    out->read(t, [&](const rows::Row& row) { back.add(row); });
    std::string got = back.hex();
    auto& done = report.tables[i];
    if (back.rows() != done.rows || got != expected[i])
      throw StoreError(fmt::format("store copy: verification failed for table {}: the target holds {} rows (SHA-256 {}), "
                                   "the source {} rows (SHA-256 {}); nothing was copied (rolled back)",
                                   t.name, back.rows(), got, done.rows, expected[i]),
                       false);
    done.sha256 = got;
  }
  out->commit();
  return report;
}

}  // namespace sd::store
