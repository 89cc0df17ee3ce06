// portal/app.h: the portal's application: every route of the web portal and its JSON API,
// from a parsed HTTP request to a response, on top of the store and the desk's rules.
//
// Contract: handle() is called by the HTTP server's worker pool, several at once (it is
// thread-safe: every request opens its own store transactions). Routes (issue 14):
//   GET  /login, POST /login                       the one-field form; the same answer for every address
//   GET  /login/{token}, POST /login/{token}       a page with a "Sign in" button; only the POST uses the link
//   POST /logout
//   GET  /tickets (?status, q, page; agents also organisation, assignee, mine, breaching)
//   GET  /tickets/new, POST /tickets               a contact's new ticket
//   GET  /tickets/{REF}, POST /tickets/{REF}/reply
//   POST /tickets/{REF}/estimate                   a contact's answer; an agent's new estimate
//   POST /tickets/{REF}/incident, POST /incidents  agents: link a ticket, declare a major incident
//   GET  /incidents, GET /incidents/{REF}/report   agents: the major incidents; one's report
//                                                  (reports/incident_report.h, its own CSP)
//   GET  /tickets/{REF}/attachments/{N}
//   GET  /api/tickets (?page, status, q), GET /api/tickets/{REF}   the fields of `tickets --json`/`show --json`
//   GET  /static/portal.css, GET /healthz, GET /   (to /tickets or /login)
// Not signed in: pages answer 303 to /login, the API 401. A ticket outside the visitor's
// scope is 404 everywhere, never 403. Every POST carries `csrf`: the session's token, or
// before a session the `sd_csrf` cookie's (double submit) plus an Origin (else Referer)
// check against [portal] base_url; missing or wrong: 403. Every response carries the
// security headers (CSP without script, frame-ancestors 'none', X-Frame-Options DENY,
// nosniff, a Referrer-Policy that keeps the login link on our own origin) and, but for the
// stylesheet, Cache-Control: no-store. A route may set a stricter CSP of its own (downloads:
// sandbox; the incident report: its inline style, and nothing else), which is kept.
//
// Diagnostics: a StoreError answers 503 (transient) or 500 and is logged with the route,
// never with the query, a cookie or a body. Refused posts answer the form again with the
// reasons.
//
// Security: see auth.h for sign-in and sessions. What a contact is shown is filtered here
// before pages.h renders it: customer-visible messages and attachments only, events only
// status changes, the assignee by display name; their lists are the scope the desk's
// visibility rule gives them (one rule for pages, files, the API and replies).
#pragma once

#include "desk/desk.h"
#include "http/server.h"
#include "portal/page_texts.h"
#include "store/store.h"

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include <atomic>
#include <cstddef>
#include <functional>

namespace sd::http {
class Metrics;
}

namespace sd::portal {

using Clock = std::function<store::Time()>;

class App {
 public:
  // `desk` outlives the App (the portal's Desk, built with read_token_secret = false), and
  // so do `texts` (the operator's page texts, load_page_texts(); nullptr: the built-in ones).
  App(store::Store& store, const Desk& desk, Clock now, const PageTextSet* texts = nullptr);

  http::Response handle(const http::Exchange& x);

  // The body limit for a request with this header: multipart POSTs to /tickets and
  // /tickets/{REF}/reply may carry files (notify.attach_max_bytes per ticket's mail, 32
  // parts, plus room for the form); everything else 64 KiB.
  std::size_t body_limit(const boost::beast::http::request_header<>& h) const;

  // Registers portal_logins_total{result} (ok, invalid, unregistered) and the gauge
  // portal_sessions (sessions seen within session_idle_minutes, read at each scrape).
  // `metrics` outlives the App's use of it.
  void register_metrics(http::Metrics& metrics);

  // GET /healthz's check: a read transaction on the store works.
  bool healthy();

 private:
  struct Route;
  store::Store& store_;
  const Desk& desk_;
  Clock now_;
  const PageTextSet* texts_;
  std::atomic<http::Metrics*> metrics_{nullptr};
  void count_login(const std::string& result);
  friend struct Route;
};

}  // namespace sd::portal
