// cli/main.cpp: the `servicedesk` command: the daemon and the operators' subcommands.
//
// Contract: each cmd_* returns 0 when it did its job and throws when it did not (a
// CommandError for what it refuses itself); it prints no error of its own. main() turns
// what was thrown into the exit status (sysexits.h, so an MTA pipe does the right thing)
// and one line on stderr through run_command(): the table is in cli/exit_status.h. Two
// commands go on past a failure and return its status themselves, through the same table:
// ingest (each file on its own) and check-config (every check).
#include "api/json.h"
#include "cli/exit_status.h"
#include "cli/notices.h"
#include "cli/keep_informed.h"
#include "cli/ops.h"
#include "cli/store_copy.h"
#include "cli/tickets.h"
#include "config/config.h"
#include "core/file.h"
#include "core/log.h"
#include "core/text.h"
#include "core/vocabulary.h"
#include "daemon/daemon.h"
#include "desk/desk.h"
#include "desk/directory.h"
#include "desk/ingest.h"
#include "desk/keep_informed.h"
#include "desk/sla_clock.h"
#include "desk/ticket_change.h"
#include "parser/parse.h"
#include "portal/service.h"
#include "reports/report.h"
#include "cli/incidents.h"
#include "store/keep_informed.h"
#include "store/store.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>

namespace {

using namespace sd;

std::string read_all(std::istream& in) { return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()}; }

// A mail file the operator named (ingest, parse): missing or unreadable is "no input" (66)
// for every command alike.
std::string read_mail_file(const std::string& path) {
  auto raw = read_file(path);
  if (!raw) throw CommandError(Failure::no_input, fmt::format("{}: cannot read ({})", path, raw.error().reason()));
  return std::move(*raw);
}


// Each mail is stored or refused on its own: a file that cannot be read (66) or a mail the
// store does not take (75 locked or full, 74) is reported and the others are still stored.
// The exit status is the highest of the failures', so a store that asks to try again (75)
// wins and an MTA keeps the mail. Anything else (a config error) ends the command.
int cmd_ingest(const Config& c, const std::vector<std::string>& files) {
  Desk desk(c);  // templates and secret checked once, before any mail is taken
  auto st = open_store(c);
  int worst = 0;
  auto one = [&](const std::string& name, bool from_stdin) {
    try {
      std::string raw = from_stdin ? read_all(std::cin) : read_mail_file(name);
      auto r = ingest(*st, desk, raw, std::nullopt, clock_now(c));
      std::cout << (r.ticket_id ? ticket_ref(c, r.ticket_id) : std::string("-")) << std::endl;
      if (!r.note.empty()) log::info("{}: {}", name, r.note);
    } catch (const CommandError&) {
      worst = std::max(worst, report_failure(std::current_exception()));
    } catch (const store::StoreError&) {
      worst = std::max(worst, report_failure(std::current_exception(), name + ": not stored"));
    }
  };
  if (files.empty()) {
    std::ios::sync_with_stdio(false);
    one("stdin", true);
  }
  for (const auto& f : files) one(f, false);
  return worst;
}

const sla::Calendar& calendar_or_fail(const SlaClock& clock, const std::string& name) {
  auto* cal = clock.calendar_named(name);
  if (!cal)
    throw CommandError(Failure::bad_input,
                       fmt::format("no calendar named '{}' (built in: dk, se; others in [calendars.NAME])", name));
  return *cal;
}

int cmd_sla_due(const Config& c, const std::string& calendar, const std::string& start, double hours, bool as_json) {
  SlaClock clock(c);
  const auto& cal = calendar_or_fail(clock, calendar);
  auto t0 = sla::parse_rfc3339(start);
  if (!t0)
    throw CommandError(Failure::usage,
                       fmt::format("--start '{}' is not an RFC 3339 time like 2026-11-23T09:00:00+01:00", start));
  if (hours < 0) throw CommandError(Failure::usage, "--hours must not be negative");
  auto due = cal.add(*t0, sla::Seconds(static_cast<std::int64_t>(hours * 3600 + 0.5)));
  if (as_json) {
    nlohmann::json j = {{"calendar", calendar}, {"start", cal.rfc3339_local(*t0)}, {"hours", hours}, {"due", cal.rfc3339_local(due)}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << cal.rfc3339_local(due) << "\n";
  }
  return 0;
}

int cmd_sla_holidays(const Config& c, const std::string& calendar, int year, bool as_json) {
  SlaClock clock(c);
  const auto& cal = calendar_or_fail(clock, calendar);
  auto days = cal.closed_dates(year);
  auto arr = nlohmann::json::array();
  for (const auto& h : days) {
    std::string date = fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(h.day.year()),
                                   static_cast<unsigned>(h.day.month()), static_cast<unsigned>(h.day.day()));
    if (as_json) arr.push_back({{"date", date}, {"name", h.name}});
    else std::cout << date << "  " << h.name << "\n";
  }
  if (as_json) std::cout << arr.dump(2) << "\n";
  return 0;
}

// --- organisations, contacts, agents -------------------------------------------------

// The SLA an organisation's tickets run on and that SLA's calendar.
struct OrgSla {
  std::string sla, calendar;
};
OrgSla org_sla(const Config& c, const store::Organisation& o) {
  std::string sla = o.sla.empty() || !c.slas.count(o.sla) ? c.sla.default_sla : o.sla;
  return {sla, c.slas.at(sla).calendar};
}

nlohmann::json org_json(const Config& c, const store::Organisation& o, const std::vector<store::Contact>& contacts,
                        const std::string& account_agent, store::Time now) {
  auto cs = nlohmann::json::array();
  for (const auto& c : contacts) cs.push_back({{"email", c.email}, {"name", c.name}, {"visibility", c.visibility}});
  auto period = hypercare_period(o);
  bool hypercare = period && period->covers(now);
  return {{"name", o.name},
          {"domains", o.domains},
          {"sla", o.sla.empty() ? nlohmann::json() : nlohmann::json(o.sla)},
          {"calendar", org_sla(c, o).calendar},
          {"language", o.language.empty() ? nlohmann::json() : nlohmann::json(o.language)},
          {"hypercare_start", o.hypercare_start.empty() ? nlohmann::json() : nlohmann::json(o.hypercare_start)},
          {"hypercare_weeks", o.hypercare_weeks},
          {"in_hypercare", hypercare},
          // Keeping customers informed: the last day of hypercare and who confirms or extends it.
          {"hypercare_end", period ? nlohmann::json(utc_day(period->end - 1)) : nlohmann::json()},
          {"account_agent", account_agent.empty() ? nlohmann::json() : nlohmann::json(account_agent)},
          {"visibility", o.visibility},
          {"contacts", cs}};
}

struct DirectoryArgs {
  std::string name, email, contact_name, org, sla, language, hypercare_start, visibility;
  std::vector<std::string> domains;
  int hypercare_weeks = -1;
  std::string account_agent;  // org set --account-agent ("-": none)
  std::string agent;          // who acts (org set, org hypercare): a registered agent; empty: the operator
  int extend_weeks = 0;       // org hypercare extend --weeks
};

// Well formed, but naming nothing there is, or a change the desk's rules refuse (65).
[[noreturn]] void refuse(const std::string& why) { throw CommandError(Failure::bad_input, why); }
// An option's value of the wrong shape (64), as CLI11 refuses those it can check itself.
[[noreturn]] void malformed(const std::string& why) { throw CommandError(Failure::usage, why); }
// The directory's rules (desk/directory.h), refused as the command's: 64 or 65.
template <class F>
void directory(F&& f) {
  try {
    f();
  } catch (const DirectoryError& e) {
    if (e.malformed) malformed(e.what());
    refuse(e.what());
  }
}

int cmd_org(const Config& c, const std::string& action, const DirectoryArgs& a, bool as_json) {
  auto st = open_store(c);
  auto tx = st->begin(action == "list" || action == "show" ? store::Store::Mode::read : store::Store::Mode::write);
  auto now = clock_now(c);
  if (action == "add" || action == "set") {
    store::Organisation wanted;
    wanted.sla = a.sla;
    wanted.language = a.language;
    wanted.hypercare_start = a.hypercare_start;
    wanted.visibility = a.visibility;
    directory([&] { check_organisation(c, wanted); });
  }
  if (action == "add") {
    if (a.domains.empty()) malformed("an organisation needs at least one --domain");
    store::Organisation o;
    o.name = a.name;
    for (const auto& d : a.domains) o.domains.push_back(lower(d));
    // Without --sla the organisation's language picks: a Swedish one runs on Swedish hours and holidays.
    o.sla = a.sla.empty() ? sla_for_language(c, a.language.empty() ? c.service.language : a.language) : a.sla;
    o.language = a.language;
    o.hypercare_start = a.hypercare_start;
    o.hypercare_weeks = std::max(a.hypercare_weeks, 0);
    if (!a.visibility.empty()) o.visibility = a.visibility;
    tx->add_organisation(o);
    tx->commit();
    std::cout << fmt::format("organisation {} added (SLA {}, calendar {})\n", a.name, o.sla, org_sla(c, o).calendar);
    return 0;
  }
  if (action == "set") {
    auto o = tx->organisation(a.name);
    if (!o) refuse(fmt::format("no organisation '{}'", a.name));
    auto before = *o;
    if (!a.sla.empty()) o->sla = a.sla;
    if (!a.language.empty()) o->language = a.language;
    if (!a.hypercare_start.empty()) o->hypercare_start = a.hypercare_start;
    if (a.hypercare_weeks >= 0) o->hypercare_weeks = a.hypercare_weeks;
    if (!a.visibility.empty()) o->visibility = a.visibility;
    if (o->hypercare_start != before.hypercare_start || o->hypercare_weeks != before.hypercare_weeks)
      o->hypercare_ended_at.reset();  // a new period ends (and is logged) anew
    tx->update_organisation(*o);
    if (!a.account_agent.empty()) cmd_set_account_agent(*tx, o->name, a.account_agent, org_actor(*tx, a.agent), now);
    tx->commit();
    if (o->hypercare_start != before.hypercare_start || o->hypercare_weeks != before.hypercare_weeks)
      log::notice("organisation {}: hypercare from {} for {} weeks", o->name, o->hypercare_start, o->hypercare_weeks);
    std::cout << "organisation " << a.name << " updated\n";
    return 0;
  }
  if (action == "show") {
    auto o = tx->organisation(a.name);
    if (!o) refuse(fmt::format("no organisation '{}'", a.name));
    auto j = org_json(c, *o, tx->contacts(o->name), tx->keep_informed().account_agent(o->name), now);
    if (as_json) {
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::cout << fmt::format("{}\ndomains: {}\nsla: {} (calendar {})\nlanguage: {}\nhypercare: {}\nvisibility: {}\n"
                             "contacts ({} of {}):\n",
                             o->name, fmt::join(o->domains, ", "), org_sla(c, *o).sla, org_sla(c, *o).calendar,
                             o->language.empty() ? c.service.language : o->language,
                             o->hypercare_start.empty()
                                 ? std::string("none")
                                 : fmt::format("{} for {} weeks, last day {}{}", o->hypercare_start, o->hypercare_weeks,
                                               j["hypercare_end"].is_null() ? std::string("-")
                                                                            : j["hypercare_end"].get<std::string>(),
                                               j["in_hypercare"].get<bool>() ? " (now)" : ""),
                             o->visibility, j["contacts"].size(), kMaxContacts);
    for (const auto& ct : tx->contacts(o->name))
      std::cout << "  " << ct.email << "  " << ct.name << "  (sees: " << ct.visibility << ")\n";
    std::cout << "account agent: " << (j["account_agent"].is_null() ? std::string("none") : j["account_agent"].get<std::string>())
              << "\n";
    auto events = tx->keep_informed().org_events(o->name);
    if (!events.empty()) std::cout << "events:\n";
    for (const auto& e : events)
      std::cout << "  " << sla::rfc3339_utc(sla::Instant(std::chrono::seconds(e.at))) << "  " << printable(e.actor) << "  "
                << e.kind << "  " << printable(e.detail) << "\n";
    return 0;
  }
  // list
  auto arr = nlohmann::json::array();
  for (const auto& o : tx->organisations()) {
    auto contacts = tx->contacts(o.name);
    if (as_json) arr.push_back(org_json(c, o, contacts, tx->keep_informed().account_agent(o.name), now));
    else
      std::cout << fmt::format("{:<24} {:<30} {:>2} contacts  sla {}  calendar {}\n", o.name, fmt::join(o.domains, ","),
                               contacts.size(), org_sla(c, o).sla, org_sla(c, o).calendar);
  }
  if (as_json) std::cout << arr.dump(2) << "\n";
  else if (tx->organisations().empty()) std::cout << "no organisations\n";
  return 0;
}

int cmd_contact(const Config& c, const std::string& action, const DirectoryArgs& a, bool as_json) {
  auto st = open_store(c);
  auto tx = st->begin(action == "list" ? store::Store::Mode::read : store::Store::Mode::write);
  std::string email = lower(a.email);
  if (action == "add") {
    directory([&] { add_contact(*tx, {email, a.contact_name, a.org, a.visibility.empty() ? "inherit" : a.visibility}); });
    tx->commit();
    std::cout << fmt::format("contact {} added to {}\n", email, a.org);
    return 0;
  }
  if (action == "set") {
    std::optional<std::string> org, visibility;
    if (!a.org.empty()) org = a.org;
    if (!a.visibility.empty()) visibility = a.visibility;
    if (!org && !visibility) malformed("contact set needs --visibility or --organisation");
    store::Contact now_stored;
    directory([&] { now_stored = set_contact(*tx, email, org, visibility); });
    tx->commit();
    std::cout << fmt::format("contact {} updated: organisation {}, visibility {}\n", email, now_stored.organisation,
                             now_stored.visibility);
    return 0;
  }
  if (action == "remove") {
    // Through the directory: the contact's portal sessions end in the same transaction.
    if (!remove_contact(*tx, email)) refuse(fmt::format("no contact {}", email));
    tx->commit();
    std::cout << fmt::format("contact {} removed\n", email);
    return 0;
  }
  if (!a.org.empty() && !tx->organisation(a.org)) refuse(fmt::format("no organisation '{}'", a.org));
  auto arr = nlohmann::json::array();
  auto contacts = tx->contacts(a.org);
  for (const auto& ct : contacts) {
    if (as_json)
      arr.push_back({{"email", ct.email}, {"name", ct.name}, {"organisation", ct.organisation}, {"visibility", ct.visibility}});
    else std::cout << fmt::format("{:<32} {:<24} {:<24} {}\n", ct.email, ct.name, ct.organisation, ct.visibility);
  }
  if (as_json) std::cout << arr.dump(2) << "\n";
  else if (contacts.empty())
    std::cout << (a.org.empty() ? std::string("no contacts registered\n") : fmt::format("no contacts of {}\n", a.org));
  return 0;
}

int cmd_agent(const Config& c, const std::string& action, const DirectoryArgs& a, bool as_json) {
  auto st = open_store(c);
  auto tx = st->begin(action == "list" ? store::Store::Mode::read : store::Store::Mode::write);
  std::string email = lower(a.email);
  if (action == "add") {
    directory([&] { add_agent(*tx, {email, a.contact_name}); });
    tx->commit();
    std::cout << fmt::format("agent {} added\n", email);
    return 0;
  }
  if (action == "remove") {
    if (!remove_agent(*tx, email)) refuse(fmt::format("no agent {}", email));  // and their portal sessions
    tx->commit();
    std::cout << fmt::format("agent {} removed\n", email);
    return 0;
  }
  auto arr = nlohmann::json::array();
  auto agents = tx->agents();
  for (const auto& ag : agents) {
    if (as_json) arr.push_back({{"email", ag.email}, {"name", ag.name}});
    else std::cout << fmt::format("{:<32} {}\n", ag.email, ag.name);
  }
  if (as_json) std::cout << arr.dump(2) << "\n";
  else if (agents.empty()) std::cout << "no agents registered\n";
  return 0;
}

int cmd_parse(const parser::Limits& limits, const std::string& file, bool as_json) {
  std::string raw = file == "-" ? read_all(std::cin) : read_mail_file(file);
  auto m = parser::parse(raw, limits);
  auto j = parsed_json(m);
  if (as_json) {
    std::cout << json_text(j) << "\n";
    return 0;
  }
  // Everything below is what the mail says: printable() keeps its escapes off the terminal.
  std::cout << fmt::format("Subject: {}\nFrom: {} <{}>\nMessage-ID: {}\nDate: {}\nAutomatic: {}\n", printable(m.subject),
                           printable(m.from.name), printable(m.from.email), printable(m.message_id), printable(m.date),
                           printable(m.automatic.value_or("no")));
  for (const auto& p : m.problems) std::cout << "Problem: " << printable(p) << "\n";
  for (const auto& a : m.attachments)
    std::cout << fmt::format("Attachment: {} ({}, {} bytes)\n", printable(a.filename), printable(a.content_type), a.size);
  std::cout << "\n--- new text ---\n"
            << printable(m.new_text, true) << "\n--- whole text ---\n"
            << printable(m.body_text, true) << "\n";
  return 0;
}

// --- the command line ---------------------------------------------------------------

// What the command line asked for: the option values, and the command to run with them
// (set by the subcommand's callback while CLI11 parses; run after, under run_command()).
struct Args {
  CLI::App* app = nullptr;
  std::string config_path = "/etc/servicedesk/servicedesk.toml";
  bool as_json = false;
  std::string ref, file, calendar, start, dir_action, backup_path;
  std::vector<std::string> files;
  double hours = 0;
  int year = 0;
  std::int64_t item_id = 0;
  TicketChanges changes;
  TicketListArgs list;
  NewTicketArgs new_ticket;
  std::string agent;
  AgentText text;
  std::int64_t number = 0;
  std::string out_file;
  DirectoryArgs dir;
  EstimateArgs estimate;  // ticket estimate
  ReportRequest report;
  IncidentArgs incident;
  std::string copy_from, copy_to;
  NoticeArgs notice;
  std::function<int()> action;

  // parse and sla need no store: the config is optional there, defaults serve.
  bool config_given() const { return app->get_option("--config")->count() > 0 || std::getenv("SERVICEDESK_CONFIG"); }
  Config config() const {
    Config c = load_config(config_path);
    log::set_level(c.service.log_level);
    return c;
  }
  // store copy reads a config only for store.password_file: the one given, or the default if there is one.
  std::optional<Config> config_if_any() const {
    std::error_code ec;
    if (config_given() || std::filesystem::exists(config_path, ec)) return config();
    return std::nullopt;
  }
  // `sub` runs `command` on the loaded config.
  void on(CLI::App* sub, std::function<int(const Config&)> command) {
    sub->callback([this, command] { action = [this, command] { return command(config()); }; });
  }
};

std::string action_of(CLI::App* parent) { return parent->get_subcommands().front()->get_name(); }

void add_mail_commands(CLI::App& app, Args& a) {
  a.on(app.add_subcommand("run", "run the daemon in the foreground, logging to stderr"), [](const Config& c) {
    // Refuse to start on files others may read, rather than run a daemon that cannot work.
    check_files_for_run(c);
    return run_daemon(c);
  });
  a.on(app.add_subcommand("portal", "run the web portal ([portal] listen) in the foreground, logging to stderr"),
       [](const Config& c) { return portal::run_portal(c); });
  auto* ingest_cmd = app.add_subcommand("ingest", "store raw RFC 5322 mails from files (or one from stdin)");
  ingest_cmd->add_option("files", a.files, "mail files; none: read one mail from stdin");
  a.on(ingest_cmd, [&a](const Config& c) { return cmd_ingest(c, a.files); });
  auto* tickets = app.add_subcommand("tickets", "list tickets, newest first; filters combine");
  auto& l = a.list;
  tickets->add_option("--status", l.statuses, "only these statuses (repeatable, or a comma list): " + names_of(kStatuses, ", "));
  tickets->add_option("--org", l.organisation, "only this organisation's tickets");
  tickets->add_option("--assignee", l.assignee, "only tickets assigned to this agent's address");
  tickets->add_option("--requester", l.requester, "only tickets of this requester's address");
  tickets->add_flag("--breaching", l.breaching, "only open tickets whose SLA has been breached");
  tickets->add_option("--search", l.search, "only tickets with all these words in their subject or messages");
  tickets->add_option("--sort", l.sort, "newest (default) or due (the next SLA due time first)")
      ->check(CLI::IsMember({"newest", "due"}));
  tickets->add_option("--limit", l.limit, "at most N tickets")->check(CLI::NonNegativeNumber);
  tickets->add_option("--offset", l.offset, "skip the first N")->check(CLI::NonNegativeNumber);
  tickets->add_flag("--json", a.as_json, "print JSON");
  a.on(tickets, [&a](const Config& c) { return cmd_tickets(c, a.list, a.as_json); });
  auto* show = app.add_subcommand("show", "show one ticket: its SLA, attachments, messages and events");
  show->add_option("id", a.ref, "ticket id, e.g. SD-42")->required();
  show->add_flag("--json", a.as_json, "print JSON");
  a.on(show, [&a](const Config& c) { return cmd_show(c, a.ref, a.as_json); });
  auto* parse = app.add_subcommand("parse", "show what the parser makes of one mail (no store needed)");
  parse->add_option("file", a.file, "mail file, or - for stdin")->required();
  parse->add_flag("--json", a.as_json, "print JSON");
  parse->callback([&a] {
    a.action = [&a] { return cmd_parse(a.config_given() ? a.config().limits : parser::Limits{}, a.file, a.as_json); };
  });
}

void add_sla_commands(CLI::App& app, Args& a) {
  auto* sla_cmd = app.add_subcommand("sla", "ask the business-hours clock");
  sla_cmd->require_subcommand(1);
  auto* due = sla_cmd->add_subcommand("due", "when H business hours after TIME fall due in a calendar");
  due->add_option("--calendar", a.calendar, "calendar name (dk, se, or one from [calendars.NAME])")->required();
  due->add_option("--start", a.start, "RFC 3339 time, e.g. 2026-11-23T09:00:00+01:00")->required();
  due->add_option("--hours", a.hours, "business hours, may be fractional")->required();
  due->add_flag("--json", a.as_json, "print JSON");
  auto* holidays = sla_cmd->add_subcommand("holidays", "a year's closed dates of a calendar with their names");
  holidays->add_option("--calendar", a.calendar, "calendar name")->required();
  holidays->add_option("--year", a.year, "year, e.g. 2026")->required()->check(CLI::Range(1900, 2200));
  holidays->add_flag("--json", a.as_json, "print JSON");
  auto config = [&a] { return a.config_given() ? a.config() : builtin_config(); };
  due->callback([&a, config] { a.action = [&a, config] { return cmd_sla_due(config(), a.calendar, a.start, a.hours, a.as_json); }; });
  holidays->callback([&a, config] { a.action = [&a, config] { return cmd_sla_holidays(config(), a.calendar, a.year, a.as_json); }; });
}

void add_ticket_commands(CLI::App& app, Args& a) {
  auto* ticket_cmd = app.add_subcommand("ticket", "act on a ticket without mail");
  ticket_cmd->require_subcommand(1);
  auto* set = ticket_cmd->add_subcommand("set", "change status, priority, category or assignee; each is an event");
  auto& ch = a.changes;
  ch.operator_name = std::getenv("SUDO_USER") ? std::getenv("SUDO_USER") : (std::getenv("USER") ? std::getenv("USER") : "unknown");
  set->add_option("id", a.ref, "ticket id, e.g. SD-42")->required();
  set->add_option("--status", ch.status, names_of(kStatuses, ", "));
  set->add_option("--priority", ch.priority, names_of(kPriorities, ", "));
  set->add_option("--category", ch.category, names_of(kCategories, ", "));
  set->add_option("--assign", ch.assign, "a registered agent's address, or - to unassign");
  set->add_option("--text", ch.text, "words for the customer, mailed with the change (with --status resolved: the resolution)");
  set->add_option("--operator", ch.operator_name, "who makes the change (default: $SUDO_USER or $USER)");
  set->add_option("--incident", ch.incident, "link it to a major incident, e.g. SD-100; none unlinks it");
  a.on(set, [&a](const Config& c) { return cmd_ticket_set(c, a.ref, a.changes); });

  // The agent's words, as a mail would carry them: on the command line or from a file.
  // --text "" counts as given, so that it and --text-file are refused together.
  auto words = [&a](CLI::App* sub, const std::string& what) {
    auto* text = sub->add_option("--text", a.text.text, what);
    sub->add_option("--text-file", a.text.text_file, "the same words from a file (- for standard input)");
    return [&a, text] { a.text.text_given = text->count() > 0; };
  };
  auto* open_cmd = ticket_cmd->add_subcommand("new", "open a ticket for a customer who phoned or came by; prints its id");
  auto& n = a.new_ticket;
  open_cmd->add_option("--requester", n.requester, "the customer's mail address")->required();
  open_cmd->add_option("--requester-name", n.requester_name, "the customer's name");
  open_cmd->add_option("--subject", n.subject, "the ticket's subject")->required();
  open_cmd->add_option("--agent", n.agent, "the registered agent who opens it (and is assigned)")->required();
  open_cmd->add_option("--priority", n.priority, names_of(kPriorities, ", "));
  open_cmd->add_option("--category", n.category, names_of(kCategories, ", "));
  auto open_words = words(open_cmd, "what the customer asked, in the agent's words");
  a.on(open_cmd, [&a, open_words](const Config& c) {
    open_words();
    a.new_ticket.text = a.text;
    return cmd_ticket_new(c, a.new_ticket);
  });
  auto* reply = ticket_cmd->add_subcommand("reply", "answer the customer as an agent, as a reply by mail would");
  auto* note = ticket_cmd->add_subcommand("note", "add an agent's internal note (never mailed to the customer)");
  for (auto* sub : {reply, note}) {
    sub->add_option("id", a.ref, "ticket id, e.g. SD-42")->required();
    sub->add_option("--agent", a.agent, "the registered agent who writes it")->required();
  }
  auto reply_words = words(reply, "the answer");
  auto note_words = words(note, "the note");
  a.on(reply, [&a, reply_words](const Config& c) {
    reply_words();
    return cmd_ticket_write(c, a.ref, a.agent, a.text, false);
  });
  a.on(note, [&a, note_words](const Config& c) {
    note_words();
    return cmd_ticket_write(c, a.ref, a.agent, a.text, true);
  });

  // Estimates the customer approves (desk/estimates.h).
  auto* estimate = ticket_cmd->add_subcommand(
      "estimate", "mail the requester an estimate to approve, as #estimate by mail; the ticket awaits approval");
  estimate->add_option("id", a.ref, "ticket id, e.g. SD-42")->required();
  estimate->add_option("--agent", a.estimate.agent, "the registered agent who estimates")->required();
  estimate->add_option("--time", a.estimate.time, "the work's time: 3h, 1h30m, 45m")->required();
  estimate->add_option("--work", a.estimate.work, "what the work is, for the customer")->required();
  auto estimate_words = words(estimate, "words for the customer above the estimate (optional)");
  a.on(estimate, [&a, estimate_words](const Config& c) {
    estimate_words();
    a.estimate.text = a.text;
    return cmd_ticket_estimate(c, a.ref, a.estimate);
  });
  auto* estimates = ticket_cmd->add_subcommand("estimates", "a ticket's estimates: state, who answered, when and how");
  estimates->add_option("id", a.ref, "ticket id, e.g. SD-42")->required();
  estimates->add_flag("--json", a.as_json, "print JSON");
  a.on(estimates, [&a](const Config& c) { return cmd_ticket_estimates(c, a.ref, a.as_json); });
}

// `incident new|update` (desk/incidents.h, cli/incidents.h).
void add_incident_commands(CLI::App& app, Args& a) {
  auto* incident = app.add_subcommand("incident", "major incidents: new, update");
  incident->require_subcommand(1);
  auto* declare = incident->add_subcommand("new", "declare a major incident; prints its id");
  auto& i = a.incident;
  i.operator_name = std::getenv("SUDO_USER") ? std::getenv("SUDO_USER") : (std::getenv("USER") ? std::getenv("USER") : "unknown");
  declare->add_option("--title", i.title, "what is wrong, as its agents and customers read it")->required();
  declare->add_option("--agent", i.agent, "the registered agent who manages it (assigned)")->required();
  declare->add_option("--from", i.from, "a ticket to link to it at once, e.g. SD-42");
  declare->add_option("--orgs", i.orgs, "affected organisations beyond those of linked tickets: all, or A,B");
  declare->add_option("--alert-key", i.alert_keys, "new tickets with this alert key link themselves while it is open (repeatable)");
  declare->add_option("--priority", i.priority, names_of(kPriorities, ", ") + " (default highest)");
  declare->add_option("--operator", i.operator_name, "who declares it (default: $SUDO_USER or $USER)");
  a.on(declare, [&a](const Config& c) { return cmd_incident_new(c, a.incident); });
  auto* update = incident->add_subcommand("update", "add affected organisations or alert keys to a major incident");
  update->add_option("id", i.ref, "the incident, e.g. SD-100")->required();
  update->add_option("--orgs", i.orgs, "organisations it affects too: all, or A,B");
  update->add_option("--alert-key", i.alert_keys, "new tickets with this alert key link themselves (repeatable)");
  update->add_option("--operator", i.operator_name, "who adds them (default: $SUDO_USER or $USER)");
  a.on(update, [&a](const Config& c) { return cmd_incident_update(c, a.incident); });
}

void add_attachment_commands(CLI::App& app, Args& a) {
  auto* attachment = app.add_subcommand("attachment", "a ticket's files: list, get");
  attachment->require_subcommand(1);
  auto* list = attachment->add_subcommand("list", "a ticket's attachments with their numbers");
  list->add_option("id", a.ref, "ticket id, e.g. SD-42")->required();
  list->add_flag("--json", a.as_json, "print JSON");
  a.on(list, [&a](const Config& c) { return cmd_attachment_list(c, a.ref, a.as_json); });
  auto* get = attachment->add_subcommand("get", "one attachment's bytes as stored, to standard output or -o FILE");
  get->add_option("id", a.ref, "ticket id, e.g. SD-42")->required();
  get->add_option("number", a.number, "the attachment's number (attachment list)")->required();
  get->add_option("-o,--output", a.out_file, "a new file to write (never one that exists)");
  a.on(get, [&a](const Config& c) { return cmd_attachment_get(c, a.ref, a.number, a.out_file); });
}

void add_directory_commands(CLI::App& app, Args& a) {
  auto& dir = a.dir;
  auto* org = app.add_subcommand("org", "organisations: add, set, list, show, hypercare");
  org->require_subcommand(1);
  auto* org_add = org->add_subcommand("add", "add an organisation");
  auto* org_set = org->add_subcommand("set", "change an organisation's SLA, language, hypercare period or visibility");
  for (auto* sc : {org_add, org_set}) {
    sc->add_option("name", dir.name, "organisation name")->required();
    sc->add_option("--sla", dir.sla, "SLA name from the config (org add without it: the default SLA, standard-se for a Swedish organisation)");
    sc->add_option("--language", dir.language, "language of mails to its contacts: " + names_of(kLanguages, ", "));
    sc->add_option("--hypercare-start", dir.hypercare_start, "first day of hypercare, YYYY-MM-DD");
    sc->add_option("--hypercare-weeks", dir.hypercare_weeks, "length of hypercare in weeks");
    sc->add_option("--visibility", dir.visibility,
                   "which tickets its contacts see in the portal: organisation (all of the organisation's, the default) "
                   "or own (those they requested or are on the Cc list of)");
  }
  org_add->add_option("--domain", dir.domains, "mail domain (repeatable)");
  org_set->add_option("--account-agent", dir.account_agent,
                      "the registered agent asked to confirm or extend its hypercare (- for none: the team address)");
  org_set->add_option("--agent", dir.agent, "who makes the change, a registered agent (default: the operator, $SUDO_USER or $USER)");
  // Hypercare's end by agreement (desk/keep_informed.h); who and when are recorded.
  auto* hypercare = org->add_subcommand("hypercare", "an organisation's hypercare period: extend, end");
  hypercare->require_subcommand(1);
  auto* extend = hypercare->add_subcommand("extend", "extend the hypercare period by N weeks (agreed with the customer)");
  auto* end = hypercare->add_subcommand("end", "end the hypercare period now (both parties agree)");
  for (auto* sc : {extend, end}) {
    sc->add_option("name", dir.name, "organisation name")->required();
    sc->add_option("--agent", dir.agent, "who agreed it, a registered agent (default: the operator, $SUDO_USER or $USER)");
  }
  extend->add_option("--weeks", dir.extend_weeks, "weeks to add")->required();
  org->add_subcommand("list", "list organisations")->add_flag("--json", a.as_json, "print JSON");
  auto* org_show = org->add_subcommand("show", "show one organisation with its contacts");
  org_show->add_option("name", dir.name, "organisation name")->required();
  org_show->add_flag("--json", a.as_json, "print JSON");
  a.on(org, [&a, org, hypercare](const Config& c) {
    if (action_of(org) == "hypercare")
      return cmd_org_hypercare(c, action_of(hypercare), a.dir.name, a.dir.extend_weeks, a.dir.agent);
    return cmd_org(c, action_of(org), a.dir, a.as_json);
  });

  auto* contact = app.add_subcommand("contact", "an organisation's contact persons (at most 10): add, set, remove, list");
  contact->require_subcommand(1);
  auto* contact_add = contact->add_subcommand("add", "register a contact person");
  contact_add->add_option("--org", dir.org, "organisation")->required();
  contact_add->add_option("email", dir.email, "mail address")->required();
  contact_add->add_option("--name", dir.contact_name, "name");
  contact_add->add_option("--visibility", dir.visibility, "organisation, own or inherit (the organisation's, the default)");
  auto* contact_set = contact->add_subcommand("set", "change a contact person's visibility or move them to another organisation");
  contact_set->add_option("email", dir.email, "mail address")->required();
  contact_set->add_option("--visibility", dir.visibility,
                          "which tickets they see: organisation, own (requested or on the Cc list of) or inherit");
  contact_set->add_option("--organisation,--org", dir.org, "move to this organisation (ends their portal sessions)");
  contact->add_subcommand("remove", "remove a contact person")->add_option("email", dir.email, "mail address")->required();
  auto* contact_list = contact->add_subcommand("list", "list contact persons");
  contact_list->add_option("--org", dir.org, "only this organisation's");
  contact_list->add_flag("--json", a.as_json, "print JSON");
  a.on(contact, [&a, contact](const Config& c) { return cmd_contact(c, action_of(contact), a.dir, a.as_json); });

  auto* agent = app.add_subcommand("agent", "agents who work tickets by mail: add, remove, list");
  agent->require_subcommand(1);
  auto* agent_add = agent->add_subcommand("add", "register an agent");
  agent_add->add_option("email", dir.email, "mail address")->required();
  agent_add->add_option("--name", dir.contact_name, "name shown to customers");
  agent->add_subcommand("remove", "remove an agent")->add_option("email", dir.email, "mail address")->required();
  agent->add_subcommand("list", "list agents")->add_flag("--json", a.as_json, "print JSON");
  a.on(agent, [&a, agent](const Config& c) { return cmd_agent(c, action_of(agent), a.dir, a.as_json); });
}

// `notice`: maintenance notices to the affected organisations' contacts (cli/notices.h).
void add_notice_commands(CLI::App& app, Args& a) {
  auto& n = a.notice;
  n.operator_name = std::getenv("SUDO_USER") ? std::getenv("SUDO_USER") : (std::getenv("USER") ? std::getenv("USER") : "unknown");
  auto* notice = app.add_subcommand("notice", "maintenance notices to customers' contacts: add, list, cancel");
  notice->require_subcommand(1);
  auto* add = notice->add_subcommand("add", "announce a maintenance window; prints the notice's id");
  add->add_option("--kind", n.kind, "infrastructure, integrations, upgrade or emergency (mailed at once)")
      ->required()
      ->check(CLI::IsMember({"infrastructure", "integrations", "upgrade", "emergency"}));
  add->add_option("--start", n.start, "RFC 3339 with an offset, e.g. 2026-12-05T09:00:00+01:00")->required();
  add->add_option("--end", n.end, "RFC 3339 with an offset, after --start")->required();
  add->add_option("--orgs", n.orgs, "all, or organisations separated by commas: A,B")->capture_default_str();
  add->add_option("--text-file", n.text_file, "the notice's text (UTF-8; - for standard input)")->required();
  add->add_option("--text-file-sv", n.text_file_sv, "its Swedish text, for Swedish organisations");
  add->add_option("--text-file-da", n.text_file_da, "its Danish text, for Danish organisations");
  add->add_option("--operator", n.operator_name, "who announces it (default: $SUDO_USER or $USER)");
  a.on(add, [&a](const Config& c) { return cmd_notice_add(c, a.notice); });
  auto* list = notice->add_subcommand("list", "every notice with its window, state and mails");
  list->add_flag("--json", a.as_json, "print JSON");
  a.on(list, [&a](const Config& c) { return cmd_notice_list(c, a.as_json); });
  auto* cancel = notice->add_subcommand("cancel", "cancel a notice; those who got it are told");
  cancel->add_option("id", n.id, "the notice's id (notice list)")->required();
  a.on(cancel, [&a](const Config& c) { return cmd_notice_cancel(c, a.notice); });
}

// `report`: an organisation that does not exist is bad input (65) as in `contact list
// --org`; write_report's other refusals are arguments of the wrong shape (kind, month, format).
int cmd_report(const Config& c, const ReportRequest& req) {
  auto st = open_store(c);
  if (!req.org.empty() && !st->begin(store::Store::Mode::read)->organisation(req.org))
    throw CommandError(Failure::bad_input, fmt::format("no organisation '{}'", req.org));
  try {
    write_report(*st, c, req, std::cout, clock_now(c));
  } catch (const std::invalid_argument& e) {
    throw CommandError(Failure::usage, e.what());
  }
  return 0;
}

void add_operations_commands(CLI::App& app, Args& a) {
  a.on(app.add_subcommand("check-config", "validate the config, open the store, log in to IMAP and SMTP, say what to fix"),
       [](const Config& c) { return cmd_check_config(c); });
  auto* status = app.add_subcommand("status", "the daemon's state from the store: poll, watermark, outbox, quarantine, SLAs");
  status->add_flag("--json", a.as_json, "print JSON");
  a.on(status, [&a](const Config& c) { return cmd_status(c, a.as_json); });
  auto* outbox = app.add_subcommand("outbox", "mail waiting to be sent: list, retry ID, drop ID");
  outbox->require_subcommand(1);
  outbox->add_subcommand("list", "unsent and failed mail")->add_flag("--json", a.as_json, "print JSON");
  outbox->add_subcommand("retry", "send a failed or waiting mail again now")->add_option("id", a.item_id)->required();
  outbox->add_subcommand("drop", "give up on a waiting mail")->add_option("id", a.item_id)->required();
  a.on(outbox, [&a, outbox](const Config& c) { return cmd_outbox(c, action_of(outbox), a.item_id, a.as_json); });
  auto* quarantine = app.add_subcommand("quarantine", "mails the parser had trouble with: list, show ID, retry ID");
  quarantine->require_subcommand(1);
  quarantine->add_subcommand("list", "mails with parse problems")->add_flag("--json", a.as_json, "print JSON");
  quarantine->add_subcommand("show", "print the raw mail as received")->add_option("id", a.item_id)->required();
  quarantine
      ->add_subcommand("retry", "parse the mail again and replace what the ticket shows (one without a ticket: ingest it)")
      ->add_option("id", a.item_id)
      ->required();
  a.on(quarantine, [&a, quarantine](const Config& c) { return cmd_quarantine(c, action_of(quarantine), a.item_id, a.as_json); });
  a.report.format = "text";
  auto* report = app.add_subcommand("report", "reports for managers: sla, categories, time, incidents; incident SD-100");
  report->add_option("kind", a.report.kind, "sla, categories, time or incidents (a month's); incident (one major incident's)")
      ->required()
      ->check(CLI::IsMember({"sla", "categories", "time", "incidents", "incident"}));
  report->add_option("id", a.ref, "with incident: the major incident, e.g. SD-100");
  report->add_option("--month", a.report.month, "YYYY-MM (every kind but incident)");
  report->add_option("--org", a.report.org, "only this organisation");
  report->add_option("--format", a.report.format, "text, csv, json or html (incident: text, html or json)")
      ->check(CLI::IsMember({"text", "csv", "json", "html"}))
      ->capture_default_str();
  a.on(report, [&a](const Config& c) {
    if (a.report.kind == "incident") {
      if (a.ref.empty()) throw CommandError(Failure::usage, "report incident: name the incident, e.g. SD-100");
      if (a.report.format == "csv") throw CommandError(Failure::usage, "report incident: --format text, html or json");
      if (!a.report.month.empty() || !a.report.org.empty())
        throw CommandError(Failure::usage, "report incident takes no --month or --org");
      return cmd_report_incident(c, a.ref, a.report.format);
    }
    if (!a.ref.empty()) throw CommandError(Failure::usage, fmt::format("report {} takes no ticket id", a.report.kind));
    if (a.report.month.empty()) throw CommandError(Failure::usage, "--month YYYY-MM is required");
    return cmd_report(c, a.report);
  });
  auto* store_cmd = app.add_subcommand("store", "the store as a whole: copy");
  store_cmd->require_subcommand(1);
  auto* copy = store_cmd->add_subcommand(
      "copy", "move the desk into an empty store (SQLite to PostgreSQL and back), verified table by table");
  copy->add_option("--from", a.copy_from, "the store to copy: sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE")
      ->required();
  copy->add_option("--to", a.copy_to, "the empty store to fill (created when it does not exist)")->required();
  copy->callback([&a] { a.action = [&a] { return cmd_store_copy(a.config_if_any(), a.copy_from, a.copy_to); }; });
  auto* backup = app.add_subcommand("backup", "a consistent copy of the store while the daemon runs");
  backup->add_option("file", a.backup_path, "new file to write")->required();
  a.on(backup, [&a](const Config& c) { return cmd_backup(c, a.backup_path); });
}

// A command line that names no command where one is needed, or a word that is none: said
// with the commands there are (CLI11's own words, "A subcommand is required", name neither).
// nullopt for any other mistake, which CLI11 describes well.
std::optional<std::string> command_missing(const CLI::App& app) {
  const CLI::App* level = &app;
  std::string path;
  while (!level->get_subcommands().empty()) {
    level = level->get_subcommands().front();
    path += level->get_name() + " ";
  }
  auto commands = level->get_subcommands([](const CLI::App*) { return true; });
  if (commands.empty()) return std::nullopt;
  std::vector<std::string> names;
  for (const auto* sub : commands) names.push_back(sub->get_name());
  std::string word;
  for (const auto& arg : app.remaining(true))
    if (!arg.empty() && arg[0] != '-') {
      word = arg;
      break;
    }
  std::string where = path.empty() ? "" : path.substr(0, path.size() - 1) + " ";
  std::string help = fmt::format("(servicedesk {}--help explains them)", where);
  if (word.empty()) return fmt::format("no {}command given; {}commands: {} {}", where, where, fmt::join(names, ", "), help);
  return fmt::format("unknown command '{}{}'; {}commands: {} {}", where, printable(word), where, fmt::join(names, ", "),
                     help);
}

}  // namespace

int main(int argc, char** argv) {
  // Everything a command creates (the store and its -wal/-shm, the lock, a backup) holds
  // customer mail: private to the service's user whatever umask the caller had.
  ::umask(077);
  CLI::App app{"servicedesk: an email service desk daemon"};
  app.require_subcommand(1);
  Args args;
  args.app = &app;
  if (const char* env = std::getenv("SERVICEDESK_CONFIG")) args.config_path = env;
  app.add_option("--config", args.config_path, "configuration file (TOML)")->capture_default_str();
  app.set_version_flag("--version", std::string("servicedesk ") + SD_VERSION, "print the version and exit");
  add_mail_commands(app, args);
  add_sla_commands(app, args);
  add_ticket_commands(app, args);
  add_attachment_commands(app, args);
  add_directory_commands(app, args);
  add_notice_commands(app, args);
  add_incident_commands(app, args);
  add_operations_commands(app, args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 says what is wrong (or prints --help or --version, exit 0); a wrong command line
    // is 64 like every other usage error.
    if (e.get_exit_code() != 0)
      if (auto missing = command_missing(app))
        return run_command([&]() -> int { throw CommandError(Failure::usage, *missing); });
    int rc = app.exit(e);
    return rc == 0 ? 0 : exit_status(Failure::usage);
  }
  // The top-level catch: whatever a command throws is reported once, by the one mapping.
  return run_command([&]() -> int {
    if (!args.action) throw CommandError(Failure::usage, "no command given (servicedesk --help lists them)");
    return args.action();
  });
}
