// desk/keep_informed.h: keeping customers informed on long cases (seed 000, 2.7: "if the case
// takes long to resolve we keep the customer informed of the latest status until it is
// resolved"; seed 003, hypercare: "regular updates ... regarding ... issues encountered and
// their resolution status", and it "concludes when the system has been operational for 2
// weeks and both parties agree").
//
// Rules:
// - Customer updates: a ticket whose SLA has `customer_update_hours` for its priority and
//   that has had no customer-visible update from the desk for that long (business hours of
//   its SLA's calendar, counted as the agents' `update_hours` reminder is: from the last
//   mail to the customer that a person sent, else from the ticket's start; pauses after it
//   stand the clock still) gets one automatic mail (template customer-update, in the
//   customer's language) to its requester and Cc list, with its status and the agents'
//   last words to the customer. Once per silence: the mail is automatic, so it does not
//   start a new silence; the next one starts with the next agent's mail. Not for pending,
//   resolved or closed tickets; an automatic requester (a monitoring system: an alert, or
//   automatic mail) is left out, its Cc list still hears. The SLA clock fires it
//   (desk/sla_clock.cpp) with the unique key of its SLA events ("customer-update:<start of
//   the silence>"), inside the write transaction, so several daemons send it once.
// - The agents' last words: what an agent's reply or status mail said to the customer
//   (mail_customer() with words keeps them, remember_customer_words()); an internal note
//   never goes through it, so it can never be quoted to a customer.
// - Account agent: an organisation's agent for hypercare (`org set --account-agent`), a
//   registered agent.
// - Hypercare: still ends by itself at the end of the agreed weeks (sla_clock.cpp). A week
//   before that end the account agent, else agents.team_address, else sla.agents_address,
//   else every registered agent, is asked by mail (hypercare-confirm) to confirm or extend;
//   once per end, so an extension asks again a week before the new end. `org hypercare
//   extend --weeks N` and `org hypercare end` (early, by agreement) record who and when as
//   organisation events. While it lasts, every `kHypercareWeek` after its start each
//   contact gets a summary (hypercare-summary, the organisation's language) of the tickets
//   they may see (desk/visibility.h): those open, and those resolved that week; once per
//   week across restarts and daemons (store KeepInformed::record_org_mailing); after a
//   long downtime only the latest week's.
#pragma once

#include "desk/desk.h"
#include "store/keep_informed.h"
#include "store/store.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sd {

inline constexpr store::Time kHypercareWeek = 7 * 86400;

// --- customer updates -----------------------------------------------------------------

// When the desk last gave the ticket's customer news: its newest "out" message that a
// person sent (not automatic, not internal); nullopt when none (store KeepInformed).
std::optional<store::Time> last_customer_update(store::Transaction& tx, std::int64_t ticket_id);

// Whether the ticket's requester is a machine: a monitoring alert (an alert key, unless the
// requester is a registered contact), a requester whose mail on it was automatic (RFC 3834
// and the parser's other signs), or a mailer-daemon or postmaster address. Customer updates,
// weekly summaries and major incidents' mails all leave them out.
bool automatic_requester(store::Transaction& tx, const store::Ticket& t);

// Keeps `words`, an agent's (or the desk's) text of a mail to the customer, as the ticket's
// last words to them. Empty words keep nothing.
void remember_customer_words(store::Transaction& tx, std::int64_t ticket_id, const std::string& agent_name,
                             const std::string& words, store::Time now);

// The customer-update mail of ticket `t` after a silence since `since`: queued to the
// requester (unless automatic) and the Cc list; an event says who or why nobody. True when
// a mail was queued.
bool mail_customer_update(store::Transaction& tx, const Desk& desk, const store::Ticket& t, store::Time since,
                          store::Time now);

// --- account agent and hypercare --------------------------------------------------------

// What the desk refuses: `malformed` for a value of the wrong shape, else a rule (not an
// agent, no such organisation, no hypercare to extend or end).
struct KeepInformedError : std::runtime_error {
  KeepInformedError(const std::string& what, bool malformed_) : std::runtime_error(what), malformed(malformed_) {}
  bool malformed;
};

// Sets the organisation's account agent (a registered agent; "" removes it), with an event.
void set_account_agent(store::Transaction& tx, const std::string& organisation, const std::string& agent,
                       const std::string& actor, store::Time now);

// Who is asked to confirm or extend the organisation's hypercare: its account agent while
// registered, else agents.team_address, else sla.agents_address, else every registered agent.
std::vector<std::string> hypercare_recipients(store::Transaction& tx, const Config& c, const std::string& organisation);

// Extends a hypercare that has not ended by `weeks` (1..520); returns the new end.
store::Time extend_hypercare(store::Transaction& tx, const std::string& organisation, int weeks,
                             const std::string& actor, store::Time now);
// Ends a hypercare that is running now (early, by agreement): from `now` its new tickets run
// on the standard SLA.
void end_hypercare(store::Transaction& tx, const std::string& organisation, const std::string& actor,
                   store::Time now);

struct KeepInformedRun {
  bool mail_queued = false;
  std::optional<store::Time> next_at;  // the next confirmation or summary to come
};
// The clock's part for organisations: the confirmation a week before each hypercare's end
// and the weekly summaries that have come, inside the clock's write transaction.
KeepInformedRun keep_organisations_informed(store::Transaction& tx, const Desk& desk, store::Time now);

// "2026-12-14": the day of a UTC instant.
std::string utc_day(store::Time t);

}  // namespace sd
