// cli/keep_informed.cpp: see keep_informed.h.
#include "cli/keep_informed.h"

#include "cli/exit_status.h"
#include "core/text.h"
#include "desk/desk.h"
#include "desk/keep_informed.h"
#include "desk/sla_clock.h"

#include <fmt/format.h>

#include <cstdlib>
#include <iostream>

namespace sd {
namespace {

template <class F>
void desk_rule(F&& f) {
  try {
    f();
  } catch (const KeepInformedError& e) {
    throw CommandError(e.malformed ? Failure::usage : Failure::bad_input, e.what());
  }
}

}  // namespace

std::string org_actor(store::Transaction& tx, const std::string& agent) {
  if (!agent.empty()) {
    auto address = lower(agent);
    if (!tx.agent(address))
      throw CommandError(Failure::bad_input,
                         fmt::format("--agent {}: not a registered agent (servicedesk agent add {})", address, address));
    return address;
  }
  const char* user = std::getenv("SUDO_USER") ? std::getenv("SUDO_USER") : std::getenv("USER");
  return std::string("operator:") + (user ? user : "unknown");
}

void cmd_set_account_agent(store::Transaction& tx, const std::string& org, const std::string& address,
                           const std::string& actor, store::Time now) {
  desk_rule([&] { set_account_agent(tx, org, address == "-" ? "" : address, actor, now); });
}

int cmd_org_hypercare(const Config& c, const std::string& action, const std::string& org, int weeks,
                      const std::string& agent) {
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::write);
  auto now = clock_now(c);
  auto actor = org_actor(*tx, agent);
  if (action == "extend") {
    store::Time end = 0;
    desk_rule([&] { end = extend_hypercare(*tx, org, weeks, actor, now); });
    tx->commit();
    std::cout << fmt::format("hypercare of {} extended by {} weeks: it ends after {}\n", org, weeks,
                             utc_day(end - 1));
    return 0;
  }
  desk_rule([&] { end_hypercare(*tx, org, actor, now); });
  tx->commit();
  std::cout << fmt::format("hypercare of {} ended; its new tickets run on the standard SLA\n", org);
  return 0;
}

}  // namespace sd
