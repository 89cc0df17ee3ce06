// store/keep_informed.h: what keeping customers informed on long cases needs kept (issue 16,
// seed 000 2.7, seed 003 hypercare): the agents' last words to a ticket's customer, an
// organisation's account agent, its own events (hypercare extended or ended, by whom and
// when) and the mailings to it that must go once (the hypercare confirmation, the weekly
// summaries).
//
// Contract: the store records what it is told; which mail is due and who gets it is
// desk/keep_informed.h's. record_org_mailing() is one conditional insert inside the caller's
// write transaction: of several daemons whose clocks run at once, one records a mailing and
// the others see false, so the mail is queued once.
#pragma once

#include "store/store.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sd::store {

// Something that happened to an organisation (not to one ticket): "hypercare-extended",
// "hypercare-ended", "account-agent", "hypercare-confirmation-asked", "hypercare-summary".
struct OrgEvent {
  std::string organisation;  // name
  Time at = 0;
  std::string actor;  // an agent's address, "operator:NAME", "system"
  std::string kind;
  std::string detail;
};

// The words an agent last sent a ticket's customer (the agent's own text of a reply or
// status mail; never an internal note).
struct CustomerWords {
  Time at = 0;
  std::string agent;  // as the customer saw it signed; empty: the desk
  std::string words;
};

class KeepInformed {
 public:
  // The organisation's account agent's address; "" when it has none (or no such organisation).
  virtual std::string account_agent(const std::string& organisation) = 0;
  // "" removes it. Throws StoreError (refused) for an unknown organisation.
  virtual void set_account_agent(const std::string& organisation, const std::string& agent) = 0;
  // Throws StoreError (refused) for an unknown organisation.
  virtual void add_org_event(const OrgEvent& e) = 0;
  virtual std::vector<OrgEvent> org_events(const std::string& organisation) = 0;  // oldest first
  // Records that `mailing` (a key the caller builds, e.g. "hypercare-summary:2026-11-09")
  // went to the organisation; true the first time, false ever after (nothing changes then).
  // Throws StoreError (refused) for an unknown organisation.
  virtual bool record_org_mailing(const std::string& organisation, const std::string& mailing, Time at) = 0;
  virtual void set_customer_words(std::int64_t ticket_id, const CustomerWords& w) = 0;
  virtual std::optional<CustomerWords> customer_words(std::int64_t ticket_id) = 0;
  // When the ticket's customer last had news from a person at the desk: its newest "out"
  // message that is neither automatic nor internal; nullopt when none. One indexed query, so
  // the SLA clock does not read every open ticket's messages on each run.
  virtual std::optional<Time> last_customer_update(std::int64_t ticket_id) = 0;
  // The organisation's tickets resolved in [from, to) (resolved_at), by resolution time.
  virtual std::vector<std::int64_t> tickets_resolved(const std::string& organisation, Time from, Time to) = 0;

 protected:
  ~KeepInformed() = default;
};

}  // namespace sd::store
