// portal/app.cpp: see app.h.
#include "portal/app.h"

#include "core/text.h"

#include "api/json.h"
#include "core/log.h"
#include "core/vocabulary.h"
#include "desk/estimates.h"
#include "desk/from_portal.h"
#include "desk/incidents.h"
#include "desk/ingest.h"
#include "desk/keep_informed.h"
#include "desk/notices.h"
#include "desk/sla_clock.h"
#include "desk/visibility.h"
#include "store/estimates.h"
#include "http/metrics.h"
#include "http/parse.h"
#include "portal/auth.h"
#include "portal/page_texts.h"
#include "portal/pages.h"
#include "reports/incident_report.h"
#include "sla/calendar.h"
#include "store/incidents.h"
#include "store/keep_informed.h"
#include "store/notices.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace sd::portal {
namespace {

namespace bh = boost::beast::http;

constexpr std::string_view kCsp =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
// The incident report (reports/incident_report.h) is a whole document of its own with an inline
// <style> and no script, no form and no external resource: its own policy allows exactly that.
constexpr std::string_view kReportCsp =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
// The incidents list shows the newest this many.
constexpr std::size_t kIncidentsShown = 200;
constexpr int kPageSize = 50;
constexpr std::size_t kSmallBody = 64 << 10;
constexpr int kMaxPage = 100000;
// A list counts this far past its page and then says "more than N": counting an organisation's
// 10,000 tickets for every page would cost more than the page itself.
constexpr std::int64_t kCountedAhead = 1000;

std::string header(const http::Request& r, bh::field f) {
  auto it = r.find(f);
  return it == r.end() ? std::string() : std::string(it->value());
}
std::string header(const http::Request& r, std::string_view name) {
  auto it = r.find(boost::beast::string_view(name.data(), name.size()));
  return it == r.end() ? std::string() : std::string(it->value());
}
std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) return false;
  return true;
}


// A POST's fields and files, url-encoded or multipart.
struct Form {
  http::Params fields;
  std::vector<http::FormPart> files;
};

std::optional<Form> read_form(const http::Request& r) {
  std::string type = header(r, bh::field::content_type);
  Form f;
  if (starts_with_ci(type, "multipart/form-data")) {
    auto parts = http::parse_multipart(type, r.body());
    if (!parts) return std::nullopt;
    for (auto& p : *parts) {
      if (!p.filename.empty()) f.files.push_back(std::move(p));
      else if (p.content_type.empty() || starts_with_ci(p.content_type, "text/plain")) {
        // A file input left empty sends a part with an empty name and no bytes: nothing.
        f.fields.emplace_back(std::move(p.name), std::move(p.data));
      }
    }
    return f;
  }
  if (type.empty() || starts_with_ci(type, "application/x-www-form-urlencoded")) {
    auto q = http::parse_query(r.body());
    if (!q) return std::nullopt;
    f.fields = std::move(*q);
    return f;
  }
  return std::nullopt;
}

std::string field(const Form& f, std::string_view name) {
  const std::string* v = http::param(f.fields, name);
  return v ? *v : std::string();
}

std::string query_value(const http::Params& q, std::string_view name) {
  const std::string* v = http::param(q, name);
  return v ? *v : std::string();
}


// Content types a browser may be told as they are: inert ones (no script, no markup).
std::string download_type(const std::string& stored) {
  static const std::vector<std::string> safe = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"};
  std::string t = lower(stored.substr(0, stored.find(';')));
  t = trim(t);
  for (const auto& s : safe)
    if (t == s) return s == "text/plain" ? "text/plain; charset=utf-8" : s;
  return "application/octet-stream";
}

bool is_status_event(const store::Event& e) { return !e.internal && (e.kind == "status" || e.kind == "reopened"); }

// Whether every word of `search` occurs (ASCII case ignored) in the ticket's subject or a
// customer-visible message: a contact's search must not find words of an internal note.
bool customer_text_matches(store::Transaction& tx, const store::Ticket& t, const std::string& search) {
  std::vector<std::string> words;
  std::string w;
  for (char ch : search + " ") {
    if (ch == ' ' || ch == '\t') {
      if (!w.empty()) words.push_back(lower(w));
      w.clear();
    } else {
      w += ch;
    }
  }
  std::string hay = lower(t.subject);
  for (const auto& m : tx.messages(t.id))
    if (!m.internal) hay += "\n" + lower(m.body_text) + "\n" + lower(m.subject);
  for (const auto& word : words)
    if (hay.find(word) == std::string::npos) return false;
  return true;
}

}  // namespace

// One request on its way through the routes.
struct App::Route {
  App& app;
  const http::Exchange& x;
  const http::Request& req;
  const Config& c;
  store::Time now;
  std::string path;
  http::Params query;
  std::optional<Visitor> visitor;
  std::string language = "en";
  const PageTextSet* texts;  // the operator's page texts over the built-in ones

  Route(App& a, const http::Exchange& ex)
      : app(a), x(ex), req(ex.request), c(a.desk_.config()), now(a.now_()), texts(a.texts_) {}

  bool https() const { return starts_with_ci(c.portal.base_url, "https:"); }

  // --- responses ------------------------------------------------------------------------

  http::Response respond(bh::status s, std::string body, std::string_view type) {
    return http::make_response(req, s, std::move(body), type);
  }
  http::Response html(bh::status s, std::string body) { return respond(s, std::move(body), "text/html; charset=utf-8"); }
  http::Response redirect(const std::string& to) {
    auto r = respond(bh::status::see_other, "", "text/plain; charset=utf-8");
    r.set(bh::field::location, to);
    return r;
  }
  http::Response json(bh::status s, const nlohmann::json& j) {
    return respond(s, json_text(j, -1) + "\n", "application/json; charset=utf-8");
  }
  http::Response message(int status, const std::string& title = "", const std::string& text = "") {
    return html(static_cast<bh::status>(status), message_page(context(), status, title, text));
  }
  http::Response not_found() {
    if (path.rfind("/api/", 0) == 0) return json(bh::status::not_found, {{"error", "not found"}});
    return message(404);
  }

  PageContext context() const {
    PageContext ctx;
    ctx.language = language;
    if (visitor) {
      ctx.visitor_name = visitor->name;
      ctx.visitor_email = visitor->email;
      ctx.agent = visitor->agent;
      ctx.csrf = visitor->csrf;
    }
    ctx.service_name = c.service.name;
    ctx.ticket_prefix = c.service.ticket_prefix;
    ctx.texts = texts;
    return ctx;
  }
  const PageTexts& page_texts() const { return (texts ? *texts : PageTextSet::builtin()).for_language(language); }

  void pick_language(const std::string& organisation_language) {
    language = sd::portal::pick_language(organisation_language, http::accept_languages(header(req, bh::field::accept_language)),
                                         c.service.language);
  }

  std::string cookie(std::string_view name) const {
    auto v = http::cookie(header(req, bh::field::cookie), name);
    return v ? *v : std::string();
  }
  http::CookieOptions cookie_options() const {
    http::CookieOptions o;
    o.http_only = true;
    o.secure = https();
    o.same_site = http::SameSite::lax;
    o.path = "/";
    return o;
  }
  std::string time_text(const store::Ticket& t, store::Time at) const {
    return app.desk_.clock().calendar(t.sla).format_local(sla::Instant(std::chrono::seconds(at)), language);
  }

  // --- the pre-session CSRF token and the Origin check ----------------------------------

  // The pre-session token the forms carry: the visitor's sd_csrf cookie, or a new one.
  std::string pre_session_csrf(http::Response* set_on) {
    std::string t = cookie(kCsrfCookie);
    if (looks_like_token(t)) return t;
    t = random_hex(kCsrfBytes);
    if (set_on) set_on->insert(bh::field::set_cookie, http::set_cookie(kCsrfCookie, t, cookie_options()));
    return t;
  }

  bool origin_ok() const {
    if (c.portal.base_url.empty()) return true;
    std::string origin = header(req, bh::field::origin);
    if (!origin.empty()) return http::same_origin(origin, c.portal.base_url);
    std::string referer = header(req, bh::field::referer);
    if (referer.empty()) return false;
    auto scheme = referer.find("://");
    if (scheme == std::string::npos) return false;
    auto slash = referer.find('/', scheme + 3);
    return http::same_origin(referer.substr(0, slash), c.portal.base_url);
  }

  bool pre_session_ok(const Form& f) const {
    return origin_ok() && same_secret(field(f, "csrf"), cookie(kCsrfCookie));
  }
  bool session_csrf_ok(const Form& f) const { return visitor && same_secret(field(f, "csrf"), visitor->csrf); }

  // --- routes -----------------------------------------------------------------------------

  http::Response run() {
    auto decoded = http::decode_path(sv(req.target()));
    if (!decoded) return message(400);
    path = *decoded;
    auto q = http::parse_query(http::query_of(sv(req.target())));
    if (!q) return message(400);
    query = std::move(*q);
    pick_language("");
    bool get = req.method() == bh::verb::get;
    bool post = req.method() == bh::verb::post;
    if (!get && !post) {
      auto r = message(405);
      r.set(bh::field::allow, "GET, HEAD, POST");
      return r;
    }

    if (path == "/healthz") {
      if (!get) return message(405);
      return app.healthy() ? respond(bh::status::ok, "ok\n", "text/plain; charset=utf-8")
                           : respond(bh::status::service_unavailable, "unhealthy\n", "text/plain; charset=utf-8");
    }
    if (path == "/static/portal.css") {
      if (!get) return message(405);
      auto r = respond(bh::status::ok, portal_css(), "text/css; charset=utf-8");
      r.set(bh::field::cache_control, "public, max-age=3600");
      return r;
    }
    if (path == "/login") return get ? login_form() : login_post();
    if (path.rfind("/login/", 0) == 0) {
      std::string token = path.substr(7);
      return get ? login_link(token) : login_link_post(token);
    }

    // Everything else needs a session.
    std::string sid = cookie(kSessionCookie);
    if (!sid.empty()) visitor = visitor_of(app.store_, c.portal, sid, now);
    if (visitor && visitor->contact) {
      auto tx = app.store_.begin(store::Store::Mode::read);
      if (auto o = tx->organisation(visitor->contact->organisation)) pick_language(o->language);
    }
    bool api = path == "/api/tickets" || path.rfind("/api/", 0) == 0;
    if (!visitor) {
      if (path == "/") return redirect("/login");
      if (api) return json(bh::status::unauthorized, {{"error", "not signed in"}});
      if (post) return message(403);
      return redirect("/login");
    }
    if (path == "/") return redirect("/tickets");
    if (path == "/logout") return post ? logout() : message(405);
    if (path == "/tickets") return get ? list() : new_ticket_post();
    if (path == "/tickets/new") return get ? new_ticket_form({}) : message(405);
    if (path == "/incidents") return post ? incident_declare() : incidents_list();
    if (path.rfind("/incidents/", 0) == 0) {
      std::string rest = path.substr(11);
      auto slash = rest.find('/');
      if (slash != std::string::npos && rest.substr(slash) == "/report")
        return get ? incident_report(rest.substr(0, slash)) : message(405);
      return not_found();
    }
    if (path == "/api/tickets") return get ? api_list() : message(405);
    if (path.rfind("/api/tickets/", 0) == 0) return get ? api_ticket(path.substr(13)) : message(405);
    if (path.rfind("/tickets/", 0) == 0) {
      std::string rest = path.substr(9);
      auto slash = rest.find('/');
      std::string ref = rest.substr(0, slash);
      std::string tail = slash == std::string::npos ? "" : rest.substr(slash);
      if (tail.empty()) return get ? ticket(ref, {}) : message(405);
      if (tail == "/reply") return post ? reply(ref) : message(405);
      if (tail == "/estimate") return post ? estimate_post(ref) : message(405);
      if (tail == "/incident") return post ? incident_link(ref) : message(405);
      if (tail.rfind("/attachments/", 0) == 0) return get ? attachment(ref, tail.substr(13)) : message(405);
    }
    return not_found();
  }

  // GET /login
  http::Response login_form() {
    auto r = html(bh::status::ok, "");
    std::string csrf = pre_session_csrf(&r);
    r.body() = login_page(context(), csrf, "");
    return r;
  }

  // POST /login: the same page for every address.
  http::Response login_post() {
    auto f = read_form(req);
    if (!f || !pre_session_ok(*f)) return message(403);
    std::string client =
        http::client_address(x.peer, header(req, "X-Forwarded-For"), c.portal.trusted_proxies);
    LoginRequest lr;
    {
      auto tx = app.store_.begin(store::Store::Mode::write);
      lr = request_login_link(*tx, app.desk_, field(*f, "email"), client, now);
      tx->commit();
    }
    if (lr.over_client_limit) {
      auto r = message(429);
      r.set(bh::field::retry_after, "60");
      return r;
    }
    std::string sent = page_texts().format("login.sent", {{"minutes", std::to_string(c.portal.login_link_minutes)}});
    return html(bh::status::ok, login_page(context(), cookie(kCsrfCookie), sent));
  }

  http::Response link_invalid() {
    return html(bh::status::ok, message_page(context(), 200, page_texts().get("link.invalid.title"),
                                             page_texts().get("link.invalid.text")));
  }

  // GET /login/{token}: changes nothing.
  http::Response login_link(const std::string& token) {
    if (!looks_like_token(token)) return link_invalid();
    auto r = html(bh::status::ok, "");
    std::string csrf = pre_session_csrf(&r);
    r.body() = login_link_page(context(), token, csrf);
    return r;
  }

  // POST /login/{token}: the one use of the link.
  http::Response login_link_post(const std::string& token) {
    auto f = read_form(req);
    if (!f || !pre_session_ok(*f)) return message(403);
    SignIn s;
    {
      auto tx = app.store_.begin(store::Store::Mode::write);
      s = sign_in(*tx, token, now);
      tx->commit();
    }
    app.count_login(s.result);
    if (s.result != "ok") return link_invalid();
    auto r = redirect("/tickets");
    r.insert(bh::field::set_cookie, http::set_cookie(kSessionCookie, s.session, cookie_options()));
    return r;
  }

  // POST /logout
  http::Response logout() {
    auto f = read_form(req);
    if (!f || !session_csrf_ok(*f)) return message(403);
    {
      auto tx = app.store_.begin(store::Store::Mode::write);
      sign_out(*tx, *visitor);
      tx->commit();
    }
    auto r = redirect("/login");
    auto o = cookie_options();
    o.max_age = 0;
    r.insert(bh::field::set_cookie, http::set_cookie(kSessionCookie, "", o));
    return r;
  }

  // --- scope ------------------------------------------------------------------------------

  Party party(store::Transaction& tx) const { return party_of(tx, visitor->email); }

  // The ticket a ref names if the visitor may see it.
  std::optional<store::Ticket> visible_ticket(store::Transaction& tx, const std::string& ref) {
    auto id = parse_ticket_ref(c, ref);
    if (!id || ref != ticket_ref(c, *id)) return std::nullopt;
    auto t = tx.ticket(*id);
    if (!t || !may_see(tx, *t, party(tx))) return std::nullopt;
    return t;
  }

  // A contact's list: the desk's scope_for(), the same rule as may_see for one ticket. No
  // scope (nobody the directory knows): an empty list.
  void scope(store::Transaction& tx, store::TicketQuery& q) const {
    auto sc = scope_for(tx, party_of(tx, visitor->email));
    if (!sc) {
      q.visible_to = "-";  // matches no address
      return;
    }
    q.visible_to = sc->visible_to;
    q.visible_organisation = sc->visible_organisation;
  }

  struct Listing {
    std::vector<store::Ticket> tickets;
    std::int64_t total = 0;
    bool more = false;  // more than `total` match (the count stopped there)
    TicketFilters filters;
    int page = 1;
  };

  // This page's tickets of the query and their count, which stops kCountedAhead past the page.
  static void page_of(store::Transaction& tx, store::TicketQuery& q, int page, Listing& l) {
    q.limit = kPageSize;
    q.offset = (page - 1) * kPageSize;
    q.count_at_most = q.offset + kCountedAhead + 1;
    l.tickets = tx.find_tickets(q);
    l.total = tx.count_tickets(q);
    l.more = l.total == q.count_at_most;
    if (l.more) --l.total;
  }

  Listing listing(store::Transaction& tx) {
    Listing l;
    l.filters.status = query_value(query, "status");
    l.filters.search = trim(query_value(query, "q")).substr(0, 500);
    try {
      l.page = std::clamp(std::stoi(query_value(query, "page")), 1, kMaxPage);
    } catch (const std::exception&) {
      l.page = 1;
    }
    store::TicketQuery q;
    if (auto s = parse_status(l.filters.status)) q.statuses = {std::string(to_string(*s))};
    else l.filters.status.clear();
    if (visitor->agent) {
      if (q.statuses.empty())
        for (auto s : kStatuses)
          if (is_open(s)) q.statuses.emplace_back(to_string(s));
      l.filters.organisation = query_value(query, "organisation");
      l.filters.assignee = query_value(query, "assignee");
      l.filters.mine = query_value(query, "mine") == "1";
      l.filters.breaching = query_value(query, "breaching") == "1";
      q.organisation = l.filters.organisation;
      q.assignee = l.filters.assignee == "me" ? visitor->email : lower(l.filters.assignee);
      if (l.filters.mine) q.assignee = visitor->email;
      q.breaching = l.filters.breaching;
      q.search = l.filters.search;
      q.sort = store::TicketQuery::Sort::due;
      page_of(tx, q, l.page, l);
      return l;
    }
    scope(tx, q);
    q.sort = store::TicketQuery::Sort::newest;
    if (l.filters.search.empty()) {
      page_of(tx, q, l.page, l);
      return l;
    }
    // The store's search reads internal notes too: a contact's hits are checked against what
    // they may read, then paged here.
    q.search = l.filters.search;
    q.limit = 2000;
    std::vector<store::Ticket> hits;
    for (auto& t : tx.find_tickets(q))
      if (customer_text_matches(tx, t, l.filters.search)) hits.push_back(std::move(t));
    l.total = static_cast<std::int64_t>(hits.size());
    auto from = std::min<std::size_t>(hits.size(), static_cast<std::size_t>(l.page - 1) * kPageSize);
    auto to = std::min<std::size_t>(hits.size(), from + kPageSize);
    l.tickets.assign(hits.begin() + static_cast<std::ptrdiff_t>(from), hits.begin() + static_cast<std::ptrdiff_t>(to));
    return l;
  }

  std::string agent_name(store::Transaction& tx, const std::string& address) {
    if (address.empty()) return "";
    auto a = tx.agent(address);
    return a ? a->name : address;
  }

  std::string due_text(const store::Ticket& t, const TicketSla& s) {
    std::optional<store::Time> due = !t.first_response_at && s.first_response_due ? s.first_response_due : s.resolution_due;
    if (!due || !is_open(parse_status(t.status).value_or(Status::open))) return "";
    return time_text(t, *due);
  }

  // The maintenance a visitor is told of on the list (desk/notices.h): a contact's
  // organisation's coming notices, in its calendar's zone and language; an agent's, all of
  // them; and the recurring service windows with their next occurrence.
  void maintenance(store::Transaction& tx, TicketListView& view) {
    std::string org;
    if (!visitor->agent) {
      if (!visitor->contact) return;
      org = visitor->contact->organisation;
    }
    auto o = org.empty() ? std::nullopt : tx.organisation(org);
    const auto& cal = app.desk_.clock().calendar(o ? o->sla : c.sla.default_sla);
    auto local = [&](store::Time t) { return cal.format_local(sla::Instant(std::chrono::seconds(t)), language); };
    auto title = [&](std::string_view kind) {
      auto words = notice_kind_words(kind, language);
      if (!words.empty() && words[0] >= 'a' && words[0] <= 'z') words[0] = static_cast<char>(words[0] - 'a' + 'A');
      return words;
    };
    auto notices = visitor->agent ? tx.notices().coming_notices(now) : coming_notices_for(tx, org, now);
    for (const auto& n : notices)
      view.maintenance_notices.push_back(
          {title(n.kind), local(n.starts_at) + " \xE2\x80\x93 " + local(n.ends_at), notice_text_in(n, language), n.starts_at <= now});
    for (const auto& occ : next_windows(c, now))
      view.maintenance_windows.push_back(
          {title(occ.window->kind),
           page_texts().format("maintenance.window", {{"rule", window_words(c, *occ.window, language)},
                                                      {"next", local(occ.start) + " \xE2\x80\x93 " + local(occ.end)}}),
           "", occ.start <= now});
  }

  // GET /tickets
  http::Response list() {
    auto tx = app.store_.begin(store::Store::Mode::read);
    Listing l;
    try {
      l = listing(*tx);
    } catch (const store::StoreError& e) {
      if (!e.refused) throw;  // too many search words: an empty list
    }
    TicketListView view;
    view.page = l.page;
    view.total = l.total;
    view.more = l.more;
    view.page_size = kPageSize;
    view.filters = l.filters;
    std::map<std::string, std::string> assignees;
    for (const auto& t : l.tickets) {
      auto s = app.desk_.clock().evaluate(t, tx->pauses(t.id), now);
      TicketRow row;
      row.ref = ticket_ref(c, t.id);
      row.subject = t.subject;
      row.status = t.status;
      row.priority = t.priority;
      row.category = t.category;
      row.created = time_text(t, t.created_at);
      row.sla_state = t.sla.empty() ? "" : s.state;
      row.sla_due = due_text(t, s);
      row.resolution = t.resolution;
      row.organisation = t.organisation;
      auto name = assignees.find(t.assignee);  // a page names few agents, each many times
      if (name == assignees.end()) name = assignees.emplace(t.assignee, agent_name(*tx, t.assignee)).first;
      row.assignee = name->second;
      view.rows.push_back(std::move(row));
    }
    if (visitor->agent) {
      for (const auto& name : tx->organisation_names()) view.organisations.push_back({name, name});
      for (const auto& a : tx->agents()) view.agents.push_back({a.email, a.name});
    }
    maintenance(*tx, view);
    return html(bh::status::ok, ticket_list_page(context(), view));
  }

  // GET /tickets/{REF}: also the page a refused reply is answered with.
  http::Response ticket(const std::string& ref, const TicketView& refused, bh::status status = bh::status::ok) {
    auto tx = app.store_.begin(store::Store::Mode::read);
    auto t = visible_ticket(*tx, ref);
    if (!t) return not_found();
    bool agent = visitor->agent;
    TicketView v = refused;
    auto s = app.desk_.clock().evaluate(*t, tx->pauses(t->id), now);
    v.ref = ticket_ref(c, t->id);
    v.subject = t->subject;
    v.status = t->status;
    v.priority = t->priority;
    v.category = t->category;
    v.created = time_text(*t, t->created_at);
    v.updated = time_text(*t, t->updated_at);
    v.requester = t->requester_name.empty() ? t->requester : t->requester_name + " <" + t->requester + ">";
    v.organisation = t->organisation;
    v.assignee = agent_name(*tx, t->assignee);
    v.sla_state = t->sla.empty() ? "" : s.state;
    v.sla_due = due_text(*t, s);
    v.resolution = t->resolution;
    v.time_spent_s = agent ? t->time_spent_s : 0;
    for (const auto& m : tx->messages(t->id)) {
      if (m.internal && !agent) continue;
      ThreadMessage tm;
      tm.from_name = m.from_name;
      tm.from_addr = m.from_addr;
      tm.date = time_text(*t, m.date.value_or(m.created_at));
      tm.text = m.body_text;
      tm.internal = m.internal;
      tm.from_desk = m.direction == "out" || tx->agent(lower(m.from_addr)).has_value();
      for (const auto& a : m.attachments)
        tm.attachments.push_back({a.number, a.filename, a.content_type, a.size, a.kept});
      v.messages.push_back(std::move(tm));
    }
    for (const auto& e : tx->events(t->id, agent)) {
      if (!agent && !is_status_event(e)) continue;
      v.events.push_back({time_text(*t, e.at), agent ? e.actor : agent_name(*tx, e.actor), e.kind, e.detail});
    }
    for (const auto& a : tx->attachments(t->id)) {
      if (a.internal && !agent) continue;
      v.attachments.push_back({a.number, a.filename, a.content_type, a.size, a.kept});
    }
    v.form_key = random_hex(16);
    if (agent)
      for (const auto& a : tx->agents()) v.agents.push_back({a.email, a.name});
    if (auto e = tx->estimates().awaiting_estimate(t->id)) {
      auto contact = agent ? std::nullopt : tx->contact(visitor->email);
      v.estimate = TicketView::Estimate{e->id, estimate_duration(e->seconds), e->text, time_text(*t, e->created_at),
                                        contact && !t->organisation.empty() && contact->organisation == t->organisation};
    }
    if (auto l = tx->incidents().link_of(t->id); l && !l->unlinked_at) {
      v.part_of_incident = true;
      if (agent) v.incident_ref = ticket_ref(c, l->incident_id);
    }
    v.is_incident = agent && tx->incidents().incident(t->id).has_value();
    // Agents may estimate on a ticket still in work that is no major incident (make_estimate()
    // says why not, should the ticket not allow one).
    v.can_estimate = agent && !v.is_incident && !is_done(parse_status(t->status).value_or(Status::open));
    if (!t->organisation.empty())
      if (auto o = tx->organisation(t->organisation)) hypercare(*tx, *o, *t, v);
    return html(status, ticket_page(context(), v));
  }

  // The organisation's hypercare and account agent on its ticket's page (desk/sla_clock.h
  // hypercare_period(), desk/keep_informed.h): agents see its end, or that it was ended early,
  // and the account agent; contacts only "until" while it runs.
  void hypercare(store::Transaction& tx, const store::Organisation& o, const store::Ticket& t, TicketView& v) {
    bool agent = visitor->agent;
    if (agent)
      if (auto a = tx.keep_informed().account_agent(o.name); !a.empty()) v.account_agent = agent_name(tx, a);
    auto period = hypercare_period(o);
    if (!period) return;
    TicketView::Hypercare h;
    h.running = period->covers(now);
    h.over = period->end <= now;
    h.last_day = utc_day(period->end - 1);
    store::Time agreed_end = period->start + o.hypercare_weeks * kHypercareWeek;
    if (o.hypercare_ended_at && period->end < agreed_end) h.ended_early = time_text(t, *o.hypercare_ended_at);
    if (agent || h.running) v.hypercare = h;
  }

  // GET /incidents (agents): the major incidents, newest first, at most kIncidentsShown.
  http::Response incidents_list() {
    if (!visitor->agent) return not_found();
    auto tx = app.store_.begin(store::Store::Mode::read);
    auto all = tx->incidents().incidents_declared(0, std::numeric_limits<store::Time>::max());
    IncidentListView view;
    view.more = all.size() > kIncidentsShown;
    for (auto it = all.rbegin(); it != all.rend() && view.rows.size() < kIncidentsShown; ++it) {
      auto t = tx->ticket(it->ticket_id);
      if (!t) continue;
      IncidentRow row;
      row.ref = ticket_ref(c, t->id);
      row.title = it->title;
      row.status = t->status;
      row.declared = time_text(*t, it->declared_at);
      row.linked = static_cast<std::int64_t>(tx->incidents().links(t->id, false).size());
      row.organisations = affected_organisations(*tx, t->id);
      view.rows.push_back(std::move(row));
    }
    return html(bh::status::ok, incident_list_page(context(), view));
  }

  // GET /incidents/{REF}/report (agents): reports/incident_report.h's HTML, under its own policy.
  http::Response incident_report(const std::string& ref) {
    if (!visitor->agent) return not_found();
    std::int64_t id = 0;
    {
      auto tx = app.store_.begin(store::Store::Mode::read);
      auto t = visible_ticket(*tx, ref);
      if (!t || !tx->incidents().incident(t->id)) return not_found();
      id = t->id;
    }  // the report opens its own read transaction
    std::ostringstream out;
    try {
      write_incident_report(app.store_, c, id, "html", out, now);
    } catch (const std::invalid_argument&) {
      return not_found();
    }
    auto r = html(bh::status::ok, out.str());
    r.set("Content-Security-Policy", std::string(kReportCsp));
    return r;
  }

  // POST /tickets/{REF}/estimate: an agent's new estimate (duration, text), or a contact's
  // approve or decline button (estimate, answer). Who the visitor is decides which; a
  // contact's post of an agent's fields is a contact's post without an answer (refused).
  http::Response estimate_post(const std::string& ref) {
    auto f = read_form(req);
    if (!f) return message(400, "", page_texts().get("form.bad"));
    if (!session_csrf_ok(*f)) return message(403);
    return visitor->agent ? estimate_make(ref, *f) : estimate_answer(ref, *f);
  }

  // The agent's estimate form (desk/from_portal.h agent_estimates(): the same make_estimate()
  // as #estimate and `ticket estimate`).
  http::Response estimate_make(const std::string& ref, const Form& form) {
    std::string key = field(form, "form_key");
    auto tx = app.store_.begin(store::Store::Mode::write);
    auto t = visible_ticket(*tx, ref);
    if (!t) return not_found();
    if (!looks_like_token(key) || !tx->use_form_key("estimate:" + key, now))
      return redirect("/tickets/" + ticket_ref(c, t->id));  // a double click: the first post counts
    auto made = agent_estimates(*tx, app.desk_, t->id, visitor->email, field(form, "duration"), field(form, "text"), now);
    if (!made) {
      tx.reset();
      TicketView refused;
      refused.estimate_errors.push_back(made.error());
      refused.estimate_draft = {field(form, "duration").substr(0, 40), field(form, "text").substr(0, 1000)};
      return ticket(ref, refused, bh::status::bad_request);
    }
    tx->commit();
    return redirect("/tickets/" + ticket_ref(c, t->id));
  }

  // A contact's approve or decline button (desk/estimates.h answer_estimate_on_portal(), which
  // checks who may answer).
  http::Response estimate_answer(const std::string& ref, const Form& form) {
    std::string key = field(form, "form_key"), answer = field(form, "answer"), id_text = field(form, "estimate");
    auto tx = app.store_.begin(store::Store::Mode::write);
    auto t = visible_ticket(*tx, ref);
    if (!t) return not_found();
    // Its own key space: the page's reply form carries the same key, and stays usable.
    if (!looks_like_token(key) || !tx->use_form_key("estimate:" + key, now))
      return redirect("/tickets/" + ticket_ref(c, t->id));  // a double click: the first post counts
    TicketView refused;
    std::optional<EstimateAnswer> a = answer == "approve"   ? std::optional(EstimateAnswer::approve)
                                      : answer == "decline" ? std::optional(EstimateAnswer::decline)
                                                            : std::nullopt;
    bool id_ok = !id_text.empty() && id_text.size() <= 15 && id_text.find_first_not_of("0123456789") == std::string::npos;
    if (!a || !id_ok) {
      refused.errors.push_back(page_texts().get("form.bad"));
    } else if (auto done = answer_estimate_on_portal(*tx, app.desk_, t->id, std::stoll(id_text), visitor->email, *a, now);
               !done) {
      refused.errors.push_back(done.error());
    }
    if (!refused.errors.empty()) {
      tx.reset();
      return ticket(ref, refused, bh::status::bad_request);
    }
    tx->commit();
    return redirect("/tickets/" + ticket_ref(c, t->id));
  }

  // GET /tickets/{REF}/attachments/{N}
  http::Response attachment(const std::string& ref, const std::string& number) {
    if (number.empty() || number.size() > 9 || number.find_first_not_of("0123456789") != std::string::npos)
      return not_found();
    std::int64_t n = std::stoll(number);
    auto tx = app.store_.begin(store::Store::Mode::read);
    auto t = visible_ticket(*tx, ref);
    if (!t) return not_found();
    std::optional<store::AttachmentInfo> info;
    for (const auto& a : tx->attachments(t->id))
      if (a.number == n) info = a;
    if (!info || (info->internal && !visitor->agent) || !info->kept) return not_found();
    auto a = tx->attachment(t->id, n);
    if (!a) return not_found();
    auto r = respond(bh::status::ok, std::move(a->data), download_type(info->content_type));
    r.set(bh::field::content_disposition, http::content_disposition_attachment(info->filename));
    r.set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'");
    return r;
  }

  std::vector<Upload> uploads(const Form& f) {
    std::vector<Upload> out;
    for (const auto& p : f.files) {
      if (p.data.empty() && p.filename.empty()) continue;
      Upload u;
      u.filename = p.filename;
      u.content_type = p.content_type.empty() ? "application/octet-stream" : p.content_type;
      u.data = p.data;
      out.push_back(std::move(u));
    }
    return out;
  }

  // POST /tickets/{REF}/reply
  http::Response reply(const std::string& ref) {
    auto f = read_form(req);
    if (!f) return message(400, "", page_texts().get("form.bad"));
    if (!session_csrf_ok(*f)) return message(403);
    std::string text = field(*f, "text");
    std::string key = field(*f, "form_key");
    TicketView refused;
    refused.draft_text = text;
    {
      auto tx = app.store_.begin(store::Store::Mode::write);
      auto t = visible_ticket(*tx, ref);
      if (!t) return not_found();
      if (!looks_like_token(key) || !tx->use_form_key("form:" + key, now)) {
        // A double click: the first post is the one that counts.
        return redirect("/tickets/" + ticket_ref(c, t->id));
      }
      auto files = uploads(*f);
      if (visitor->agent) {
        AgentWrite w;
        w.agent = visitor->email;
        w.ticket_id = t->id;
        w.text = text;
        w.note = field(*f, "note") == "1";
        w.broadcast = field(*f, "broadcast") == "1";
        w.files = std::move(files);
        std::vector<std::string> errors;
        if (auto s = field(*f, "status"); !s.empty()) {
          if (auto st = parse_status(s)) w.change.status = *st;
          else errors.push_back("status: " + s);
        }
        if (auto s = field(*f, "priority"); !s.empty()) {
          if (auto p = parse_priority(s)) w.change.priority = *p;
          else errors.push_back("priority: " + s);
        }
        if (auto s = field(*f, "category"); !s.empty()) {
          if (auto cat = parse_category(s)) w.change.category = *cat;
          else errors.push_back("category: " + s);
        }
        if (auto s = trim(field(*f, "assign")); !s.empty()) w.change.assignee = s == "me" ? visitor->email : lower(s);
        if (auto s = trim(field(*f, "time_minutes")); !s.empty()) {
          if (s.size() <= 5 && s.find_first_not_of("0123456789") == std::string::npos) w.change.time_s = std::stoll(s) * 60;
          else errors.push_back("time_minutes: " + s);
        }
        if (errors.empty()) {
          auto done = agent_works(*tx, app.desk_, w, now);
          if (!done) errors.push_back(done.error());
          else errors = done->refused;
        }
        if (!errors.empty()) {
          refused.errors = errors;
          tx.reset();
          return ticket(ref, refused, bh::status::bad_request);
        }
      } else {
        if (trim(text).empty() && files.empty()) {
          refused.errors.push_back(page_texts().get("text.missing"));
          tx.reset();
          return ticket(ref, refused, bh::status::bad_request);
        }
        CustomerWrite w;
        w.contact = visitor->email;
        w.ticket_id = t->id;
        w.subject = t->subject;
        w.text = text;
        w.files = std::move(files);
        auto done = customer_writes(*tx, app.desk_, w, now);
        if (!done) {
          refused.errors.push_back(done.error());
          tx.reset();
          return ticket(ref, refused, bh::status::bad_request);
        }
      }
      tx->commit();
      return redirect("/tickets/" + ticket_ref(c, t->id));
    }
  }

  // POST /tickets/{REF}/incident (agents): incident=SD-100 links the ticket, incident=none
  // unlinks it, through desk/incidents.h.
  http::Response incident_link(const std::string& ref) {
    if (!visitor->agent) return not_found();
    auto f = read_form(req);
    if (!f) return message(400, "", page_texts().get("form.bad"));
    if (!session_csrf_ok(*f)) return message(403);
    std::string target = trim(field(*f, "incident")), key = field(*f, "form_key");
    TicketView refused;
    {
      auto tx = app.store_.begin(store::Store::Mode::write);
      auto t = visible_ticket(*tx, ref);
      if (!t) return not_found();
      if (!looks_like_token(key) || !tx->use_form_key("form:" + key, now)) return redirect("/tickets/" + ticket_ref(c, t->id));
      tl::expected<void, std::string> done;
      if (lower(target) == "none") done = unlink_from_incident(*tx, app.desk_, t->id, visitor->email, now);
      else if (auto id = parse_ticket_ref(c, target)) done = link_to_incident(*tx, app.desk_, t->id, *id, visitor->email, "portal", now);
      else done = tl::unexpected(fmt::format("'{}' is no ticket id (e.g. {}-100, or none)", utf8_prefix(target, 40), c.service.ticket_prefix));
      if (!done) {
        refused.errors.push_back(done.error());
        tx.reset();
        return ticket(ref, refused, bh::status::bad_request);
      }
      tx->commit();
      return redirect("/tickets/" + ticket_ref(c, t->id));
    }
  }

  // POST /incidents (agents): declare a major incident (title, from, alert_key, orgs), the
  // signed-in agent its manager, through desk/incidents.h; then its page.
  http::Response incident_declare() {
    if (!visitor->agent) return not_found();
    auto f = read_form(req);
    if (!f) return message(400, "", page_texts().get("form.bad"));
    if (!session_csrf_ok(*f)) return message(403);
    std::string from = trim(field(*f, "from")), key = field(*f, "form_key");
    IncidentDeclaration d;
    d.title = field(*f, "title");
    d.agent = visitor->email;
    if (auto k = trim(field(*f, "alert_key")); !k.empty()) d.alert_keys.push_back(k);
    std::string orgs = trim(field(*f, "orgs"));
    if (lower(orgs) == "all") d.all_organisations = true;
    else
      for (std::size_t pos = 0; !orgs.empty() && pos <= orgs.size();) {
        auto comma = orgs.find(',', pos);
        if (auto name = trim(orgs.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos)); !name.empty())
          d.organisations.push_back(name);
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    auto tx = app.store_.begin(store::Store::Mode::write);
    std::optional<store::Ticket> origin;
    if (!from.empty()) {
      origin = visible_ticket(*tx, from);
      if (!origin) return not_found();
      d.from = origin->id;
    }
    if (!looks_like_token(key) || !tx->use_form_key("form:" + key, now))
      return redirect(origin ? "/tickets/" + ticket_ref(c, origin->id) : "/tickets");
    auto id = declare_incident(*tx, app.desk_, d, visitor->email, "portal", now);
    if (!id) {
      tx.reset();
      if (!origin) return message(400, "", id.error());
      TicketView refused;
      refused.errors.push_back(id.error());
      return ticket(ticket_ref(c, origin->id), refused, bh::status::bad_request);
    }
    tx->commit();
    return redirect("/tickets/" + ticket_ref(c, *id));
  }

  std::vector<std::string> category_names() const {
    std::vector<std::string> out;
    for (auto cat : kCategories) out.emplace_back(to_string(cat));
    return out;
  }

  // GET /tickets/new (contacts)
  http::Response new_ticket_form(NewTicketView v, bh::status status = bh::status::ok) {
    if (visitor->agent) return not_found();
    v.categories = category_names();
    v.form_key = random_hex(16);
    return html(status, new_ticket_page(context(), v));
  }

  // POST /tickets (contacts)
  http::Response new_ticket_post() {
    if (visitor->agent) return not_found();
    auto f = read_form(req);
    if (!f) return message(400, "", page_texts().get("form.bad"));
    if (!session_csrf_ok(*f)) return message(403);
    NewTicketView refused;
    refused.subject = trim(field(*f, "subject"));
    refused.text = field(*f, "text");
    refused.category = field(*f, "category");
    if (refused.subject.empty()) refused.errors.push_back(page_texts().get("subject.missing"));
    if (trim(refused.text).empty()) refused.errors.push_back(page_texts().get("text.missing"));
    std::optional<Category> category;
    if (!refused.category.empty()) {
      category = parse_category(refused.category);
      if (!category) refused.errors.push_back("category: " + refused.category);
    }
    if (!refused.errors.empty()) return new_ticket_form(refused, bh::status::bad_request);
    std::string key = field(*f, "form_key");
    auto tx = app.store_.begin(store::Store::Mode::write);
    if (!looks_like_token(key) || !tx->use_form_key("form:" + key, now)) return redirect("/tickets");
    CustomerWrite w;
    w.contact = visitor->email;
    w.subject = refused.subject;
    w.text = refused.text;
    w.category = category;
    w.files = uploads(*f);
    auto id = customer_writes(*tx, app.desk_, w, now);
    if (!id) {
      refused.errors.push_back(id.error());
      tx.reset();
      return new_ticket_form(refused, bh::status::bad_request);
    }
    tx->commit();
    return redirect("/tickets/" + ticket_ref(c, *id));
  }

  // --- the JSON API -----------------------------------------------------------------------

  // ticket_json as the visitor may see it: for a contact the assignee by display name.
  nlohmann::json scoped_json(store::Transaction& tx, const store::Ticket& t, const TicketSla& s) {
    auto j = ticket_json(c, t, s);
    if (!visitor->agent) j["assignee"] = t.assignee.empty() ? nlohmann::json() : nlohmann::json(agent_name(tx, t.assignee));
    return j;
  }

  http::Response api_list() {
    auto tx = app.store_.begin(store::Store::Mode::read);
    Listing l;
    try {
      l = listing(*tx);
    } catch (const store::StoreError& e) {
      if (!e.refused) throw;
    }
    auto arr = nlohmann::json::array();
    for (const auto& t : l.tickets) arr.push_back(scoped_json(*tx, t, app.desk_.clock().evaluate(t, tx->pauses(t.id), now)));
    auto r = json(bh::status::ok, arr);
    r.set("X-Total-Count", std::to_string(l.total));
    if (l.more) r.set("X-Total-Count-Capped", "true");  // more than X-Total-Count match
    return r;
  }

  http::Response api_ticket(const std::string& ref) {
    auto tx = app.store_.begin(store::Store::Mode::read);
    auto t = visible_ticket(*tx, ref);
    if (!t) return not_found();
    auto s = app.desk_.clock().evaluate(*t, tx->pauses(t->id), now);
    auto messages = tx->messages(t->id);
    std::vector<store::Event> events;
    if (visitor->agent) {
      events = tx->events(t->id);
    } else {
      std::erase_if(messages, [](const store::MessageRecord& m) { return m.internal; });
      for (auto& e : tx->events(t->id, false))
        if (is_status_event(e)) {
          e.actor = agent_name(*tx, e.actor);
          events.push_back(std::move(e));
        }
    }
    auto j = ticket_detail_json(c, *t, s, messages, events);
    add_process_json(j, *tx, c, *t, visitor->agent);
    if (!visitor->agent) j["assignee"] = t->assignee.empty() ? nlohmann::json() : nlohmann::json(agent_name(*tx, t->assignee));
    return json(bh::status::ok, j);
  }
};

App::App(store::Store& store, const Desk& desk, Clock now, const PageTextSet* texts)
    : store_(store), desk_(desk), now_(std::move(now)), texts_(texts ? texts : &PageTextSet::builtin()) {}

http::Response App::handle(const http::Exchange& x) {
  Route route(*this, x);
  http::Response r;
  try {
    r = route.run();
  } catch (const store::StoreError& e) {
    log::warning("portal: {} {}: store: {}", std::string(x.request.method_string()), route.path, e.what());
    r = route.message(e.transient ? 503 : 500);
  } catch (const std::exception& e) {
    log::error("portal: {} {}: {}", std::string(x.request.method_string()), route.path, e.what());
    r = route.message(500);
  }
  // A route that sets its own policy (a download, the incident report) keeps it.
  if (r.find("Content-Security-Policy") == r.end()) r.set("Content-Security-Policy", std::string(kCsp));
  r.set(bh::field::x_frame_options, "DENY");
  r.set("X-Content-Type-Options", "nosniff");
  // same-origin rather than no-referrer: under no-referrer browsers send "Origin: null" with a
  // form's POST, which the Origin check must refuse; same-origin still never sends the login
  // link's address to another site.
  r.set("Referrer-Policy", "same-origin");
  if (r.find(bh::field::cache_control) == r.end()) r.set(bh::field::cache_control, "no-store");
  return r;
}

std::size_t App::body_limit(const boost::beast::http::request_header<>& h) const {
  if (h.method() != bh::verb::post) return kSmallBody;
  auto type = h.find(bh::field::content_type);
  if (type == h.end() || !starts_with_ci(sv(type->value()), "multipart/form-data")) return kSmallBody;
  std::string_view target = sv(h.target());
  target = target.substr(0, target.find('?'));
  bool upload = target == "/tickets" ||
                (target.rfind("/tickets/", 0) == 0 && target.size() > 15 && target.substr(target.size() - 6) == "/reply");
  if (!upload) return kSmallBody;
  return desk_.config().notify.attach_max_bytes + (1 << 20);
}

void App::register_metrics(http::Metrics& metrics) {
  metrics.describe("portal_logins_total", http::MetricType::counter, "Sign-ins by mailed link, by result");
  for (const char* r : {"ok", "invalid", "unregistered"}) metrics.add("portal_logins_total", {{"result", r}}, 0);
  metrics.gauge("portal_sessions", "Portal sessions seen within session_idle_minutes", [this] {
    auto tx = store_.begin(store::Store::Mode::read);
    return static_cast<double>(tx->count_sessions(now_() - desk_.config().portal.session_idle_minutes * 60LL));
  });
  metrics_.store(&metrics);
}

void App::count_login(const std::string& result) {
  if (auto* m = metrics_.load()) m->add("portal_logins_total", {{"result", result}});
}

bool App::healthy() {
  try {
    auto tx = store_.begin(store::Store::Mode::read);
    (void)tx->meta("schema_version");
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace sd::portal
