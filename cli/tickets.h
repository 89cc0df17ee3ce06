// cli/tickets.h: the commands on tickets: `tickets` (the filtered list), `show`, `attachment
// list` and `attachment get`, and what an agent does without a mail client: `ticket set`,
// `ticket new`, `ticket reply`, `ticket note`.
//
// Contract: as every command (cli/exit_status.h): each returns 0 when it did its job and
// throws when it did not, a CommandError for what it refuses itself (64: an argument of the
// wrong shape; 65: a ticket, attachment, organisation or agent that is not there, or a change
// the desk refuses; 66: a --text-file that cannot be read; 73: `attachment get -o` onto a
// name that exists). Changes go through the desk's rules (desk/ticket_change.h,
// desk/on_behalf.h) in one write transaction, committed only when the desk accepted them.
//
// Security: text from mail (subjects, names, bodies, file names, event details) is printed
// through printable(), so no byte a terminal acts on reaches it. `attachment get` writes the
// bytes exactly as stored, never to a terminal, and never to a path taken from the mail: to
// standard output, or to the -o FILE the operator names, created new (O_CREAT|O_EXCL|
// O_NOFOLLOW, mode 0600): a name that exists, a symbolic link included, is refused.
#pragma once

#include "config/config.h"
#include "store/store.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sd {

// `tickets`' options as given on the command line.
struct TicketListArgs {
  std::vector<std::string> statuses;  // each may be a comma list: "open,pending"
  std::string organisation, assignee, requester, search;
  std::string sort = "newest";  // newest or due
  bool breaching = false;
  int limit = 0, offset = 0;  // 0: no limit
};

// The store query the options ask for; throws CommandError (usage) for a status outside the
// vocabulary, a sort that is neither newest nor due, a negative limit or offset, or an
// address that cannot be one.
store::TicketQuery ticket_query(const TicketListArgs& a);

int cmd_tickets(const Config& c, const TicketListArgs& a, bool as_json);
int cmd_show(const Config& c, const std::string& ref, bool as_json);

int cmd_attachment_list(const Config& c, const std::string& ref, bool as_json);
// out_file empty: standard output (refused when it is a terminal).
int cmd_attachment_get(const Config& c, const std::string& ref, std::int64_t number, const std::string& out_file);

struct TicketChanges {
  std::string status, priority, category, assign, operator_name, text;
  std::string incident;  // --incident SD-100 links the ticket to that major incident; "none" unlinks it
};
int cmd_ticket_set(const Config& c, const std::string& ref, const TicketChanges& ch);

// The words of `ticket new/reply/note`: --text, or --text-file (- for standard input).
struct AgentText {
  std::string text, text_file;
  bool text_given = false;  // --text was on the command line (possibly empty)
};
// The text; throws CommandError: usage when both or (with `required`) neither is given or the
// text is empty, no_input when the file cannot be read.
std::string agent_text(const AgentText& t, bool required);

struct NewTicketArgs {
  std::string requester, requester_name, subject, agent, priority, category;
  AgentText text;
};
int cmd_ticket_new(const Config& c, const NewTicketArgs& a);
// internal_note: `ticket note` (never mailed to the customer); else `ticket reply`.
int cmd_ticket_write(const Config& c, const std::string& ref, const std::string& agent, const AgentText& text,
                     bool internal_note);

// `ticket estimate SD-42 --agent ADDR --time 3h --work TEXT [--text T | --text-file F]`: an
// estimate for the customer to approve (desk/estimates.h), as an agent's #estimate by mail.
struct EstimateArgs {
  std::string agent, time, work;
  AgentText text;  // the agent's words above the estimate (optional)
};
int cmd_ticket_estimate(const Config& c, const std::string& ref, const EstimateArgs& a);
// `ticket estimates SD-42 [--json]`: the ticket's estimates with who answered, when and how.
int cmd_ticket_estimates(const Config& c, const std::string& ref, bool as_json);

}  // namespace sd
