// api/json.h: the JSON that `servicedesk ... --json` prints. Field names are an
// interface other tools drive: add fields, never rename them.
//
// Security: print JSON with json_text(), not dump(). Strings hold what a mail said, and
// they stay exact for the programs that read them; but invalid UTF-8 (a ticket stored by an
// older version that cut a note mid-character) becomes U+FFFD instead of throwing, so every
// ticket can be shown, and C1 controls, bidi controls and U+2028/U+2029 are written as
// \uXXXX escapes (the same string to a JSON reader) so that the output is also safe when a
// person reads it on a terminal.
#pragma once

#include "config/config.h"
#include "desk/sla_clock.h"
#include "parser/parse.h"
#include "store/estimates.h"
#include "store/store.h"

#include <nlohmann/json.hpp>

namespace sd {

std::string rfc3339_utc(store::Time t);  // "2026-11-22T06:20:00Z"
nlohmann::json ticket_json(const Config& c, const store::Ticket& t, const TicketSla& sla);
nlohmann::json ticket_detail_json(const Config& c, const store::Ticket& t, const TicketSla& sla,
                                  const std::vector<store::MessageRecord>& messages, const std::vector<store::Event>& events);
nlohmann::json parsed_json(const parser::ParsedMail& m);
// One of a ticket's attachments as `attachment list --json` shows it (metadata, no bytes);
// `number` is the one `attachment get` and the portal take.
nlohmann::json attachment_json(const store::AttachmentInfo& a);

// One estimate (desk/estimates.h) as `ticket estimates --json` shows it. `for_agent` false
// (the portal's API to a contact): without the agent's address and answer_detail, which say
// how the answer was trusted.
nlohmann::json estimate_json(const Config& c, const store::Estimate& e, bool for_agent = true);
// The seeds' processes on ticket `t`, added to its detail (`show --json`, GET /api/tickets/REF):
// - "estimates": its estimates, oldest first (estimate_json());
// - "part_of_major_incident": whether it is linked to a major incident now;
// - agents only: "incident" (the linked incident's id, or null) and "major_incident" (null, or
//   when the ticket is one: title, declared_by, declared_at, organisations, all_organisations,
//   alert_keys, root_cause, follow_up, linked: the ids linked now). A contact learns only that
//   their ticket is part of one, as on the portal's page.
void add_process_json(nlohmann::json& j, store::Transaction& tx, const Config& c, const store::Ticket& t, bool for_agent);

// `j` as text with `indent` spaces a level (-1: one line), without a final newline.
std::string json_text(const nlohmann::json& j, int indent = 2);

}  // namespace sd
