// tests/portal/test_portal_app.cpp: the portal as a browser (or an attacker) meets it, through
// App::handle() with constructed requests on a real SQLite store (tests/support/test_desk.h):
// sign-in by mailed link, limits, CSRF and Origin, cookie flags, scope, headers, replies.
#include "portal/app.h"
#include "store/incidents.h"
#include "portal/auth.h"

#include "desk/estimates.h"
#include "desk/from_portal.h"
#include "desk/incidents.h"
#include "desk/keep_informed.h"
#include "store/keep_informed.h"
#include "desk/notices.h"
#include "store/estimates.h"
#include "http/metrics.h"
#include "http/parse.h"
#include "tests/support/new_ticket.h"
#include "tests/support/test_desk.h"

#include <nlohmann/json.hpp>

#include <map>
#include <regex>

namespace sd {
namespace {

namespace bh = boost::beast::http;
using test::kAgent;
using test::kCustomer;
using test::kNow;

constexpr const char* kBase = "https://desk.example.com";

// The desk of test_desk.h behind a portal whose clock the test moves.
struct PortalDesk {
  test::TestDesk d;
  std::unique_ptr<Desk> desk;
  store::Time now = kNow + 3600;
  std::unique_ptr<portal::App> app;
  http::Metrics metrics;

  explicit PortalDesk(const std::string& base_url = kBase) {
    d.c.portal.base_url = base_url;
    desk = std::make_unique<Desk>(d.c, false);
    app = std::make_unique<portal::App>(*d.st, *desk, [this] { return now; });
    app->register_metrics(metrics);
  }

  std::vector<store::OutboxItem> login_mails(const std::string& to = "") { return d.outbox("login-link", to); }

  // The token of the newest sign-in mail to `to`, read from the mail's bytes.
  std::string token_mailed_to(const std::string& to) {
    auto mails = login_mails(to);
    REQUIRE(!mails.empty());
    std::string bytes = mails.back().bytes;
    for (auto p = bytes.find("=\r\n"); p != std::string::npos; p = bytes.find("=\r\n")) bytes.erase(p, 3);
    std::smatch m;
    REQUIRE(std::regex_search(bytes, m, std::regex("/login/([0-9a-f]{32,64})")));
    return m[1];
  }

  std::int64_t rows(const std::string& table) {
    // What the store holds, counted through its interface: outbox rows of every kind.
    (void)table;
    return static_cast<std::int64_t>(d.outbox().size());
  }
};

struct Answer {
  int status = 0;
  std::string body;
  http::Response r;
  std::string header(std::string_view name) const {
    auto it = r.find(boost::beast::string_view(name.data(), name.size()));
    return it == r.end() ? "" : std::string(it->value());
  }
  std::vector<std::string> set_cookies() const {
    std::vector<std::string> out;
    for (auto it = r.find(bh::field::set_cookie); it != r.end() && it->name() == bh::field::set_cookie; ++it)
      out.emplace_back(it->value());
    return out;
  }
  // The value of a hidden field of the page's form.
  std::string field(const std::string& name) const {
    std::smatch m;
    if (std::regex_search(body, m, std::regex("name=\"" + name + "\" value=\"([^\"]*)\""))) return m[1];
    return "";
  }
};

// A browser: its cookies, its address, the Origin its forms send.
struct Browser {
  PortalDesk& p;
  std::map<std::string, std::string> cookies;
  std::string peer = "192.0.2.10";
  std::string origin = kBase;

  explicit Browser(PortalDesk& pd) : p(pd) {}

  Answer send(bh::verb method, const std::string& target, const std::string& body = "", const std::string& type = "",
              const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::Request req{method, target, 11};
    req.set(bh::field::host, "desk.example.com");
    std::string jar;
    for (const auto& [k, v] : cookies) jar += (jar.empty() ? "" : "; ") + k + "=" + v;
    if (!jar.empty()) req.set(bh::field::cookie, jar);
    if (method == bh::verb::post && !origin.empty()) req.set(bh::field::origin, origin);
    if (!type.empty()) req.set(bh::field::content_type, type);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    http::Exchange x{req, peer};
    Answer a;
    a.r = p.app->handle(x);
    a.status = static_cast<int>(a.r.result_int());
    a.body = a.r.body();
    for (const auto& c : a.set_cookies()) {
      auto eq = c.find('=');
      auto semi = c.find(';');
      std::string name = c.substr(0, eq), value = c.substr(eq + 1, semi - eq - 1);
      if (c.find("Max-Age=0") != std::string::npos || value.empty()) cookies.erase(name);
      else cookies[name] = value;
    }
    return a;
  }
  Answer get(const std::string& target) { return send(bh::verb::get, target); }
  Answer post(const std::string& target, const std::vector<std::pair<std::string, std::string>>& form,
              const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    std::string body;
    for (const auto& [k, v] : form) body += (body.empty() ? "" : "&") + http::url_encode_component(k) + "=" + http::url_encode_component(v);
    return send(bh::verb::post, target, body, "application/x-www-form-urlencoded", headers);
  }
  Answer multipart(const std::string& target, const std::vector<std::pair<std::string, std::string>>& form,
                   const std::vector<std::pair<std::string, std::string>>& files = {}) {
    const std::string b = "----sdtestboundary";
    std::string body;
    for (const auto& [k, v] : form) body += "--" + b + "\r\nContent-Disposition: form-data; name=\"" + k + "\"\r\n\r\n" + v + "\r\n";
    for (const auto& [name, data] : files)
      body += "--" + b + "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + name +
              "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + "\r\n";
    body += "--" + b + "--\r\n";
    return send(bh::verb::post, target, body, "multipart/form-data; boundary=" + b);
  }

  Answer request_link(const std::string& email) {
    auto form = get("/login");
    return post("/login", {{"email", email}, {"csrf", form.field("csrf")}});
  }
  // The whole sign-in: the link mailed, its page, the button.
  Answer sign_in(const std::string& email) {
    REQUIRE(request_link(email).status == 200);
    auto token = p.token_mailed_to(email);
    auto page = get("/login/" + token);
    return post("/login/" + token, {{"csrf", page.field("csrf")}});
  }
};

std::string session_cookie(const Answer& a) {
  for (const auto& c : a.set_cookies())
    if (c.rfind("sd_session=", 0) == 0) return c;
  return "";
}

// A second ticket, of Beta, with an attachment and an internal note on it.
std::int64_t beta_ticket_with_file(PortalDesk& p) {
  auto raw = test::TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Hemmeligt kontrakt", "b1@beta.dk",
                                  "MIME-Version: 1.0\r\n", "Hej\r\n");
  raw = "From: Bo <bo@beta.dk>\r\nTo: servicedesk@example.com\r\nSubject: Hemmeligt kontrakt\r\nMessage-ID: <b1@beta.dk>\r\n"
        "Date: Wed, 18 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
        "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSe vedhæftet.\r\n"
        "--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"kontrakt.pdf\"\r\n\r\n%PDF-1.4 secret\r\n"
        "--XX--\r\n";
  auto r = p.d.take(raw);
  REQUIRE(r.ticket_id);
  return r.ticket_id;
}

}  // namespace

// --- sign-in ---------------------------------------------------------------------------------

TEST_CASE("a contact signs in by the mailed link, which a GET or HEAD leaves usable and which works once") {
  PortalDesk p;
  Browser b(p);
  auto form = b.get("/login");
  REQUIRE(form.status == 200);
  REQUIRE(!form.field("csrf").empty());
  REQUIRE(b.cookies.count("sd_csrf"));
  auto sent = b.post("/login", {{"email", "Anna@Acme.se"}, {"csrf", form.field("csrf")}});
  REQUIRE(sent.status == 200);
  auto token = p.token_mailed_to(kCustomer);
  CHECK(p.login_mails(kCustomer).back().bytes.find(std::string(kBase) + "/login/") != std::string::npos);

  // A mail scanner fetches the link with GET (and HEAD arrives as GET): nothing is used.
  Browser scanner(p);
  for (int i = 0; i < 3; ++i) {
    auto page = scanner.get("/login/" + token);
    CHECK(page.status == 200);
    CHECK(page.body.find("action=\"/login/" + token + "\"") != std::string::npos);
  }
  CHECK(scanner.cookies.count("sd_session") == 0);

  auto page = b.get("/login/" + token);
  auto signed_in = b.post("/login/" + token, {{"csrf", page.field("csrf")}});
  REQUIRE(signed_in.status == 303);
  CHECK(signed_in.header("Location") == "/tickets");
  REQUIRE(b.cookies.count("sd_session"));
  CHECK(b.cookies["sd_session"].size() >= 32);
  CHECK(b.get("/tickets").status == 200);
  CHECK(p.metrics.value("portal_logins_total", {{"result", "ok"}}) == 1);

  // The link a second time, in another browser: no session.
  Browser other(p);
  auto again = other.get("/login/" + token);
  auto second = other.post("/login/" + token, {{"csrf", again.field("csrf")}});
  CHECK(second.status == 200);
  CHECK(second.body.find("no longer valid") != std::string::npos);
  CHECK(other.cookies.count("sd_session") == 0);
  CHECK(other.get("/tickets").status == 303);
  CHECK(p.metrics.value("portal_logins_total", {{"result", "invalid"}}) == 1);
}

TEST_CASE("an expired sign-in link does not sign in") {
  PortalDesk p;
  Browser b(p);
  REQUIRE(b.request_link(kCustomer).status == 200);
  auto token = p.token_mailed_to(kCustomer);
  auto page = b.get("/login/" + token);
  p.now += p.d.c.portal.login_link_minutes * 60 + 1;
  auto r = b.post("/login/" + token, {{"csrf", page.field("csrf")}});
  CHECK(r.status != 303);
  CHECK(b.cookies.count("sd_session") == 0);
}

TEST_CASE("an unknown address gets the same page as a registered one and no mail") {
  PortalDesk p;
  Browser known(p), unknown(p);
  // The same pre-session token in both, so the pages can be compared byte for byte.
  known.get("/login");
  unknown.cookies = known.cookies;
  auto before = p.rows("outbox");
  auto a = known.post("/login", {{"email", kCustomer}, {"csrf", known.cookies["sd_csrf"]}});
  auto after_known = p.rows("outbox");
  auto b = unknown.post("/login", {{"email", "nobody@acme.se"}, {"csrf", unknown.cookies["sd_csrf"]}});
  auto after_unknown = p.rows("outbox");
  CHECK(a.status == 200);
  CHECK(b.status == 200);
  CHECK(a.body == b.body);
  CHECK(after_known == before + 1);
  CHECK(after_unknown == after_known);
  CHECK(p.login_mails("nobody@acme.se").empty());
}

TEST_CASE("past the per-address limit the answer is the same and nothing is sent") {
  PortalDesk p;
  std::string first;
  for (int i = 0; i < p.d.c.portal.login_mails_per_address_per_hour + 3; ++i) {
    Browser b(p);
    b.peer = "192.0.2." + std::to_string(20 + i);  // other clients: only the address's limit applies
    auto r = b.request_link(kCustomer);
    CHECK(r.status == 200);
  }
  CHECK(p.login_mails(kCustomer).size() == static_cast<std::size_t>(p.d.c.portal.login_mails_per_address_per_hour));
}

TEST_CASE("past the per-client limit the portal answers 429, and an untrusted X-Forwarded-For does not reset it") {
  PortalDesk p;
  Browser b(p);
  std::vector<int> statuses;
  for (int i = 0; i < p.d.c.portal.login_requests_per_client_per_minute + 2; ++i) {
    auto form = b.get("/login");
    statuses.push_back(b.post("/login", {{"email", "x" + std::to_string(i) + "@nowhere.example"}, {"csrf", form.field("csrf")}},
                              {{"X-Forwarded-For", "10.0.0." + std::to_string(i)}})
                           .status);
  }
  CHECK(statuses.front() == 200);
  CHECK(statuses.at(static_cast<std::size_t>(p.d.c.portal.login_requests_per_client_per_minute) - 1) == 200);
  CHECK(statuses.back() == 429);
  // Another client is not limited by this one.
  Browser other(p);
  other.peer = "192.0.2.99";
  CHECK(other.request_link("y@nowhere.example").status == 200);
}

TEST_CASE("behind a trusted proxy the client is the address X-Forwarded-For names") {
  PortalDesk p;
  p.d.c.portal.trusted_proxies = {"127.0.0.1"};
  p.desk = std::make_unique<Desk>(p.d.c, false);
  p.app = std::make_unique<portal::App>(*p.d.st, *p.desk, [&p] { return p.now; });
  Browser b(p);
  b.peer = "127.0.0.1";
  int limit = p.d.c.portal.login_requests_per_client_per_minute;
  for (int i = 0; i < limit + 2; ++i) {
    auto form = b.get("/login");
    auto r = b.post("/login", {{"email", "z@nowhere.example"}, {"csrf", form.field("csrf")}},
                    {{"X-Forwarded-For", "203.0.113." + std::to_string(i)}});
    CHECK(r.status == 200);  // each a client of its own
  }
}

TEST_CASE("a POST without the CSRF token or with a wrong one is 403 on every route") {
  PortalDesk p;
  Browser anon(p);
  anon.get("/login");
  CHECK(anon.post("/login", {{"email", kCustomer}}).status == 403);
  CHECK(anon.post("/login", {{"email", kCustomer}, {"csrf", "forged"}}).status == 403);
  CHECK(anon.post("/login", {{"email", kCustomer}, {"csrf", std::string(32, 'a')}}).status == 403);
  CHECK(p.login_mails(kCustomer).empty());

  Browser b(p);
  REQUIRE(b.sign_in(kCustomer).status == 303);
  // The pre-session token of the link's page without its cookie: 403.
  REQUIRE(b.request_link(kCustomer).status == 200);
  auto token = p.token_mailed_to(kCustomer);
  Browser fresh(p);
  CHECK(fresh.post("/login/" + token, {{"csrf", b.cookies["sd_csrf"]}}).status == 403);
  CHECK(fresh.post("/login/" + token, {}).status == 403);

  auto page = b.get("/tickets/SD-1");
  REQUIRE(page.status == 200);
  std::string key = page.field("form_key");
  auto messages_before = p.d.st->begin(store::Store::Mode::read)->messages(1).size();
  for (const auto& csrf : {std::string(), std::string("wrong"), b.cookies["sd_csrf"]}) {
    std::vector<std::pair<std::string, std::string>> form = {{"text", "hej"}, {"form_key", key}};
    if (!csrf.empty()) form.emplace_back("csrf", csrf);
    CHECK(b.post("/tickets/SD-1/reply", form).status == 403);
    CHECK(b.post("/tickets", {{"subject", "s"}, {"text", "t"}, {"form_key", key}, {"csrf", csrf}}).status == 403);
    CHECK(b.post("/logout", {{"csrf", csrf}}).status == 403);
  }
  auto tx = p.d.st->begin(store::Store::Mode::read);
  CHECK(tx->messages(1).size() == messages_before);
  CHECK(tx->tickets().size() == 1);
}

TEST_CASE("another site's form with the right token is refused by the Origin check") {
  PortalDesk p;
  Browser b(p);
  auto form = b.get("/login");
  CHECK(b.post("/login", {{"email", kCustomer}, {"csrf", form.field("csrf")}}, {{"Origin", "https://evil.example"}}).status ==
        403);
  b.origin = "";
  CHECK(b.post("/login", {{"email", kCustomer}, {"csrf", form.field("csrf")}}, {{"Referer", "https://evil.example/x"}})
            .status == 403);
  CHECK(b.post("/login", {{"email", kCustomer}, {"csrf", form.field("csrf")}}).status == 403);
  CHECK(p.login_mails(kCustomer).empty());
  CHECK(b.post("/login", {{"email", kCustomer}, {"csrf", form.field("csrf")}}, {{"Referer", std::string(kBase) + "/login"}})
            .status == 200);
}

TEST_CASE("the session cookie is HttpOnly and SameSite=Lax, and Secure under an https base_url only") {
  {
    PortalDesk p;
    Browser b(p);
    auto c = session_cookie(b.sign_in(kCustomer));
    CHECK(c.find("HttpOnly") != std::string::npos);
    CHECK(c.find("SameSite=Lax") != std::string::npos);
    CHECK(c.find("Path=/") != std::string::npos);
    CHECK(c.find("Secure") != std::string::npos);
  }
  {
    PortalDesk p("http://127.0.0.1:8080");
    Browser b(p);
    b.origin = "http://127.0.0.1:8080";
    auto c = session_cookie(b.sign_in(kCustomer));
    REQUIRE(!c.empty());
    CHECK(c.find("HttpOnly") != std::string::npos);
    CHECK(c.find("Secure") == std::string::npos);
  }
}

TEST_CASE("signing out ends the session, and a stolen copy of the cookie no longer works") {
  PortalDesk p;
  Browser b(p);
  REQUIRE(b.sign_in(kCustomer).status == 303);
  auto copy = b.cookies;
  auto page = b.get("/tickets");
  auto out = b.post("/logout", {{"csrf", page.field("csrf")}});
  CHECK(out.status == 303);
  CHECK(b.get("/tickets").status == 303);
  Browser thief(p);
  thief.cookies = copy;
  CHECK(thief.get("/tickets").status == 303);
  CHECK(thief.get("/api/tickets").status == 401);
}

TEST_CASE("a session ends after session_idle_minutes without a request and after session_max_hours in all") {
  PortalDesk p;
  Browser b(p);
  REQUIRE(b.sign_in(kCustomer).status == 303);
  p.now += p.d.c.portal.session_idle_minutes * 60 - 30;
  CHECK(b.get("/tickets").status == 200);
  p.now += p.d.c.portal.session_idle_minutes * 60 - 30;
  CHECK(b.get("/tickets").status == 200);  // touched on the way
  p.now += p.d.c.portal.session_idle_minutes * 60 + 61;
  CHECK(b.get("/tickets").status == 303);

  Browser c(p);
  REQUIRE(c.sign_in(kCustomer).status == 303);
  for (int i = 0; i < p.d.c.portal.session_max_hours * 2; ++i) {
    p.now += 30 * 60;
    c.get("/tickets");
  }
  p.now += 60;
  CHECK(c.get("/tickets").status == 303);
}

TEST_CASE("a removed contact's cookie no longer works") {
  PortalDesk p;
  Browser b(p);
  REQUIRE(b.sign_in(kCustomer).status == 303);
  {
    auto tx = p.d.st->begin(store::Store::Mode::write);
    tx->remove_contact(kCustomer);
    tx->commit();
  }
  CHECK(b.get("/tickets").status == 303);
  CHECK(b.get("/api/tickets").status == 401);
}

TEST_CASE("not signed in, pages send to /login and the API answers 401") {
  PortalDesk p;
  Browser b(p);
  auto r = b.get("/tickets");
  CHECK(r.status == 303);
  CHECK(r.header("Location") == "/login");
  CHECK(b.get("/").header("Location") == "/login");
  CHECK(b.get("/tickets/SD-1").status == 303);
  CHECK(b.get("/api/tickets").status == 401);
  CHECK(b.get("/api/tickets/SD-1").status == 401);
  b.cookies["sd_session"] = std::string(32, 'a');
  CHECK(b.get("/tickets").status == 303);
}

// --- headers --------------------------------------------------------------------------------

TEST_CASE("every response carries the Content-Security-Policy and the other security headers") {
  PortalDesk p;
  Browser b(p);
  for (const auto& target : {"/login", "/tickets", "/nowhere", "/static/portal.css", "/healthz"}) {
    auto r = b.get(target);
    INFO(target);
    CHECK(r.header("Content-Security-Policy") ==
          "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    CHECK(r.header("X-Frame-Options") == "DENY");
    CHECK(r.header("X-Content-Type-Options") == "nosniff");
    CHECK(!r.header("Referrer-Policy").empty());
    CHECK(r.body.find("<script") == std::string::npos);
  }
  CHECK(b.get("/login").header("Cache-Control") == "no-store");
  CHECK(b.get("/healthz").status == 200);
  CHECK(b.get("/static/portal.css").status == 200);
}

// --- scope ----------------------------------------------------------------------------------

TEST_CASE("another organisation's ticket, attachment and API object answer 404, like one that does not exist") {
  PortalDesk p;
  auto beta = beta_ticket_with_file(p);
  std::string ref = "SD-" + std::to_string(beta);
  Browser anna(p);
  REQUIRE(anna.sign_in(kCustomer).status == 303);
  for (const auto& target : {"/tickets/" + ref, "/tickets/" + ref + "/attachments/1", "/api/tickets/" + ref,
                             std::string("/tickets/SD-99"), std::string("/tickets/SD-99/attachments/1"),
                             std::string("/api/tickets/SD-99")}) {
    auto r = anna.get(target);
    INFO(target);
    CHECK(r.status == 404);
    CHECK(r.body.find("Hemmeligt") == std::string::npos);
  }
  auto page = anna.get("/tickets/" + ref);
  auto reply = anna.post("/tickets/" + ref + "/reply", {{"text", "mine now"}, {"csrf", anna.get("/tickets").field("csrf")}, {"form_key", std::string(32, 'b')}});
  CHECK(reply.status == 404);
  CHECK(anna.get("/tickets").body.find("Hemmeligt") == std::string::npos);
  auto list = anna.get("/api/tickets");
  CHECK(list.status == 200);
  CHECK(list.body.find("Hemmeligt") == std::string::npos);

  Browser bo(p);
  REQUIRE(bo.sign_in("bo@beta.dk").status == 303);
  auto f = bo.get("/tickets/" + ref + "/attachments/1");
  CHECK(f.status == 200);
  CHECK(f.header("Content-Disposition").rfind("attachment", 0) == 0);
  CHECK(f.header("Content-Disposition").find("kontrakt.pdf") != std::string::npos);
  CHECK(f.header("X-Content-Type-Options") == "nosniff");
  // A download keeps its own policy: nothing in it runs, nothing frames it.
  CHECK(f.header("Content-Security-Policy") == "default-src 'none'; sandbox; frame-ancestors 'none'");
  CHECK(f.body.find("%PDF-1.4 secret") != std::string::npos);
}

TEST_CASE("a contact sees neither internal notes nor internal events, in the page or the API") {
  PortalDesk p;
  {
    auto tx = p.d.st->begin(store::Store::Mode::write);
    AgentWrite w;
    w.agent = kAgent;
    w.ticket_id = 1;
    w.text = "Intern anteckning: kunden betalar inte";
    w.note = true;
    REQUIRE(agent_works(*tx, *p.desk, w, p.now));
    tx->add_event({1, p.now, "system", "security", "Intern säkerhetshändelse", true});
    tx->commit();
  }
  Browser anna(p);
  REQUIRE(anna.sign_in(kCustomer).status == 303);
  auto page = anna.get("/tickets/SD-1");
  REQUIRE(page.status == 200);
  CHECK(page.body.find("Skrivaren") != std::string::npos);
  CHECK(page.body.find("betalar inte") == std::string::npos);
  CHECK(page.body.find("säkerhetshändelse") == std::string::npos);
  auto api = anna.get("/api/tickets/SD-1");
  REQUIRE(api.status == 200);
  CHECK(api.body.find("betalar inte") == std::string::npos);
  CHECK(api.body.find("säkerhetshändelse") == std::string::npos);
  auto j = nlohmann::json::parse(api.body);
  CHECK(j["id"] == "SD-1");
  for (const auto& e : j["events"]) CHECK((e["kind"] == "status" || e["kind"] == "reopened"));
  for (const auto& m : j["messages"]) CHECK(m["internal"] == false);
  // A search for the note's words finds nothing for her.
  CHECK(anna.get("/tickets?q=betalar").body.find("SD-1") == std::string::npos);

  Browser eva(p);
  REQUIRE(eva.sign_in(kAgent).status == 303);
  CHECK(eva.get("/tickets/SD-1").body.find("betalar inte") != std::string::npos);
  CHECK(eva.get("/api/tickets/SD-1").body.find("betalar inte") != std::string::npos);
}

TEST_CASE("a contact of an organisation with own visibility sees only their own tickets") {
  PortalDesk p;
  {
    auto tx = p.d.st->begin(store::Store::Mode::write);
    tx->add_contact({"carl@acme.se", "Carl", "Acme"});
    auto o = *tx->organisation("Acme");
    o.visibility = "own";
    tx->update_organisation(o);
    tx->commit();
  }
  auto carls = p.d.take(test::TestDesk::mail("Carl <carl@acme.se>", "servicedesk@example.com", "Carls egen", "c9@acme.se"));
  REQUIRE(carls.ticket_id);
  Browser anna(p);
  REQUIRE(anna.sign_in(kCustomer).status == 303);
  auto list = anna.get("/tickets");
  CHECK(list.body.find("Skrivaren") != std::string::npos);
  CHECK(list.body.find("Carls egen") == std::string::npos);
  CHECK(anna.get("/tickets/SD-" + std::to_string(carls.ticket_id)).status == 404);
  CHECK(anna.get("/api/tickets").body.find("Carls egen") == std::string::npos);
}

TEST_CASE("an agent's queue lists open tickets by their stored next SLA due time") {
  PortalDesk p;
  auto t2 = p.d.take(test::TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Andra", "q2@beta.dk"));
  auto t3 = p.d.take(test::TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Tredje", "q3@beta.dk"));
  REQUIRE(t2.ticket_id);
  REQUIRE(t3.ticket_id);
  {
    auto tx = p.d.st->begin(store::Store::Mode::write);
    tx->set_sla_next_due(t3.ticket_id, kNow + 100);
    tx->set_sla_next_due(t2.ticket_id, kNow + 200);
    tx->set_sla_next_due(1, kNow + 300);
    tx->commit();
  }
  Browser eva(p);
  REQUIRE(eva.sign_in(kAgent).status == 303);
  auto api = eva.get("/api/tickets");
  REQUIRE(api.status == 200);
  auto j = nlohmann::json::parse(api.body);
  REQUIRE(j.size() == 3);
  CHECK(j[0]["id"] == "SD-" + std::to_string(t3.ticket_id));
  CHECK(j[1]["id"] == "SD-" + std::to_string(t2.ticket_id));
  CHECK(j[2]["id"] == "SD-1");
  auto page = eva.get("/tickets");
  auto a = page.body.find("Tredje"), b = page.body.find("Andra"), c = page.body.find("Skrivaren");
  CHECK(a < b);
  CHECK(b < c);
  CHECK(eva.get("/tickets?organisation=Beta").body.find("Skrivaren") == std::string::npos);
}

TEST_CASE("a queue of more than 1,000 open tickets is counted to 1,000 past the page and says so") {
  PortalDesk p;
  {
    auto tx = p.d.st->begin(store::Store::Mode::write);
    for (int i = 0; i < 1100; ++i) {
      auto t = test::new_ticket("Massärende " + std::to_string(i), "bo@beta.dk", "Bo", kNow - 1000 + i);
      t.organisation = i < 1060 ? "Acme" : "Beta";
      tx->create_ticket(t);
    }
    tx->commit();
  }
  Browser eva(p);
  REQUIRE(eva.sign_in(kAgent).status == 303);
  auto first = eva.get("/tickets");
  CHECK(first.body.find("more than 1000 tickets") != std::string::npos);
  CHECK(first.body.find("page=2\">Next</a>") != std::string::npos);
  auto api = eva.get("/api/tickets");
  CHECK(api.header("X-Total-Count") == "1000");
  CHECK(api.header("X-Total-Count-Capped") == "true");
  // Further on, the count reaches further: page 4 starts at 150 and counts past 1,150, so all
  // 1,101 (with the fixture's own ticket) are counted.
  auto fourth = eva.get("/tickets?page=4");
  CHECK(fourth.body.find("1101 tickets") != std::string::npos);
  CHECK(fourth.body.find("page 4 of 23") != std::string::npos);
  // A filter below the cap is counted exactly.
  auto beta = eva.get("/api/tickets?organisation=Beta");
  CHECK(beta.header("X-Total-Count") == "40");
  CHECK(beta.header("X-Total-Count-Capped").empty());
}

// --- posts ----------------------------------------------------------------------------------

TEST_CASE("a contact's reply is posted once however often the form is sent") {
  PortalDesk p;
  Browser anna(p);
  REQUIRE(anna.sign_in(kCustomer).status == 303);
  auto page = anna.get("/tickets/SD-1");
  std::vector<std::pair<std::string, std::string>> form = {
      {"text", "Den är fortfarande trasig."}, {"csrf", page.field("csrf")}, {"form_key", page.field("form_key")}};
  auto first = anna.multipart("/tickets/SD-1/reply", form, {{"foto.jpg", "JPEGDATA"}});
  CHECK(first.status == 303);
  auto second = anna.multipart("/tickets/SD-1/reply", form, {{"foto.jpg", "JPEGDATA"}});
  CHECK(second.status == 303);
  CHECK(second.header("Location") == "/tickets/SD-1");
  auto tx = p.d.st->begin(store::Store::Mode::read);
  auto msgs = tx->messages(1);
  int replies = 0;
  for (const auto& m : msgs)
    if (m.body_text.find("fortfarande trasig") != std::string::npos) ++replies;
  CHECK(replies == 1);
  CHECK(tx->attachments(1).size() == 1);
}

TEST_CASE("a contact cannot set the priority with a forged field") {
  PortalDesk p;
  Browser anna(p);
  REQUIRE(anna.sign_in(kCustomer).status == 303);
  auto before = p.d.ticket(1).priority;
  auto page = anna.get("/tickets/SD-1");
  auto r = anna.post("/tickets/SD-1/reply", {{"text", "Snälla, högsta prioritet"}, {"priority", "highest"}, {"status", "closed"},
                                             {"assign", kCustomer}, {"csrf", page.field("csrf")}, {"form_key", page.field("form_key")}});
  CHECK(r.status == 303);
  auto t = p.d.ticket(1);
  CHECK(t.priority == before);
  CHECK(t.status != "closed");
  CHECK(t.assignee.empty());
}

TEST_CASE("a contact opens a new ticket, and an agent resolves it from the portal") {
  PortalDesk p;
  Browser anna(p);
  REQUIRE(anna.sign_in(kCustomer).status == 303);
  auto form = anna.get("/tickets/new");
  REQUIRE(form.status == 200);
  auto r = anna.multipart("/tickets", {{"subject", "Ny dator"}, {"text", "Vi behöver en ny dator."}, {"category", "order"},
                                       {"csrf", form.field("csrf")}, {"form_key", form.field("form_key")}});
  REQUIRE(r.status == 303);
  auto tickets = p.d.tickets();
  REQUIRE(tickets.size() == 2);
  auto id = tickets.front().id;
  CHECK(tickets.front().subject == "Ny dator");
  CHECK(r.header("Location") == "/tickets/SD-" + std::to_string(id));

  Browser eva(p);
  REQUIRE(eva.sign_in(kAgent).status == 303);
  std::string ref = "SD-" + std::to_string(id);
  auto page = eva.get("/tickets/" + ref);
  REQUIRE(page.status == 200);
  auto done = eva.post("/tickets/" + ref + "/reply", {{"text", "Beställd."}, {"status", "resolved"}, {"priority", "high"},
                                                      {"csrf", page.field("csrf")}, {"form_key", page.field("form_key")}});
  CHECK(done.status == 303);
  auto t = p.d.ticket(id);
  CHECK(t.status == "resolved");
  CHECK(t.priority == "high");
}

// --- estimates the customer approves (desk/estimates.h) -------------------------------------

namespace {
std::int64_t estimate_on_sd1(PortalDesk& p) {
  Desk full(p.d.c);  // the daemon's side, with the token secret
  auto tx = p.d.st->begin(store::Store::Mode::write);
  EstimateRequest r{2 * 3600, "Bygga om flödet", "", kAgent, "Eva Agent", {}};
  auto id = make_estimate(*tx, full, *tx->ticket(1), r, kNow + 60);
  REQUIRE(id);
  tx->commit();
  return *id;
}
}  // namespace

TEST_CASE("the estimate's buttons are a POST form with CSRF and a one-time key, and the first answer counts") {
  PortalDesk p;
  auto id = estimate_on_sd1(p);
  Browser anna(p);
  REQUIRE(anna.sign_in(kCustomer).status == 303);
  auto page = anna.get("/tickets/SD-1");
  REQUIRE(page.status == 200);
  CHECK(page.body.find("Uppskattning att godkänna") != std::string::npos);
  CHECK(page.body.find("<form method=\"post\" action=\"/tickets/SD-1/estimate\">") != std::string::npos);
  CHECK(page.body.find("name=\"answer\" value=\"approve\">Godkänn</button>") != std::string::npos);
  CHECK(page.body.find("name=\"answer\" value=\"decline\">Avböj</button>") != std::string::npos);
  CHECK(page.body.find("<a href=\"/tickets/SD-1/estimate") == std::string::npos);  // never a link
  CHECK(page.field("estimate") == std::to_string(id));

  // A GET (a scanner following anything) changes nothing; a POST without the CSRF token neither.
  CHECK(anna.get("/tickets/SD-1/estimate").status == 405);
  CHECK(anna.post("/tickets/SD-1/estimate", {{"answer", "approve"}, {"estimate", std::to_string(id)},
                                             {"form_key", page.field("form_key")}})
            .status == 403);
  CHECK(anna.post("/tickets/SD-1/estimate", {{"answer", "yes"}, {"estimate", std::to_string(id)},
                                             {"csrf", page.field("csrf")}, {"form_key", std::string(32, 'c')}})
            .status == 400);
  CHECK(p.d.ticket(1).status == "awaiting-approval");

  std::vector<std::pair<std::string, std::string>> form = {{"answer", "approve"},
                                                           {"estimate", std::to_string(id)},
                                                           {"csrf", page.field("csrf")},
                                                           {"form_key", page.field("form_key")}};
  auto first = anna.post("/tickets/SD-1/estimate", form);
  CHECK(first.status == 303);
  CHECK(first.header("Location") == "/tickets/SD-1");
  auto again = anna.post("/tickets/SD-1/estimate", form);  // a double click
  CHECK(again.status == 303);
  auto e = p.d.st->begin(store::Store::Mode::read)->estimates().estimate(id);
  CHECK(e->state == "approved");
  CHECK(e->answered_by == kCustomer);
  CHECK(e->answered_via == "portal");
  CHECK(p.d.ticket(1).status == "open");
  CHECK(p.d.outbox("estimate-answered", kAgent).size() == 1);
  // Answered, the page shows no buttons any more.
  CHECK(anna.get("/tickets/SD-1").body.find("/tickets/SD-1/estimate") == std::string::npos);
}

TEST_CASE("a contact of another organisation, or an agent, cannot press the estimate's buttons") {
  PortalDesk p;
  auto id = estimate_on_sd1(p);
  Browser bo(p);
  REQUIRE(bo.sign_in("bo@beta.dk").status == 303);
  auto list = bo.get("/tickets");
  CHECK(bo.post("/tickets/SD-1/estimate", {{"answer", "approve"}, {"estimate", std::to_string(id)},
                                           {"csrf", list.field("csrf")}, {"form_key", std::string(32, 'd')}})
            .status == 404);
  Browser eva(p);
  REQUIRE(eva.sign_in(kAgent).status == 303);
  auto staff = eva.get("/tickets/SD-1");
  CHECK(staff.body.find("Estimate awaiting the customer") != std::string::npos);
  CHECK(staff.body.find("value=\"approve\"") == std::string::npos);
  // An agent's post is read as the agent's estimate form: without a duration it is refused.
  CHECK(eva.post("/tickets/SD-1/estimate", {{"answer", "approve"}, {"estimate", std::to_string(id)},
                                            {"csrf", staff.field("csrf")}, {"form_key", staff.field("form_key")}})
            .status == 400);
  CHECK(p.d.st->begin(store::Store::Mode::read)->estimates().estimate(id)->state == "awaiting");
  CHECK(p.d.ticket(1).status == "awaiting-approval");
}

// --- maintenance notices ---------------------------------------------------------------------

TEST_CASE("a signed-in contact sees their organisation's coming notices in its language, not another's") {
  PortalDesk p;
  auto add = [&](const std::vector<std::string>& orgs, const std::string& text, const std::string& text_sv) {
    NoticeRequest r;
    r.kind = "upgrade";
    r.starts_at = kNow + 30 * 86400;
    r.ends_at = r.starts_at + 3600;
    r.organisations = orgs;
    r.text = text;
    r.text_sv = text_sv;
    r.actor = "operator:test";
    auto tx = p.d.st->begin(store::Store::Mode::write);
    add_notice(*tx, *p.desk, r, kNow);
    tx->commit();
  };
  add({"Acme"}, "Version 9 arrives.\n", "Version 9 kommer <b>snart</b>.\n");
  add({"Beta"}, "Beta's secret migration.\n", "");
  Browser anna(p);
  anna.sign_in(kCustomer);
  auto page = anna.get("/tickets");
  REQUIRE(page.status == 200);
  CHECK(page.body.find("Planerat underhåll") != std::string::npos);
  CHECK(page.body.find("Uppgradering") != std::string::npos);
  CHECK(page.body.find("Version 9 kommer &lt;b&gt;snart&lt;/b&gt;.") != std::string::npos);  // the Swedish text, escaped
  CHECK(page.body.find("Beta's secret migration") == std::string::npos);
  Browser bo(p);
  bo.sign_in("bo@beta.dk");
  auto theirs = bo.get("/tickets");
  CHECK(theirs.body.find("Beta&#39;s secret migration") != std::string::npos);
  CHECK(theirs.body.find("Version 9") == std::string::npos);
  // Once it is over it is no longer shown.
  p.now = kNow + 31 * 86400;
  Browser later(p);
  later.sign_in(kCustomer);
  auto after = later.get("/tickets");
  REQUIRE(after.status == 200);
  CHECK(after.body.find("Version 9") == std::string::npos);
}

// --- major incidents (desk/incidents.h) ------------------------------------------------------

TEST_CASE("an agent declares a major incident and links a ticket on the portal; the contact sees only that their case "
          "is part of one, and cannot declare or link") {
  PortalDesk p;
  REQUIRE(p.d.take(test::TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Login virker ikke", "b7@beta.dk"))
              .ticket_id == 2);
  Browser eva(p);
  REQUIRE(eva.sign_in(kAgent).status == 303);
  auto page = eva.get("/tickets/SD-1");
  REQUIRE(page.status == 200);
  std::string csrf = page.field("csrf"), key = page.field("form_key");
  // Without the session's CSRF token nothing is declared.
  CHECK(eva.post("/incidents", {{"title", "Inloggningen ligger nere"}, {"from", "SD-1"}, {"form_key", key + "b"}}).status == 403);
  auto declared = eva.post("/incidents", {{"title", "Inloggningen ligger nere"}, {"from", "SD-1"}, {"alert_key", "login"},
                                          {"csrf", csrf}, {"form_key", key + "b"}});
  REQUIRE(declared.status == 303);
  CHECK(declared.header("Location") == "/tickets/SD-3");
  // The same form again (a double click) declares nothing more.
  CHECK(eva.post("/incidents", {{"title", "Inloggningen ligger nere"}, {"from", "SD-1"}, {"csrf", csrf}, {"form_key", key + "b"}})
            .status == 303);
  CHECK(p.d.tickets().size() == 3);
  auto inc = p.d.st->begin(store::Store::Mode::read)->incidents().incident(3);
  REQUIRE(inc);
  CHECK(inc->declared_by == kAgent);
  CHECK(inc->alert_keys == std::vector<std::string>{"login"});

  auto bo_page = eva.get("/tickets/SD-2");
  auto linked = eva.post("/tickets/SD-2/incident", {{"incident", "SD-3"}, {"csrf", csrf}, {"form_key", bo_page.field("form_key") + "a"}});
  CHECK(linked.status == 303);
  auto l = p.d.st->begin(store::Store::Mode::read)->incidents().link_of(2);
  REQUIRE(l);
  CHECK(l->incident_id == 3);
  CHECK(l->how == "portal");
  auto wrong = eva.post("/tickets/SD-2/incident", {{"incident", "SD-1"}, {"csrf", csrf}, {"form_key", eva.get("/tickets/SD-2").field("form_key") + "a"}});
  CHECK(wrong.status == 400);
  CHECK(wrong.body.find("no major incident") != std::string::npos);

  Browser anna(p);
  REQUIRE(anna.sign_in(kCustomer).status == 303);
  auto hers = anna.get("/tickets/SD-1");
  REQUIRE(hers.status == 200);
  CHECK(hers.body.find("ingår i en större incident") != std::string::npos);  // Acme's language
  CHECK(hers.body.find("SD-3") == std::string::npos);
  CHECK(hers.body.find("Inloggningen ligger nere") == std::string::npos);
  CHECK(hers.body.find("action=\"/incidents\"") == std::string::npos);
  std::string acsrf = hers.field("csrf"), akey = hers.field("form_key");
  CHECK(anna.post("/incidents", {{"title", "Falsk"}, {"csrf", acsrf}, {"form_key", akey + "b"}}).status == 404);
  CHECK(anna.post("/tickets/SD-1/incident", {{"incident", "none"}, {"csrf", acsrf}, {"form_key", akey + "a"}}).status == 404);
  CHECK(p.d.tickets().size() == 3);
  CHECK_FALSE(p.d.st->begin(store::Store::Mode::read)->incidents().link_of(1)->unlinked_at);
}

// --- the agents' incidents pages, the report, estimates, broadcasts, hypercare (issue 16) ----

namespace {

const std::string kHostileTitle = "<script>alert(1)</script> Login <b>down</b>";

// A major incident declared as the CLI would, SD-1 linked; its id.
std::int64_t declare_on(PortalDesk& p, const std::string& title, std::optional<std::int64_t> from = 1,
                        store::Time at = kNow + 100) {
  Desk full(p.d.c);
  auto tx = p.d.st->begin(store::Store::Mode::write);
  IncidentDeclaration d;
  d.title = title;
  d.agent = kAgent;
  d.from = from;
  auto id = declare_incident(*tx, full, d, "operator:root", "cli", at);
  REQUIRE(id);
  tx->commit();
  return *id;
}

std::int64_t estimates_of(PortalDesk& p, std::int64_t ticket) {
  return static_cast<std::int64_t>(p.d.st->begin(store::Store::Mode::read)->estimates().estimates_of(ticket).size());
}

}  // namespace

TEST_CASE("an agent's incidents list shows the major incidents newest first with their links, counts and "
          "organisations, the title escaped") {
  PortalDesk p;
  REQUIRE(p.d.take(test::TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Login virker ikke", "b7@beta.dk"))
              .ticket_id == 2);
  auto first = declare_on(p, "Mail is slow", std::nullopt, kNow + 100);  // SD-3, nothing linked
  auto second = declare_on(p, kHostileTitle, 1, kNow + 200);             // SD-4, SD-1 linked
  {
    Desk full(p.d.c);
    auto tx = p.d.st->begin(store::Store::Mode::write);
    REQUIRE(link_to_incident(*tx, full, 2, second, kAgent, "cli", kNow + 300));
    tx->commit();
  }
  Browser eva(p);
  REQUIRE(eva.sign_in(kAgent).status == 303);
  CHECK(eva.get("/tickets").body.find("<a href=\"/incidents\">") != std::string::npos);  // in the navigation
  auto page = eva.get("/incidents");
  REQUIRE(page.status == 200);
  CHECK(page.body.find("<script") == std::string::npos);
  CHECK(page.body.find("&lt;script&gt;alert(1)&lt;/script&gt; Login &lt;b&gt;down&lt;/b&gt;") != std::string::npos);
  auto at4 = page.body.find("href=\"/tickets/SD-" + std::to_string(second) + "\"");
  auto at3 = page.body.find("href=\"/tickets/SD-" + std::to_string(first) + "\"");
  REQUIRE(at4 != std::string::npos);
  REQUIRE(at3 != std::string::npos);
  CHECK(at4 < at3);  // newest first
  CHECK(page.body.find("href=\"/incidents/SD-4/report\"") != std::string::npos);
  CHECK(page.body.find("href=\"/incidents/SD-3/report\"") != std::string::npos);
  CHECK(page.body.find("<td>2</td>") != std::string::npos);  // SD-4's linked tickets now
  CHECK(page.body.find("<td>Acme, Beta</td>") != std::string::npos);
  CHECK(page.body.find("Mail is slow") != std::string::npos);
  CHECK(page.header("Content-Security-Policy").find("style-src 'self'") != std::string::npos);
  CHECK(eva.post("/incidents/SD-4/report", {{"csrf", page.field("csrf")}}).status == 405);
}

TEST_CASE("a contact and a signed-out visitor get neither the incidents list nor a report") {
  PortalDesk p;
  auto id = declare_on(p, kHostileTitle);
  std::string ref = "SD-" + std::to_string(id);
  Browser anna(p);
  REQUIRE(anna.sign_in(kCustomer).status == 303);
  CHECK(anna.get("/tickets").body.find("href=\"/incidents\"") == std::string::npos);
  for (const auto& target : {std::string("/incidents"), "/incidents/" + ref + "/report", std::string("/incidents/SD-1/report")}) {
    INFO(target);
    auto r = anna.get(target);
    CHECK(r.status == 404);
    CHECK(r.body.find("alert(1)") == std::string::npos);
    CHECK(r.body.find("Login") == std::string::npos);
  }
  Browser stranger(p);
  for (const auto& target : {std::string("/incidents"), "/incidents/" + ref + "/report"}) {
    auto r = stranger.get(target);
    CHECK(r.status == 303);
    CHECK(r.header("Location") == "/login");
    CHECK(r.body.find("alert(1)") == std::string::npos);
  }
}

TEST_CASE("an agent reads the incident's report under its own policy; a ticket that is no incident or a malformed "
          "ref is 404") {
  PortalDesk p;
  auto id = declare_on(p, kHostileTitle);
  std::string ref = "SD-" + std::to_string(id);
  Browser eva(p);
  REQUIRE(eva.sign_in(kAgent).status == 303);
  auto r = eva.get("/incidents/" + ref + "/report");
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type").find("text/html") == 0);
  CHECK(r.header("Content-Security-Policy") ==
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  CHECK(r.header("X-Frame-Options") == "DENY");
  CHECK(r.header("Cache-Control") == "no-store");
  CHECK(r.body.find("<script") == std::string::npos);
  CHECK(r.body.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(r.body.find(ref) != std::string::npos);
  // The URL the monthly report links to (desk/from_portal.h) is this page.
  CHECK(portal_incident_report_link(p.d.c, id) == std::string(kBase) + "/incidents/" + ref + "/report");
  // Its ticket's page links to it.
  CHECK(eva.get("/tickets/" + ref).body.find("href=\"/incidents/" + ref + "/report\"") != std::string::npos);
  std::string n = std::to_string(id);
  for (const auto& target : {std::string("/incidents/SD-1/report"), std::string("/incidents/SD-999/report"),
                             "/incidents/sd-" + n + "/report", "/incidents/SD-0" + n + "/report", std::string("/incidents/SD-x/report"),
                             "/incidents/" + ref, "/incidents/" + ref + "/report/x", std::string("/incidents//report")}) {
    INFO(target);
    auto nf = eva.get(target);
    CHECK(nf.status == 404);
    CHECK(nf.body.find("alert(1)") == std::string::npos);
  }
}

TEST_CASE("an agent makes an estimate on the ticket's page, through the desk's make_estimate(); bad input, a missing "
          "CSRF token and a reused form key change nothing") {
  PortalDesk p;
  Browser eva(p);
  REQUIRE(eva.sign_in(kAgent).status == 303);
  auto page = eva.get("/tickets/SD-1");
  REQUIRE(page.status == 200);
  CHECK(page.body.find("name=\"duration\"") != std::string::npos);
  CHECK(page.body.find("<form method=\"post\" action=\"/tickets/SD-1/estimate\">") != std::string::npos);
  std::string csrf = page.field("csrf"), key = page.field("form_key");

  // No CSRF token: 403 and nothing.
  CHECK(eva.post("/tickets/SD-1/estimate", {{"duration", "3h"}, {"text", "Bygga om flödet"}, {"form_key", key}}).status == 403);
  CHECK(estimates_of(p, 1) == 0);
  // A duration that is none: the page again with the reason, 400, nothing made.
  auto bad = eva.post("/tickets/SD-1/estimate", {{"duration", "three hours"}, {"text", "Bygga om <flödet>"}, {"csrf", csrf},
                                                {"form_key", key}});
  CHECK(bad.status == 400);
  CHECK(bad.body.find("is not a duration") != std::string::npos);
  CHECK(bad.body.find("value=\"Bygga om &lt;flödet&gt;\"") != std::string::npos);  // put back, escaped
  CHECK(estimates_of(p, 1) == 0);
  CHECK(p.d.ticket(1).status != "awaiting-approval");
  auto empty = eva.post("/tickets/SD-1/estimate", {{"duration", "2h"}, {"text", "  "}, {"csrf", csrf},
                                                  {"form_key", eva.get("/tickets/SD-1").field("form_key")}});
  CHECK(empty.status == 400);
  CHECK(estimates_of(p, 1) == 0);

  auto fresh = eva.get("/tickets/SD-1").field("form_key");
  auto made = eva.post("/tickets/SD-1/estimate", {{"duration", "1h30m"}, {"text", "Bygga om flödet"}, {"csrf", csrf},
                                                 {"form_key", fresh}});
  CHECK(made.status == 303);
  CHECK(made.header("Location") == "/tickets/SD-1");
  auto list = p.d.st->begin(store::Store::Mode::read)->estimates().estimates_of(1);
  REQUIRE(list.size() == 1);
  CHECK(list[0].seconds == 90 * 60);
  CHECK(list[0].text == "Bygga om flödet");
  CHECK(list[0].agent == kAgent);
  CHECK(p.d.ticket(1).status == "awaiting-approval");
  CHECK(p.d.outbox("estimate", kCustomer).size() == 1);
  // The same form again (a double click): nothing more.
  CHECK(eva.post("/tickets/SD-1/estimate", {{"duration", "1h30m"}, {"text", "Bygga om flödet"}, {"csrf", csrf},
                                            {"form_key", fresh}})
            .status == 303);
  CHECK(estimates_of(p, 1) == 1);
  CHECK(p.d.outbox("estimate", kCustomer).size() == 1);
  // The customer's buttons still work as before.
  Browser anna(p);
  REQUIRE(anna.sign_in(kCustomer).status == 303);
  auto hers = anna.get("/tickets/SD-1");
  CHECK(hers.body.find("name=\"duration\"") == std::string::npos);  // no agent's form for a contact
  CHECK(anna.post("/tickets/SD-1/estimate", {{"answer", "approve"}, {"estimate", std::to_string(list[0].id)},
                                             {"csrf", hers.field("csrf")}, {"form_key", hers.field("form_key")}})
            .status == 303);
  CHECK(p.d.st->begin(store::Store::Mode::read)->estimates().estimate(list[0].id)->state == "approved");
}

TEST_CASE("a contact posting the agent's estimate fields creates nothing; a major incident's page has no estimate form") {
  PortalDesk p;
  Browser anna(p);
  REQUIRE(anna.sign_in(kCustomer).status == 303);
  auto page = anna.get("/tickets/SD-1");
  auto r = anna.post("/tickets/SD-1/estimate", {{"duration", "3h"}, {"text", "Gratis arbete"}, {"csrf", page.field("csrf")},
                                                {"form_key", page.field("form_key")}});
  CHECK(r.status == 400);
  CHECK(estimates_of(p, 1) == 0);
  CHECK(p.d.ticket(1).status != "awaiting-approval");
  CHECK(p.d.outbox("estimate").empty());

  auto id = declare_on(p, "Inloggningen");
  Browser eva(p);
  REQUIRE(eva.sign_in(kAgent).status == 303);
  auto inc = eva.get("/tickets/SD-" + std::to_string(id));
  REQUIRE(inc.status == 200);
  CHECK(inc.body.find("name=\"duration\"") == std::string::npos);
}

TEST_CASE("an agent's portal reply on a major incident goes to its agents only; with broadcast to the affected "
          "customers, once each") {
  PortalDesk p;
  {
    auto tx = p.d.st->begin(store::Store::Mode::write);
    tx->add_agent({"olle@example.com", "Olle Agent"});
    tx->commit();
  }
  auto id = declare_on(p, "Inloggningen ligger nere");
  std::string ref = "SD-" + std::to_string(id);
  Browser eva(p);
  REQUIRE(eva.sign_in(kAgent).status == 303);
  CHECK(eva.get("/tickets/SD-1").body.find("name=\"broadcast\"") == std::string::npos);  // no incident
  auto page = eva.get("/tickets/" + ref);
  REQUIRE(page.body.find("name=\"broadcast\" value=\"1\"") != std::string::npos);
  std::string csrf = page.field("csrf");
  auto before = p.d.outbox().size();
  CHECK(eva.multipart("/tickets/" + ref + "/reply", {{"text", "Vi tittar på certifikatet."}, {"csrf", csrf},
                                                     {"form_key", page.field("form_key")}})
            .status == 303);
  std::vector<std::string> to;
  auto all = p.d.outbox();
  for (std::size_t i = before; i < all.size(); ++i)
    for (const auto& rcpt : all[i].recipients) to.push_back(rcpt);
  CHECK(to == std::vector<std::string>{"olle@example.com"});
  CHECK(p.d.outbox("incident-update").empty());

  // A note with broadcast is refused whole.
  auto refused = eva.multipart("/tickets/" + ref + "/reply", {{"text", "Intern sak"}, {"note", "1"}, {"broadcast", "1"},
                                                              {"csrf", csrf}, {"form_key", eva.get("/tickets/" + ref).field("form_key")}});
  CHECK(refused.status == 400);
  CHECK(refused.body.find("never broadcast") != std::string::npos);
  CHECK(p.d.outbox("incident-update").empty());
  // Without the CSRF token: 403, nothing.
  CHECK(eva.multipart("/tickets/" + ref + "/reply", {{"text", "Alla: hackat"}, {"broadcast", "1"},
                                                     {"form_key", eva.get("/tickets/" + ref).field("form_key")}})
            .status == 403);
  CHECK(p.d.outbox("incident-update").empty());

  std::string key = eva.get("/tickets/" + ref).field("form_key");
  std::vector<std::pair<std::string, std::string>> form = {
      {"text", "Vi har hittat felet."}, {"broadcast", "1"}, {"csrf", csrf}, {"form_key", key}};
  CHECK(eva.multipart("/tickets/" + ref + "/reply", form).status == 303);
  CHECK(eva.multipart("/tickets/" + ref + "/reply", form).status == 303);  // a double click
  auto mails = p.d.outbox("incident-update");
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].recipients == std::vector<std::string>{kCustomer});
  CHECK(mails[0].ticket_id == 1);  // on her own ticket's thread
}

TEST_CASE("the ticket's page shows agents the organisation's hypercare and account agent, contacts only its end "
          "while it runs") {
  PortalDesk p;
  {
    auto tx = p.d.st->begin(store::Store::Mode::write);
    auto o = *tx->organisation("Acme");
    o.hypercare_start = "2026-11-02";
    o.hypercare_weeks = 4;  // to 2026-11-30: its last day 2026-11-29
    tx->update_organisation(o);
    tx->add_agent({"ines@example.com", "Ines <Kundansvarig>"});
    tx->keep_informed().set_account_agent("Acme", "ines@example.com");
    tx->commit();
  }
  Browser eva(p);
  REQUIRE(eva.sign_in(kAgent).status == 303);
  auto staff = eva.get("/tickets/SD-1");
  CHECK(staff.body.find("<dt>Hypercare</dt><dd>until 2026-11-29</dd>") != std::string::npos);
  CHECK(staff.body.find("<dt>Account agent</dt><dd>Ines &lt;Kundansvarig&gt;</dd>") != std::string::npos);
  Browser anna(p);
  REQUIRE(anna.sign_in(kCustomer).status == 303);
  auto hers = anna.get("/tickets/SD-1");
  CHECK(hers.body.find("<dt>Hypercare</dt><dd>till och med 2026-11-29</dd>") != std::string::npos);
  CHECK(hers.body.find("Ines") == std::string::npos);  // the account agent is the desk's business

  {
    auto tx = p.d.st->begin(store::Store::Mode::write);
    end_hypercare(*tx, "Acme", kAgent, kNow + 1800);
    tx->commit();
  }
  auto ended = eva.get("/tickets/SD-1");
  CHECK(ended.body.find("<dt>Hypercare</dt><dd>ended early on ") != std::string::npos);
  CHECK(anna.get("/tickets/SD-1").body.find("Hypercare") == std::string::npos);
  // Beta has none: nothing shown.
  REQUIRE(p.d.take(test::TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Login virker ikke", "b7@beta.dk"))
              .ticket_id == 2);
  auto beta = eva.get("/tickets/SD-2");
  CHECK(beta.body.find("Hypercare") == std::string::npos);
  CHECK(beta.body.find("Account agent") == std::string::npos);
}

}  // namespace sd
