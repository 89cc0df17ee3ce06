// daemon/json.h: the JSON that `servicedesk ... --json` prints. Field names are an
// interface other tools drive: add fields, never rename them.
#pragma once

#include "daemon/config.h"
#include "daemon/sla_clock.h"
#include "parser/parse.h"
#include "store/store.h"

#include <nlohmann/json.hpp>

namespace sd {

std::string rfc3339_utc(store::Time t);  // "2026-11-22T06:20:00Z"
nlohmann::json ticket_json(const Config& c, const store::Ticket& t, const TicketSla& sla);
nlohmann::json ticket_detail_json(const Config& c, const store::Ticket& t, const TicketSla& sla,
                                  const std::vector<store::MessageRecord>& messages, const std::vector<store::Event>& events);
nlohmann::json parsed_json(const parser::ParsedMail& m);

}  // namespace sd
