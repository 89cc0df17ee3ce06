// portal/pages.h: the portal's HTML pages: data in, a whole HTML document out. No store, no
// HTTP: portal/app.cpp reads the store, decides who may see what, and passes only that here.
//
// Contract: every page is a complete UTF-8 HTML5 document in the visitor's language
// (PageContext::language, texts from PageContext::texts or the built-in ones), with one
// stylesheet (/static/portal.css, portal_css()) and no script, no inline style and no
// external resource, so it works without JavaScript under the portal's Content-Security-Policy
// (default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';
// frame-ancestors 'none'; base-uri 'none'). Pages show what they are given: a contact's
// TicketView must hold only customer-visible messages, attachments and events (the caller
// filters); the contact's pages never offer a priority field or internal notes.
//
// The forms (the names are what app.cpp reads; every POST form carries a hidden `csrf`):
//   POST /login                  email, csrf (the pre-session double-submit token)
//   POST /login/{token}          csrf (the pre-session token); GET /login/{token} only shows it
//   POST /logout                 csrf
//   GET  /tickets                status, q (search), page; for agents also organisation,
//                                assignee (an address, or "me"), mine=1, breaching=1
//   POST /tickets                multipart/form-data: subject, text, category (optional),
//                                files (several), csrf, form_key
//   POST /tickets/{REF}/reply    multipart/form-data: text, files (several), csrf, form_key;
//                                for agents also status (open|pending|resolved|closed),
//                                priority, category (core/vocabulary.h names), assign (an
//                                agent's address or "me"), time_minutes (whole minutes), note=1
//                                (an internal note), and on a major incident's own ticket
//                                broadcast=1 (the words to everyone it affects, as #broadcast;
//                                never with note=1); an empty value changes nothing, as an
//                                absent mail command does (desk/agent_mail.cpp's table).
//   POST /tickets/{REF}/estimate contacts: estimate (its id), answer=approve|decline, csrf,
//                                form_key; agents: duration ("3h", "90m", "1h30m", as
//                                #estimate), text (what the work is), csrf, form_key
//   POST /tickets/{REF}/incident agents: incident (SD-100, or none), csrf, form_key
//   POST /incidents              agents: title, from (a ref), alert_key, orgs (all, or A,B),
//                                csrf, form_key
//   GET  /incidents              agents: the major incidents, newest first (no form)
//   attachments: GET /tickets/{REF}/attachments/{N}; the incident report (agents):
//   GET /incidents/{REF}/report, reports/incident_report.h's own document, served by app.cpp
//   under a policy of its own (its inline <style>); pages.cpp only links to it.
//
// Security: every value from the store or a visitor (subjects, names, addresses, message
// text, file names, filter values, the operator's texts) is HTML-escaped, attributes are
// always double-quoted, and URLs are built only from ticket refs ("SD-42": refs not of the
// form PREFIX-digits are not linked) and numbers we generate, with query values
// percent-encoded. Nothing from a mail can become markup.
#pragma once

#include "portal/page_texts.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sd::portal {

struct PageContext {
  std::string language = "en";            // en, sv, da (pick_language())
  std::string visitor_name, visitor_email;  // both empty: signed out
  bool agent = false;
  std::string csrf;  // the session's CSRF token: the hidden `csrf` of every form of a signed-in page
  std::string service_name;  // e.g. "Example IT service desk"; empty: the text "Service desk"
  std::string ticket_prefix = "SD";
  const PageTextSet* texts = nullptr;  // the loaded texts (load_page_texts()); nullptr: built-in
};

// An option of a <select>: what is sent and what is shown.
struct Choice {
  std::string value, label;
};

// One row of a ticket list. Texts are shown as given (times already in the visitor's zone).
struct TicketRow {
  std::string ref;  // "SD-42"
  std::string subject;
  std::string status, priority, category;  // vocabulary names; shown translated
  std::string created;                     // e.g. "2026-12-02 14:05"
  std::string sla_state;                   // ok, warning, breached, met, paused; empty: no SLA
  std::string sla_due;                     // the next due time as text; empty: none
  std::string resolution;
  std::string organisation;
  std::string assignee;  // display name (shown to agents only); empty: unassigned
};

// The filters of a list, as the visitor sent them (and as the links keep them).
struct TicketFilters {
  std::string status;  // one vocabulary name, or empty (for agents: the open ones)
  std::string search;  // query field q
  // Agents only:
  std::string organisation;
  std::string assignee;  // an agent's address or "me"
  bool mine = false;
  bool breaching = false;
};

// Maintenance a contact's organisation is told of (desk/notices.h): a coming notice, or a
// recurring service window. Texts as given (times already in the visitor's zone).
struct MaintenanceItem {
  std::string kind;  // a notice's kind in words ("Infrastructure maintenance"), shown as given
  std::string when;  // "Saturday 5 December 2026, 09:00 CET - 18:00 CET"
  std::string text;  // a notice's text (multi-line); empty for a window
  bool in_progress = false;
};

struct TicketListView {
  std::vector<TicketRow> rows;  // this page's, at most page_size
  int page = 1;                 // 1-based
  std::int64_t total = 0;       // all matching tickets, or with `more` a lower bound
  bool more = false;            // more than `total` match: the count stopped there
  int page_size = 50;
  TicketFilters filters;
  // Agents' filter choices; empty: a text field instead of a select.
  std::vector<Choice> organisations;  // value: organisation name
  std::vector<Choice> agents;         // value: address, label: display name
  std::string notice;                 // e.g. "Ticket SD-42 was opened"; empty: none
  // Contacts: their organisation's coming maintenance notices and the service windows;
  // both empty: no such section.
  std::vector<MaintenanceItem> maintenance_notices, maintenance_windows;
};

struct AttachmentLink {
  std::int64_t number = 0;  // the ticket's attachment number: /tickets/REF/attachments/N
  std::string filename;
  std::string content_type;
  std::int64_t size = 0;
  bool kept = true;  // false: only its name was kept (no link)
};

struct ThreadMessage {
  std::string from_name, from_addr;
  std::string date;  // as text, in the visitor's zone
  std::string text;  // plain text, shown with its line breaks
  bool internal = false;  // an internal note (only ever passed for agents)
  bool from_desk = false;  // written by an agent / sent by the desk
  std::vector<AttachmentLink> attachments;
};

// An event of the ticket's history (agents; for contacts at most status changes).
struct ThreadEvent {
  std::string at;  // as text
  std::string actor, kind, detail;
};

struct TicketView {
  std::string ref;  // "SD-42"
  std::string subject;
  std::string status, priority, category;
  std::string created, updated;
  std::string requester;  // display name and address as text, e.g. "Anna Svensson <anna@example.com>"
  std::string organisation;
  std::string assignee;  // display name; empty: unassigned
  std::string sla_state, sla_due;
  std::string resolution;
  std::int64_t time_spent_s = 0;  // shown to agents
  std::vector<ThreadMessage> messages;  // oldest first
  std::vector<ThreadEvent> events;      // oldest first; empty: no history section
  std::vector<AttachmentLink> attachments;  // all of the ticket's the visitor may see
  std::string form_key;                 // the reply form's one-time key
  std::vector<Choice> agents;           // for the agent's assign select; empty: a text field
  std::string notice;                   // e.g. "Your reply was added"
  std::vector<std::string> errors;      // why the last post was refused, shown above the form
  std::string draft_text;               // the refused post's text, put back into the form
  // The estimate awaiting the customer's approval (desk/estimates.h), if any; `can_answer`:
  // the visitor is a registered contact of the ticket's organisation, who gets the buttons.
  struct Estimate {
    std::int64_t id = 0;
    std::string time, text, created;
    bool can_answer = false;
  };
  std::optional<Estimate> estimate;
  // Major incidents (desk/incidents.h). A contact sees only that the ticket is part of one;
  // agents see which, and get the forms that link, unlink and declare (POST, CSRF, form key).
  bool part_of_incident = false;
  std::string incident_ref;             // agents only: the incident it is linked to, e.g. "SD-100"
  bool is_incident = false;             // agents only: this ticket is a major incident (its report is linked)
  // Agents: the form for a new estimate (duration, text); its refusal and what was sent.
  bool can_estimate = false;
  std::vector<std::string> estimate_errors;
  struct EstimateDraft {
    std::string duration, text;
  } estimate_draft;
  // The organisation's hypercare (desk/sla_clock.h hypercare_period()): agents are given it
  // whenever the organisation has one, contacts only while it runs.
  struct Hypercare {
    std::string last_day;     // "2026-12-14": its last day
    std::string ended_early;  // when it was ended early by agreement, as text; empty: it was not
    bool running = false;     // now within it
    bool over = false;        // it has ended
  };
  std::optional<Hypercare> hypercare;
  std::string account_agent;  // agents only: the organisation's account agent (display name); empty: none
};

// One major incident of GET /incidents (agents). Texts as given (times in the visitor's zone).
struct IncidentRow {
  std::string ref;  // its ticket, "SD-100": linked to the ticket's page and to its report
  std::string title;
  std::string status;  // its ticket's, a vocabulary name
  std::string declared;
  std::int64_t linked = 0;                 // tickets linked to it now
  std::vector<std::string> organisations;  // affected (desk/incidents.h affected_organisations())
};
struct IncidentListView {
  std::vector<IncidentRow> rows;  // newest first
  bool more = false;              // older ones exist that are not shown
};

struct NewTicketView {
  std::vector<std::string> categories;  // vocabulary names offered; empty: the field is left out
  std::string form_key;
  std::vector<std::string> errors;
  std::string subject, text, category;  // a refused post's values, put back
};

// GET /login (and POST /login's answer): the one-field form; `message` is shown above it
// (e.g. "if this address is registered, a link is on its way"), empty: none.
std::string login_page(const PageContext& ctx, const std::string& csrf, const std::string& message);

// GET /login/{token}: a "Sign in" button that POSTs to /login/{token}. The page changes
// nothing: mail scanners that fetch the link do not use it. `token` is put into the URL
// percent-encoded.
std::string login_link_page(const PageContext& ctx, const std::string& token, const std::string& csrf);

// GET /tickets: the list (contacts: their organisation's; agents: the queue) with filters and
// previous/next links that keep them.
std::string ticket_list_page(const PageContext& ctx, const TicketListView& view);

// GET /tickets/{REF}: the ticket, its thread, its files and the reply form.
std::string ticket_page(const PageContext& ctx, const TicketView& view);

// GET /incidents (agents): the major incidents with links to their tickets and reports.
std::string incident_list_page(const PageContext& ctx, const IncidentListView& view);

// GET /tickets/new: the form for a new ticket.
std::string new_ticket_page(const PageContext& ctx, const NewTicketView& view);

// A page for a status (404, 403, 429, 400, 500, or 200 e.g. after sign-out): `title` and
// `text` are shown escaped; empty ones take the status's own text (message.404.title, ...).
std::string message_page(const PageContext& ctx, int status, const std::string& title, const std::string& text);

// The stylesheet served at /static/portal.css.
std::string portal_css();

// The query string ("?status=open&q=printer&page=2") of a list page with these filters;
// values percent-encoded, page left out when 1. What the previous/next links use.
std::string ticket_list_query(const TicketFilters& filters, int page, bool agent);

// `s` with & < > " ' replaced by entities.
std::string html_escape(std::string_view s);

}  // namespace sd::portal
