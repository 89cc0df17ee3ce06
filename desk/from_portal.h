// desk/from_portal.h: what the web portal (portal/) asks of the desk: a customer's reply or
// new ticket, an agent's answer, note or change, and the sign-in mail with its link. The
// portal only calls these; the desk's rules stay here.
//
// Contract: each runs inside the caller's write transaction and queues its mails in the
// outbox there; the caller commits (and wakes the daemon's outbox). An error is text for the
// visitor's page (an unknown contact, agent or ticket, a ticket they may not join, an empty
// text), and then nothing was changed.
//
// - customer_writes() is the same desk path as a mail from that contact
//   (desk/ingest.cpp's steps: thread rules, may_join(), reopen, intake rules, acknowledgement,
//   the agents' notification with the files up to notify.attach_max_bytes). The message is
//   marked as the portal's: a generated Message-ID <portal.RANDOM@service-domain> (so mail
//   replies thread on it) and an event "message" (or "created") with detail "portal". The
//   customer can never set the priority.
// - agent_works() goes through change_ticket(), the one state machine, exactly as an agent's
//   mail with commands does; its files are stored on the agent's message and carried to the
//   customer's mail; a note is never mailed to the customer. On a major incident's own ticket
//   it does what the mail path does (desk/incidents.h incident_update_by_agent()): the words
//   are kept as an internal note (unless they resolve it) and go to its other agents, and to
//   everyone it affects only with `broadcast`.
// - queue_login_link() queues the sign-in mail (outbox kind "login-link", Auto-Submitted:
//   auto-generated) on no ticket; the store blanks such rows' bytes once sent.
//
// Security: `contact` and `agent` are the portal's signed-in visitor, whose session the
// portal checked; they are looked up again here (a contact removed meanwhile is refused).
// Uploads are hostile: their names are kept as text only (never a path), their sizes are
// bounded by limits.max_attachment_bytes (a larger file keeps its name and size, not its
// bytes, as in a mail) and their number by limits.max_parts. The portal holds no token
// secret: agents' notifications it queues carry a placeholder token that the daemon's outbox
// fills in at send time (desk/agent_mail.h, fill_reply_to_token()).
#pragma once

#include "core/vocabulary.h"
#include "desk/desk.h"
#include "desk/ticket_change.h"
#include "parser/parse.h"
#include "store/store.h"

#include <tl/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sd {

// One file from a form (multipart/form-data), as the browser sent it.
struct Upload {
  std::string filename, content_type, data;
};

// A contact's reply on a ticket, or their new ticket.
struct CustomerWrite {
  std::string contact;                  // a registered contact's address (the portal's signed-in visitor)
  std::optional<std::int64_t> ticket_id;  // reply on it; nullopt: a new ticket
  std::string subject;                  // a new ticket's; ignored for a reply
  std::string text;
  std::optional<Category> category;     // a new ticket's; the priority is never the customer's
  std::vector<Upload> files;
};

// Returns the ticket's id (the one replied on, or the new one).
tl::expected<std::int64_t, std::string> customer_writes(store::Transaction& tx, const Desk& desk,
                                                        const CustomerWrite& w, store::Time now);

// An agent's answer or internal note on a ticket, with the changes a mail's commands make.
struct AgentWrite {
  std::string agent;  // a registered agent's address (the portal's signed-in visitor)
  std::int64_t ticket_id = 0;
  std::string text;
  bool note = false;    // an internal note: never mailed to the customer
  // On a major incident's own ticket: the words to everyone it affects, as #broadcast by mail.
  // Refused on a ticket that is no incident, with a note, or without words.
  bool broadcast = false;
  TicketChange change;  // status, priority, category, assignee, time_s: the same as mail commands
  std::vector<Upload> files;
};

tl::expected<ChangeOutcome, std::string> agent_works(store::Transaction& tx, const Desk& desk, const AgentWrite& w,
                                                     store::Time now);

// An agent's estimate from the ticket's page: `duration` as #estimate and `ticket estimate
// --time` read it (parse_duration(): "3h", "90m", "1h30m", "90" minutes), `text` what the work
// is (one line). The same desk function as both (desk/estimates.h make_estimate(), whose
// refusals are returned: a ticket resolved or closed, no organisation, a requester who is no
// contact of it); a newer estimate replaces one still awaiting an answer, as by mail. The
// estimate's id.
tl::expected<std::int64_t, std::string> agent_estimates(store::Transaction& tx, const Desk& desk,
                                                        std::int64_t ticket_id, const std::string& agent,
                                                        const std::string& duration, const std::string& text,
                                                        store::Time now);

// The sign-in mail to `email` (a registered contact or agent; the portal decides that and
// the rate): the link, valid `minutes`, in `language` (en, sv, da; else English).
void queue_login_link(store::Transaction& tx, const Desk& desk, const std::string& email, const std::string& name,
                      const std::string& language, const std::string& link, int minutes, store::Time now);

// The ticket's page on the portal, "{base_url}/tickets/SD-42"; "" when portal.base_url is unset.
std::string portal_link(const Config& c, std::int64_t ticket);
// A major incident's report on the portal (agents), "{base_url}/incidents/SD-100/report"; ""
// when portal.base_url is unset.
std::string portal_incident_report_link(const Config& c, std::int64_t incident);

// Building blocks, shared by customer_writes() (desk/ingest.cpp) and agent_works(), and tested.
// A form's text as the desk keeps a mail's: UTF-8 (a byte that is not becomes U+FFFD), line
// ends LF (browsers send CRLF), no controls but tab and newline.
std::string form_text(std::string_view text);
// A one-line field (a subject): form_text() on one line, trimmed, at most `max_bytes` bytes.
std::string form_line(std::string_view text, std::size_t max_bytes);
// Uploads as a mail's attachments under the mail's limits (see Security above); an error when
// there are more than limits.max_parts - 1 or they and the text pass limits.max_message_bytes.
tl::expected<std::vector<parser::Attachment>, std::string> uploads_as_attachments(const Config& c,
                                                                                    const std::vector<Upload>& files,
                                                                                    std::size_t text_bytes);
// "portal.RANDOM@our-domain": a portal message's own Message-ID (128 random bits).
std::string portal_message_id(const Config& c);

}  // namespace sd
