// desk/directory.cpp: see directory.h.
#include "desk/directory.h"

#include "core/text.h"
#include "core/vocabulary.h"
#include "sla/calendar.h"

#include <fmt/format.h>

namespace sd {

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
}

void add_contact(store::Transaction& tx, store::Contact contact) {
  contact.email = lower(contact.email);
  if (!plausible_address(contact.email))
    throw DirectoryError(fmt::format("'{}' is not a mail address", contact.email), true);
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
  tx.add_agent(agent);
}

}  // namespace sd
