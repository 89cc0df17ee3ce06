// desk/estimates.h: estimates the customer approves (seed 000, 2.4: "we will give an estimate
// that must be approved before we go on"; seed 003: "consultancy services are subject to prior
// approval by Customer"). The one module mail (an agent's `#estimate 3h TEXT`, the customer's
// reply), the command line (`ticket estimate`) and the portal (the customer's button) call.
//
// The process: an agent's estimate puts the ticket in awaiting-approval (its SLA clock stands
// still, as pending) and mails the requester the estimate with how to answer: `approve` /
// `godkänn` / `godkend` or `decline` / `avböj` / `afvis` on the first line of a reply, or the
// button on the ticket's page. An approval or a decline is recorded (who, when, how) and told
// to the agent who estimated; either puts the ticket back to open. Without an answer the
// requester is reminded after 5 business days of the ticket's SLA calendar and the agent
// told after 10, each once (the SLA clock's run: desk/sla_clock.cpp). An agent's time that
// takes an organisation past its included minutes of the month (on a ticket that is no
// incident, as `report time` counts) tells the agent that further work needs an approved estimate.
//
// Security (docs/security.md, "Estimates"): From can be forged, so a reply answers an
// estimate only when ALL of these hold, and otherwise changes nothing (it stays an ordinary
// reply on the ticket, with an internal event saying why it did not count):
// - the ticket has an estimate awaiting an answer, and the mail is not automatic;
// - its one From address is a registered contact of the ticket's organisation;
// - it answers the estimate mail's own Reply-To, whose token is an HMAC under the desk's token
//   secret over a purpose of its own ("estimate-approval"), the ticket, the estimate and the
//   requester, unexpired (agents.token_days) and valid for the sender; or, without it, the
//   mail comes with an aligned DMARC (or DKIM) pass of a trusted server
//   (authenticated_by_trusted_server(), the agents' rule);
// - the first non-blank line of its new text (not the quoted part) is one of the words.
// An agent's token is never an approval token and an approval token never an agent's: their
// MACs cover different texts, and the approval address is no plus-address of a ticket's agent
// path (find_plus_address() does not read it). The answer itself is one conditional write,
// so only the first answer counts, whoever races it.
#pragma once

#include "desk/agent_mail.h"
#include "desk/desk.h"
#include "parser/parse.h"
#include "sla/calendar.h"
#include "store/estimates.h"
#include "store/store.h"

#include <tl/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sd {

enum class EstimateAnswer { approve, decline };

// The answer a line gives: exactly one of the words (any case, surrounding spaces and a
// final '.' or '!' ignored): approve, godkänn, godkend; decline, avböj, afvis.
std::optional<EstimateAnswer> estimate_answer_word(std::string_view line);
// The answer of a reply's new text: its first non-blank line only.
std::optional<EstimateAnswer> estimate_answer_in(const std::string& new_text);
std::string_view to_string(EstimateAnswer a);  // "approved", "declined"

// The estimate mail's Reply-To: servicedesk+approve.SD-42.7.<day>.<mac>@example.com for
// estimate 7 of ticket 42 and `requester`, issued at `now`. Without `secret`: when tokens are
// on (agents.token_secret_file) the same address with kSendTimeToken (desk/agent_mail.h) in
// the token's place, for the daemon's outbox to fill in (a process without the secret, the
// portal, made the estimate); when they are off the plain desk address (then only a DMARC
// pass lets a reply count).
std::string estimate_reply_address(const Config& c, const std::string& secret, std::int64_t ticket,
                                   std::int64_t estimate, const std::string& requester, store::Time now);
// `mail` (an estimate mail of ticket `ticket` as an outbox row holds it, to `requester`) with
// that placeholder address in its first Reply-To field replaced by the real one issued at
// `now`, or by the plain desk address when `secret` is empty; nullopt when there is none (as
// fill_send_time_token(): never from the body or another field; the placeholder itself is no
// token check_estimate_token() accepts, its letters are not hex).
std::optional<std::string> fill_send_time_estimate_token(std::string_view mail, const Config& c,
                                                         const std::string& secret, std::int64_t ticket,
                                                         const std::string& requester, store::Time now);
// "<day>.<mac>": 80 bits of HMAC-SHA256 over the purpose, ticket, estimate, recipient and day.
std::string estimate_token(const std::string& secret, const std::string& ticket_ref, std::int64_t estimate,
                           const std::string& recipient, std::int64_t issue_day);

struct EstimateAddress {
  std::int64_t ticket = 0, estimate = 0;
  std::string token;  // "<day>.<mac>"
};
// An approval address of ours among the mail's To and Cc, if any (never Delivered-To).
std::optional<EstimateAddress> find_estimate_address(const Config& c, const parser::ParsedMail& m);
TokenCheck check_estimate_token(const std::string& secret, const std::string& ticket_ref, std::int64_t estimate,
                                const std::string& recipient, const std::string& token, store::Time now,
                                int token_days);

// ---- the agent's estimate ----

struct EstimateRequest {
  std::int64_t seconds = 0;
  std::string text;        // what the work is (the rest of the #estimate line)
  std::string words;       // the agent's words to the customer, if any, above the estimate
  std::string agent;       // who estimates: an agent's address, or "operator:NAME"
  std::string agent_name;  // who speaks in the customer's mail; empty: the desk
  std::vector<std::int64_t> attachment_ids;  // the agent's files for the customer
};

// Why an estimate cannot be made on `t` now (empty: it can): a ticket resolved or closed, one
// without an organisation, a requester who is no registered contact of it (nobody could
// approve), no time, or no text.
std::string estimate_problem(store::Transaction& tx, const store::Ticket& t, const EstimateRequest& r);
// Makes the estimate: a newer estimate replaces one still awaiting an answer (withdrawn),
// the status becomes awaiting-approval through change_ticket(), the requester gets the
// estimate mail (with the ticket's Cc list) and it counts as a response. The estimate's id,
// or why not (estimate_problem()).
tl::expected<std::int64_t, std::string> make_estimate(store::Transaction& tx, const Desk& desk,
                                                      const store::Ticket& t, const EstimateRequest& r,
                                                      store::Time now);

// ---- the customer's answer ----

// Whether a customer's mail on ticket `t` answers its estimate, and why not. `from` is the
// mail's From address (lower case).
struct EstimateReplyVerdict {
  bool counts = false;
  std::optional<EstimateAnswer> answer;  // the word on the first line, if any
  std::optional<store::Estimate> estimate;
  std::string trust;  // counts: "Reply-To token" or "DMARC pass"
  std::string why;    // does not count: why (empty when the mail says no answer at all)
};
EstimateReplyVerdict judge_estimate_reply(store::Transaction& tx, const Desk& desk, const store::Ticket& t,
                                          const parser::ParsedMail& m, const std::string& from, store::Time now);

// A customer's mail on ticket `t` (already stored on it by the caller): when it answers the
// estimate (judge_estimate_reply()), the answer is applied (answer_estimate()) and true is
// returned; else, when it said approve or decline without counting, an internal event and a
// security log line say why, and false (the caller treats it as any reply).
bool take_estimate_reply(store::Transaction& tx, const Desk& desk, const store::Ticket& t, const parser::ParsedMail& m,
                         const std::string& from, store::Time now);

// Records the answer to estimate `estimate_id` of ticket `t` by `by` and `via` ("mail",
// "portal", "cli"), `detail` saying how it was trusted; the ticket goes back to open, the
// agent who estimated is mailed (with `text`, the customer's words, if any). An estimate
// answered before (or withdrawn) is refused, and nothing changes.
tl::expected<void, std::string> answer_estimate(store::Transaction& tx, const Desk& desk, const store::Ticket& t,
                                                std::int64_t estimate_id, EstimateAnswer answer, const std::string& by,
                                                const std::string& via, const std::string& detail,
                                                const std::string& text, store::Time now);

// The portal's button: contact `contact` (a signed-in session's address) answers estimate
// `estimate_id` of ticket `ticket_id`. Refused unless the contact is a registered contact
// of the ticket's organisation and the estimate is the one awaiting an answer.
tl::expected<void, std::string> answer_estimate_on_portal(store::Transaction& tx, const Desk& desk,
                                                          std::int64_t ticket_id, std::int64_t estimate_id,
                                                          const std::string& contact, EstimateAnswer answer,
                                                          store::Time now);

// The ticket left awaiting-approval by another change than an answer (an agent's #status, an
// operator's `ticket set`): its awaiting estimate is withdrawn, which approves nothing. Called
// by change_ticket().
void withdraw_awaiting_estimate(store::Transaction& tx, std::int64_t ticket_id, const std::string& actor,
                                const std::string& why, store::Time now);

// ---- the clock ----

// The instant `days` business days (days with opening hours in `cal`) after `from`, at the
// same local time of day.
store::Time add_business_days(const sla::Calendar& cal, store::Time from, int days);

inline constexpr int kEstimateReminderDays = 5;   // the requester is reminded
inline constexpr int kEstimateAgentToldDays = 10;  // the agent is told

struct EstimateClockResult {
  int fired = 0;
  bool mail_queued = false;
  std::optional<store::Time> next_at;  // the next reminder to come
};
// Inside the SLA clock's write transaction: every reminder that has come, each once.
EstimateClockResult fire_estimate_reminders(store::Transaction& tx, const Desk& desk, store::Time now);

// ---- included minutes ----

// After `added_s` of time was recorded on `t` by `actor`: when it took the organisation past
// its included minutes of this UTC month (time on tickets that are no incident, as `report
// time` counts), the agent (`actor` when an agent, else the assignee, else the team) is told
// once per organisation and month that further work needs an approved estimate.
void note_time_against_allowance(store::Transaction& tx, const Desk& desk, const store::Ticket& t,
                                 std::int64_t added_s, const std::string& actor, store::Time now);

// "3h", "1h30m", "45m": a duration as the estimate mails show it.
std::string estimate_duration(std::int64_t seconds);

}  // namespace sd
