// desk/directory.cpp: see directory.h.
#include "desk/directory.h"

#include "core/text.h"
#include "core/vocabulary.h"
#include "sla/calendar.h"

#include <fmt/format.h>

namespace sd {

namespace {

bool is_org_visibility(const std::string& v) { return v == "organisation" || v == "own"; }
bool is_contact_visibility(const std::string& v) { return v == "inherit" || is_org_visibility(v); }

}  // namespace

bool plausible_address(const std::string& a) {
  auto at = a.find('@');
  return at != std::string::npos && at > 0 && at + 1 < a.size() && a.find_first_of(" <>,;\r\n") == std::string::npos;
}

void check_organisation(const Config& c, const store::Organisation& o) {
  if (!o.sla.empty() && !c.slas.count(o.sla)) throw DirectoryError(fmt::format("no SLA named '{}' in the config", o.sla), false);
  if (!o.language.empty() && !is_named(kLanguages, o.language))
    throw DirectoryError(fmt::format("--language must be {}", names_of(kLanguages, ", ")), true);
  if (!o.hypercare_start.empty() && !sla::parse_rfc3339(o.hypercare_start + "T00:00:00Z"))
    throw DirectoryError("--hypercare-start must be a date like 2026-11-01", true);
  if (!o.visibility.empty() && !is_org_visibility(o.visibility))
    throw DirectoryError("--visibility must be organisation or own", true);
}

void add_contact(store::Transaction& tx, store::Contact contact) {
  contact.email = lower(contact.email);
  if (!plausible_address(contact.email))
    throw DirectoryError(fmt::format("'{}' is not a mail address", contact.email), true);
  if (contact.visibility.empty()) contact.visibility = "inherit";
  if (!is_contact_visibility(contact.visibility))
    throw DirectoryError("--visibility must be organisation, own or inherit", true);
  if (tx.agent(contact.email))
    throw DirectoryError(fmt::format("{} is an agent; an address is a contact or an agent, never both "
                                     "(servicedesk agent remove {} first)",
                                     contact.email, contact.email),
                         false);
  if (!tx.organisation(contact.organisation))
    throw DirectoryError(fmt::format("no organisation '{}'", contact.organisation), false);
  if (tx.contacts(contact.organisation).size() >= kMaxContacts)
    throw DirectoryError(fmt::format("organisation '{}' has {} contacts already, the most allowed; remove one first "
                                     "(servicedesk contact remove EMAIL)",
                                     contact.organisation, kMaxContacts),
                         false);
  tx.add_contact(contact);
}

void add_agent(store::Transaction& tx, store::Agent agent) {
  agent.email = lower(agent.email);
  if (!plausible_address(agent.email)) throw DirectoryError(fmt::format("'{}' is not a mail address", agent.email), true);
  if (auto c = tx.contact(agent.email))
    throw DirectoryError(fmt::format("{} is a contact of '{}'; an address is a contact or an agent, never both "
                                     "(servicedesk contact remove {} first)",
                                     agent.email, c->organisation, agent.email),
                         false);
  tx.add_agent(agent);
}

store::Contact set_contact(store::Transaction& tx, const std::string& email, const std::optional<std::string>& organisation,
                           const std::optional<std::string>& visibility) {
  auto address = lower(email);
  auto c = tx.contact(address);
  if (!c) throw DirectoryError(fmt::format("no contact {}", address), false);
  if (visibility) {
    if (!is_contact_visibility(*visibility))
      throw DirectoryError("--visibility must be organisation, own or inherit", true);
    c->visibility = *visibility;
  }
  bool moved = organisation && *organisation != c->organisation;
  if (moved) {
    if (!tx.organisation(*organisation)) throw DirectoryError(fmt::format("no organisation '{}'", *organisation), false);
    if (tx.contacts(*organisation).size() >= kMaxContacts)
      throw DirectoryError(fmt::format("organisation '{}' has {} contacts already, the most allowed; remove one first "
                                       "(servicedesk contact remove EMAIL)",
                                       *organisation, kMaxContacts),
                           false);
    c->organisation = *organisation;
  }
  tx.update_contact(*c);
  // A session opened as a contact of the old organisation must not go on showing its tickets.
  if (moved) tx.remove_sessions_of(address);
  return *c;
}

bool remove_contact(store::Transaction& tx, const std::string& email) {
  auto address = lower(email);
  if (!tx.remove_contact(address)) return false;
  tx.remove_sessions_of(address);
  return true;
}

bool remove_agent(store::Transaction& tx, const std::string& email) {
  auto address = lower(email);
  if (!tx.remove_agent(address)) return false;
  tx.remove_sessions_of(address);
  return true;
}

}  // namespace sd
