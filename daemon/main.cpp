// daemon/main.cpp: the `servicedesk` command: the daemon and the operators' subcommands.
//
// Exit codes follow sysexits.h so that an MTA pipe does the right thing: 0 done,
// 64 usage, 65 bad input, 74 store broken, 75 try again later (EX_TEMPFAIL), 78 bad config.
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/ingest.h"
#include "daemon/json.h"
#include "daemon/log.h"
#include "parser/parse.h"
#include "store/store.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sysexits.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace {

using namespace sd;

store::Time now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string read_all(std::istream& in) { return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()}; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot read");
  return read_all(in);
}

std::unique_ptr<store::Store> open_store(const Config& c) { return store::open_sqlite_store({c.store.path}); }

int cmd_ingest(const Config& c, const std::vector<std::string>& files) {
  auto st = open_store(c);
  int worst = 0;
  auto one = [&](const std::string& name, const std::string& raw) {
    try {
      auto r = ingest(*st, c, raw, std::nullopt, now_s());
      std::cout << (r.ticket_id ? ticket_ref(c, r.ticket_id) : std::string("-")) << std::endl;
      if (!r.note.empty()) log::info("{}: {}", name, r.note);
    } catch (const store::StoreError& e) {
      log::error("{}: not stored: {}", name, e.what());
      worst = std::max(worst, e.transient ? EX_TEMPFAIL : EX_IOERR);
    }
  };
  if (files.empty()) {
    std::ios::sync_with_stdio(false);
    one("stdin", read_all(std::cin));
  }
  for (const auto& f : files) {
    std::string raw;
    try {
      raw = read_file(f);
    } catch (const std::exception& e) {
      log::error("{}", e.what());
      worst = std::max(worst, EX_NOINPUT);
      continue;
    }
    one(f, raw);
  }
  return worst;
}

int cmd_tickets(const Config& c, bool as_json) {
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::read);
  auto tickets = tx->tickets();
  if (as_json) {
    auto arr = nlohmann::json::array();
    for (const auto& t : tickets) arr.push_back(ticket_json(c, t));
    std::cout << arr.dump(2) << "\n";
    return 0;
  }
  for (const auto& t : tickets)
    std::cout << fmt::format("{:<10} {:<9} {:<8} {}  {:<30} {}\n", ticket_ref(c, t.id), t.status, t.priority,
                             rfc3339_utc(t.updated_at), t.requester, t.subject);
  if (tickets.empty()) std::cout << "no tickets\n";
  return 0;
}

int cmd_show(const Config& c, const std::string& ref, bool as_json) {
  auto id = parse_ticket_ref(c, ref);
  if (!id) {
    std::cerr << fmt::format("servicedesk: '{}' is not a ticket id (expected e.g. {}-1)\n", ref, c.service.ticket_prefix);
    return EX_USAGE;
  }
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::read);
  auto t = tx->ticket(*id);
  if (!t) {
    std::cerr << fmt::format("servicedesk: no ticket {}\n", ticket_ref(c, *id));
    return EX_DATAERR;
  }
  auto messages = tx->messages(*id);
  auto events = tx->events(*id);
  if (as_json) {
    std::cout << ticket_detail_json(c, *t, messages, events).dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{}  {}\nstatus: {}   priority: {}   requester: {} <{}>\ncreated: {}   updated: {}\n",
                           ticket_ref(c, t->id), t->subject, t->status, t->priority, t->requester_name, t->requester,
                           rfc3339_utc(t->created_at), rfc3339_utc(t->updated_at));
  for (const auto& m : messages) {
    std::cout << fmt::format("\n--- {} {} {} <{}>\nSubject: {}\n\n{}\n", m.direction == "in" ? "from" : "to",
                             rfc3339_utc(m.created_at), m.direction == "in" ? m.from_name : "",
                             m.direction == "in" ? m.from_addr : (m.to.empty() ? "" : m.to[0]), m.subject, m.body_text);
    for (const auto& a : m.attachments)
      std::cout << fmt::format("[attachment: {} ({}, {} bytes)]\n", a.filename, a.content_type, a.size);
  }
  return 0;
}

int cmd_parse(const parser::Limits& limits, const std::string& file, bool as_json) {
  std::string raw = file == "-" ? read_all(std::cin) : read_file(file);
  auto m = parser::parse(raw, limits);
  auto j = parsed_json(m);
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("Subject: {}\nFrom: {} <{}>\nMessage-ID: {}\nDate: {}\nAutomatic: {}\n", m.subject, m.from.name,
                           m.from.email, m.message_id, m.date, m.automatic.value_or("no"));
  for (const auto& p : m.problems) std::cout << "Problem: " << p << "\n";
  for (const auto& a : m.attachments)
    std::cout << fmt::format("Attachment: {} ({}, {} bytes)\n", a.filename, a.content_type, a.size);
  std::cout << "\n--- new text ---\n" << m.new_text << "\n--- whole text ---\n" << m.body_text << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"servicedesk: an email service desk daemon"};
  app.require_subcommand(1);
  std::string config_path = "/etc/servicedesk/servicedesk.toml";
  if (const char* env = std::getenv("SERVICEDESK_CONFIG")) config_path = env;
  app.add_option("--config", config_path, "configuration file (TOML)")->capture_default_str();

  auto* run = app.add_subcommand("run", "run the daemon in the foreground, logging to stderr");
  auto* ingest_cmd = app.add_subcommand("ingest", "store raw RFC 5322 mails from files (or one from stdin)");
  std::vector<std::string> files;
  ingest_cmd->add_option("files", files, "mail files; none: read one mail from stdin");
  bool as_json = false;
  auto* tickets = app.add_subcommand("tickets", "list tickets, newest first");
  tickets->add_flag("--json", as_json, "print JSON");
  auto* show = app.add_subcommand("show", "show one ticket with its messages");
  std::string ref;
  show->add_option("id", ref, "ticket id, e.g. SD-42")->required();
  show->add_flag("--json", as_json, "print JSON");
  auto* parse = app.add_subcommand("parse", "show what the parser makes of one mail (no store needed)");
  std::string parse_file;
  parse->add_option("file", parse_file, "mail file, or - for stdin")->required();
  parse->add_flag("--json", as_json, "print JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : EX_USAGE;
  }

  try {
    if (parse->parsed()) {
      // The config is optional here: only its [limits] matter.
      parser::Limits limits;
      if (app.get_option("--config")->count() > 0) limits = load_config(config_path).limits;
      return cmd_parse(limits, parse_file, as_json);
    }
    Config config = load_config(config_path);
    log::set_level(config.service.log_level);
    if (run->parsed()) return run_daemon(config);
    if (ingest_cmd->parsed()) return cmd_ingest(config, files);
    if (tickets->parsed()) return cmd_tickets(config, as_json);
    if (show->parsed()) return cmd_show(config, ref, as_json);
  } catch (const ConfigError& e) {
    std::cerr << "servicedesk: configuration error: " << e.what() << "\n";
    return EX_CONFIG;
  } catch (const store::StoreError& e) {
    std::cerr << "servicedesk: " << e.what() << "\n";
    return e.transient ? EX_TEMPFAIL : EX_IOERR;
  } catch (const std::exception& e) {
    std::cerr << "servicedesk: " << e.what() << "\n";
    return EX_SOFTWARE;
  }
  return EX_USAGE;
}
