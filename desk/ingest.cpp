// desk/ingest.cpp: see ingest.h.
//
// The order inside the transaction follows the "raw bytes first" rule: the raw mail row
// is written before anything derived from it, so a crash or a parser bug can never leave
// a ticket without the mail it came from.
#include "desk/ingest.h"

#include "core/log.h"
#include "core/text.h"
#include "desk/agent_mail.h"
#include "desk/incidents.h"
#include "desk/attachments.h"
#include "desk/desk.h"
#include "desk/estimates.h"
#include "desk/from_portal.h"
#include "desk/mailer.h"
#include "desk/notices.h"
#include "desk/on_behalf.h"
#include "desk/sla_clock.h"
#include "desk/ticket_change.h"
#include "desk/visibility.h"
#include "notify/compose.h"
#include "notify/templates.h"
#include "parser/parse.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace sd {
namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

// Our own address, with or without a +detail.
bool is_own_address(const Config& c, const std::string& addr) {
  std::string a = lower(addr), own = lower(c.service.address);
  if (a == own) return true;
  auto at = own.find('@'), plus = a.find('+');
  return plus != std::string::npos && a.compare(0, plus, own, 0, at) == 0 && plus == at &&
         a.substr(a.find('@')) == own.substr(at);
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

// Why the service desk must not answer this mail automatically, or "" when it may.
std::string no_ack_reason(const Config& c, const parser::ParsedMail& m) {
  if (m.automatic) return "automatic mail (" + *m.automatic + ")";
  std::string from = lower(m.from.email);
  if (from.empty()) return "no sender address";
  auto local = from.substr(0, from.find('@'));
  if (local == "mailer-daemon" || local == "postmaster") return "sender " + from;
  if (is_own_address(c, from)) return "mail from our own address";
  return "";
}

}  // namespace

std::string ticket_ref(const Config& c, std::int64_t id) { return fmt::format("{}-{}", c.service.ticket_prefix, id); }

std::optional<std::int64_t> parse_ticket_ref(const Config& c, std::string_view ref) {
  if (iequals_prefix(ref, c.service.ticket_prefix + "-")) ref.remove_prefix(c.service.ticket_prefix.size() + 1);
  if (ref.empty() || ref.size() > 18 || !std::all_of(ref.begin(), ref.end(), [](char ch) { return std::isdigit((unsigned char)ch); }))
    return std::nullopt;
  return std::stoll(std::string(ref));
}

std::optional<std::int64_t> ticket_tag_in(const Config& c, std::string_view subject) {
  std::string tag = "[" + c.service.ticket_prefix + "-";
  for (std::size_t i = 0; i + tag.size() < subject.size(); ++i) {
    if (subject[i] != '[' || !iequals_prefix(subject.substr(i), tag)) continue;
    auto close = subject.find(']', i);
    if (close == std::string_view::npos) return std::nullopt;
    if (auto id = parse_ticket_ref(c, subject.substr(i + tag.size(), close - i - tag.size()))) return id;
  }
  return std::nullopt;
}

namespace {

// SHA-256 (hex) of the mail without its trace fields; with `crlf_as_lf`, line ends are read
// as LF whether they came as CRLF (IMAP) or LF (an MTA's pipe). Hashed piece by piece, as the
// mail stands: no copy of it is made.
std::string hash_without_trace(std::string_view raw, bool crlf_as_lf) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  // Pieces are whole lines or the body: a CRLF never spans two.
  auto feed = [&](std::string_view text) {
    for (;;) {
      auto cr = crlf_as_lf ? text.find("\r\n") : std::string_view::npos;
      EVP_DigestUpdate(ctx.get(), text.data(), cr == std::string_view::npos ? text.size() : cr);
      if (cr == std::string_view::npos) return;
      text.remove_prefix(cr + 1);
    }
  };
  // Drop the trace fields a second delivery of the same mail would carry differently.
  std::size_t pos = 0;
  bool skipping = false;
  while (pos < raw.size()) {
    auto eol = raw.find('\n', pos);
    std::string_view line = raw.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol + 1 - pos);
    if (line == "\n" || line == "\r\n") {  // end of the header block
      feed(raw.substr(pos));
      break;
    }
    bool continuation = line[0] == ' ' || line[0] == '\t';
    if (!continuation)
      skipping = iequals_prefix(line, "received:") || iequals_prefix(line, "return-path:") ||
                 iequals_prefix(line, "delivered-to:") || iequals_prefix(line, "x-original-to:");
    if (!skipping) feed(line);
    pos += line.size();
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static constexpr char hexdigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += hexdigits[md[i] >> 4];
    hex += hexdigits[md[i] & 15];
  }
  return hex;
}

}  // namespace

std::string content_hash(std::string_view raw) { return hash_without_trace(raw, true); }

std::string content_hash_v4(std::string_view raw) { return hash_without_trace(raw, false); }

namespace {

// Everything one mail's handling needs, inside its transaction.
struct Intake {
  store::Transaction& tx;
  const Desk& desk;
  const Config& c;        // desk.config()
  const SlaClock& clock;  // desk.clock()
  parser::ParsedMail& m;  // store_message() moves the attachments' bytes out
  std::int64_t raw_id;
  store::Time now;
  IngestResult& result;
  std::string from;       // lower case
  std::string too_large;  // why the mail was not fetched whole; empty for a whole mail
  std::int64_t message_row = 0;  // the messages row store_message() wrote for this mail
  // A contact's message from the portal (customer_writes()): no raw mail behind it, events
  // say "portal", and the category may be the customer's choice (never the priority).
  bool from_portal = false;
  std::optional<Category> category = std::nullopt;
};

// What the "message" and "created" events say of where a customer's message came from.
std::string message_detail(const Intake& in) {
  if (in.from_portal) return "portal";
  return in.m.message_id.empty() ? "" : "<" + in.m.message_id + ">";
}

// A name as it may appear in a mail's body or greeting: one line, no controls, at most 64
// characters (a display name is the sender's to choose, newlines and all).
std::string one_line_name(std::string_view name) {
  std::string out;
  std::size_t chars = 0;
  bool space = false;
  for (std::size_t i = 0; i < name.size() && chars < 64;) {
    auto ch = text_detail::decode_utf8(name, i);
    if (ch.len == 0) {  // the parser hands over UTF-8; anything else is dropped
      ++i;
      continue;
    }
    std::string_view bytes = name.substr(i, ch.len);
    i += ch.len;
    if (ch.cp == ' ' || is_terminal_control(ch.cp)) {
      space = !out.empty();
      continue;
    }
    if (space) {
      out += ' ';
      space = false;
      if (++chars == 64) break;
    }
    out += bytes;
    ++chars;
  }
  return out;
}

// The rules' patterns were compiled when the config was read (config/rule_pattern.h): here
// they only run, in time linear in the mail's text.
const Config::Rule* matching_rule(const Config& c, const parser::ParsedMail& m) {
  for (const auto& r : c.intake.rules) {
    bool to_ok = r.to.empty();
    for (const auto* list : {&m.to, &m.cc})
      for (const auto& a : *list) to_ok = to_ok || r.to.matches(lower(a.email));
    if (to_ok && r.from.matches(lower(m.from.email)) && r.subject.matches(m.subject)) return &r;
  }
  return nullptr;
}

std::string alert_key_of(const Config::Rule& r, const std::string& subject) { return r.alert_key.extract(subject); }

}  // namespace

store::MessageRecord message_record(parser::ParsedMail& m) {
  store::MessageRecord rec;
  rec.message_id = m.message_id;
  rec.from_addr = lower(m.from.email);
  rec.from_name = m.from.name;
  for (const auto& a : m.to) rec.to.push_back(lower(a.email));
  for (const auto& a : m.cc) rec.cc.push_back(lower(a.email));
  rec.subject = m.subject;
  rec.date = m.date_unix;
  rec.body_text = m.body_text;
  rec.new_text = m.new_text;
  rec.automatic = m.automatic.value_or("");
  for (auto& a : m.attachments) {
    store::AttachmentRecord r;
    r.filename = a.filename;
    r.content_type = a.content_type;
    r.size = static_cast<std::int64_t>(a.size);
    r.kept = !a.data.empty() || a.size == 0;
    r.data = std::move(a.data);
    r.content_id = a.content_id;
    r.is_inline = a.is_inline;
    rec.attachments.push_back(std::move(r));
  }
  return rec;
}

namespace {

// `internal`: kept on the ticket but not part of the customer's thread (a note, a mail not applied).
void store_message(Intake& in, std::int64_t ticket_id, bool internal = false) {
  store::MessageRecord rec = message_record(in.m);
  rec.ticket_id = ticket_id;
  rec.internal = internal;
  rec.direction = "in";
  if (in.raw_id != 0) rec.raw_id = in.raw_id;  // 0: no raw mail (the portal's messages)
  rec.from_addr = in.from;
  rec.created_at = in.now;
  in.message_row = in.tx.add_message(rec);
}

// The files of this mail's message, for the agents' and the customer's mails.
std::vector<store::AttachmentInfo> files_of_this_mail(Intake& in, std::int64_t ticket) {
  std::vector<store::AttachmentInfo> files;
  if (in.message_row == 0) return files;
  for (auto& f : in.tx.attachments(ticket))
    if (f.message_id == in.message_row) files.push_back(std::move(f));
  return files;
}

// Registered contacts of the ticket's organisation who wrote or were in To/Cc of this
// customer-visible mail stay on the ticket's mails as Cc (unless an agent removed them).
// Strangers in a Cc are not added: the thread goes only to people the desk knows.
void keep_contacts_on_cc(Intake& in, const store::Ticket& t) {
  if (t.organisation.empty()) return;
  std::vector<std::string> addresses = {in.from};
  for (const auto* list : {&in.m.to, &in.m.cc})
    for (const auto& a : *list) addresses.push_back(lower(a.email));
  for (const auto& addr : addresses) {
    if (addr.empty() || addr == t.requester || is_own_address(in.c, addr)) continue;
    auto contact = in.tx.contact(addr);
    if (!contact || contact->organisation != t.organisation) continue;
    if (in.tx.set_cc(t.id, {addr, "system", in.now, false}, false))
      in.tx.add_event({t.id, in.now, "system", "cc", "added " + addr + " (a contact in the mail's To/Cc)"});
  }
}

void event(Intake& in, std::int64_t ticket, const std::string& actor, const std::string& kind, const std::string& detail,
           bool internal = false) {
  store::Event e{ticket, in.now, actor, kind, detail};
  e.internal = internal;
  in.tx.add_event(e);
}
// For the agents' eyes only: security findings, notes, the desk's own bookkeeping of agents' mail.
void internal_event(Intake& in, std::int64_t ticket, const std::string& actor, const std::string& kind,
                    const std::string& detail) {
  event(in, ticket, actor, kind, detail, true);
}

std::string due_words(const SlaClock& clock, const store::Ticket& t, const std::optional<store::Time>& due,
                      const std::string& lang) {
  if (!due) return "-";
  return clock.calendar(t.sla).format_local(sla::Instant(std::chrono::seconds(*due)), lang);
}

// The agents as a whole: agents.team_address when set, else every registered agent.
std::vector<notify::Mailbox> team_or_agents(Intake& in) {
  if (!in.c.agents.team_address.empty()) return {{"", in.c.agents.team_address}};
  std::vector<notify::Mailbox> to;
  for (const auto& a : in.tx.agents()) to.push_back({a.name, a.email});
  return to;
}

// Agents' copy of a new ticket or a customer's reply: to the assignee, else the team
// address, else every agent; each with a Reply-To carrying the ticket and its own token.
void notify_agents(Intake& in, const store::Ticket& t, const std::string& what) {
  auto to = t.assignee.empty() ? team_or_agents(in) : std::vector<notify::Mailbox>{{"", t.assignee}};
  if (to.empty()) return;
  auto sla = in.clock.evaluate(t, in.tx.pauses(t.id), in.now);
  const auto& tpl = in.desk.templates().get("agent-notification", "en");
  std::map<std::string, std::string> vars = {
      {"ticket", ticket_ref(in.c, t.id)},
      {"event", what},
      {"subject", mail_subject(in.desk, t)},
      {"continues", t.refers_to ? ticket_ref(in.c, *t.refers_to) : ""},
      {"requester", t.requester},
      {"requester_name", t.requester_name.empty() ? t.requester : t.requester_name},
      {"sender", in.from},
      {"sender_name", in.m.from.name.empty() ? in.from : one_line_name(in.m.from.name)},
      {"unverified", t.unverified ? "  (UNVERIFIED: not a registered contact)" : ""},
      {"organisation", t.organisation.empty() ? "(none)" : t.organisation},
      {"priority", t.priority},
      {"category", t.category.empty() ? "(none)" : t.category},
      {"status", t.status},
      {"first_response_due", due_words(in.clock, t, t.first_response_at ? std::nullopt : sla.first_response_due, "en")},
      {"resolution_due", due_words(in.clock, t, sla.resolution_due, "en")},
      {"text", in.m.new_text.empty() ? in.m.body_text : in.m.new_text},
      {"attachments", ""},
      {"commands", agent_commands_help()}};
  auto files = attach_what_fits(files_of_this_mail(in, t.id), in.c.notify.attach_max_bytes, ticket_ref(in.c, t.id));
  if (!files.listing.empty()) vars["attachments"] = "\n" + files.listing;
  for (const auto& r : to) {
    MailToQueue q;
    q.ticket_id = t.id;
    q.kind = "agent-notification";
    q.attachment_ids = files.ids;
    q.to = r;
    q.record = false;  // internal: not part of the customer's thread
    q.draft.subject = notify::render(tpl.subject, vars);
    q.draft.body_text = notify::render(tpl.body, vars);
    // Without the secret here (the portal) the daemon's outbox fills the token in at send time.
    q.draft.reply_to = {{in.c.service.name, agent_reply_to(in.c, in.desk.token_secret(), t.id, lower(r.email), in.now)}};
    q.draft.auto_submitted = "auto-generated";
    thread_on_ticket(in.tx, t.id, q.draft);
    queue_mail(in.tx, in.c, q, in.now);
  }
  in.result.mail_queued = true;
}

// An answer of ours to an agent's mail (`kind`: a template), to the agent's registered
// address, never to where the mail came from; not part of the customer's thread.
// `ticket`: the ticket it is about, if any.
void answer_agent(Intake& in, std::optional<std::int64_t> ticket, const store::Agent& agent, const std::string& kind,
                  const std::map<std::string, std::string>& vars) {
  const auto& tpl = in.desk.templates().get(kind, "en");
  MailToQueue q;
  q.ticket_id = ticket;
  q.kind = kind;
  q.to = {agent.name, agent.email};
  q.record = false;
  q.draft.subject = notify::render(tpl.subject, vars);
  q.draft.body_text = notify::render(tpl.body, vars);
  q.draft.auto_submitted = "auto-replied";
  q.draft.in_reply_to = in.m.message_id;
  queue_mail(in.tx, in.c, q, in.now);
  in.result.mail_queued = true;
}

// Tells an agent that their mail was kept as a note and nothing of it applied, a few times an
// hour at most, so a forger cannot turn it into a flood.
void tell_agent_not_applied(Intake& in, const store::Ticket& t, const store::Agent& agent, const std::string& reason) {
  if (in.tx.count_sent_or_queued("agent-mail-not-applied", agent.email, in.now - 3600) >= 3) return;
  answer_agent(in, t.id, agent, "agent-mail-not-applied",
               {{"ticket", ticket_ref(in.c, t.id)}, {"subject", mail_subject(in.desk, t)}, {"message_id", in.m.message_id},
                {"reason", reason}});
}

// An agent's commands as a change of the ticket ("#assign me" is the sender).
TicketChange agent_change(const AgentCommands& cmd, const std::string& from, const std::string& agent_name) {
  TicketChange ch;
  if (cmd.status) ch.status = parse_status(*cmd.status);
  if (cmd.priority) ch.priority = parse_priority(*cmd.priority);
  if (cmd.category) ch.category = parse_category(*cmd.category);
  if (cmd.assign) ch.assignee = *cmd.assign == "me" ? from : *cmd.assign;
  ch.time_s = cmd.time_s;
  ch.note = cmd.note;
  ch.text = cmd.text;
  ch.agent_name = agent_name;
  for (const auto& cc : cmd.cc) ch.cc.push_back({cc.add, cc.address});
  return ch;
}

// What an agent's incident commands (desk/incidents.h) cannot do on ticket `t`; checked
// before anything of the mail applies, so a refused command changes nothing.
std::vector<std::string> incident_command_problems(store::Transaction& tx, const Desk& desk, const store::Ticket& t,
                                                   const AgentCommands& cmd) {
  std::vector<std::string> out;
  const auto& c = desk.config();
  bool is_incident = tx.incidents().incident(t.id).has_value();
  if (!is_incident && (cmd.broadcast || !cmd.incident_keys.empty() || cmd.incident_orgs || cmd.rca || cmd.followup))
    out.push_back(fmt::format("'#broadcast', '#incident-key', '#incident-orgs', '#rca' and '#followup' work only on a "
                              "major incident; {} is none", ticket_ref(c, t.id)));
  if (is_incident && cmd.incident_orgs) {
    auto orgs = parse_organisation_choice(*cmd.incident_orgs);
    if (!orgs) out.push_back("'#incident-orgs': say all, or the organisations' names separated by commas");
    else
      for (const auto& o : orgs->names)
        if (!tx.organisation(o))
          out.push_back(fmt::format("'#incident-orgs': no organisation '{}'", printable(utf8_prefix(o, 60))));
  }
  if (is_incident && (cmd.incident || cmd.incident_new))
    out.push_back("'#incident': a major incident is not linked to another one");
  if (cmd.incident && cmd.incident_new) out.push_back("'#incident new' and '#incident SD-n' together");
  if (cmd.incident && *cmd.incident != "none") {
    auto id = parse_ticket_ref(c, *cmd.incident);
    auto target = id ? tx.ticket(*id) : std::nullopt;
    if (!id || !tx.incidents().incident(*id))
      out.push_back(fmt::format("'#incident {}': no major incident", printable(utf8_prefix(*cmd.incident, 60))));
    else if (target && target->status == to_string(Status::closed))
      out.push_back(fmt::format("'#incident {}': that incident is closed", ticket_ref(c, *id)));
  }
  if (cmd.incident && *cmd.incident == "none") {
    auto l = tx.incidents().link_of(t.id);
    if (!l || l->unlinked_at) out.push_back(fmt::format("'#incident none': {} is linked to no major incident", ticket_ref(c, t.id)));
  }
  if (cmd.broadcast && cmd.text.empty()) out.push_back("'#broadcast': write the words to send below the commands");
  return out;
}

// The incident commands of an applied agent's mail (incident_command_problems() found none).
// `resolving`: the incident is being resolved, whose mail to each person replaces a broadcast.
bool apply_incident_commands(Intake& in, const store::Ticket& t, const AgentCommands& cmd, const store::Agent& agent,
                             bool resolving) {
  auto& tx = in.tx;
  std::string name = agent.name.empty() ? agent.email : agent.name;
  bool mailed = false;
  if (cmd.incident_new) {
    IncidentDeclaration d;
    d.title = *cmd.incident_new;
    d.agent = agent.email;
    d.from = t.id;
    if (auto id = declare_incident(tx, in.desk, d, in.from, "mail", in.now)) {
      in.result.note = "declared major incident " + ticket_ref(in.c, *id);
      mailed = true;
    }
  }
  if (cmd.incident) {
    if (*cmd.incident == "none") (void)unlink_from_incident(tx, in.desk, t.id, in.from, in.now);
    else (void)link_to_incident(tx, in.desk, t.id, *parse_ticket_ref(in.c, *cmd.incident), in.from, "mail", in.now);
  }
  if (!tx.incidents().incident(t.id)) return mailed;
  for (const auto& k : cmd.incident_keys) (void)add_incident_alert_key(tx, t.id, k, in.from, in.now);
  if (cmd.incident_orgs)
    (void)add_incident_organisations(tx, t.id, *parse_organisation_choice(*cmd.incident_orgs), in.from, in.now);
  if (cmd.rca) (void)record_root_cause(tx, t.id, *cmd.rca, in.from, in.now);
  if (cmd.followup) (void)record_follow_up(tx, t.id, *cmd.followup, in.from, in.now);
  // The same rule as the portal's agent_works(): desk/incidents.h.
  return incident_update_by_agent(tx, in.desk, t.id, cmd.text, cmd.broadcast, resolving, name, in.from, in.now) ||
         mailed;
}

// A registered agent's mail to the ticket's plus-address (judge_agent_mail() sent it here).
void handle_agent_mail(Intake& in, store::Ticket t, const store::Agent& agent, AgentPath path,
                       const std::string& token_holder) {
  std::string ref = ticket_ref(in.c, t.id);
  in.result.kind = IngestResult::Kind::joined;
  in.result.ticket_id = t.id;
  store_message(in, t.id, path != AgentPath::apply);
  in.tx.touch_ticket(t.id, in.now);
  if (path != AgentPath::apply) {
    std::string why = path == AgentPath::note_automatic ? "an automatic reply (" + in.m.automatic.value_or("") + ")"
                      : path == AgentPath::note_expired
                          ? fmt::format("its Reply-To token has expired (tokens last {} days)", in.c.agents.token_days)
                          : "no valid token and no trusted authentication of the sender";
    internal_event(in, t.id, in.from, path == AgentPath::note_unauthenticated ? "security" : "note",
                   "agent mail kept as a note, not applied: " + why);
    if (path == AgentPath::note_unauthenticated)
      log::warning("security: mail <{}> from {} to ticket {}'s agent address not applied: {}", in.m.message_id,
                   in.from, ref, why);
    if (path != AgentPath::note_automatic) tell_agent_not_applied(in, t, agent, why);
    in.result.note = "kept as a note, not applied: " + why;
    return;
  }
  if (token_holder != in.from)
    internal_event(in, t.id, in.from, "team-token", "the team address's token used by " + in.from);
  auto cmd = parse_agent_commands(in.m.new_text);
  if (cmd.requester)
    cmd.errors.push_back("'#requester': only in a new mail to the desk address, to open a ticket for a customer");
  // #estimate: the estimate mail carries the agent's words; it sets the status itself.
  std::optional<EstimateRequest> estimate;
  if (cmd.estimate_s > 0) {
    estimate = EstimateRequest{cmd.estimate_s, cmd.estimate_text, cmd.text, in.from,
                               agent.name.empty() ? agent.email : agent.name, {}};
    if (cmd.status || cmd.note)
      cmd.errors.push_back("'#estimate': it sets the status awaiting-approval and mails the customer; no #status, "
                           "#resolve or #note with it");
    else if (auto why = estimate_problem(in.tx, t, *estimate); !why.empty())
      cmd.errors.push_back("'#estimate': " + why);
  }
  const bool is_incident = in.tx.incidents().incident(t.id).has_value();
  for (const auto& e : incident_command_problems(in.tx, in.desk, t, cmd)) cmd.errors.push_back(e);
  TicketChange change;
  if (cmd.errors.empty()) change = agent_change(cmd, in.from, agent.name.empty() ? agent.email : agent.name);
  // On a major incident an agent's words go to its agents; to customers only with #broadcast
  // (desk/incidents.h). Resolving keeps them as the resolution the linked tickets get.
  if (is_incident && change.status != Status::resolved) change.note = !change.text.empty();
  // The agent's files go to the customer with the answer, as many as one mail may carry.
  auto files = attach_what_fits(files_of_this_mail(in, t.id), in.c.notify.attach_max_bytes, ref);
  if (!change.note) change.attachment_ids = files.ids;
  if (estimate) {
    estimate->attachment_ids = change.attachment_ids;
    change.text.clear();  // said in the estimate mail, not in a mail of its own
    change.attachment_ids.clear();
  }
  auto outcome = cmd.errors.empty() ? change_ticket(in.tx, in.desk, t, change, in.from, in.now) : ChangeOutcome{};
  if (estimate && cmd.errors.empty() && outcome.refused.empty()) {
    auto made = make_estimate(in.tx, in.desk, *in.tx.ticket(t.id), *estimate, in.now);
    if (made) outcome.mail_queued = true;
    else cmd.errors.push_back("'#estimate': " + made.error());
  }
  // Only an assignee can be refused: someone who is not a registered agent.
  if (!outcome.refused.empty()) cmd.errors.push_back(fmt::format("'#assign {}': not a registered agent", *cmd.assign));
  if (!cmd.errors.empty()) {
    std::string list;
    for (const auto& e : cmd.errors) list += "  " + e + "\n";
    answer_agent(in, t.id, agent, "command-error",
                 {{"ticket", ref}, {"subject", mail_subject(in.desk, t)}, {"text", list}, {"commands", agent_commands_help()}});
    internal_event(in, t.id, in.from, "commands-refused", list);
    in.result.note = "commands refused";
    return;
  }
  if (!change.note && files.left_out > 0)
    internal_event(in, t.id, in.from, "attachments-not-mailed", files.listing);
  if (apply_incident_commands(in, t, cmd, agent, change.status == Status::resolved)) in.result.mail_queued = true;
  if (cmd.attachments && mail_attachments(in.tx, in.desk, *in.tx.ticket(t.id), {agent.name, agent.email}, in.now) > 0)
    in.result.mail_queued = true;
  in.result.mail_queued = in.result.mail_queued || outcome.mail_queued;
}

// Where the acknowledgement goes: Reply-To only when it names a registered contact or agent or
// an address of the sender's own domain, else From, so the desk cannot be made to mail a
// stranger (backscatter) with a subject of the sender's choice.
parser::Address acknowledgement_recipient(Intake& in, std::int64_t ticket) {
  const auto& m = in.m;
  if (m.reply_to.empty()) return m.from;
  const auto& r = m.reply_to.front();
  std::string addr = lower(r.email);
  if (addr == in.from) return r;
  if (in.tx.contact(addr) || in.tx.agent(addr) || (!addr.empty() && domain_of(addr) == domain_of(in.from))) return r;
  event(in, ticket, "system", "reply-to", fmt::format("Reply-To <{}> not used for the acknowledgement: neither a "
                                                      "registered contact or agent nor of the sender's domain", addr));
  return m.from;
}

// Past an acknowledgement cap the ticket is opened silently; the agents hear of it once an
// hour per domain (or once for all senders when the total cap is reached).
void tell_agents_capped(Intake& in, const store::Ticket& t, const std::string& key, const std::string& reason) {
  internal_event(in, t.id, "system", "acknowledgement-capped", key);
  if (in.tx.count_events("intake-cap-notice", key, in.now - 3600) > 0) return;
  internal_event(in, t.id, "system", "intake-cap-notice", key);
  auto to = team_or_agents(in);
  const auto& tpl = in.desk.templates().get("intake-capped", "en");
  std::map<std::string, std::string> vars = {
      {"count", std::to_string(in.tx.count_events("acknowledgement-capped", key, in.now - 3600))},
      {"domain", key},
      {"reason", reason},
      {"ticket", ticket_ref(in.c, t.id)},
      {"subject", mail_subject(in.desk, t)}};
  for (const auto& r : to) {
    MailToQueue q;
    q.ticket_id = t.id;
    q.kind = "intake-capped";
    q.to = r;
    q.record = false;
    q.draft.subject = notify::render(tpl.subject, vars);
    q.draft.body_text = notify::render(tpl.body, vars);
    q.draft.auto_submitted = "auto-generated";
    queue_mail(in.tx, in.c, q, in.now);
    in.result.mail_queued = true;
  }
}

// Threading: the subject's tag, else the Message-IDs this mail answers; a ticket the sender
// may not join (desk/visibility.h) is not found.
std::optional<store::Ticket> thread_of(Intake& in, const Party& sender) {
  const auto& m = in.m;
  std::optional<store::Ticket> t;
  if (auto tagged = ticket_tag_in(in.c, m.subject)) t = in.tx.ticket(*tagged);
  if (!t) {
    std::vector<std::string> parents = m.references;
    if (!m.in_reply_to.empty()) parents.push_back(m.in_reply_to);
    if (auto id = in.tx.ticket_by_message_ids(parents)) t = in.tx.ticket(*id);
  }
  if (t && !may_join(in.tx, *t, sender)) {
    log::warning("security: {} refers to ticket {} but is not on its thread: opening a new ticket", in.from,
                 ticket_ref(in.c, t->id));
    t.reset();
  }
  return t;
}

// A customer's mail on their open ticket: a reply reopens a resolved ticket and brings a
// pending one back to the agents.
void join_ticket(Intake& in, const store::Ticket& t, const Party& sender) {
  in.result.kind = IngestResult::Kind::joined;
  in.result.ticket_id = t.id;
  // An agent's mail to the plain address authenticates nothing (From can be forged): it is
  // kept as an internal message, so its Cc puts nobody on the thread.
  store_message(in, t.id, sender.agent.has_value());
  in.tx.touch_ticket(t.id, in.now);
  event(in, t.id, in.from, "message", message_detail(in));
  if (sender.agent && !in.m.automatic) {
    // No token here: nothing of it applies, and the agent hears so at once instead of losing
    // a #resolve and its text in silence.
    std::string why = "it went to the desk's plain address, which carries no token; answer the ticket's "
                      "notification instead (its Reply-To is the ticket's address for you)";
    internal_event(in, t.id, in.from, "note", "agent mail kept as a note, not applied: " + why);
    tell_agent_not_applied(in, t, *sender.agent, why);
    in.result.note = "agent mail to the plain address: kept as a note, not applied";
  }
  // An answer to the ticket's estimate, by the rules of desk/estimates.h (an auto-reply's or a
  // forger's "approve" is kept as this reply and answers nothing); the agent hears of it there.
  if (!sender.agent && !in.from_portal && take_estimate_reply(in.tx, in.desk, t, in.m, in.from, in.now)) {
    keep_contacts_on_cc(in, t);
    in.result.mail_queued = true;
    in.result.note = "an answer to the ticket's estimate";
    return;
  }
  if (in.m.automatic || sender.agent) return;  // an auto-reply changes nothing; an agent's mail here runs no commands
  keep_contacts_on_cc(in, t);
  auto status = parse_status(t.status);
  if (status == Status::pending || status == Status::resolved) {
    TicketChange ch;
    ch.status = Status::open;
    ch.why = "customer replied";
    if (status == Status::resolved) ch.status_event = "reopened";
    change_ticket(in.tx, in.desk, t, ch, in.from, in.now);
    if (status == Status::resolved) {
      mail_customer(in.tx, in.desk, *in.tx.ticket(t.id), "status-reopened", "", "", in.now);
      in.result.mail_queued = true;
    }
  }
  notify_agents(in, *in.tx.ticket(t.id), "Customer reply");
}

// A monitoring alert whose key has an open ticket of the same sender counts there as a repeat.
bool join_repeated_alert(Intake& in, const std::string& alert_key) {
  if (alert_key.empty()) return false;
  auto open = in.tx.open_ticket_with_alert(in.from, alert_key);
  if (!open) return false;
  in.result.kind = IngestResult::Kind::joined;
  in.result.ticket_id = *open;
  store_message(in, *open);
  in.tx.count_repeat(*open, in.now);
  event(in, *open, in.from, "alert-repeated", alert_key);
  in.result.note = "repeated alert " + alert_key;
  return true;
}

// intake.unknown_sender = "reject": no ticket; a polite answer unless the mail is automatic
// or the sender had one within the hour.
void reject_unknown_sender(Intake& in) {
  const auto& c = in.c;
  const auto& m = in.m;
  in.result.kind = IngestResult::Kind::rejected;
  std::string reason = no_ack_reason(c, m);
  if (reason.empty() &&
      in.tx.count_sent_or_queued("unknown-sender", in.from, in.now - 3600) >= c.intake.acks_per_address_per_hour)
    reason = "rate limit";
  if (reason.empty()) {
    std::string lang = c.service.language;
    if (auto org_name = in.tx.organisation_of_domain(domain_of(in.from)))
      if (auto org = in.tx.organisation(*org_name); org && !org->language.empty()) lang = org->language;
    const auto& tpl = in.desk.templates().get("unknown-sender", lang);
    std::map<std::string, std::string> vars = {{"subject", m.subject}, {"service_name", c.service.name}};
    MailToQueue q;
    q.kind = "unknown-sender";
    q.to = {m.from.name, in.from};
    q.draft.subject = notify::render(tpl.subject, vars);
    q.draft.body_text = notify::render(tpl.body, vars);
    q.draft.auto_submitted = "auto-replied";
    q.draft.in_reply_to = m.message_id;
    queue_mail(in.tx, c, q, in.now);
    in.result.mail_queued = true;
  }
  in.result.note = "rejected: " + in.from + " is no registered contact" + (reason.empty() ? "" : "; no reply: " + reason);
}

// The new ticket's fields: the matching rule's, the sender's organisation, its SLA and hypercare.
store::NewTicket new_ticket_of(Intake& in, const Config::Rule* rule, const Party& sender, bool known,
                               const std::string& alert_key, std::optional<std::int64_t> refers_to) {
  const auto& c = in.c;
  store::NewTicket nt;
  nt.subject = in.m.subject.empty() ? std::string("(no subject)") : in.m.subject;
  nt.requester = in.from;
  nt.requester_name = one_line_name(in.m.from.name);
  nt.created_at = in.now;
  nt.sla = c.sla.default_sla;
  nt.organisation = rule && !rule->organisation.empty() ? rule->organisation
                    : sender.contact                    ? sender.contact->organisation
                                                        : "";
  // A sender of an organisation's mail domain who is none of its contacts is the
  // organisation's (its language, calendar and SLA), marked unverified; seeing or joining
  // its other tickets stays for contacts (desk/visibility.h).
  if (nt.organisation.empty() && !sender.agent && !in.from.empty())
    nt.organisation = sender.address == in.from && !sender.address.empty()
                          ? sender.domain_organisation.value_or("")
                          : in.tx.organisation_of_domain(domain_of(in.from)).value_or("");
  nt.unverified = !known;
  nt.alert_key = alert_key;
  nt.refers_to = refers_to;
  if (rule) {
    if (!rule->priority.empty()) nt.priority = rule->priority;
    nt.category = rule->category;
    nt.assignee = lower(rule->assignee);
  }
  if (in.category) nt.category = to_string(*in.category);  // the customer's choice on the portal
  if (nt.organisation.empty()) return nt;
  if (auto org = in.tx.organisation(nt.organisation)) {
    if (!org->sla.empty() && c.slas.count(org->sla)) nt.sla = org->sla;
    auto period = hypercare_period(*org);
    nt.hypercare = period && period->covers(in.now);
    if (nt.hypercare && nt.category == "incident") nt.sla = hypercare_sla(c, nt.sla).value_or(nt.sla);
  } else {
    log::warning("{}: organisation '{}' does not exist; ticket opened without one", rule ? rule->name : in.from,
                 nt.organisation);
    nt.organisation.clear();
  }
  return nt;
}

// Why the acknowledgement is withheld by a cap (with the cap's key), or nothing.
struct AckCap {
  std::string reason, key;
};
std::optional<AckCap> acknowledgement_cap(Intake& in, const std::string& to) {
  const auto& c = in.c;
  auto n = in.tx.count_acknowledgements(to, in.now - 3600, c.intake.acks_per_hour);
  std::string key = n.all >= c.intake.acks_per_hour ? "all senders" : domain_of(to);
  if (n.address >= c.intake.acks_per_address_per_hour)
    return AckCap{fmt::format("rate limit: {} acknowledgements to {} within the hour", c.intake.acks_per_address_per_hour, to), key};
  if (n.domain >= c.intake.acks_per_domain_per_hour)
    return AckCap{fmt::format("rate limit: {} acknowledgements to {} within the hour", c.intake.acks_per_domain_per_hour,
                              domain_of(to)),
                  key};
  if (n.all >= c.intake.acks_per_hour)
    return AckCap{fmt::format("rate limit: {} acknowledgements in all within the hour", c.intake.acks_per_hour), key};
  return std::nullopt;
}

// The acknowledgement itself, in the customer's language, with the first-response promise.
void queue_acknowledgement(Intake& in, const store::Ticket& ticket, const parser::Address& ack_to, const std::string& to) {
  const auto& c = in.c;
  std::string lang = language_of(in.tx, c, ticket);
  std::string first_response_line;
  if (auto due = in.clock.evaluate(ticket, {}, in.now).first_response_due)
    first_response_line = notify::render(in.desk.templates().get("first-response", lang).body,
                                         {{"due", due_words(in.clock, ticket, due, lang)}});
  std::string unregistered_line;
  if (ticket.unverified && !ticket.organisation.empty() && !in.tx.contact(ticket.requester) &&
      !in.tx.agent(ticket.requester))
    unregistered_line = notify::render(in.desk.templates().get("unregistered-contact", lang).body,
                                       {{"organisation", ticket.organisation}, {"service_name", c.service.name}});
  // A ticket opened during a service window or a notice's window: until when, in the
  // customer's calendar's zone (desk/notices.h).
  std::string maintenance_line;
  if (auto until = maintenance_until(in.tx, c, ticket.organisation, in.now))
    maintenance_line = notify::render(
        in.desk.templates().get("maintenance-in-progress", lang).body,
        {{"until", in.clock.calendar(ticket.sla).format_local(sla::Instant(std::chrono::seconds(*until)), lang)}});
  const auto& tpl = in.desk.templates().get("acknowledgement", lang);
  std::string name = one_line_name(ack_to.name);
  auto vars = customer_vars(in.desk, ticket, {name, to});
  vars["first_response_line"] = first_response_line;
  vars["unregistered_line"] = unregistered_line;
  vars["maintenance_line"] = maintenance_line;
  MailToQueue q;
  q.ticket_id = ticket.id;
  q.kind = "acknowledgement";
  q.to = {name, to};
  q.cc = cc_recipients(in.tx, ticket);
  q.draft.subject = notify::render(tpl.subject, vars);
  q.draft.body_text = notify::render(tpl.body, vars);
  q.draft.in_reply_to = in.m.message_id;
  q.draft.references = in.m.references;
  if (!in.m.message_id.empty()) q.draft.references.push_back(in.m.message_id);
  q.draft.auto_submitted = "auto-replied";
  queue_mail(in.tx, c, q, in.now);
  event(in, ticket.id, "system", "acknowledgement-queued", to);
  in.result.acknowledgement_queued = in.result.mail_queued = true;
}

// The acknowledgement goes only to a person, at a bounded rate; past a cap the agents hear of
// it once an hour instead. Then the agents are told of the new ticket.
void acknowledge_and_notify(Intake& in, const store::Ticket& ticket) {
  std::string reason = no_ack_reason(in.c, in.m);
  if (reason.empty() && !in.too_large.empty()) reason = "the mail was too large to fetch; the agents are told";
  auto ack_to = acknowledgement_recipient(in, ticket.id);
  std::string to = lower(ack_to.email);
  if (reason.empty() && (to.empty() || is_own_address(in.c, to))) reason = "reply address is our own";
  std::optional<AckCap> cap;
  if (reason.empty() && (cap = acknowledgement_cap(in, to))) reason = cap->reason;
  if (reason.empty()) queue_acknowledgement(in, ticket, ack_to, to);
  else in.result.note = "no acknowledgement: " + reason;
  if (cap) {
    // Past a cap: no mail per ticket, to the customer or to the agents; one notice an hour.
    tell_agents_capped(in, ticket, cap->key, cap->reason);
    return;
  }
  notify_agents(in, ticket, in.too_large.empty() ? "New ticket" : "Mail too large to fetch");
}

// A ticket opened for a customer by an agent (`ticket new`, `#requester`): the customer's
// ordinary acknowledgement, the agent assigned and notified (with the ticket's Reply-To, so
// they work it by mail). `in.m` is the request as the agent gave it.
std::int64_t open_for(Intake& in, const OnBehalf& what, const store::Agent& agent) {
  auto customer = party_of(in.tx, lower(what.requester));
  bool known = customer.contact || customer.agent;
  Intake as_customer = in;  // the new ticket's fields are the customer's, not the agent's
  as_customer.from = customer.address;
  auto nt = new_ticket_of(as_customer, nullptr, customer, known, "", std::nullopt);
  nt.requester_name = !what.requester_name.empty() ? one_line_name(what.requester_name)
                      : customer.contact          ? customer.contact->name
                                                  : "";
  nt.assignee = agent.email;
  if (what.priority) nt.priority = to_string(*what.priority);
  if (what.category) nt.category = to_string(*what.category);
  nt.sla_next_due = first_sla_due(in.desk, nt, in.now);
  auto id = in.tx.create_ticket(nt);
  in.result.kind = IngestResult::Kind::created;
  in.result.ticket_id = id;
  if (!in.m.new_text.empty() || !in.m.attachments.empty()) {
    store::MessageRecord rec = message_record(in.m);
    rec.ticket_id = id;
    rec.direction = "in";
    rec.from_addr = agent.email;
    rec.created_at = in.now;
    in.message_row = in.tx.add_message(rec);
  }
  event(in, id, agent.email, "created", "opened by " + agent.email + " for " + nt.requester);
  event(in, id, agent.email, "assign", "(none) -> " + agent.email);
  if (nt.unverified) event(in, id, "system", "unverified", nt.requester + " is no registered contact");
  if (nt.hypercare) event(in, id, "system", "hypercare", nt.organisation);
  auto ticket = *refresh_sla_due(in.tx, in.desk, id, in.now);
  queue_acknowledgement(in, ticket, parser::Address{nt.requester_name, nt.requester}, nt.requester);
  notify_agents(in, ticket, "Opened for the customer");
  return id;
}

// Why the desk will not open a ticket for `what`, or "".
std::string on_behalf_problem(Intake& in, const OnBehalf& what) {
  std::string requester = lower(what.requester);
  if (!notify::valid_addr_spec(requester)) return "'" + printable(utf8_prefix(what.requester, 200)) + "' is not a mail address";
  if (is_own_address(in.c, requester)) return requester + " is the desk's own address";
  if (in.tx.agent(requester)) return requester + " is an agent, not a customer";
  return "";
}

// A registered agent's mail to the desk address whose first line is #requester: a ticket for
// that customer, only with an aligned DMARC pass (the agent path's trust rule for a mail
// without a token); else nothing opens and the agent is told why.
void handle_requester_mail(Intake& in, const store::Agent& agent, const AgentCommands& cmd) {
  in.result.kind = IngestResult::Kind::rejected;
  OnBehalf what;
  what.requester = *cmd.requester;
  what.subject = in.m.subject;
  what.agent = agent.email;
  if (cmd.priority) what.priority = parse_priority(*cmd.priority);
  if (cmd.category) what.category = parse_category(*cmd.category);
  what.text = cmd.text;
  std::string why = !authenticated_by_trusted_server(in.c, in.m)
                        ? "it came to the desk's plain address, which carries no token, without a trusted "
                          "authentication of your address (a DMARC pass for your domain): From can be forged"
                    : !cmd.errors.empty() ? "commands not understood: " + join(cmd.errors, "; ")
                                          : on_behalf_problem(in, what);
  if (!why.empty()) {
    log::warning("security: <{}> from agent {}: #requester not applied: {}", in.m.message_id, in.from, why);
    in.result.note = "#requester not applied: " + why;
    if (in.tx.count_sent_or_queued("requester-refused", agent.email, in.now - 3600) >= 3) return;
    answer_agent(in, std::nullopt, agent, "requester-refused",
                 {{"subject", in.m.subject}, {"message_id", in.m.message_id}, {"reason", why}});
    return;
  }
  // The customer's ticket holds the request; the agent's own mail stays on it as an internal note.
  parser::ParsedMail request;
  request.from = {agent.name, agent.email};
  request.subject = in.m.subject;
  request.body_text = request.new_text = cmd.text;
  request.attachments = std::move(in.m.attachments);
  Intake req{in.tx, in.desk, in.c, in.clock, request, 0, in.now, in.result, agent.email, ""};
  auto id = open_for(req, what, agent);
  store_message(in, id, true);
  in.result.note = "opened for " + lower(what.requester) + " by agent " + agent.email;
}

// A registered agent's new mail to the desk address whose first line is #incident new TITLE:
// a major incident declared, only with an aligned DMARC pass (as #requester); else nothing
// is declared and the agent is told why.
void handle_incident_mail(Intake& in, const store::Agent& agent, const AgentCommands& cmd) {
  in.result.kind = IngestResult::Kind::rejected;
  std::string why = !authenticated_by_trusted_server(in.c, in.m)
                        ? "it came to the desk's plain address, which carries no token, without a trusted "
                          "authentication of your address (a DMARC pass for your domain): From can be forged"
                    : !cmd.errors.empty() ? "commands not understood: " + join(cmd.errors, "; ")
                                          : "";
  IncidentDeclaration d;
  d.title = *cmd.incident_new;
  d.agent = agent.email;
  d.text = cmd.text;
  for (const auto& k : cmd.incident_keys) d.alert_keys.push_back(k);
  std::optional<std::int64_t> id;
  if (why.empty()) {
    if (cmd.broadcast || cmd.rca || cmd.followup || cmd.incident || cmd.status || cmd.assign || cmd.requester)
      why = "only #incident new (with #incident-key) goes in a mail that declares an incident";
    else if (auto declared = declare_incident(in.tx, in.desk, d, agent.email, "mail", in.now)) id = *declared;
    else why = declared.error();
  }
  if (!why.empty()) {
    log::warning("security: <{}> from agent {}: #incident new not applied: {}", in.m.message_id, in.from, why);
    in.result.note = "#incident new not applied: " + why;
    if (in.tx.count_sent_or_queued("incident-refused", agent.email, in.now - 3600) >= 3) return;
    answer_agent(in, std::nullopt, agent, "incident-refused",
                 {{"subject", in.m.subject}, {"message_id", in.m.message_id}, {"reason", why}});
    return;
  }
  in.result.kind = IngestResult::Kind::created;
  in.result.ticket_id = *id;
  in.result.mail_queued = true;
  store_message(in, *id, true);  // the agent's own mail, kept on the incident as an internal note
  in.result.note = "declared major incident " + ticket_ref(in.c, *id) + " by agent " + agent.email;
}

// A customer's message that belongs to no ticket: a repeated alert, rejected, or a new ticket
// (intake rules, organisation, SLA) with its acknowledgement and the agents' notification.
void open_new_ticket(Intake& in, const Party& sender, std::optional<std::int64_t> refers_to) {
  const auto& c = in.c;
  const Config::Rule* rule = matching_rule(c, in.m);
  std::string alert_key = rule ? alert_key_of(*rule, in.m.subject) : "";
  if (join_repeated_alert(in, alert_key)) return;
  // A mail too large to fetch is kept as a ticket whoever sent it: the agents must hear of it.
  bool known = sender.contact || sender.agent || rule || !in.too_large.empty();
  if (!known && c.intake.unknown_sender == "reject") return reject_unknown_sender(in);

  auto nt = new_ticket_of(in, rule, sender, known, alert_key, refers_to);
  nt.sla_next_due = first_sla_due(in.desk, nt, in.now);
  auto id = in.tx.create_ticket(nt);
  in.result.kind = IngestResult::Kind::created;
  in.result.ticket_id = id;
  store_message(in, id);
  event(in, id, in.from.empty() ? "unknown" : in.from, "created", message_detail(in));
  if (rule) event(in, id, "system", "rule", rule->name);
  if (refers_to) event(in, id, "system", "refers-to", ticket_ref(c, *refers_to) + " (closed)");
  if (nt.unverified)
    event(in, id, "system", "unverified",
          in.from + " is no registered contact" +
              (nt.organisation.empty() || (rule && !rule->organisation.empty())
                   ? ""
                   : " of " + nt.organisation + " (recognised by its mail domain)"));
  if (nt.hypercare) event(in, id, "system", "hypercare", nt.organisation);
  // Read once for the steps below: they use what the ticket was created with (its requester,
  // organisation, alert key), which none of them changes. A link to an incident may change the
  // ticket and its SLA clock: then refresh_sla_due() reads it again for the acknowledgement.
  // Unlinked, it is as created, with its first due time (first_sla_due): three reads fewer.
  auto created = *in.tx.ticket(id);
  keep_contacts_on_cc(in, created);
  bool linked = link_by_alert_key(in.tx, in.desk, created, in.now);  // an open major incident naming its alert key
  if (auto tagged = ticket_tag_in(c, in.m.subject))  // an answer to a broadcast on the incident's own tag
    linked = link_answer_to_incident(in.tx, in.desk, created, *tagged, in.now) || linked;
  acknowledge_and_notify(in, linked ? *refresh_sla_due(in.tx, in.desk, id, in.now) : created);
}

// A mail to the plain address (or a plus-address, from someone who is no agent): it joins the
// ticket it belongs to, repeats an alert, is rejected, or opens a ticket.
void handle_customer_mail(Intake& in) {
  auto sender = party_of(in.tx, in.from, in.m.from_ambiguous);
  auto t = thread_of(in, sender);
  if (!t && sender.agent && !in.m.automatic && in.too_large.empty()) {
    auto cmd = parse_agent_commands(in.m.new_text);
    if (cmd.requester) return handle_requester_mail(in, *sender.agent, cmd);
    if (cmd.incident_new) return handle_incident_mail(in, *sender.agent, cmd);
  }
  std::optional<std::int64_t> refers_to;
  if (t && t->status == to_string(Status::closed)) {  // a closed ticket stays closed: a new one refers to it
    refers_to = t->id;
    t.reset();
  }
  if (t) return join_ticket(in, *t, sender);
  open_new_ticket(in, sender, refers_to);
}


// The mailbox watermark moves up to a committed mail's UID (never down).
void advance_watermark(store::Transaction& tx, const std::optional<store::MailOrigin>& origin) {
  if (!origin) return;
  auto box = tx.mailbox(origin->mailbox).value_or(store::MailboxState{origin->mailbox, origin->uidvalidity, 0, {}});
  if (box.uidvalidity != origin->uidvalidity) box.last_uid = box.done_uid = 0;  // a renumbered mailbox starts over
  box.uidvalidity = origin->uidvalidity;
  box.last_uid = std::max(box.last_uid, origin->uid);
  tx.set_mailbox(box);
}

// The agent path's facts about a mail to a plus-address, and its verdict (judge_agent_mail).
struct AgentVerdict {
  AgentPath path = AgentPath::customer;
  std::optional<store::Agent> agent;
  std::string token_holder;  // whose token it was: the sender or the team address
};
AgentVerdict judge(store::Transaction& tx, const Desk& desk, const parser::ParsedMail& m, const std::string& from,
                   const store::Ticket& t, const PlusAddress& plus, store::Time now) {
  const auto& c = desk.config();
  AgentVerdict v;
  if (!m.from_ambiguous) v.agent = tx.agent(from);
  AgentMailFacts f;
  f.registered_agent = v.agent.has_value();
  if (v.agent) {
    const std::string& secret = desk.token_secret();
    std::string ref = ticket_ref(c, t.id);
    std::optional<store::Time> legacy_until;
    if (auto until = tx.meta("legacy_tokens_until")) legacy_until = std::stoll(*until);
    auto check = [&](const std::string& recipient) {
      return check_token(secret, ref, recipient, plus.token, now, c.agents.token_days, legacy_until);
    };
    auto own = check(from);
    auto team = c.agents.team_address.empty() ? TokenCheck::wrong : check(lower(c.agents.team_address));
    f.token = own == TokenCheck::valid || team == TokenCheck::valid       ? TokenCheck::valid
              : own == TokenCheck::expired || team == TokenCheck::expired ? TokenCheck::expired
                                                                          : TokenCheck::wrong;
    v.token_holder = own == TokenCheck::valid || team != TokenCheck::valid ? from : lower(c.agents.team_address);
    f.trusted_pass = f.token == TokenCheck::wrong && authenticated_by_trusted_server(c, m);
    f.automatic = m.automatic.has_value();
  }
  v.path = judge_agent_mail(f);
  return v;
}

// The mail as the parser reads it, with what it could not read; a mail too large to fetch
// (only its header is here) says so in its text.
struct Incoming {
  parser::ParsedMail m;
  bool quarantined = false;
  std::string too_large;  // why the mail was not fetched whole; empty for a whole mail
};
Incoming parse_incoming(const Config& c, std::string_view raw, const std::optional<store::MailOrigin>& origin,
                        std::int64_t too_large_bytes) {
  Incoming in;
  auto& m = in.m;
  try {
    m = parser::parse(raw, c.limits);
  } catch (const std::exception& e) {
    // parse() promises not to throw; if it ever does, the mail is still kept.
    in.quarantined = true;
    m = parser::ParsedMail{};
    m.problems.push_back(std::string("parser failed: ") + e.what());
  }
  if (m.from.email.empty()) m.problems.push_back("no usable From address");
  if (too_large_bytes > 0) {
    // Only the header was fetched: the ticket says so, and where the mail stays.
    in.too_large = fmt::format(
        "This mail is {} bytes, more than limits.max_message_bytes ({}), so only its header was fetched. It stays on "
        "the IMAP server untouched{}; open it there with a mail client.",
        too_large_bytes, c.limits.max_message_bytes,
        origin ? fmt::format(" (mailbox {}, UID {})", origin->mailbox, origin->uid) : "");
    m.body_text = m.new_text = in.too_large;
    m.attachments.clear();
    m.problems.push_back(fmt::format("too large to fetch: {} bytes, over limits.max_message_bytes ({})",
                                     too_large_bytes, c.limits.max_message_bytes));
    in.quarantined = true;
  }
  return in;
}

// A stored mail's way in: the agent path, decided in one place (docs/security.md), or the
// customer path. A plus-address of ours routes a mail to the agent path only for a
// registered agent; anyone else's is a customer mail as if sent to the plain address, with
// a security event.
void route(Intake& in, bool quarantined) {
  auto& tx = in.tx;
  const auto& m = in.m;
  auto plus = find_plus_address(in.c, m);
  std::optional<store::Ticket> plus_ticket;
  if (plus && in.too_large.empty()) plus_ticket = tx.ticket(plus->ticket);
  auto verdict = plus_ticket ? judge(tx, in.desk, m, in.from, *plus_ticket, *plus, in.now) : AgentVerdict{};
  if (plus_ticket && verdict.path != AgentPath::customer) {
    handle_agent_mail(in, *plus_ticket, *verdict.agent, verdict.path, verdict.token_holder);
  } else {
    handle_customer_mail(in);
    if (plus_ticket) {
      std::string what = fmt::format("mail to {}'s agent address from {}, who is no registered agent{}: handled as a "
                                     "customer's mail to the plain address",
                                     ticket_ref(in.c, plus_ticket->id), in.from.empty() ? "(no sender)" : in.from,
                                     m.from_ambiguous ? " (several From addresses)" : "");
      log::warning("security: <{}>: {}", m.message_id, what);
      if (in.result.ticket_id) internal_event(in, in.result.ticket_id, "system", "security", what);
    }
  }
  if (in.result.ticket_id && !m.problems.empty())
    event(in, in.result.ticket_id, "system", quarantined ? "quarantined" : "parse-problems", join(m.problems, "; "));
  if (!m.problems.empty())
    in.result.note += (in.result.note.empty() ? "" : "; ") + std::string("parser: ") + join(m.problems, "; ");
}

// What ingest_in() needs of a mail before the store: its parse and its content hash. Pure.
struct Parsed {
  Incoming incoming;
  std::string hash;
};
Parsed parse_for_ingest(const Config& c, const IncomingMail& mail) {
  return {parse_incoming(c, mail.raw, mail.origin, mail.too_large_bytes), content_hash(mail.raw)};
}

// A batch's mails parsed on a thread of its own, in order, at most kAhead mails ahead of the
// one being stored: parsing is pure (parser/), so the daemon parses the next mails while the
// store's server runs this one's statements (PostgreSQL) or the disk writes (SQLite). A
// batch of one mail (the MTA pipe, a mail taken alone) is parsed when it is taken. A crash in
// the parser ends the process as before, with the batch recorded in hand (the crash breaker).
class ParseAhead {
 public:
  ParseAhead(const Config& c, const std::vector<IncomingMail>& mails) : c_(c), mails_(mails), parsed_(mails.size()) {
    if (mails.size() > 1) worker_ = std::thread([this] { run(); });
  }
  ~ParseAhead() {
    {
      std::lock_guard lock(m_);
      stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }
  ParseAhead(const ParseAhead&) = delete;
  ParseAhead& operator=(const ParseAhead&) = delete;

  // Mail i's parse; each i once, in order.
  Parsed take(std::size_t i) {
    if (!worker_.joinable()) return parse_for_ingest(c_, mails_[i]);
    std::unique_lock lock(m_);
    taken_ = i;
    cv_.notify_all();
    cv_.wait(lock, [&] { return done_ > i || error_; });
    if (done_ <= i) std::rethrow_exception(error_);
    return std::move(*parsed_[i]);
  }

 private:
  static constexpr std::size_t kAhead = 2;  // enough to keep ahead; each parsed mail held costs memory

  void run() {
    try {
      for (std::size_t i = 0; i < mails_.size(); ++i) {
        {
          std::unique_lock lock(m_);
          cv_.wait(lock, [&] { return stop_ || i < taken_ + kAhead; });
          if (stop_) return;
        }
        auto p = parse_for_ingest(c_, mails_[i]);
        std::lock_guard lock(m_);
        parsed_[i] = std::move(p);
        done_ = i + 1;
        cv_.notify_all();
      }
    } catch (...) {  // out of memory: the batch fails as if the store's thread had parsed it
      std::lock_guard lock(m_);
      error_ = std::current_exception();
      cv_.notify_all();
    }
  }

  const Config& c_;
  const std::vector<IncomingMail>& mails_;
  std::vector<std::optional<Parsed>> parsed_;
  std::mutex m_;
  std::condition_variable cv_;
  std::size_t taken_ = 0, done_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread worker_;  // last: started once the rest is in place
};

IngestResult ingest_in(store::Transaction& tx, const Desk& desk, const IncomingMail& mail, Parsed parsed, store::Time now) {
  std::string_view raw = mail.raw;
  const auto& origin = mail.origin;
  auto& incoming = parsed.incoming;
  auto& m = incoming.m;
  const std::string& hash = parsed.hash;
  IngestResult result;
  result.message_id = m.message_id;

  // A stored mail with the same content has the same Message-ID: when none has it (nearly
  // every new mail), neither hash can match, and the question of the mail's position answers
  // both (one round trip on PostgreSQL). The old hash is worth computing only when one has it.
  auto look = tx.look_up_raw(origin, m.message_id);
  std::optional<store::DuplicateHit> dup = look.at;
  if (!dup && look.message_id_stored) {
    dup = tx.raw_with(m.message_id, hash);
    if (!dup) dup = tx.raw_with(m.message_id, content_hash_v4(raw));
  }
  if (dup) {
    result.kind = IngestResult::Kind::duplicate;
    result.ticket_id = dup->ticket_id.value_or(0);
    result.note = "already stored";
    return result;
  }

  // Raw bytes first: nothing derived is written before the mail itself.
  store::RawMail rawrow{now, origin, m.message_id, hash, raw, join(m.problems, "\n"), incoming.quarantined};
  Intake in{tx, desk, desk.config(), desk.clock(), m, tx.add_raw(rawrow), now, result, lower(m.from.email),
            incoming.too_large};
  route(in, incoming.quarantined);
  return result;
}

// The batch's mails all come from one mailbox at one UIDVALIDITY (the poller's, or none from
// the MTA pipe): its watermark moves once, to the highest UID, in the batch's transaction; the
// same as moving it mail by mail, with two statements a mail fewer. Mixed origins go mail by mail.
void advance_watermarks(store::Transaction& tx, const std::vector<IncomingMail>& mails) {
  std::optional<store::MailOrigin> highest;
  bool one_box = true;
  for (const auto& mail : mails) {
    if (!mail.origin) continue;
    if (!highest) highest = mail.origin;
    else if (highest->mailbox != mail.origin->mailbox || highest->uidvalidity != mail.origin->uidvalidity) one_box = false;
    else if (mail.origin->uid > highest->uid) highest = mail.origin;
  }
  if (one_box) return advance_watermark(tx, highest);
  for (const auto& mail : mails) advance_watermark(tx, mail.origin);
}

}  // namespace

tl::expected<std::int64_t, std::string> open_ticket_for(store::Transaction& tx, const Desk& desk, const OnBehalf& what,
                                                        store::Time now) {
  auto agent = tx.agent(lower(what.agent));
  if (!agent) return tl::unexpected(fmt::format("{} is not a registered agent (servicedesk agent add)", what.agent));
  parser::ParsedMail request;
  request.from = {agent->name, agent->email};
  request.subject = what.subject.empty() ? std::string("(no subject)") : what.subject;
  request.body_text = request.new_text = what.text;
  IngestResult result;
  Intake in{tx, desk, desk.config(), desk.clock(), request, 0, now, result, agent->email, ""};
  if (auto why = on_behalf_problem(in, what); !why.empty()) return tl::unexpected(why);
  return open_for(in, what, *agent);
}

tl::expected<std::int64_t, std::string> customer_writes(store::Transaction& tx, const Desk& desk,
                                                        const CustomerWrite& w, store::Time now) {
  const auto& c = desk.config();
  std::string address = lower(w.contact);
  auto sender = party_of(tx, address);
  if (!sender.contact || sender.agent)
    return tl::unexpected(fmt::format("{} is not a registered contact", printable(utf8_prefix(w.contact, 200))));
  std::string text = form_text(w.text);
  if (trim(text).empty() && w.files.empty()) return tl::unexpected(std::string("the text is empty"));
  std::optional<store::Ticket> t;
  if (w.ticket_id) {
    t = tx.ticket(*w.ticket_id);
    // A ticket outside the contact's scope reads as no ticket at all: nothing reveals it exists.
    if (!t || !may_join(tx, *t, sender)) return tl::unexpected(fmt::format("no ticket {}", ticket_ref(c, *w.ticket_id)));
  }
  auto files = uploads_as_attachments(c, w.files, text.size());
  if (!files) return tl::unexpected(files.error());

  // The message as a mail from the contact to the desk would be parsed, and then the same steps.
  parser::ParsedMail m;
  m.from = {sender.contact->name, address};
  m.to = {{c.service.name, c.service.address}};
  m.message_id = portal_message_id(c);
  m.date_unix = now;
  m.subject = t ? fmt::format("Re: [{}] {}", ticket_ref(c, t->id), mail_subject(desk, *t)) : form_line(w.subject, 200);
  m.body_text = m.new_text = text;
  m.attachments = std::move(*files);
  IngestResult result;
  Intake in{tx, desk, c, desk.clock(), m, 0, now, result, address, ""};
  in.from_portal = true;
  if (!t) {
    in.category = w.category;
    open_new_ticket(in, sender, std::nullopt);
  } else if (t->status == to_string(Status::closed)) {
    open_new_ticket(in, sender, t->id);  // a closed ticket stays closed: a new one refers to it
  } else {
    join_ticket(in, *t, sender);
  }
  if (result.ticket_id == 0) return tl::unexpected("not taken: " + result.note);
  return result.ticket_id;
}

IngestResult quarantine_unhandled(store::Store& st, std::string_view raw, const std::optional<store::MailOrigin>& origin,
                                  store::Time now, const std::string& why) {
  auto tx = st.begin(store::Store::Mode::write);
  IngestResult result;
  result.kind = IngestResult::Kind::rejected;
  result.note = "stored without a ticket: " + why;
  if (!(origin && tx->raw_at(*origin)))
    tx->add_raw({now, origin, "", content_hash(raw), raw, "could not be handled: " + why, true});
  advance_watermark(*tx, origin);
  tx->commit();
  return result;
}

std::vector<IngestResult> ingest_batch(store::Store& st, const Desk& desk, const std::vector<IncomingMail>& mails,
                                       store::Time now) {
  std::vector<IngestResult> out;
  if (mails.empty()) return out;
  std::string failure;
  try {
    ParseAhead parsed(desk.config(), mails);
    auto tx = st.begin(store::Store::Mode::write);
    for (std::size_t i = 0; i < mails.size(); ++i) out.push_back(ingest_in(*tx, desk, mails[i], parsed.take(i), now));
    advance_watermarks(*tx, mails);
    tx->commit();
    return out;
  } catch (const store::StoreError& e) {
    if (e.transient) throw;  // nothing of the batch is stored; try it all again later
    failure = e.what();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  // Something in the batch fails for good: nothing of it was committed. Take the mails one
  // by one, so only the one that fails is set aside.
  out.clear();
  for (const auto& mail : mails) {
    if (mails.size() == 1) {
      log::error("a mail{} could not be handled ({}): stored raw and quarantined, without a ticket",
                 mail.origin ? fmt::format(" (UID {})", mail.origin->uid) : "", failure);
      out.push_back(quarantine_unhandled(st, mail.raw, mail.origin, now, failure));
    } else {
      out.push_back(ingest_batch(st, desk, {mail}, now).front());
    }
  }
  return out;
}

std::vector<IngestResult> ingest_batch(store::Store& st, const Config& c, const std::vector<IncomingMail>& mails,
                                       store::Time now) {
  Desk desk(c);
  return ingest_batch(st, desk, mails, now);
}

IngestResult ingest(store::Store& st, const Desk& desk, std::string_view raw,
                    const std::optional<store::MailOrigin>& origin, store::Time now) {
  return ingest_batch(st, desk, {IncomingMail{std::string(raw), origin}}, now).front();
}

IngestResult reingest(store::Store& st, const Desk& desk, std::int64_t raw_id, store::Time now) {
  auto tx = st.begin(store::Store::Mode::write);
  auto stored = tx->quarantined_mail(raw_id);
  if (!stored) throw store::StoreError(fmt::format("store: no stored mail {}", raw_id), false, true);
  IngestResult result;
  if (stored->ticket_id) {
    result.kind = IngestResult::Kind::duplicate;
    result.ticket_id = *stored->ticket_id;
    result.note = "already has a ticket";
    return result;
  }
  auto incoming = parse_incoming(desk.config(), stored->bytes, std::nullopt, 0);
  result.message_id = incoming.m.message_id;
  Intake in{*tx, desk, desk.config(), desk.clock(), incoming.m, raw_id, now, result, lower(incoming.m.from.email), ""};
  std::string problems = join(incoming.m.problems, "\n");
  route(in, incoming.quarantined);
  tx->set_raw_problems(raw_id, problems, incoming.quarantined);
  tx->commit();
  return result;
}

IngestResult ingest(store::Store& st, const Config& c, std::string_view raw,
                    const std::optional<store::MailOrigin>& origin, store::Time now) {
  Desk desk(c);
  return ingest(st, desk, raw, origin, now);
}

}  // namespace sd
