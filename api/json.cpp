// api/json.cpp: see json.h.
#include "api/json.h"

#include "core/text.h"
#include "desk/ingest.h"
#include "sla/calendar.h"
#include "store/incidents.h"

#include <fmt/format.h>

namespace sd {

std::string rfc3339_utc(store::Time t) { return sla::rfc3339_utc(sla::Instant(std::chrono::seconds(t))); }

namespace {
nlohmann::json opt_time(const std::optional<store::Time>& t) { return t ? nlohmann::json(rfc3339_utc(*t)) : nlohmann::json(); }
}  // namespace

nlohmann::json ticket_json(const Config& c, const store::Ticket& t, const TicketSla& sla) {
  return {{"id", ticket_ref(c, t.id)},
          {"subject", t.subject},
          {"status", t.status},
          {"requester", t.requester},
          {"requester_name", t.requester_name},
          {"priority", t.priority},
          {"category", t.category.empty() ? nlohmann::json() : nlohmann::json(t.category)},
          {"created_at", rfc3339_utc(t.created_at)},
          {"updated_at", rfc3339_utc(t.updated_at)},
          {"message_count", t.message_count},
          {"sla_name", t.sla},
          {"assignee", t.assignee.empty() ? nlohmann::json() : nlohmann::json(t.assignee)},
          {"first_response_due", opt_time(sla.first_response_due)},
          {"first_response_at", opt_time(t.first_response_at)},
          {"resolution_due", opt_time(sla.resolution_due)},
          {"resolved_at", opt_time(t.resolved_at)},
          {"resolution", t.resolution.empty() ? nlohmann::json() : nlohmann::json(t.resolution)},
          {"sla", sla.state},
          {"sla_next_due", opt_time(t.sla_next_due)},
          {"organisation", t.organisation.empty() ? nlohmann::json() : nlohmann::json(t.organisation)},
          {"unverified", t.unverified},
          {"hypercare", t.hypercare},
          {"time_spent_s", t.time_spent_s},
          {"repeat_count", t.repeat_count},
          {"refers_to", t.refers_to ? nlohmann::json(ticket_ref(c, *t.refers_to)) : nlohmann::json()}};
}

nlohmann::json ticket_detail_json(const Config& c, const store::Ticket& t, const TicketSla& sla,
                                  const std::vector<store::MessageRecord>& messages, const std::vector<store::Event>& events) {
  auto j = ticket_json(c, t, sla);
  auto msgs = nlohmann::json::array();
  for (const auto& m : messages) {
    auto atts = nlohmann::json::array();
    for (const auto& a : m.attachments)
      atts.push_back({{"number", a.number}, {"filename", a.filename}, {"content_type", a.content_type}, {"size", a.size}});
    msgs.push_back({{"direction", m.direction},
                    {"message_id", m.message_id},
                    {"from", m.from_addr},
                    {"from_name", m.from_name},
                    {"to", m.to},
                    {"cc", m.cc},
                    {"subject", m.subject},
                    {"date", opt_time(m.date)},
                    {"received_at", rfc3339_utc(m.created_at)},
                    {"body_text", m.body_text},
                    {"new_text", m.new_text},
                    {"automatic", m.automatic.empty() ? nlohmann::json() : nlohmann::json(m.automatic)},
                    {"internal", m.internal},
                    {"attachments", atts}});
  }
  j["messages"] = msgs;
  auto evs = nlohmann::json::array();
  for (const auto& e : events)
    evs.push_back({{"at", rfc3339_utc(e.at)},
                   {"actor", e.actor},
                   {"kind", e.kind},
                   {"detail", e.detail},
                   {"internal", e.internal}});
  j["events"] = evs;
  return j;
}

nlohmann::json parsed_json(const parser::ParsedMail& m) {
  auto addrs = [](const std::vector<parser::Address>& v) {
    auto a = nlohmann::json::array();
    for (const auto& x : v) a.push_back(x.email);
    return a;
  };
  auto atts = nlohmann::json::array();
  for (const auto& a : m.attachments)
    atts.push_back({{"filename", a.filename}, {"content_type", a.content_type}, {"size", a.size}});
  return {{"subject", m.subject},
          {"from", m.from.email},
          {"from_name", m.from.name},
          {"to", addrs(m.to)},
          {"cc", addrs(m.cc)},
          {"message_id", m.message_id},
          {"in_reply_to", m.in_reply_to},
          {"references", m.references},
          {"date", m.date_unix ? nlohmann::json(rfc3339_utc(*m.date_unix)) : nlohmann::json()},
          {"automatic", m.automatic ? nlohmann::json(*m.automatic) : nlohmann::json()},
          {"body_text", m.body_text},
          {"new_text", m.new_text},
          {"attachments", atts},
          {"problems", m.problems}};
}

nlohmann::json attachment_json(const store::AttachmentInfo& a) {
  return {{"number", a.number},
          {"filename", a.filename},
          {"content_type", a.content_type},
          {"size", a.size},
          {"inline", a.is_inline},
          {"kept", a.kept},
          {"internal", a.internal},
          {"received_at", rfc3339_utc(a.created_at)}};
}

nlohmann::json estimate_json(const Config& c, const store::Estimate& e, bool for_agent) {
  auto text_or_null = [](const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); };
  nlohmann::json j = {{"id", e.id},
                      {"ticket", ticket_ref(c, e.ticket_id)},
                      {"minutes", e.seconds / 60},
                      {"text", e.text},
                      {"requester", e.requester},
                      {"organisation", e.organisation},
                      {"created_at", rfc3339_utc(e.created_at)},
                      {"state", e.state},
                      {"answered_by", text_or_null(e.answered_by)},
                      {"answered_at", opt_time(e.answered_at)},
                      {"answered_via", text_or_null(e.answered_via)}};
  if (for_agent) {
    j["agent"] = e.agent;
    j["answer_detail"] = e.answer_detail;
  }
  return j;
}

void add_process_json(nlohmann::json& j, store::Transaction& tx, const Config& c, const store::Ticket& t, bool for_agent) {
  auto estimates = nlohmann::json::array();
  for (const auto& e : tx.estimates().estimates_of(t.id)) estimates.push_back(estimate_json(c, e, for_agent));
  j["estimates"] = estimates;
  auto link = tx.incidents().link_of(t.id);
  bool linked = link && !link->unlinked_at;
  j["part_of_major_incident"] = linked;
  if (!for_agent) return;
  j["incident"] = linked ? nlohmann::json(ticket_ref(c, link->incident_id)) : nlohmann::json();
  auto incident = tx.incidents().incident(t.id);
  if (!incident) {
    j["major_incident"] = nullptr;
    return;
  }
  auto refs = nlohmann::json::array();
  for (const auto& l : tx.incidents().links(t.id, false)) refs.push_back(ticket_ref(c, l.ticket_id));
  j["major_incident"] = {{"title", incident->title},
                         {"declared_by", incident->declared_by},
                         {"declared_at", rfc3339_utc(incident->declared_at)},
                         {"organisations", incident->organisations},
                         {"all_organisations", incident->all_organisations},
                         {"alert_keys", incident->alert_keys},
                         {"root_cause", incident->root_cause},
                         {"follow_up", incident->follow_up},
                         {"linked", refs}};
}

std::string json_text(const nlohmann::json& j, int indent) {
  std::string dumped = j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
  // Outside strings the dump is ASCII, so every non-ASCII character here is inside a
  // string, where \uXXXX stands for the same character.
  std::string out;
  out.reserve(dumped.size());
  for (std::size_t i = 0; i < dumped.size();) {
    auto ch = text_detail::decode_utf8(dumped, i);
    // nlohmann escapes C0 itself; DEL and the rest are ours.
    if (ch.len > 0 && ch.cp >= 0x7F && is_terminal_control(ch.cp)) out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(ch.cp));
    else out.append(dumped, i, std::max<std::size_t>(ch.len, 1));
    i += std::max<std::size_t>(ch.len, 1);
  }
  return out;
}

}  // namespace sd
