// cli/keep_informed.h: the commands of keeping customers informed (desk/keep_informed.h):
// an organisation's account agent (`org set --account-agent`) and its hypercare
// (`org hypercare extend ORG --weeks N`, `org hypercare end ORG`).
//
// Contract: who acts is recorded with each change (an organisation event): `--agent ADDR`, a
// registered agent, else the operator ("operator:" + $SUDO_USER, else $USER), as `ticket
// set` names them. Refusals throw CommandError: 64 for a value of the wrong shape, 65 for
// what names nothing there is or the desk refuses (an address that is no agent, an
// organisation without hypercare).
#pragma once

#include "config/config.h"
#include "store/store.h"

#include <string>

namespace sd {

// The actor of an organisation command: `agent` when given (refused unless registered),
// else the operator.
std::string org_actor(store::Transaction& tx, const std::string& agent);

// org set NAME --account-agent ADDR (inside the caller's write transaction; "" or "-" removes it).
void cmd_set_account_agent(store::Transaction& tx, const std::string& org, const std::string& address,
                           const std::string& actor, store::Time now);

// org hypercare extend|end NAME [--weeks N] [--agent ADDR]: prints what it did.
int cmd_org_hypercare(const Config& c, const std::string& action, const std::string& org, int weeks,
                      const std::string& agent);

}  // namespace sd
