// cli/ops.cpp: see ops.h.
//
// Security: `run` (check_files_for_run) refuses credential files others or the group may
// read (see read_secret) and a short token secret; `backup` never follows or overwrites a
// name that exists and creates the copy 0600 before the first byte is written.
#include "cli/ops.h"

#include "api/json.h"
#include "cli/exit_status.h"
#include "core/text.h"
#include "daemon/cluster.h"
#include "desk/agent_mail.h"
#include "desk/desk.h"
#include "desk/ingest.h"
#include "desk/notices.h"
#include "desk/sla_clock.h"
#include "imap/imap.h"
#include "imap/imap_session.h"
#include "notify/smtp.h"
#include "notify/templates.h"
#include "parser/parse.h"
#include "store/store.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <iostream>
#include <map>

namespace sd {
namespace {


}  // namespace

// How one check of check-config came out: failed is the configuration's to fix (78);
// unreachable a server that did not answer, which may be down rather than misconfigured
// (69 when nothing failed); a warning is said and changes no exit status.
enum class Check { ok, warning, failed, unreachable };
// One line of check-config's report: the outcome, what was checked, what was found, the fix.
using CheckReport = std::function<void(Check, const std::string& what, const std::string& detail, const std::string& fix)>;

// Logs in as the daemon does (the session it fetches with and IDLEs on).
void check_imap(const Config& c, const CheckReport& report) {
  if (auto password = try_read_secret(c.imap.password_file, "IMAP password file"); !password) {
    report(Check::failed, "IMAP password", password.error(),
           "put the password on the first line of imap.password_file, mode 0600");
  } else {
    try {
      // The session the daemon fetches with (and IDLEs on); the per-UID client logs in the same way.
      ImapSession imap({c.imap.url, c.imap.username, *password, std::min(c.imap.timeout_s, 30)});
      auto s = imap.status();
      report(Check::ok, "IMAP " + c.imap.url, fmt::format("logged in as {}; UIDVALIDITY {}, next UID {}", c.imap.username,
                                                      s.uidvalidity, s.uidnext), "");
      if (c.imap.idle)
        report(Check::ok, "IMAP IDLE",
               imap.has_capability("IDLE")
                   ? "offered: new mail is fetched the moment it arrives"
                   : fmt::format("not offered by the server: new mail waits for the next poll (every {} s)",
                                 c.imap.poll_interval_s),
               "");
    } catch (const ImapError& e) {
      std::string fix = e.kind == ImapError::Kind::login ? "check imap.username and the password file"
                        : e.kind == ImapError::Kind::connect
                            ? "check imap.url (host, port, imap:// or imaps://) and the firewall"
                        : e.kind == ImapError::Kind::timeout ? "the server does not answer: check imap.url and the network"
                                                             : "check that the mailbox in imap.url exists";
      report(Check::failed, "IMAP " + c.imap.url, e.what(), fix);
    }
  }
}

void check_smtp(const Config& c, const CheckReport& report) {
  // No password file: the SMTP server takes mail without login (a local relay).
  auto smtp_password = c.smtp.password_file.empty() ? tl::expected<std::string, std::string>("")
                                                    : try_read_secret(c.smtp.password_file, "SMTP password file");
  if (!smtp_password) {
    report(Check::failed, "SMTP password", smtp_password.error(),
           "put the password on the first line of smtp.password_file, mode 0600");
  } else {
    notify::SmtpClient smtp({c.smtp.url, c.smtp.username, *smtp_password, std::min(c.smtp.timeout_s, 30)});
    auto r = smtp.check();
    if (r.outcome == notify::SendResult::Outcome::sent)
      report(Check::ok, "SMTP " + c.smtp.url, fmt::format("server answered {}", r.smtp_code), "");
    else if (r.unreachable)  // down, or the wrong host or port: no login was tried
      report(Check::unreachable, "SMTP " + c.smtp.url, "the server is unreachable: " + r.error,
             "start the SMTP server, or check the host and port in smtp.url and the firewall");
    else
      report(Check::failed, "SMTP " + c.smtp.url, r.error, "check smtp.url, smtp.username and the password file");
  }
}

void check_token_secret(const Config& c, const CheckReport& report) {
  if (!c.agents.token_secret_file.empty()) {
    try {
      auto secret = token_secret(c);
      bool long_enough = secret.empty() || secret.size() >= kMinTokenSecretBytes;
      report(long_enough ? Check::ok : Check::failed, "agents' token secret",
             secret.empty()  ? "empty: tokens are off, agents' commands count only from authenticated mail"
             : long_enough ? ""
                           : fmt::format("shorter than {} bytes (`run` refuses it)", kMinTokenSecretBytes),
             "head -c 32 /dev/urandom | base64 > FILE; chmod 600 FILE");
    } catch (const ConfigError& e) {
      report(Check::failed, "agents' token secret", e.what(), "create it: head -c 32 /dev/urandom | base64 > FILE; chmod 600 FILE");
    }
  } else {
    report(Check::ok, "agents' token secret", "not configured: agents' replies cannot carry commands", "");
  }
}

// Who hears an SLA warning or breach of a ticket nobody is assigned to (sla_recipients(),
// the clock's own rule), and a warning when nobody would.
void check_escalations(const Config& c, store::Transaction& tx, const CheckReport& report) {
  auto agents = tx.agents();
  auto who = [](const std::vector<notify::Mailbox>& to) {
    std::string list;
    for (std::size_t i = 0; i < to.size() && i < 3; ++i) list += (i ? ", " : "") + to[i].email;
    return to.size() > 3 ? fmt::format("{} and {} more", list, to.size() - 3) : list;
  };
  const std::string nobody =
      "nobody would hear them: no agent is registered, and sla.agents_address and agents.team_address are empty";
  const std::string fix = "register the agents (servicedesk agent add ADDR) or set sla.agents_address";
  auto warnings = sla_recipients(c, c.slas.at(c.sla.default_sla), "warning", "", agents);
  if (warnings.empty())
    report(Check::warning, "SLA warnings and reminders", nobody, fix);
  else
    report(Check::ok, "SLA warnings and reminders", "to the ticket's agent, else " + who(warnings), "");
  std::vector<std::string> unheard, escalated;
  for (const auto& [name, policy] : c.slas) {
    auto to = sla_recipients(c, policy, "breach", "", agents);
    if (to.empty()) unheard.push_back(name);
    else if (!policy.escalation_address.empty()) escalated.push_back(fmt::format("{} to {}", name, who(to)));
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
    return out;
  };
  if (!unheard.empty())
    report(Check::warning, "SLA breaches", fmt::format("of {}: {}", join(unheard), nobody),
           fix + " or [slas.NAME] escalation_address");
  else
    report(Check::ok, "SLA breaches",
           escalated.empty() ? "as warnings (no escalation_address)"
                             : join(escalated) + (escalated.size() < c.slas.size() ? "; the others as warnings" : ""),
           "");
}

// The recurring maintenance windows ([[maintenance.windows]]) as the daemon reads them, each
// with its next occurrence, so that an operator sees that "first-saturday" means what they meant.
void check_maintenance_windows(const Config& c, const CheckReport& report) {
  if (c.maintenance.windows.empty()) {
    report(Check::ok, "maintenance windows", "none configured ([[maintenance.windows]])", "");
    return;
  }
  auto next = next_windows(c, clock_now(c));
  std::optional<SlaClock> clock;  // the calendars' zones; a bad calendar is reported above
  try {
    clock.emplace(c);
  } catch (const std::exception&) {
  }
  for (const auto& w : c.maintenance.windows) {
    auto occ = std::find_if(next.begin(), next.end(), [&](const WindowOccurrence& o) { return o.window == &w; });
    std::string what = fmt::format("maintenance window {}:{} ({})", c.path, w.line, w.kind);
    if (occ == next.end()) {
      report(Check::warning, what, window_words(c, w, "en") + ": never occurs", "check its days, start and end");
      continue;
    }
    const auto* cal = clock ? clock->calendar_named(w.calendar) : nullptr;
    auto local = [&](store::Time t) {
      return cal ? cal->rfc3339_local(sla::Instant(std::chrono::seconds(t))) : rfc3339_utc(t);
    };
    report(Check::ok, what, fmt::format("{}; next {} to {}", window_words(c, w, "en"), local(occ->start), local(occ->end)),
           "");
  }
}

// An organisation whose language's country and SLA calendar's holidays differ (a Swedish
// one on `standard`, the Danish calendar: Danish hours and holidays).
void check_organisation_calendars(const Config& c, store::Transaction& tx, const CheckReport& report) {
  auto orgs = tx.organisations();
  int misfits = 0;
  for (const auto& o : orgs) {
    std::string language = o.language.empty() ? c.service.language : o.language;
    std::string sla = o.sla.empty() || !c.slas.count(o.sla) ? c.sla.default_sla : o.sla;
    if (calendar_fits_language(c, sla, language)) continue;
    ++misfits;
    const auto& calendar = c.slas.at(sla).calendar;
    report(Check::warning, "organisation " + o.name,
           fmt::format("language {} but SLA {} runs on calendar {} ({} holidays)", language, sla, calendar,
                       c.calendars.count(calendar) ? c.calendars.at(calendar).holiday_rules : "?"),
           fmt::format("servicedesk org set '{}' --sla {}", o.name, sla_for_language(c, language)));
  }
  if (!orgs.empty() && misfits == 0)
    report(Check::ok, "organisations", fmt::format("{}, each on a calendar of its language", orgs.size()), "");
}

int cmd_check_config(const Config& c) {
  int failures = 0, unreachable = 0, warnings = 0;
  auto report = [&](Check check, const std::string& what, const std::string& detail, const std::string& fix) {
    bool ok = check == Check::ok;
    std::cout << fmt::format("{:<5} {}{}{}\n", ok ? "ok" : check == Check::warning ? "WARN" : "FAIL", what,
                             detail.empty() ? "" : ": " + detail, ok || fix.empty() ? "" : "\n      fix: " + fix);
    failures += check == Check::failed;
    unreachable += check == Check::unreachable;
    warnings += check == Check::warning;
  };
  report(Check::ok, "config " + c.path, "", "");
  try {
    check_config_file_mode(c.path);
    report(Check::ok, "config file mode", "not readable by others", "");
  } catch (const ConfigError& e) {
    report(Check::failed, "config file mode", e.what(), "chmod 640 " + c.path);
  }
  try {
    SlaClock clock(c);
    report(Check::ok, "calendars and SLAs", fmt::format("{} calendars, {} SLAs", c.calendars.size(), c.slas.size()), "");
  } catch (const std::exception& e) {
    report(Check::failed, "calendars and SLAs", e.what(), "check [calendars] and [slas]");
  }
  check_maintenance_windows(c, report);
  // The templates as the daemon loads them at start and on reload (docs/templates.md).
  if (auto t = notify::load_templates(c.service.templates_dir); !t)
    report(Check::failed, "templates", t.error(),
           "correct or remove the file; docs/templates.md lists kinds and placeholders");
  else
    report(Check::ok, "templates",
           c.service.templates_dir.empty() ? "built-in" : "built-in and " + c.service.templates_dir, "");
  std::unique_ptr<store::Store> st;
  std::unique_ptr<store::Transaction> tx;
  try {
    st = open_store(c);
    tx = st->begin(store::Store::Mode::read);
    report(Check::ok, "store " + c.store.path, fmt::format("{} tickets", tx->tickets().size()), "");
  } catch (const std::exception& e) {
    report(Check::failed, "store " + c.store.path, e.what(),
           "create the directory, writable by the service's user (systemd: StateDirectory=servicedesk)");
  }
  // Who the desk knows is in the store: without it these cannot be judged.
  if (tx) {
    check_escalations(c, *tx, report);
    check_organisation_calendars(c, *tx, report);
    tx.reset();
  }
  check_imap(c, report);
  check_smtp(c, report);
  check_token_secret(c, report);
  // The checks' report is the command's output, on stdout. A failed check is a config
  // problem (78) like one load_config finds; a server that is down only is 69 (sysexits'
  // EX_UNAVAILABLE), so a script can wait for it rather than page someone to fix the file.
  std::string warned = warnings ? fmt::format(" ({} warning(s))", warnings) : "";
  if (failures + unreachable)
    std::cout << fmt::format("{} problem(s) found{}\n", failures + unreachable, warned);
  else
    std::cout << "all checks passed" << warned << "\n";
  return failures ? exit_status(Failure::config) : unreachable ? exit_status(Failure::unavailable) : 0;
}

int cmd_status(const Config& c, bool as_json) {
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::read);
  auto now = clock_now(c);
  nlohmann::json j;
  auto mailboxes = nlohmann::json::array();
  // The mailbox's name as the poller stores it (decoded from the URL; no connection made).
  std::string mailbox_name = parse_imap_url(c.imap.url).mailbox;
  // Leases and heartbeats are judged by the database's clock, as the daemons judge them.
  const store::Time db_now = tx->database_now();
  const auto lease = tx->lease(mailbox_lease_name(mailbox_name));
  if (auto box = tx->mailbox(mailbox_name)) {
    mailboxes.push_back({{"mailbox", box->name},
                         {"uidvalidity", box->uidvalidity},
                         {"last_uid", box->last_uid},
                         {"last_poll_at", box->last_poll_at ? nlohmann::json(rfc3339_utc(*box->last_poll_at)) : nlohmann::json()}});
    // Several daemons on one store: who polls it (nothing on a store of one daemon).
    if (lease)
      mailboxes.back()["lease"] = {{"holder", lease->holder},
                                   {"epoch", lease->epoch},
                                   {"expires_at", rfc3339_utc(lease->expires_at)},
                                   {"live", lease->expires_at > db_now}};
  }
  j["mailboxes"] = mailboxes;
  j["store"] = {{"backend", st->backend()}, {"shared", st->shared()}};
  auto pending = tx->outbox("pending");
  auto failed = tx->outbox("failed");
  j["outbox"] = {{"pending", pending.size()}, {"failed", failed.size()}};
  if (!pending.empty()) {
    auto oldest = std::min_element(pending.begin(), pending.end(), [](auto& a, auto& b) { return a.created_at < b.created_at; });
    j["outbox"]["oldest_pending_at"] = rfc3339_utc(oldest->created_at);
    j["outbox"]["last_error"] = oldest->last_error;
  }
  auto quarantined = tx->quarantined_mails();
  j["quarantine"] = {{"mails", quarantined.size()},
                     {"unreadable", std::count_if(quarantined.begin(), quarantined.end(), [](auto& q) { return q.quarantined; })}};
  SlaClock clock(c);
  std::map<std::string, int> by_state, by_status;
  auto open = tx->open_tickets();
  for (const auto& t : open) {
    ++by_state[clock.evaluate(t, tx->pauses(t.id), now).state];
    ++by_status[t.status];
  }
  j["open_tickets"] = {{"total", open.size()}, {"by_sla", by_state}, {"by_status", by_status}};
  // Every daemon the store has heard from in the last day (silent ones are forgotten after
  // that), with what it holds: unexpired leases and outbox rows claimed and not finished.
  auto daemons = nlohmann::json::array();
  for (const auto& d : tx->daemons(db_now - 86400))
    daemons.push_back({{"id", d.id},
                       {"host", d.host},
                       {"pid", d.pid},
                       {"started_at", rfc3339_utc(d.started_at)},
                       {"heartbeat_at", rfc3339_utc(d.heartbeat_at)},
                       {"heartbeat_age_s", std::max<store::Time>(db_now - d.heartbeat_at, 0)},
                       {"leases", d.leases},
                       {"outbox_claims", d.outbox_claims}});
  j["daemons"] = daemons;
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("store: {}{}\n", st->backend(), st->shared() ? " (shared: several daemons may run on it)" : "");
  if (mailboxes.empty()) std::cout << "mailbox: never polled\n";
  for (const auto& m : mailboxes)
    std::cout << fmt::format("mailbox {}: last poll {}, UIDVALIDITY {}, last UID {}\n", m["mailbox"].get<std::string>(),
                             m["last_poll_at"].is_null() ? "never" : m["last_poll_at"].get<std::string>(),
                             m["uidvalidity"].get<std::int64_t>(), m["last_uid"].get<std::int64_t>());
  if (lease)
    std::cout << fmt::format("mailbox lease: {}, epoch {}, {}\n", daemon_words(lease->holder), lease->epoch,
                             lease->expires_at > db_now
                                 ? fmt::format("expires in {} s", lease->expires_at - db_now)
                                 : fmt::format("expired {} s ago (the next daemon to look takes it)", db_now - lease->expires_at));
  // A daemon heartbeats every 5 s at most (daemon/cluster.h); a minute without one is a
  // daemon that died, froze or lost the store.
  constexpr store::Time kSilent = 60;
  std::cout << fmt::format("daemons: {}{}\n", daemons.size(), daemons.empty() ? " (none running, or none for a day)" : "");
  for (const auto& d : daemons) {
    auto age = d["heartbeat_age_s"].get<store::Time>();
    std::string holds;
    for (const auto& l : d["leases"]) holds += (holds.empty() ? "" : ", ") + l.get<std::string>();
    auto claims = d["outbox_claims"].get<std::int64_t>();
    std::cout << fmt::format("  {} pid {}: {}, {} outbox claim{}, last heartbeat {} s ago{}, started {}\n",
                             d["host"].get<std::string>(), d["pid"].get<std::int64_t>(),
                             holds.empty() ? std::string("holds no lease") : "holds " + holds, claims, claims == 1 ? "" : "s",
                             age, age > kSilent ? " (silent: dead or frozen?)" : "", d["started_at"].get<std::string>());
  }
  std::cout << fmt::format("outbox: {} pending, {} failed{}\n", pending.size(), failed.size(),
                           j["outbox"].contains("last_error") && !j["outbox"]["last_error"].get<std::string>().empty()
                               ? " (last error: " + j["outbox"]["last_error"].get<std::string>() + ")"
                               : "");
  std::cout << fmt::format("quarantine: {} mails with parse problems ({} unreadable)\n", quarantined.size(),
                           j["quarantine"]["unreadable"].get<std::int64_t>());
  std::cout << fmt::format("open tickets: {}", open.size());
  for (const auto& [state, n] : by_state) std::cout << fmt::format(", {} {}", n, state);
  std::cout << "\n";
  return 0;
}

int cmd_outbox(const Config& c, const std::string& action, std::int64_t id, bool as_json) {
  auto st = open_store(c);
  if (action == "list") {
    auto tx = st->begin(store::Store::Mode::read);
    auto arr = nlohmann::json::array();
    int listed = 0;
    for (const char* status : {"pending", "failed"})
      for (const auto& o : tx->outbox(status)) {
        if (as_json)
          arr.push_back({{"id", o.id},
                         {"ticket", o.ticket_id ? nlohmann::json(ticket_ref(c, *o.ticket_id)) : nlohmann::json()},
                         {"kind", o.kind},
                         {"recipients", o.recipients},
                         {"status", o.status},
                         {"attempts", o.attempts},
                         {"next_attempt_at", rfc3339_utc(o.next_attempt_at)},
                         {"last_error", o.last_error},
                         {"message_id", o.message_id}});
        else
          std::cout << fmt::format("{:>6} {:<8} {:<10} {:<18} {:<28} attempts {:>2}  {}\n", o.id, o.status,
                                   o.ticket_id ? ticket_ref(c, *o.ticket_id) : "-", o.kind,
                                   printable(o.recipients.empty() ? "" : o.recipients[0]), o.attempts,
                                   printable(o.last_error));
        ++listed;
      }
    if (as_json) std::cout << json_text(arr) << "\n";
    else if (listed == 0) std::cout << "no mail waiting or failed: the outbox is empty\n";
    return 0;
  }
  auto tx = st->begin(store::Store::Mode::write);
  bool ok = false;
  if (action == "retry") ok = tx->retry_outbox(id, clock_now(c));
  else {
    auto pending = tx->outbox("pending");
    ok = std::any_of(pending.begin(), pending.end(), [id](auto& o) { return o.id == id; });
    if (ok) tx->mark_failed(id, "dropped by operator");
  }
  if (!ok) throw CommandError(Failure::bad_input, fmt::format("no unsent mail {} in the outbox", id));
  tx->commit();
  std::cout << fmt::format("outbox mail {} {}\n", id, action == "retry" ? "queued again (the daemon sends it within a minute)" : "dropped");
  return 0;
}

int cmd_quarantine(const Config& c, const std::string& action, std::int64_t id, bool as_json) {
  auto st = open_store(c);
  if (action == "list") {
    auto tx = st->begin(store::Store::Mode::read);
    auto arr = nlohmann::json::array();
    auto mails = tx->quarantined_mails();
    for (const auto& q : mails) {
      if (as_json)
        arr.push_back({{"id", q.raw_id},
                       {"received_at", rfc3339_utc(q.received_at)},
                       {"message_id", q.message_id},
                       {"unreadable", q.quarantined},
                       {"ticket", q.ticket_id ? nlohmann::json(ticket_ref(c, *q.ticket_id)) : nlohmann::json()},
                       {"problems", q.problems}});
      else
        std::cout << fmt::format("{:>6} {} {:<10} <{}>\n       {}\n", q.raw_id, rfc3339_utc(q.received_at),
                                 q.ticket_id ? ticket_ref(c, *q.ticket_id) : "-", printable(q.message_id),
                                 printable(q.problems));
    }
    if (as_json) std::cout << json_text(arr) << "\n";
    else if (mails.empty()) std::cout << "no mails in quarantine\n";
    return 0;
  }
  auto tx = st->begin(action == "show" ? store::Store::Mode::read : store::Store::Mode::write);
  auto q = tx->quarantined_mail(id);
  if (!q) throw CommandError(Failure::bad_input, fmt::format("no stored mail {}", id));
  if (action == "show") {
    // The raw mail, as received: an operator can save it and try `servicedesk parse`.
    std::cout << q->bytes;
    return 0;
  }
  // retry of a mail stored without a ticket: the same ingest as its first attempt.
  if (!q->ticket_id) {
    tx.reset();  // reingest() takes its own write transaction
    Desk desk(c);
    auto r = reingest(*st, desk, id, clock_now(c));
    std::cout << fmt::format("mail {} ingested again: {}{}\n", id,
                             r.ticket_id ? "ticket " + ticket_ref(c, r.ticket_id) : std::string("still no ticket"),
                             r.note.empty() ? "" : " (" + r.note + ")");
    return r.ticket_id ? 0 : exit_status(Failure::bad_input);
  }
  // retry: parse again (after a parser upgrade or a limit change) and replace the parsed form.
  auto m = parser::parse(q->bytes, c.limits);
  store::MessageRecord rec = message_record(m);
  std::string problems;
  for (const auto& p : m.problems) problems += (problems.empty() ? "" : "\n") + p;
  tx->replace_parsed(id, rec, problems);
  if (q->ticket_id)
    tx->add_event({*q->ticket_id, clock_now(c), "operator", "reparsed",
                   problems.empty() ? "parsed cleanly" : "still: " + problems});
  tx->commit();
  std::cout << fmt::format("mail {} parsed again: {}\n", id, problems.empty() ? "no problems" : problems);
  return 0;
}

int cmd_backup(const Config& c, const std::string& path) {
  // symlink_status: a symlink (dangling too) is a name that exists, never a way elsewhere.
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(path, ec)))
    throw CommandError(Failure::cannot_create,
                       fmt::format("{} exists{}; give a new file name", path,
                                   std::filesystem::is_symlink(std::filesystem::symlink_status(path, ec))
                                       ? " (a symbolic link: refused, not followed)"
                                       : ""));
  auto st = open_store(c);
  try {
    st->backup(path);  // creates the file 0600 itself (O_EXCL|O_NOFOLLOW), then copies
  } catch (const store::StoreError& e) {
    if (!e.refused) throw;
    throw CommandError(Failure::cannot_create, e.what());  // created meanwhile by someone else
  }
  if (st->backend() != "sqlite") {
    std::cout << fmt::format("backup written to {} (pg_dump's custom format; restore into an empty database with: "
                             "pg_restore --no-owner --dbname URL {})\n",
                             path, path);
    return 0;
  }
  store::StoreOptions o;
  o.path = path;
  auto check = store::open_sqlite_store(o);
  auto tx = check->begin(store::Store::Mode::read);
  std::cout << fmt::format("backup written to {} ({} tickets)\n", path, tx->tickets().size());
  return 0;
}

}  // namespace sd
