// desk/agent_mail.h: how agents work tickets by mail: the Reply-To address with its
// token, the commands at the top of an agent's reply, and whether a mail may run them.
//
// Security (docs/security.md has the whole model): the agent path is decided in one place,
// judge_agent_mail(). A mail runs commands only when its From is a registered agent (exactly
// one From address) and either its plus-address carries a valid, unexpired token (an
// HMAC-SHA256 of ticket, recipient and issue day under agents.token_secret_file) or the
// topmost Authentication-Results header of a trusted authserv-id says DMARC pass for the From
// domain (or DKIM pass with header.d equal to it). Anyone else's mail to a plus-address is an
// ordinary customer mail. Tokens are compared in constant time.
#pragma once

#include "config/config.h"
#include "core/vocabulary.h"
#include "parser/parse.h"
#include "store/store.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sd {

// servicedesk+SD-42.<day>.<mac>@example.com for this ticket and recipient, issued today.
std::string agent_reply_address(const Config& c, const std::string& secret, std::int64_t ticket,
                                const std::string& recipient, store::Time now);
// The first kTokenMacHex hex digits of HMAC-SHA256(secret, data): the MAC of every token the
// desk mails (agents' Reply-To, estimates' approval address).
std::string token_mac_hex(const std::string& secret, const std::string& data);
// Whether two secrets are equal, in time that does not depend on where they differ.
bool same_secret_text(const std::string& a, const std::string& b);
// "<day>.<mac>": the issue day (days since 1970) and 80 bits of HMAC over ticket, recipient and day.
std::string agent_token(const std::string& secret, const std::string& ticket_ref, const std::string& recipient,
                        std::int64_t issue_day);

// Tokens filled in at send time. A process without the token secret (the portal: it holds
// none) queues an agent's Reply-To with this placeholder in the token's place, as long as a
// real token (day digits, a dot, the MAC's hex digits). It is no token: its letters are not
// hex, so check_token() never accepts it. The daemon's outbox, which holds the secret,
// replaces it before sending (fill_send_time_token()).
inline constexpr std::string_view kSendTimeToken = "00000.sendtime0placeholder";
static_assert(kSendTimeToken.size() == kTokenDayDigits + 1 + kTokenMacHex);

// The Reply-To of a mail to agent `recipient` on `ticket`: the plus-address with its token
// when `secret` is here; with kSendTimeToken when tokens are configured
// (agents.token_secret_file) but this process has no secret; the desk's plain address when
// tokens are off.
std::string agent_reply_to(const Config& c, const std::string& secret, std::int64_t ticket,
                           const std::string& recipient, store::Time now);

// `mail` (a composed mail of ours, as an outbox row holds it) with the placeholder address of
// `ticket` in its Reply-To header field replaced by the plus-address with the token for
// `recipient` issued at `now`; with the desk's plain address when `secret` is empty (tokens
// turned off since it was queued, or the secret unreadable). Only the first Reply-To field of
// the header section is read, and only the whole placeholder address of this very ticket is
// replaced: a body, a subject (a folded header line never starts a field) or another field
// that contains the placeholder is left as it is. nullopt: no placeholder there, send the
// mail as it is.
std::optional<std::string> fill_send_time_token(std::string_view mail, const Config& c, const std::string& secret,
                                                std::int64_t ticket, const std::string& recipient, store::Time now);
// Its building blocks, shared with the estimate mail's approval token (desk/estimates.h
// fill_send_time_estimate_token()): the first Reply-To field of the header section (where it
// starts in `mail`, and its text with continuation lines; nullopt when there is none or the
// header section does not end), and `mail` with the whole address `placeholder` in that field
// (as <addr> or a bare addr-spec) replaced by `filled` (nullopt: not there so).
struct ReplyToField {
  std::size_t at = 0;
  std::string_view value;
};
std::optional<ReplyToField> first_reply_to(std::string_view mail);
std::optional<std::string> replace_reply_to_address(std::string_view mail, const std::string& placeholder,
                                                    const std::string& filled);

struct PlusAddress {
  std::int64_t ticket = 0;
  std::string token;  // what follows "SD-42." (empty: none)
};
// The ticket and token of a plus-address of ours among the mail's To and Cc, if any.
// Delivered-To and X-Original-To are not read: a sender can write them.
std::optional<PlusAddress> find_plus_address(const Config& c, const parser::ParsedMail& m);

enum class TokenCheck { valid, expired, wrong };
// `legacy_until`: until when tokens of the format before issue days (20 hex digits) count.
TokenCheck check_token(const std::string& secret, const std::string& ticket_ref, const std::string& recipient,
                       const std::string& token, store::Time now, int token_days,
                       std::optional<store::Time> legacy_until);

// DMARC pass for the From domain (header.from equal to it), or DKIM pass with header.d equal
// to it, in the topmost Authentication-Results header whose authserv-id is trusted; false
// for a mail with more than one From field or address.
bool authenticated_by_trusted_server(const Config& c, const parser::ParsedMail& m);

// What a mail to a ticket's plus-address does (docs/security.md, "The agent path").
enum class AgentPath {
  apply,                 // commands applied, text to the customer
  note_automatic,        // an agent's auto-reply: kept as an internal note, nothing runs
  note_expired,          // kept as an internal note; the agent is told the token expired
  note_unauthenticated,  // kept as an internal note, security event; the agent is told
  customer,              // not from a registered agent: the ordinary customer rules, security event
};
struct AgentMailFacts {
  bool registered_agent = false;  // From is exactly one address, that of a registered agent
  TokenCheck token = TokenCheck::wrong;  // the better of the token for the sender and for the team address
  bool trusted_pass = false;      // authenticated_by_trusted_server()
  bool automatic = false;         // the parser's `automatic`
};
AgentPath judge_agent_mail(const AgentMailFacts& facts);

struct AgentCommands {
  std::optional<std::string> status, priority, category, assign;
  std::int64_t time_s = 0;
  bool note = false;
  bool resolve = false;
  bool attachments = false;         // #attachments: mail me the ticket's files
  struct Cc {
    bool add = true;
    std::string address;
  };
  std::vector<Cc> cc;               // #cc add ADDR, #cc remove ADDR
  // #requester ADDR: open a ticket for this customer (a new mail to the desk address only)
  std::optional<std::string> requester;
  // #estimate 3h TEXT: an estimate for the customer to approve (desk/estimates.h); TEXT keeps its case
  std::int64_t estimate_s = 0;
  std::string estimate_text;
  // Major incidents (desk/incidents.h): #incident new TITLE, #incident SD-100 | none,
  // #incident-key KEY, #incident-orgs all|A,B, #broadcast, #rca TEXT, #followup TEXT (titles
  // and texts keep their case).
  std::optional<std::string> incident_new;
  std::optional<std::string> incident;  // a ticket reference, or "none"
  std::vector<std::string> incident_keys;
  std::optional<std::string> incident_orgs;  // as written; desk/incidents.h parse_organisation_choice()
  bool broadcast = false;
  std::optional<std::string> rca, followup;
  std::string text;                 // the reply without its command lines
  std::vector<std::string> errors;  // what was not understood; non-empty: apply nothing
};
AgentCommands parse_agent_commands(const std::string& new_text);
// "1h30m", "1h 30 min", "15m", "2h", "90" (minutes) -> seconds, as #time reads it; nullopt when
// malformed, above 1000 hours or 100,000 minutes.
std::optional<std::int64_t> parse_duration(const std::string& s);
// The statuses an agent may set by #status, `ticket set --status` and the portal: every one but
// "new" (a ticket an agent has touched is no longer new) and "awaiting-approval" (only an
// estimate sets it: desk/estimates.h).
bool settable_status(Status s);
// The commands with their arguments, as agents' mails list them (generated from the table
// parse_agent_commands() reads by).
std::string agent_commands_help();


}  // namespace sd
