// store/estimates.h: estimates the customer approves (schema 13, section "estimates"): an
// agent's estimate of work outside the included time, the customer's answer to it, the
// reminders that went out about it once, and the one mail a month that tells an agent an
// organisation's included minutes are used up. The rules (who may answer, when a reminder
// is due) are the desk's: desk/estimates.h. Here is only what is kept.
//
// Contract: every "once" is one conditional write inside the caller's write transaction
// (a unique key), so several daemons, or a daemon and the portal, racing on the same
// estimate cannot both answer it or both send a reminder. A ticket has at most one estimate
// awaiting an answer (a unique index): add_estimate() refuses (StoreError, refused) a second.
#pragma once

#include "store/store.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sd::store {

struct Estimate {
  std::int64_t id = 0;
  std::int64_t ticket_id = 0;
  std::int64_t seconds = 0;  // the work estimated
  std::string text;          // what the work is, in the agent's words
  std::string agent;         // who estimated (an agent's address, or "operator:NAME")
  std::string requester;     // to whom it went: the approval token's recipient (lower case)
  std::string organisation;  // the ticket's, when the estimate was made
  Time created_at = 0;
  // "awaiting", "approved", "declined", or "withdrawn" (the ticket left awaiting-approval
  // another way, or a newer estimate replaced it)
  std::string state = "awaiting";
  std::string answered_by;  // a contact's address, an agent's, or "operator:NAME"; empty while awaiting
  std::optional<Time> answered_at;
  std::string answered_via;   // "mail", "portal", "cli", "system"; empty while awaiting
  std::string answer_detail;  // how it was trusted (token, DMARC, session), the mail's Message-ID
};

class Estimates {
 public:
  // Its id. Throws StoreError (refused) when the ticket has an estimate awaiting an answer.
  virtual std::int64_t add_estimate(const Estimate& e) = 0;
  virtual std::optional<Estimate> estimate(std::int64_t id) = 0;
  virtual std::optional<Estimate> awaiting_estimate(std::int64_t ticket_id) = 0;
  virtual std::vector<Estimate> estimates_of(std::int64_t ticket_id) = 0;  // oldest first
  virtual std::vector<Estimate> awaiting_estimates() = 0;                  // every ticket's, oldest first
  // Estimates answered with `state` in [from, to), oldest answer first (the report's month).
  virtual std::vector<Estimate> estimates_answered(const std::string& state, Time from, Time to) = 0;
  // Sets the answer only while the estimate still awaits one; true when this call set it.
  virtual bool answer_estimate(std::int64_t id, const std::string& state, const std::string& by, Time at,
                               const std::string& via, const std::string& detail) = 0;
  // Records that `kind` ("customer-reminder", "agent-told") went out for the estimate; false
  // when it had been recorded before (nothing changes then).
  virtual bool record_estimate_notice(std::int64_t estimate_id, const std::string& kind, Time at) = 0;
  virtual std::vector<std::string> estimate_notices(std::int64_t estimate_id) = 0;
  // Records that an agent was told the organisation's included minutes of `month` ("YYYY-MM")
  // are used up; false when that was recorded before.
  virtual bool record_allowance_notice(const std::string& organisation, const std::string& month,
                                       std::int64_t ticket_id, const std::string& agent, Time at) = 0;

 protected:
  ~Estimates() = default;
};

}  // namespace sd::store
