// daemon/agent_mail.h: how agents work tickets by mail: the Reply-To address with its
// token, the commands at the top of an agent's reply, and whether a mail may run them.
//
// Security: a command counts only from a registered agent whose reply carries a valid
// token (an HMAC-SHA256 of ticket and recipient under the secret in
// agents.token_secret_file), or whose mail a trusted server's Authentication-Results
// marks as DMARC (or aligned DKIM) pass. Tokens are compared in constant time.
#pragma once

#include "daemon/config.h"
#include "parser/parse.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sd {

// servicedesk+SD-42.<token>@example.com for this ticket and recipient.
std::string agent_reply_address(const Config& c, const std::string& secret, std::int64_t ticket, const std::string& recipient);
std::string agent_token(const std::string& secret, const std::string& ticket_ref, const std::string& recipient);

struct PlusAddress {
  std::int64_t ticket = 0;
  std::string token;
};
// The ticket and token of a plus-address of ours among the mail's recipients, if any.
std::optional<PlusAddress> find_plus_address(const Config& c, const parser::ParsedMail& m);

bool token_valid(const std::string& secret, const std::string& ticket_ref, const std::string& recipient,
                 const std::string& token);

// DMARC pass (or DKIM pass for the From domain) in an Authentication-Results header from a trusted server.
bool authenticated_by_trusted_server(const Config& c, const parser::ParsedMail& m);

struct AgentCommands {
  std::optional<std::string> status, priority, category, assign;
  std::int64_t time_s = 0;
  bool note = false;
  bool resolve = false;
  std::string text;                 // the reply without its command lines
  std::vector<std::string> errors;  // what was not understood; non-empty: apply nothing
};
AgentCommands parse_agent_commands(const std::string& new_text);

std::string token_secret(const Config& c);  // empty when tokens are not configured

}  // namespace sd
