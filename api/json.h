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

// `j` as text with `indent` spaces a level (-1: one line), without a final newline.
std::string json_text(const nlohmann::json& j, int indent = 2);

}  // namespace sd
