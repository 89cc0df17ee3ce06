// desk/incidents.cpp: see incidents.h.
#include "desk/incidents.h"

#include "core/text.h"
#include "desk/agent_mail.h"
#include "desk/from_portal.h"
#include "desk/ingest.h"
#include "desk/keep_informed.h"
#include "desk/mailer.h"
#include "desk/ticket_change.h"
#include "desk/visibility.h"
#include "notify/templates.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace sd {
namespace {

void event(store::Transaction& tx, std::int64_t ticket, store::Time now, const std::string& actor,
           const std::string& kind, const std::string& detail, bool internal) {
  store::Event e{ticket, now, actor, kind, detail};
  e.internal = internal;
  tx.add_event(e);
}

bool own_address(const Config& c, const std::string& addr) {
  std::string own = lower(c.service.address);
  if (addr == own) return true;
  auto at = own.find('@');
  if (at == std::string::npos) return false;
  // servicedesk+anything@domain is ours too
  return addr.rfind(own.substr(0, at) + "+", 0) == 0 && addr.size() > own.size() - at &&
         addr.compare(addr.size() - (own.size() - at), own.size() - at, own.substr(at)) == 0;
}

tl::expected<store::Incident, std::string> the_incident(store::Transaction& tx, const Config& c, std::int64_t id) {
  auto i = tx.incidents().incident(id);
  if (!i) return tl::unexpected(fmt::format("{} is no major incident", ticket_ref(c, id)));
  return *i;
}

std::string one_line(const std::string& s, std::size_t max) {
  std::string out;
  for (char ch : s) out += (ch == '\n' || ch == '\r' || ch == '\t') ? ' ' : ch;
  return utf8_prefix(trim(out), max);
}

}  // namespace

tl::expected<std::int64_t, std::string> declare_incident(store::Transaction& tx, const Desk& desk,
                                                         const IncidentDeclaration& d, const std::string& actor,
                                                         const std::string& how, store::Time now) {
  const auto& c = desk.config();
  std::string title = one_line(d.title, 200);
  if (title.empty()) return tl::unexpected(std::string("the incident needs a title"));
  auto agent = tx.agent(lower(d.agent));
  if (!agent) return tl::unexpected(fmt::format("{} is not a registered agent (servicedesk agent add)", printable(utf8_prefix(d.agent, 200))));
  for (const auto& o : d.organisations)
    if (!tx.organisation(o)) return tl::unexpected(fmt::format("no organisation '{}'", printable(utf8_prefix(o, 200))));
  for (const auto& k : d.alert_keys)
    if (trim(k).empty()) return tl::unexpected(std::string("an empty alert key"));
  if (d.from) {
    auto t = tx.ticket(*d.from);
    if (!t) return tl::unexpected(fmt::format("no ticket {}", ticket_ref(c, *d.from)));
    if (tx.incidents().incident(*d.from)) return tl::unexpected(fmt::format("{} is a major incident itself", ticket_ref(c, *d.from)));
  }
  store::NewTicket nt;
  nt.subject = title;
  nt.requester = agent->email;
  nt.requester_name = agent->name;
  nt.created_at = now;
  nt.sla = c.sla.default_sla;
  nt.priority = std::string(to_string(d.priority.value_or(Priority::highest)));
  nt.category = std::string(to_string(Category::incident));
  nt.assignee = agent->email;
  auto id = tx.create_ticket(nt);
  if (!d.text.empty()) {
    store::MessageRecord m;
    m.ticket_id = id;
    m.direction = "in";
    m.from_addr = agent->email;
    m.from_name = agent->name;
    m.subject = title;
    m.body_text = m.new_text = d.text;
    m.created_at = now;
    m.internal = true;
    tx.add_message(m);
  }
  store::Incident inc;
  inc.ticket_id = id;
  inc.title = title;
  inc.declared_by = actor;
  inc.declared_at = now;
  inc.all_organisations = d.all_organisations;
  inc.organisations = d.organisations;
  for (const auto& k : d.alert_keys) inc.alert_keys.push_back(trim(k));
  tx.incidents().declare(inc);
  event(tx, id, now, actor, "created", "major incident declared (" + how + ")", false);
  event(tx, id, now, actor, "incident-declared", title, true);
  event(tx, id, now, actor, "assign", "(none) -> " + agent->email, false);
  if (d.all_organisations) event(tx, id, now, actor, "incident-orgs", "all organisations", true);
  else if (!d.organisations.empty()) {
    std::string names;
    for (const auto& o : d.organisations) names += (names.empty() ? "" : ", ") + o;
    event(tx, id, now, actor, "incident-orgs", names, true);
  }
  for (const auto& k : inc.alert_keys) event(tx, id, now, actor, "incident-key", k, true);
  if (d.from)
    if (auto linked = link_to_incident(tx, desk, *d.from, id, actor, "from", now); !linked) return tl::unexpected(linked.error());
  refresh_sla_due(tx, desk, id, now);
  tell_incident_agents(tx, desk, id, "Major incident declared", d.text, "", now);
  return id;
}

tl::expected<void, std::string> link_to_incident(store::Transaction& tx, const Desk& desk, std::int64_t ticket,
                                                 std::int64_t incident, const std::string& actor,
                                                 const std::string& how, store::Time now) {
  const auto& c = desk.config();
  auto t = tx.ticket(ticket);
  if (!t) return tl::unexpected(fmt::format("no ticket {}", ticket_ref(c, ticket)));
  auto inc = the_incident(tx, c, incident);
  if (!inc) return tl::unexpected(inc.error());
  if (tx.incidents().incident(ticket)) return tl::unexpected(fmt::format("{} is a major incident itself", ticket_ref(c, ticket)));
  auto it = tx.ticket(incident);
  if (it && it->status == to_string(Status::closed))
    return tl::unexpected(fmt::format("{} is closed", ticket_ref(c, incident)));
  auto before = tx.incidents().link_of(ticket);
  if (before && !before->unlinked_at && before->incident_id == incident) return {};  // linked already: nothing changes
  tx.incidents().link({ticket, incident, actor, now, how, "", std::nullopt});
  std::string org = t->organisation.empty() ? "" : " (" + t->organisation + ")";
  event(tx, ticket, now, actor, "incident-link", "part of major incident " + ticket_ref(c, incident), false);
  event(tx, incident, now, actor, "incident-linked", ticket_ref(c, ticket) + org + " by " + how, true);
  if (before && !before->unlinked_at && before->incident_id != incident)
    event(tx, before->incident_id, now, actor, "incident-unlinked", ticket_ref(c, ticket) + " (moved to " + ticket_ref(c, incident) + ")", true);
  return {};
}

tl::expected<void, std::string> unlink_from_incident(store::Transaction& tx, const Desk& desk, std::int64_t ticket,
                                                     const std::string& actor, store::Time now) {
  const auto& c = desk.config();
  auto l = tx.incidents().link_of(ticket);
  if (!l || l->unlinked_at) return tl::unexpected(fmt::format("{} is linked to no major incident", ticket_ref(c, ticket)));
  tx.incidents().unlink(ticket, actor, now);
  event(tx, ticket, now, actor, "incident-unlink", "no longer part of major incident " + ticket_ref(c, l->incident_id), false);
  event(tx, l->incident_id, now, actor, "incident-unlinked", ticket_ref(c, ticket), true);
  return {};
}

bool link_by_alert_key(store::Transaction& tx, const Desk& desk, const store::Ticket& t, store::Time now) {
  if (t.alert_key.empty()) return false;
  auto incident = tx.incidents().open_incident_with_alert_key(t.alert_key);
  if (!incident || *incident == t.id) return false;
  return link_to_incident(tx, desk, t.id, *incident, "system", "alert-key", now).has_value();
}

bool link_answer_to_incident(store::Transaction& tx, const Desk& desk, const store::Ticket& t, std::int64_t tagged,
                             store::Time now) {
  if (t.organisation.empty() || t.unverified || !tx.contact(t.requester) || !tx.incidents().incident(tagged)) return false;
  if (auto l = tx.incidents().link_of(t.id); l && !l->unlinked_at) return false;
  auto it = tx.ticket(tagged);
  if (!it || !is_open(parse_status(it->status).value_or(Status::closed))) return false;
  auto orgs = affected_organisations(tx, tagged);
  if (std::find(orgs.begin(), orgs.end(), t.organisation) == orgs.end()) return false;
  return link_to_incident(tx, desk, t.id, tagged, "system", "answer", now).has_value();
}

std::optional<OrganisationChoice> parse_organisation_choice(const std::string& text) {
  OrganisationChoice out;
  std::string t = trim(text);
  if (t.empty() || t.find_first_of("\r\n") != std::string::npos) return std::nullopt;
  if (lower(t) == "all") {
    out.all = true;
    return out;
  }
  for (std::size_t pos = 0;;) {
    auto comma = t.find(',', pos);
    std::string name = trim(t.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (name.empty()) return std::nullopt;
    out.names.push_back(name);
    if (comma == std::string::npos) return out;
    pos = comma + 1;
  }
}

tl::expected<void, std::string> add_incident_organisations(store::Transaction& tx, std::int64_t incident,
                                                           const OrganisationChoice& orgs, const std::string& actor,
                                                           store::Time now) {
  auto inc = tx.incidents().incident(incident);
  if (!inc) return tl::unexpected(std::string("this ticket is no major incident"));
  for (const auto& o : orgs.names)
    if (!tx.organisation(o)) return tl::unexpected(fmt::format("no organisation '{}'", printable(utf8_prefix(o, 200))));
  if (orgs.all) {
    if (!inc->all_organisations) {
      tx.incidents().set_all_organisations(incident, true);
      event(tx, incident, now, actor, "incident-orgs", "all organisations", true);
    }
    return {};
  }
  std::string added;
  for (const auto& o : orgs.names)
    if (auto name = tx.organisation(o)->name; tx.incidents().add_organisation(incident, name))
      added += (added.empty() ? "" : ", ") + name;
  if (!added.empty()) event(tx, incident, now, actor, "incident-orgs", "added: " + added, true);
  return {};
}

tl::expected<void, std::string> add_incident_alert_key(store::Transaction& tx, std::int64_t incident,
                                                       const std::string& key, const std::string& actor,
                                                       store::Time now) {
  std::string k = trim(key);
  if (k.empty()) return tl::unexpected(std::string("an empty alert key"));
  if (!tx.incidents().incident(incident)) return tl::unexpected(std::string("this ticket is no major incident"));
  if (tx.incidents().add_alert_key(incident, k)) event(tx, incident, now, actor, "incident-key", k, true);
  return {};
}

tl::expected<void, std::string> record_root_cause(store::Transaction& tx, std::int64_t incident, const std::string& text,
                                                  const std::string& actor, store::Time now) {
  if (!tx.incidents().incident(incident)) return tl::unexpected(std::string("this ticket is no major incident"));
  if (trim(text).empty()) return tl::unexpected(std::string("#rca needs a text"));
  tx.incidents().set_root_cause(incident, trim(text));
  event(tx, incident, now, actor, "incident-rca", trim(text), true);
  return {};
}

tl::expected<void, std::string> record_follow_up(store::Transaction& tx, std::int64_t incident, const std::string& text,
                                                 const std::string& actor, store::Time now) {
  if (!tx.incidents().incident(incident)) return tl::unexpected(std::string("this ticket is no major incident"));
  if (trim(text).empty()) return tl::unexpected(std::string("#followup needs a text"));
  tx.incidents().set_follow_up(incident, trim(text));
  event(tx, incident, now, actor, "incident-followup", trim(text), true);
  return {};
}

std::vector<std::string> affected_organisations(store::Transaction& tx, std::int64_t incident) {
  std::set<std::string> out;
  auto inc = tx.incidents().incident(incident);
  if (!inc) return {};
  if (inc->all_organisations)
    for (const auto& n : tx.organisation_names()) out.insert(n);
  for (const auto& o : inc->organisations) out.insert(o);
  for (const auto& l : tx.incidents().links(incident, false))
    if (auto t = tx.ticket(l.ticket_id); t && !t->organisation.empty()) out.insert(t->organisation);
  return {out.begin(), out.end()};
}

std::vector<IncidentRecipient> incident_audience(store::Transaction& tx, const Desk& desk, std::int64_t incident) {
  const auto& c = desk.config();
  std::vector<store::Ticket> linked;
  for (const auto& l : tx.incidents().links(incident, false))
    if (auto t = tx.ticket(l.ticket_id)) linked.push_back(*t);
  std::sort(linked.begin(), linked.end(), [](const auto& a, const auto& b) { return a.id < b.id; });

  std::set<std::string> automatic;
  for (const auto& t : linked)
    if (automatic_requester(tx, t)) automatic.insert(t.requester);

  std::vector<IncidentRecipient> out;
  std::map<std::string, std::size_t> index;
  auto language = [&](const std::string& addr, const store::Ticket* t) {
    if (auto contact = tx.contact(addr))
      if (auto org = tx.organisation(contact->organisation); org && !org->language.empty()) return org->language;
    return t ? language_of(tx, c, *t) : c.service.language;
  };
  auto add = [&](const std::string& address, const std::string& name, const store::Ticket* t) {
    std::string addr = lower(address);
    if (addr.empty() || automatic.count(addr) || own_address(c, addr) || tx.agent(addr)) return;
    auto it = index.find(addr);
    if (it == index.end()) {
      auto contact = tx.contact(addr);
      IncidentRecipient r;
      r.address = addr;
      r.name = !name.empty() ? name : contact ? contact->name : "";
      r.organisation = contact ? contact->organisation : t ? t->organisation : "";
      r.language = language(addr, t);
      index[addr] = out.size();
      out.push_back(std::move(r));
      it = index.find(addr);
    }
    auto& r = out[it->second];
    if (!t) return;
    if (r.thread != 0) r.others.push_back(r.thread);
    r.thread = t->id;  // ascending: the most recent wins
  };
  for (const auto& t : linked) {
    add(t.requester, t.requester_name, &t);
    for (const auto& cc : cc_recipients(tx, t)) add(cc.email, cc.name, &t);
  }
  for (const auto& org : affected_organisations(tx, incident))
    for (const auto& contact : tx.contacts(org)) {
      if (index.count(lower(contact.email))) continue;
      // Their own thread where they have none: their organisation's most recent linked ticket
      // they may see; else the incident's own tag.
      const store::Ticket* thread = nullptr;
      Party p = party_of(tx, lower(contact.email));
      for (const auto& t : linked)
        if (t.organisation == org && may_see(tx, t, p)) thread = &t;
      add(contact.email, contact.name, nullptr);
      if (thread) out[index[lower(contact.email)]].thread = thread->id;
    }
  return out;
}

namespace {

// The incident's agents: its assignee, and the team address (else every registered agent).
std::vector<notify::Mailbox> incident_agents(store::Transaction& tx, const Config& c, const store::Ticket& t) {
  std::vector<notify::Mailbox> to;
  std::set<std::string> seen;
  auto add = [&](const std::string& name, const std::string& email) {
    if (!email.empty() && seen.insert(lower(email)).second) to.push_back({name, lower(email)});
  };
  if (!t.assignee.empty()) add("", t.assignee);
  if (!c.agents.team_address.empty()) add("", c.agents.team_address);
  else
    for (const auto& a : tx.agents()) add(a.name, a.email);
  return to;
}

// The mail of `kind` (incident-update, incident-resolved) to each person of the audience.
int mail_audience(store::Transaction& tx, const Desk& desk, const store::Incident& inc, const std::string& kind,
                  const std::string& text, const std::string& agent_name, store::Time now) {
  const auto& c = desk.config();
  auto incident_ticket = tx.ticket(inc.ticket_id);
  if (!incident_ticket) return 0;
  int queued = 0;
  for (const auto& r : incident_audience(tx, desk, inc.ticket_id)) {
    auto thread = r.thread ? tx.ticket(r.thread) : incident_ticket;
    if (!thread) continue;
    const auto& tpl = desk.templates().get(kind, r.language);
    auto vars = customer_vars(desk, *thread, {r.name, r.address});
    if (!r.thread) {
      vars["subject"] = inc.title;
      vars["portal_link"] = "";  // the incident's own ticket is not the customer's to see
    }
    std::string others;
    for (auto id : r.others) others += (others.empty() ? "" : ", ") + ticket_ref(c, id);
    vars["others"] = others;
    vars["incident"] = inc.title;
    vars["agent_name"] = agent_name.empty() ? c.service.name : agent_name;
    vars["agent"] = agent_name;
    vars["text"] = text.empty() ? "" : text + "\n";
    MailToQueue q;
    q.ticket_id = thread->id;
    q.kind = kind;
    q.to = {r.name, r.address};
    q.record = r.thread != 0;  // on the customer's thread; the incident's own ticket keeps it as an event
    q.draft.from = {agent_name.empty() ? c.service.name : agent_name + " (" + c.service.name + ")", c.service.address};
    q.draft.subject = notify::render(tpl.subject, vars);
    q.draft.body_text = notify::render(tpl.body, vars);
    q.draft.auto_submitted = "auto-generated";
    if (r.thread) thread_on_ticket(tx, thread->id, q.draft);
    if (queue_mail(tx, c, q, now)) ++queued;
  }
  return queued;
}

}  // namespace

void tell_incident_agents(store::Transaction& tx, const Desk& desk, std::int64_t incident, const std::string& what,
                          const std::string& text, const std::string& sender, store::Time now) {
  const auto& c = desk.config();
  auto t = tx.ticket(incident);
  if (!t) return;
  const auto& tpl = desk.templates().get("agent-notification", "en");
  auto orgs = affected_organisations(tx, incident);
  std::string org_list;
  for (const auto& o : orgs) org_list += (org_list.empty() ? "" : ", ") + o;
  std::map<std::string, std::string> vars = {
      {"ticket", ticket_ref(c, t->id)},
      {"event", what},
      {"subject", mail_subject(desk, *t)},
      {"continues", ""},
      {"requester", t->requester},
      {"requester_name", t->requester_name.empty() ? t->requester : t->requester_name},
      {"sender", sender.empty() ? t->requester : sender},
      {"sender_name", sender.empty() ? t->requester : sender},
      {"unverified", ""},
      {"organisation", org_list.empty() ? "(none yet)" : org_list},
      {"priority", t->priority},
      {"category", "incident (major)"},
      {"status", t->status},
      {"first_response_due", "-"},
      {"resolution_due", "-"},
      {"text", text.empty() ? "(no text)" : text},
      {"attachments", ""},
      {"commands", agent_commands_help()}};
  for (const auto& r : incident_agents(tx, c, *t)) {
    if (!sender.empty() && lower(r.email) == lower(sender)) continue;
    MailToQueue q;
    q.ticket_id = t->id;
    q.kind = "agent-notification";
    q.to = r;
    q.record = false;
    q.draft.subject = notify::render(tpl.subject, vars);
    q.draft.body_text = notify::render(tpl.body, vars);
    q.draft.reply_to = {{c.service.name, agent_reply_to(c, desk.token_secret(), t->id, lower(r.email), now)}};
    q.draft.auto_submitted = "auto-generated";
    thread_on_ticket(tx, t->id, q.draft);
    queue_mail(tx, c, q, now);
  }
}

tl::expected<int, std::string> broadcast_incident(store::Transaction& tx, const Desk& desk, std::int64_t incident,
                                                  const std::string& text, const std::string& agent_name,
                                                  const std::string& actor, store::Time now) {
  const auto& c = desk.config();
  auto inc = the_incident(tx, c, incident);
  if (!inc) return tl::unexpected(inc.error());
  if (trim(text).empty()) return tl::unexpected(std::string("#broadcast needs the words to send"));
  int n = mail_audience(tx, desk, *inc, "incident-update", text, agent_name, now);
  for (const auto& l : tx.incidents().links(incident, false))
    event(tx, l.ticket_id, now, actor, "incident-broadcast", "update on major incident " + ticket_ref(c, incident), false);
  event(tx, incident, now, actor, "incident-broadcast", fmt::format("people told: {}; {}", n, utf8_prefix(one_line(text, 400), 200)), true);
  return n;
}

bool incident_update_by_agent(store::Transaction& tx, const Desk& desk, std::int64_t incident, const std::string& text,
                              bool broadcast, bool resolving, const std::string& agent_name, const std::string& actor,
                              store::Time now) {
  int told = 0;
  if (broadcast && !resolving)
    if (auto n = broadcast_incident(tx, desk, incident, text, agent_name, actor, now)) told = *n;
  if (text.empty() && told == 0) return false;
  tell_incident_agents(tx, desk, incident,
                       resolving   ? "Incident resolved"
                       : broadcast ? fmt::format("Incident update, broadcast to {} people", told)
                                   : "Incident update (agents only)",
                       text, actor, now);
  return true;
}

int resolve_linked_tickets(store::Transaction& tx, const Desk& desk, std::int64_t incident,
                           const std::string& resolution, const std::string& agent_name, const std::string& actor,
                           store::Time now) {
  const auto& c = desk.config();
  auto inc = tx.incidents().incident(incident);
  if (!inc) return 0;
  for (const auto& l : tx.incidents().links(incident, false)) {
    auto t = tx.ticket(l.ticket_id);
    if (!t || !is_open(parse_status(t->status).value_or(Status::open))) continue;
    TicketChange ch;
    ch.status = Status::resolved;
    ch.text = resolution;
    ch.agent_name = agent_name;
    ch.quiet = true;  // one mail per person follows, below
    ch.why = "major incident " + ticket_ref(c, incident) + " resolved";
    change_ticket(tx, desk, *t, ch, actor, now);
  }
  int n = mail_audience(tx, desk, *inc, "incident-resolved", resolution, agent_name, now);
  event(tx, incident, now, actor, "incident-resolved", fmt::format("people told: {}", n), true);
  return n;
}

}  // namespace sd
