// cli/tickets.cpp: see tickets.h.
//
// Security: see tickets.h. `attachment get` opens its -o file itself rather than through a
// library that might follow a symbolic link planted under the name, and removes what it
// created when the write fails, so no half-written file passes for the attachment.
#include "cli/tickets.h"

#include "api/json.h"
#include "cli/exit_status.h"
#include "core/file.h"
#include "core/text.h"
#include "core/vocabulary.h"
#include "desk/desk.h"
#include "desk/directory.h"
#include "desk/estimates.h"
#include "desk/incidents.h"
#include "desk/ingest.h"
#include "desk/on_behalf.h"
#include "desk/sla_clock.h"
#include "desk/ticket_change.h"
#include "store/estimates.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>
#include <map>

namespace sd {
namespace {


[[noreturn]] void malformed(const std::string& why) { throw CommandError(Failure::usage, why); }
[[noreturn]] void refuse(const std::string& why) { throw CommandError(Failure::bad_input, why); }

// The refusals every ticket command shares, so that each gives the same exit status.
std::int64_t ticket_id_of(const Config& c, const std::string& ref) {
  auto id = parse_ticket_ref(c, ref);
  if (!id) malformed(fmt::format("'{}' is not a ticket id (expected e.g. {}-1)", ref, c.service.ticket_prefix));
  return *id;
}

store::Ticket ticket_or_refuse(const Config& c, store::Transaction& tx, std::int64_t id) {
  auto t = tx.ticket(id);
  if (!t) refuse(fmt::format("no ticket {}", ticket_ref(c, id)));
  return *t;
}

// An address given on the command line: lower case, and a plain addr-spec, since it becomes
// a recipient or a filter on stored addresses.
std::string address_option(const std::string& option, const std::string& value) {
  std::string a = lower(trim(value));
  if (!plausible_address(a)) malformed(fmt::format("{} '{}' is not a mail address", option, value));
  return a;
}

// "1h 30m", "45m", "none".
std::string duration_words(std::int64_t seconds) {
  if (seconds <= 0) return "none";
  auto minutes = (seconds + 59) / 60;
  if (minutes < 60) return fmt::format("{}m", minutes);
  return minutes % 60 ? fmt::format("{}h {}m", minutes / 60, minutes % 60) : fmt::format("{}h", minutes / 60);
}

sla::Instant instant(store::Time t) { return sla::Instant(std::chrono::seconds(t)); }

// The name a mail gave a file, for a person's eyes (never for a path).
std::string shown_name(const std::string& filename) { return filename.empty() ? "(no name)" : printable(filename); }

std::string attachment_flags(bool is_inline, bool internal, bool kept) {
  std::string f;
  if (is_inline) f += " (inline)";
  if (internal) f += " (internal)";
  if (!kept) f += " (not kept)";
  return f;
}

// Whether `s` is UTF-8 text without NUL: what an agent's words must be before they go into a
// mail and the store.
bool is_text(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto ch = text_detail::decode_utf8(s, i);
    if (ch.len == 0 || ch.cp == 0) return false;
    i += ch.len;
  }
  return true;
}

}  // namespace

// --- tickets ---------------------------------------------------------------------------

store::TicketQuery ticket_query(const TicketListArgs& a) {
  store::TicketQuery q;
  for (const auto& given : a.statuses) {
    std::size_t from = 0;
    while (from <= given.size()) {
      auto comma = given.find(',', from);
      std::string word = trim(given.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
      from = comma == std::string::npos ? given.size() + 1 : comma + 1;
      if (word.empty()) continue;
      auto s = parse_status(word);
      if (!s) malformed(fmt::format("--status '{}' is not a status ({})", word, names_of(kStatuses, ", ")));
      std::string name(to_string(*s));
      if (std::find(q.statuses.begin(), q.statuses.end(), name) == q.statuses.end()) q.statuses.push_back(name);
    }
  }
  q.organisation = a.organisation;
  if (!a.assignee.empty()) q.assignee = address_option("--assignee", a.assignee);
  if (!a.requester.empty()) q.requester = address_option("--requester", a.requester);
  q.breaching = a.breaching;
  q.search = trim(a.search);
  if (a.sort == "due") q.sort = store::TicketQuery::Sort::due;
  else if (a.sort == "newest") q.sort = store::TicketQuery::Sort::newest;
  else malformed(fmt::format("--sort '{}': newest or due", a.sort));
  if (a.limit < 0 || a.offset < 0) malformed("--limit and --offset must not be negative");
  q.limit = a.limit;
  q.offset = a.offset;
  return q;
}

int cmd_tickets(const Config& c, const TicketListArgs& a, bool as_json) {
  auto q = ticket_query(a);
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::read);
  if (!q.organisation.empty() && !tx->organisation(q.organisation))
    refuse(fmt::format("no organisation '{}'", q.organisation));
  auto tickets = tx->find_tickets(q);
  SlaClock clock(c);
  auto now = clock_now(c);
  if (as_json) {
    auto arr = nlohmann::json::array();
    for (const auto& t : tickets) arr.push_back(ticket_json(c, t, clock.evaluate(t, tx->pauses(t.id), now)));
    std::cout << json_text(arr) << "\n";
    return 0;
  }
  bool filtered = !q.statuses.empty() || !q.organisation.empty() || !q.assignee.empty() || !q.requester.empty() ||
                  q.breaching || !q.search.empty() || q.offset > 0;
  if (tickets.empty()) {
    if (q.offset > 0) {
      auto total = tx->count_tickets(q);
      if (total > 0) {
        std::cout << fmt::format("no tickets match at --offset {}: {} match in all\n", q.offset, total);
        return 0;
      }
    }
    std::cout << (filtered ? "no tickets match\n" : "no tickets yet\n");
    return 0;
  }
  constexpr auto kRow = "{:<10} {:<8} {:<8} {:<8} {:<20} {:<20} {:<24} {:<30} {}\n";
  std::cout << fmt::format(kRow, "TICKET", "STATUS", "PRIORITY", "SLA", "NEXT DUE", "UPDATED", "ASSIGNEE", "REQUESTER",
                           "SUBJECT");
  for (const auto& t : tickets)
    std::cout << fmt::format(kRow, ticket_ref(c, t.id), t.status, t.priority, clock.evaluate(t, tx->pauses(t.id), now).state,
                             t.sla_next_due ? rfc3339_utc(*t.sla_next_due) : "-", rfc3339_utc(t.updated_at),
                             t.assignee.empty() ? "-" : printable(t.assignee), printable(t.requester),
                             printable(t.subject));
  // A page of a longer list says where it is, so nobody takes it for the whole queue.
  if (q.limit > 0 || q.offset > 0) {
    auto total = tx->count_tickets(q);
    auto last = q.offset + static_cast<std::int64_t>(tickets.size());
    if (q.offset > 0 || last < total)
      std::cout << fmt::format("tickets {}-{} of {}{}\n", q.offset + 1, last, total,
                               last < total ? fmt::format(" (--offset {} for the next)", last) : "");
  }
  return 0;
}

// --- show ------------------------------------------------------------------------------

int cmd_show(const Config& c, const std::string& ref, bool as_json) {
  auto id = ticket_id_of(c, ref);
  Desk desk(c, false);  // the SLA clock and calendars; no mail is sent
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::read);
  auto t = ticket_or_refuse(c, *tx, id);
  auto messages = tx->messages(id);
  auto events = tx->events(id);
  const auto& clock = desk.clock();
  auto sla = clock.evaluate(t, tx->pauses(id), clock_now(c));
  if (as_json) {
    auto j = ticket_detail_json(c, t, sla, messages, events);
    add_process_json(j, *tx, c, t, true);
    std::cout << json_text(j) << "\n";
    return 0;
  }
  auto files = tx->attachments(id);
  // Every time on the page in the ticket's calendar's zone: the one its SLA is counted in.
  const auto& cal = clock.calendar(t.sla);
  auto local = [&](store::Time at) { return cal.rfc3339_local(instant(at)); };
  auto when = [&](store::Time at) { return cal.format_local(instant(at)); };
  auto target = [&](const std::optional<store::Time>& due, const std::optional<store::Time>& done, const char* done_word) {
    if (!due && !done) return std::string("no target");
    std::string s = due ? "due " + when(*due) : std::string("no target");
    if (done) s += fmt::format("; {} {}", done_word, when(*done));
    return s;
  };

  std::cout << fmt::format("{}  {}\n", ticket_ref(c, t.id), printable(t.subject));
  std::cout << fmt::format("status: {}   priority: {}   category: {}\n", t.status, t.priority,
                           t.category.empty() ? "-" : t.category);
  std::cout << "requester: "
            << (t.requester_name.empty() ? printable(t.requester)
                                         : fmt::format("{} <{}>", printable(t.requester_name), printable(t.requester)))
            << "\n";
  std::cout << fmt::format("organisation: {}{}{}\n", t.organisation.empty() ? "none" : printable(t.organisation),
                           t.unverified ? " (not a registered contact)" : "", t.hypercare ? " (hypercare)" : "");
  std::cout << fmt::format("assignee: {}\n", t.assignee.empty() ? "nobody" : printable(t.assignee));
  std::cout << fmt::format("SLA: {} ({}), calendar {}\n", t.sla, sla.state, cal.spec().name);
  std::cout << fmt::format("first response: {}\n", target(sla.first_response_due, t.first_response_at, "answered"));
  std::cout << fmt::format("resolution: {}\n", target(sla.resolution_due, t.resolved_at, "resolved"));
  std::cout << fmt::format("time spent: {}\n", duration_words(t.time_spent_s));
  if (t.refers_to) std::cout << fmt::format("refers to {}\n", ticket_ref(c, *t.refers_to));
  if (t.repeat_count > 0) std::cout << fmt::format("repeated alerts: {}\n", t.repeat_count);
  std::cout << fmt::format("created: {}   updated: {}\n", local(t.created_at), local(t.updated_at));
  if (!t.resolution.empty()) std::cout << "resolution text: " << printable(t.resolution) << "\n";

  std::cout << (files.empty() ? "\nno attachments\n" : "\nattachments:\n");
  for (const auto& f : files)
    std::cout << fmt::format("  {:>3}  {} ({}, {} bytes){}\n", f.number, shown_name(f.filename),
                             printable(f.content_type), f.size, attachment_flags(f.is_inline, f.internal, f.kept));

  for (const auto& m : messages) {
    bool in = m.direction == "in";
    std::cout << fmt::format("\n--- {} {} {} <{}>{}\nSubject: {}\n\n{}\n", in ? "from" : "to", local(m.created_at),
                             printable(in ? m.from_name : ""), printable(in ? m.from_addr : (m.to.empty() ? "" : m.to[0])),
                             m.internal ? " (internal)" : "", printable(m.subject), printable(m.body_text, true));
    for (const auto& a : m.attachments)
      std::cout << fmt::format("[attachment {}: {} ({}, {} bytes)]\n", a.number, shown_name(a.filename),
                               printable(a.content_type), a.size);
  }

  std::cout << (events.empty() ? "\nno events\n" : "\nevents:\n");
  for (const auto& e : events)
    std::cout << fmt::format("  {}  {}  {}{}{}\n", local(e.at), printable(e.actor), printable(e.kind),
                             e.detail.empty() ? "" : "  " + printable(trim(e.detail)), e.internal ? "  (internal)" : "");
  return 0;
}

// --- attachments -----------------------------------------------------------------------

int cmd_attachment_list(const Config& c, const std::string& ref, bool as_json) {
  auto id = ticket_id_of(c, ref);
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::read);
  auto t = ticket_or_refuse(c, *tx, id);
  auto files = tx->attachments(id);
  if (as_json) {
    auto arr = nlohmann::json::array();
    for (const auto& f : files) arr.push_back(attachment_json(f));
    std::cout << json_text(arr) << "\n";
    return 0;
  }
  if (files.empty()) {
    std::cout << fmt::format("no attachments on {}\n", ticket_ref(c, id));
    return 0;
  }
  SlaClock clock(c);
  const auto& cal = clock.calendar(t.sla);  // times as `show` gives them, in the ticket's zone
  auto local = [&](store::Time at) { return cal.rfc3339_local(instant(at)); };
  std::map<std::int64_t, const store::MessageRecord*> message_of;
  auto messages = tx->messages(id);
  for (const auto& m : messages) message_of[m.id] = &m;
  constexpr auto kRow = "{:>3}  {:<32} {:<28} {:>12}  {}\n";
  std::cout << fmt::format(kRow, "N", "NAME", "TYPE", "BYTES", "CAME WITH");
  for (const auto& f : files) {
    std::string came = local(f.created_at);
    if (auto it = message_of.find(f.message_id); it != message_of.end()) {
      const auto& m = *it->second;
      came = m.direction == "in" ? fmt::format("mail from {} at {}", printable(m.from_addr), local(m.created_at))
                                 : fmt::format("mail to {} at {}", printable(m.to.empty() ? "" : m.to[0]),
                                               local(m.created_at));
    }
    std::cout << fmt::format(kRow, f.number, shown_name(f.filename), printable(f.content_type), f.size,
                             came + attachment_flags(f.is_inline, f.internal, f.kept));
  }
  return 0;
}

namespace {

// Writes all of `data` to `fd`; false with errno set when it could not.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Creates `path` new, mode 0600, and writes `data` into it. A name that exists (a symbolic
// link too, dangling or not: O_NOFOLLOW with O_EXCL never follows one) is refused.
void write_new_file(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    int err = errno;
    struct stat st{};
    if (err == EEXIST)
      throw CommandError(Failure::cannot_create,
                         fmt::format("{} exists{}; give a new file name", path,
                                     ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)
                                         ? " (a symbolic link: refused, not followed)"
                                         : ""));
    throw CommandError(Failure::cannot_create, fmt::format("{}: cannot create ({})", path, std::strerror(err)));
  }
  bool ok = write_all(fd, data);
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(path.c_str());  // ours, created above: a part of the file is not the file
    throw CommandError(Failure::cannot_create, fmt::format("{}: cannot write ({}); removed", path, std::strerror(err)));
  }
}

}  // namespace

int cmd_attachment_get(const Config& c, const std::string& ref, std::int64_t number, const std::string& out_file) {
  auto id = ticket_id_of(c, ref);
  if (number < 1) malformed(fmt::format("'{}' is not an attachment number (1, 2, ...: attachment list {})", number,
                                        ticket_ref(c, id)));
  // Before the store is read: bytes from a customer's mail are not for a terminal.
  if (out_file.empty() && ::isatty(STDOUT_FILENO))
    malformed("standard output is a terminal: give -o FILE, or redirect it (> FILE, | less)");
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::read);
  ticket_or_refuse(c, *tx, id);
  auto a = tx->attachment(id, number);
  if (!a)
    refuse(fmt::format("{} has no attachment {} (servicedesk attachment list {} shows them)", ticket_ref(c, id), number,
                       ticket_ref(c, id)));
  if (!a->kept)
    refuse(fmt::format("attachment {} of {} ({}, {} bytes) was not kept: a size limit kept only its name and size",
                       number, ticket_ref(c, id), shown_name(a->filename), a->size));
  tx.reset();
  if (out_file.empty()) {
    std::cout.flush();
    if (!write_all(STDOUT_FILENO, a->data))
      throw CommandError(Failure::cannot_create, fmt::format("standard output: cannot write ({})", std::strerror(errno)));
    return 0;
  }
  write_new_file(out_file, a->data);
  std::cout << fmt::format("attachment {} of {} ({}, {} bytes) written to {}\n", number, ticket_ref(c, id),
                           shown_name(a->filename), a->data.size(), out_file);
  return 0;
}

// --- changes ---------------------------------------------------------------------------

// `ticket set`: the operator's change through the desk's one state machine
// (desk/ticket_change.h), so it follows the rules a change by mail does.
int cmd_ticket_set(const Config& c, const std::string& ref, const TicketChanges& ch) {
  auto id = ticket_id_of(c, ref);
  TicketChange change;
  if (!ch.status.empty()) change.status = parse_status(ch.status);
  if (!ch.priority.empty()) change.priority = parse_priority(ch.priority);
  if (!ch.category.empty()) change.category = parse_category(ch.category);
  if ((!ch.status.empty() && !change.status) || (!ch.priority.empty() && !change.priority) ||
      (!ch.category.empty() && !change.category))
    malformed(fmt::format("--status {}, --priority {}, --category {}", names_of(kStatuses), names_of(kPriorities),
                          names_of(kCategories)));
  if (!ch.assign.empty()) change.assignee = ch.assign == "-" ? "" : lower(ch.assign);
  change.text = ch.text;
  Desk desk(c);
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::write);
  auto t = ticket_or_refuse(c, *tx, id);
  const std::string actor = "operator:" + ch.operator_name;
  // --incident (desk/incidents.h): linked or unlinked first, so a --status resolved on an
  // incident resolves what is linked to it.
  if (!ch.incident.empty()) {
    auto done = lower(ch.incident) == "none"
                    ? unlink_from_incident(*tx, desk, id, actor, clock_now(c))
                    : link_to_incident(*tx, desk, id, ticket_id_of(c, ch.incident), actor, "cli", clock_now(c));
    if (!done) refuse(done.error());
  }
  auto outcome = change_ticket(*tx, desk, t, change, actor, clock_now(c));
  if (!outcome.refused.empty()) refuse(outcome.refused.front());
  tx->commit();
  std::cout << ticket_ref(c, id) << (outcome.mail_queued ? " (the customer is mailed)" : "") << "\n";
  return 0;
}

std::string agent_text(const AgentText& t, bool required) {
  if (t.text_given && !t.text_file.empty()) malformed("give --text or --text-file, not both");
  std::string text = t.text;
  std::string source = "--text";
  if (!t.text_file.empty()) {
    source = "--text-file " + t.text_file;
    if (t.text_file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      auto content = read_file(t.text_file);
      if (!content)
        throw CommandError(Failure::no_input, fmt::format("{}: cannot read ({})", t.text_file, content.error().reason()));
      text = std::move(*content);
    }
  }
  if (!is_text(text)) refuse(source + " is not UTF-8 text");
  if (required && trim(text).empty()) malformed("the words are missing: give --text TEXT or --text-file FILE");
  return text;
}

int cmd_ticket_new(const Config& c, const NewTicketArgs& a) {
  OnBehalf what;
  what.requester = address_option("--requester", a.requester);
  what.requester_name = trim(a.requester_name);
  what.subject = trim(a.subject);
  if (what.subject.empty()) malformed("--subject must not be empty");
  what.agent = address_option("--agent", a.agent);
  if (!a.priority.empty()) {
    what.priority = parse_priority(a.priority);
    if (!what.priority) malformed(fmt::format("--priority '{}': {}", a.priority, names_of(kPriorities, ", ")));
  }
  if (!a.category.empty()) {
    what.category = parse_category(a.category);
    if (!what.category) malformed(fmt::format("--category '{}': {}", a.category, names_of(kCategories, ", ")));
  }
  what.text = agent_text(a.text, false);
  Desk desk(c);
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::write);
  auto id = open_ticket_for(*tx, desk, what, clock_now(c));
  if (!id) refuse(id.error());
  tx->commit();
  std::cout << ticket_ref(c, *id) << "\n";
  return 0;
}

int cmd_ticket_write(const Config& c, const std::string& ref, const std::string& agent, const AgentText& text,
                     bool internal_note) {
  auto id = ticket_id_of(c, ref);
  auto who = address_option("--agent", agent);
  auto words = agent_text(text, true);
  Desk desk(c);
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::write);
  ticket_or_refuse(c, *tx, id);
  auto r = agent_writes(*tx, desk, id, who, words, internal_note, clock_now(c));
  if (!r) refuse(r.error());
  tx->commit();
  std::cout << ticket_ref(c, id) << (internal_note ? ": internal note added\n" : ": reply queued for the customer\n");
  return 0;
}

// ---- estimates the customer approves (desk/estimates.h) ----

int cmd_ticket_estimate(const Config& c, const std::string& ref, const EstimateArgs& a) {
  auto id = ticket_id_of(c, ref);
  auto who = address_option("--agent", a.agent);
  auto seconds = parse_duration(a.time);
  if (!seconds || *seconds <= 0) malformed(fmt::format("--time '{}' is not a duration (e.g. 3h, 1h30m, 45m)", a.time));
  if (!is_text(a.work) || trim(a.work).empty()) malformed("--work: say what the work is");
  auto words = a.text.text_given || !a.text.text_file.empty() ? agent_text(a.text, false) : std::string();
  Desk desk(c);
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::write);
  auto t = ticket_or_refuse(c, *tx, id);
  auto agent = tx->agent(who);
  if (!agent) refuse(fmt::format("{} is not a registered agent (servicedesk agent add)", who));
  EstimateRequest r{*seconds, a.work, trim(words), who, agent->name.empty() ? agent->email : agent->name, {}};
  auto made = make_estimate(*tx, desk, t, r, clock_now(c));
  if (!made) refuse(made.error());
  tx->commit();
  std::cout << fmt::format("{}: estimate {} ({}) mailed to {} for approval; the ticket is awaiting-approval\n",
                           ticket_ref(c, id), *made, estimate_duration(*seconds), printable(t.requester));
  return 0;
}

int cmd_ticket_estimates(const Config& c, const std::string& ref, bool as_json) {
  auto id = ticket_id_of(c, ref);
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::read);
  ticket_or_refuse(c, *tx, id);
  auto list = tx->estimates().estimates_of(id);
  if (as_json) {
    auto arr = nlohmann::json::array();
    for (const auto& e : list) arr.push_back(estimate_json(c, e));
    std::cout << json_text(arr) << "\n";
    return 0;
  }
  if (list.empty()) {
    std::cout << ticket_ref(c, id) << ": no estimates\n";
    return 0;
  }
  for (const auto& e : list) {
    std::cout << fmt::format("estimate {}  {}  {}  by {} at {} for {}\n  {}\n", e.id, e.state, estimate_duration(e.seconds),
                             printable(e.agent), rfc3339_utc(e.created_at), printable(e.requester), printable(e.text));
    if (e.answered_at)
      std::cout << fmt::format("  answered: {} by {} via {} at {} ({})\n", e.state, printable(e.answered_by),
                               e.answered_via, rfc3339_utc(*e.answered_at), printable(e.answer_detail));
  }
  return 0;
}

}  // namespace sd
