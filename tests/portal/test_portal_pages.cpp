// tests/portal/test_portal_pages.cpp: the portal's pages (portal/pages.h) and page texts
// (portal/page_texts.h): what a visitor sees, what forms carry, and that nothing from a mail
// or a visitor becomes markup.
//
// Security notes: each trust rule has a test where the attack fails: a subject, name, message
// text, file name or filter value with markup in it shows as text; a contact's page has no
// priority field and no internal note even when one is passed by mistake; pages have no
// script, inline style or external reference (the portal's Content-Security-Policy).
#include "portal/page_texts.h"
#include "portal/pages.h"
#include "tests/support/tempdir.h"

#include <catch2/catch.hpp>

#include <cctype>
#include <cstring>
#include <string>
#include <vector>

using namespace sd::portal;

namespace {

const std::string kScript = "<script>alert(1)</script>";
const std::string kImg = "\"><img src=x onerror=alert(1)>";

PageContext contact() {
  PageContext c;
  c.language = "en";
  c.visitor_name = "Anna Svensson";
  c.visitor_email = "anna@customer.example";
  c.csrf = "CSRF-TOKEN-123";
  c.service_name = "Example IT";
  return c;
}

PageContext agent() {
  PageContext c = contact();
  c.visitor_name = "Bo Agent";
  c.visitor_email = "bo@desk.example";
  c.agent = true;
  return c;
}

TicketView ticket() {
  TicketView v;
  v.ref = "SD-42";
  v.subject = "Printer on fire";
  v.status = "open";
  v.priority = "high";
  v.category = "incident";
  v.created = "2026-12-02 09:00";
  v.requester = "Anna Svensson <anna@customer.example>";
  v.organisation = "Customer AB";
  v.sla_state = "warning";
  v.sla_due = "2026-12-02 17:00";
  v.form_key = "FORM-KEY-9";
  ThreadMessage m;
  m.from_name = "Anna Svensson";
  m.from_addr = "anna@customer.example";
  m.date = "2026-12-02 09:00";
  m.text = "It smokes.\nPlease help.";
  m.attachments.push_back({1, "photo.jpg", "image/jpeg", 2048, true});
  v.messages.push_back(m);
  v.attachments = m.attachments;
  return v;
}

ThreadMessage internal_note() {
  ThreadMessage n;
  n.from_name = "Bo Agent";
  n.from_addr = "bo@desk.example";
  n.text = "SECRET-NOTE: the customer broke it";
  n.internal = true;
  n.from_desk = true;
  return n;
}

bool contains(const std::string& html, const std::string& s) { return html.find(s) != std::string::npos; }

// The page's tags without their quoted attribute values ("<a href=>" for <a href="/x">): what
// a browser reads as attribute names.
std::vector<std::string> tags_of(const std::string& html) {
  std::vector<std::string> out;
  for (std::size_t at = html.find('<'); at != std::string::npos; at = html.find('<', at + 1)) {
    std::string tag;
    bool quoted = false;
    for (std::size_t i = at; i < html.size(); ++i) {
      if (html[i] == '"') quoted = !quoted;
      else if (!quoted) tag += html[i];
      if (!quoted && html[i] == '>') break;
    }
    out.push_back(tag);
  }
  return out;
}

// What the Content-Security-Policy demands of every page, and that every link stays on the site.
void check_page_is_self_contained(const std::string& html) {
  INFO(html);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK_FALSE(contains(html, "<script"));
  CHECK_FALSE(contains(html, "<style"));
  CHECK_FALSE(contains(html, "style="));
  // No event handler attribute (onerror=, onclick=, ...) in any tag: escaped text has no '<'.
  for (const auto& tag : tags_of(html)) {
    INFO(tag);
    for (std::size_t at = tag.find(" on"); at != std::string::npos; at = tag.find(" on", at + 1)) {
      std::size_t end = at + 3;
      while (end < tag.size() && std::isalpha(static_cast<unsigned char>(tag[end]))) ++end;
      CHECK_FALSE((end < tag.size() && tag[end] == '='));
    }
  }
  CHECK(contains(html, "<link rel=\"stylesheet\" href=\"/static/portal.css\">"));
  for (const char* name : {" href=\"", " action=\"", " src=\""}) {
    for (std::size_t at = html.find(name); at != std::string::npos; at = html.find(name, at + 1)) {
      std::size_t from = at + std::strlen(name);
      std::string u = html.substr(from, html.find('"', from) - from);
      INFO(u);
      CHECK((u.rfind("/", 0) == 0 || u.rfind("#", 0) == 0));
      CHECK(u.rfind("//", 0) != 0);
    }
  }
}

// Every POST form carries the csrf hidden field with this token.
void check_post_forms_carry(const std::string& html, const std::string& token) {
  std::size_t at = 0, forms = 0;
  while ((at = html.find("<form", at)) != std::string::npos) {
    auto end = html.find("</form>", at);
    REQUIRE(end != std::string::npos);
    std::string form = html.substr(at, end - at);
    if (contains(form, "method=\"post\"")) {
      ++forms;
      INFO(form);
      CHECK(contains(form, "<input type=\"hidden\" name=\"csrf\" value=\"" + token + "\">"));
    }
    at = end;
  }
  CHECK(forms > 0);
}

}  // namespace

TEST_CASE("A subject, a name, a message's text and a file name with markup in them show as text", "[portal][pages]") {
  TicketView v = ticket();
  v.subject = kScript;
  v.requester = kImg;
  v.organisation = kScript;
  v.assignee = kImg;
  v.resolution = kScript;
  v.messages[0].from_name = kImg;
  v.messages[0].from_addr = kScript;
  v.messages[0].text = kScript + "\n" + kImg;
  v.messages[0].date = kImg;
  v.messages[0].attachments = {{1, kImg + ".pdf", "application/pdf", 10, true}};
  v.attachments = v.messages[0].attachments;
  v.events.push_back({kImg, kScript, kImg, kScript});
  v.errors = {kScript};
  v.draft_text = "</textarea>" + kScript;
  v.form_key = kImg;
  for (const auto& ctx : {contact(), agent()}) {
    std::string html = ticket_page(ctx, v);
    check_page_is_self_contained(html);
    CHECK_FALSE(contains(html, "<img"));
    CHECK(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    CHECK(contains(html, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.pdf"));
    CHECK_FALSE(contains(html, "</textarea><script"));
    // The one textarea ends once: the draft's "</textarea>" is text.
    CHECK(html.find("</textarea>") == html.rfind("</textarea>"));
  }
}

TEST_CASE("A visitor's name and the list's rows with markup in them show as text", "[portal][pages]") {
  PageContext ctx = agent();
  ctx.visitor_name = kScript;
  ctx.service_name = kImg;
  TicketListView list;
  TicketRow r;
  r.ref = "SD-1";
  r.subject = kScript;
  r.status = kImg;
  r.priority = kImg;
  r.category = kScript;
  r.created = kImg;
  r.organisation = kScript;
  r.assignee = kImg;
  r.sla_state = kImg;
  r.sla_due = kScript;
  r.resolution = kScript;
  list.rows.push_back(r);
  list.total = 1;
  list.organisations = {{kImg, kScript}};
  list.agents = {{kScript, kImg}};
  list.notice = kScript;
  for (bool is_agent : {true, false}) {
    ctx.agent = is_agent;
    std::string html = ticket_list_page(ctx, list);
    check_page_is_self_contained(html);
    CHECK_FALSE(contains(html, "<img"));
    CHECK(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    // A status that is no vocabulary word does not make a CSS class of its own.
    CHECK(contains(html, "status status-other"));
  }
}

TEST_CASE("A ref that is not of our form is not made into a link", "[portal][pages]") {
  TicketListView list;
  TicketRow r;
  r.ref = "javascript:alert(1)//-1";
  r.subject = "x";
  list.rows.push_back(r);
  list.total = 1;
  std::string html = ticket_list_page(contact(), list);
  CHECK_FALSE(contains(html, "href=\"/tickets/javascript"));
  CHECK(contains(html, "javascript:alert(1)//-1"));

  TicketView v = ticket();
  v.ref = "../../admin";
  std::string page = ticket_page(contact(), v);
  CHECK_FALSE(contains(page, "/tickets/../"));
  CHECK_FALSE(contains(page, "/reply\""));
}

TEST_CASE("A bidi override or a control character in a file name cannot disguise it", "[portal][pages]") {
  TicketView v = ticket();
  // "invoice<RLO>fdp.exe" shows as "invoiceexe.pdf" where the override is honoured.
  v.attachments = {{1, "invoice\xE2\x80\xAE" "fdp.exe", "application/octet-stream", 10, true},
                   {2, std::string("nul") + '\0' + "byte\x1b[31m.txt", "text/plain", 10, true}};
  std::string html = ticket_page(contact(), v);
  CHECK_FALSE(contains(html, "\xE2\x80\xAE"));
  CHECK(contains(html, "invoice fdp.exe"));
  CHECK_FALSE(contains(html, std::string("\0", 1)));
  CHECK_FALSE(contains(html, "\x1b"));
}

TEST_CASE("A contact's ticket page has no priority field and no internal note, an agent's has both", "[portal][pages]") {
  TicketView v = ticket();
  // Passed by mistake to a contact's page: it is still not shown.
  v.messages.push_back(internal_note());
  std::string customer = ticket_page(contact(), v);
  check_page_is_self_contained(customer);
  CHECK_FALSE(contains(customer, "name=\"priority\""));
  CHECK_FALSE(contains(customer, "name=\"status\""));
  CHECK_FALSE(contains(customer, "name=\"assign\""));
  CHECK_FALSE(contains(customer, "name=\"note\""));
  CHECK_FALSE(contains(customer, "name=\"time_minutes\""));
  CHECK_FALSE(contains(customer, "SECRET-NOTE"));
  CHECK_FALSE(contains(customer, "Internal note"));
  CHECK(contains(customer, "It smokes.\nPlease help."));
  CHECK(contains(customer, "High"));  // the priority is shown, only not settable

  std::string staff = ticket_page(agent(), v);
  check_page_is_self_contained(staff);
  CHECK(contains(staff, "name=\"priority\""));
  CHECK(contains(staff, "name=\"status\""));
  CHECK(contains(staff, "name=\"category\""));
  CHECK(contains(staff, "name=\"assign\""));
  CHECK(contains(staff, "name=\"time_minutes\""));
  CHECK(contains(staff, "<input id=\"r-note\" type=\"checkbox\" name=\"note\" value=\"1\">"));
  CHECK(contains(staff, "SECRET-NOTE"));
  CHECK(contains(staff, "class=\"message internal desk\""));
  CHECK(contains(staff, "Internal note"));
  // The agent's choices are those of the mail commands: every status but "new".
  CHECK_FALSE(contains(staff, "<option value=\"new\""));
  for (const char* s : {"open", "pending", "resolved", "closed"})
    CHECK(contains(staff, std::string("<option value=\"") + s + "\">"));
  for (const char* s : {"highest", "high", "medium", "low", "lowest"})
    CHECK(contains(staff, std::string("<option value=\"") + s + "\">"));
  // An empty choice changes nothing.
  CHECK(contains(staff, "<option value=\"\" selected>(unchanged)</option>"));
}

TEST_CASE("An agent sees the ticket's history, the assign field offers the agents and me", "[portal][pages]") {
  TicketView v = ticket();
  v.events.push_back({"2026-12-02 09:05", "bo@desk.example", "status", "new -> open"});
  v.agents = {{"bo@desk.example", "Bo Agent"}, {"cy@desk.example", "Cy Agent"}};
  v.time_spent_s = 5400;
  std::string html = ticket_page(agent(), v);
  CHECK(contains(html, "History"));
  CHECK(contains(html, "new -&gt; open"));
  CHECK(contains(html, "<option value=\"me\">Me</option>"));
  CHECK(contains(html, "<option value=\"cy@desk.example\">Cy Agent</option>"));
  CHECK(contains(html, "1 h 30 min"));
}

TEST_CASE("The reply and new-ticket forms carry the csrf token and the one-time form key", "[portal][pages]") {
  std::string page = ticket_page(contact(), ticket());
  check_post_forms_carry(page, "CSRF-TOKEN-123");
  CHECK(contains(page, "<form method=\"post\" action=\"/tickets/SD-42/reply\" enctype=\"multipart/form-data\">"));
  CHECK(contains(page, "<input type=\"hidden\" name=\"form_key\" value=\"FORM-KEY-9\">"));
  CHECK(contains(page, "name=\"text\""));
  CHECK(contains(page, "type=\"file\" name=\"files\" multiple"));
  CHECK(contains(page, "href=\"/tickets/SD-42/attachments/1\""));

  NewTicketView n;
  n.form_key = "NEW-KEY-1";
  n.categories = {"incident", "order"};
  n.subject = "Half-written";
  std::string fresh = new_ticket_page(contact(), n);
  check_page_is_self_contained(fresh);
  check_post_forms_carry(fresh, "CSRF-TOKEN-123");
  CHECK(contains(fresh, "<form method=\"post\" action=\"/tickets\" enctype=\"multipart/form-data\">"));
  CHECK(contains(fresh, "<input type=\"hidden\" name=\"form_key\" value=\"NEW-KEY-1\">"));
  CHECK(contains(fresh, "name=\"subject\" required maxlength=\"200\" value=\"Half-written\""));
  CHECK(contains(fresh, "<option value=\"\" selected>(let the service desk decide)</option>"));
  CHECK(contains(fresh, "<option value=\"order\">Order</option>"));
  CHECK_FALSE(contains(fresh, "name=\"priority\""));
}

TEST_CASE("Sign-in pages post with the pre-session token and the link page only shows a button", "[portal][pages]") {
  PageContext out;  // signed out
  std::string login = login_page(out, "PRE-1", "If this address is registered, a link is on its way.");
  check_page_is_self_contained(login);
  check_post_forms_carry(login, "PRE-1");
  CHECK(contains(login, "action=\"/login\""));
  CHECK(contains(login, "name=\"email\""));
  CHECK(contains(login, "If this address is registered, a link is on its way."));
  CHECK_FALSE(contains(login, "/logout"));

  std::string link = login_link_page(out, "tok\"en/../x", "PRE-2");
  check_page_is_self_contained(link);
  check_post_forms_carry(link, "PRE-2");
  CHECK(contains(link, "action=\"/login/tok%22en%2F..%2Fx\""));
  CHECK(contains(link, "<button type=\"submit\">Sign in</button>"));

  std::string in = ticket_list_page(contact(), TicketListView{});
  check_post_forms_carry(in, "CSRF-TOKEN-123");
  CHECK(contains(in, "<form class=\"inline\" method=\"post\" action=\"/logout\">"));
  CHECK(contains(in, "Signed in as Anna Svensson"));
}

TEST_CASE("Pagination links keep the filters, percent-encoded and escaped", "[portal][pages]") {
  TicketListView list;
  list.total = 120;
  list.page = 2;
  list.filters.status = "open";
  list.filters.search = "a&b \"c\" <d>";
  list.filters.organisation = "Kund & Co";
  list.filters.mine = true;
  list.filters.breaching = true;
  list.rows.resize(50);
  for (std::size_t i = 0; i < list.rows.size(); ++i) list.rows[i].ref = "SD-" + std::to_string(i + 1);

  std::string staff = ticket_list_page(agent(), list);
  CHECK(contains(staff, "href=\"/tickets?status=open&amp;q=a%26b%20%22c%22%20%3Cd%3E&amp;organisation=Kund%20%26%20Co"
                        "&amp;mine=1&amp;breaching=1\">Previous</a>"));
  CHECK(contains(staff, "&amp;mine=1&amp;breaching=1&amp;page=3\">Next</a>"));
  CHECK(contains(staff, "120 tickets"));
  CHECK(contains(staff, "page 2 of 3"));
  // The filter form shows the values back, escaped.
  CHECK(contains(staff, "value=\"a&amp;b &quot;c&quot; &lt;d&gt;\""));
  CHECK(contains(staff, "name=\"mine\" value=\"1\" checked"));

  // A contact's links carry only a contact's filters.
  std::string customer = ticket_list_page(contact(), list);
  CHECK(contains(customer, "href=\"/tickets?status=open&amp;q=a%26b%20%22c%22%20%3Cd%3E\">Previous</a>"));
  CHECK(contains(customer, "href=\"/tickets?status=open&amp;q=a%26b%20%22c%22%20%3Cd%3E&amp;page=3\">Next</a>"));
  CHECK_FALSE(contains(customer, "name=\"organisation\""));
  CHECK_FALSE(contains(customer, "name=\"mine\""));
  CHECK_FALSE(contains(customer, "breaching"));

  // The first page has no previous link, the last no next.
  list.page = 1;
  CHECK_FALSE(contains(ticket_list_page(contact(), list), "rel=\"prev\""));
  list.page = 3;
  CHECK_FALSE(contains(ticket_list_page(contact(), list), "rel=\"next\""));
  CHECK(ticket_list_query(TicketFilters{}, 1, false).empty());
}

TEST_CASE("A list whose count stopped says 'more than N' and keeps a next page", "[portal][pages]") {
  TicketListView list;
  list.total = 1050;
  list.more = true;
  list.page = 2;
  list.rows.resize(50);
  std::string html = ticket_list_page(agent(), list);
  CHECK(contains(html, "more than 1050 tickets"));
  CHECK(contains(html, "page 2</p>"));
  CHECK_FALSE(contains(html, "page 2 of"));
  CHECK(contains(html, "page=3\">Next</a>"));
  CHECK(contains(html, "rel=\"prev\""));
  PageContext sv = contact();
  sv.language = "sv";
  CHECK(contains(ticket_list_page(sv, list), "fler än 1050 ärenden"));
}

TEST_CASE("A Swedish or Danish visitor's pages are in Swedish or Danish", "[portal][pages]") {
  PageContext sv = contact();
  sv.language = "sv";
  TicketListView list;
  TicketRow r;
  r.ref = "SD-7";
  r.status = "resolved";
  r.priority = "medium";
  r.category = "order";
  list.rows.push_back(r);
  list.total = 1;
  std::string html = ticket_list_page(sv, list);
  CHECK(contains(html, "<html lang=\"sv\">"));
  CHECK(contains(html, "Ärenden"));
  CHECK(contains(html, "Inloggad som Anna Svensson"));
  CHECK(contains(html, "Logga ut"));
  CHECK(contains(html, "Löst"));
  CHECK(contains(html, "Beställning"));
  CHECK(contains(html, "1 ärenden"));
  CHECK_FALSE(contains(html, "Sign out"));

  PageContext da = contact();
  da.language = "da";
  std::string dk = ticket_page(da, ticket());
  CHECK(contains(dk, "<html lang=\"da\">"));
  CHECK(contains(dk, "Send svar"));
  CHECK(contains(dk, "Hændelse"));
  CHECK(contains(dk, "2 KB"));

  PageContext other = contact();
  other.language = "fr";
  CHECK(contains(ticket_list_page(other, list), "<html lang=\"en\">"));
}

TEST_CASE("Every page text has a Swedish and a Danish text of its own where English differs", "[portal][texts]") {
  const auto& en = texts_for("en");
  const auto& sv = texts_for("sv");
  const auto& da = texts_for("da");
  int same_sv = 0, same_da = 0;
  for (const auto& k : page_text_keys()) {
    CHECK_FALSE(en.get(k.key).empty());
    CHECK_FALSE(sv.get(k.key).empty());
    CHECK_FALSE(da.get(k.key).empty());
    same_sv += sv.get(k.key) == en.get(k.key);
    same_da += da.get(k.key) == en.get(k.key);
  }
  // A few words are the same in all three (Status, SLA, Organisation, Support).
  CHECK(same_sv < 15);
  CHECK(same_da < 15);
}

TEST_CASE("Error pages say what happened in the visitor's language", "[portal][pages]") {
  PageContext out;
  std::string nf = message_page(out, 404, "", "");
  check_page_is_self_contained(nf);
  CHECK(contains(nf, "<h1>Not found</h1>"));
  CHECK(contains(nf, "href=\"/login\""));
  out.language = "sv";
  CHECK(contains(message_page(out, 429, "", ""), "För många försök"));
  CHECK(contains(message_page(out, 403, "", ""), "Inte tillåtet"));
  std::string custom = message_page(contact(), 400, kScript, kImg);
  CHECK_FALSE(contains(custom, "<script"));
  CHECK_FALSE(contains(custom, "<img"));
  CHECK(contains(custom, "href=\"/tickets\""));
  CHECK(contains(message_page(out, 418, "", ""), "Något gick fel"));
}

TEST_CASE("An operator's override file changes a text, the language's own file wins", "[portal][texts]") {
  sd::test::TempDir dir;
  dir.write("portal.txt", "# our words\nlogin.submit = Mail me a link\n\nnav.sign_out = Leave\n");
  dir.write("portal.sv.txt", "login.submit = Maila mig en länk\nlist.count = {{total}} st\n");
  auto set = load_page_texts(dir.file(""));
  REQUIRE(set);
  CHECK(set->for_language("en").get("login.submit") == "Mail me a link");
  CHECK(set->for_language("da").get("login.submit") == "Mail me a link");
  CHECK(set->for_language("sv").get("login.submit") == "Maila mig en länk");
  CHECK(set->for_language("sv").get("nav.sign_out") == "Leave");
  CHECK(set->for_language("sv").get("list.title") == "Ärenden");  // the rest stays built in

  PageContext ctx;
  ctx.texts = &*set;
  ctx.language = "sv";
  CHECK(contains(login_page(ctx, "t", ""), "Maila mig en länk"));
  // The built-in texts are not changed by a loaded set.
  CHECK(texts_for("en").get("login.submit") == "Send me a sign-in link");
}

TEST_CASE("An operator's text is plain text, never markup", "[portal][texts]") {
  sd::test::TempDir dir;
  dir.write("portal.txt", "login.intro = <script>alert(1)</script> <a href=\"https://evil.example\">x</a>\n");
  auto set = load_page_texts(dir.file(""));
  REQUIRE(set);
  PageContext ctx;
  ctx.texts = &*set;
  std::string html = login_page(ctx, "t", "");
  check_page_is_self_contained(html);
  CHECK(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
}

TEST_CASE("A bad override file is refused with its file and line", "[portal][texts]") {
  sd::test::TempDir dir;
  SECTION("an unknown key") {
    dir.write("portal.da.txt", "# ok\nlogin.submit = Send\nlist.titel = Sager\n");
    auto set = load_page_texts(dir.file(""));
    REQUIRE_FALSE(set);
    CHECK(set.error() == dir.file("portal.da.txt") + ":3: no page text 'list.titel' (the keys are listed in docs/portal.md)");
  }
  SECTION("a placeholder the key does not have") {
    dir.write("portal.txt", "list.count = {{count}} tickets\n");
    auto set = load_page_texts(dir.file(""));
    REQUIRE_FALSE(set);
    CHECK(set.error() == dir.file("portal.txt") + ":1: 'list.count' has no placeholder {{count}}; it takes {{total}}");
  }
  SECTION("a line without '='") {
    dir.write("portal.txt", "\nlogin.submit Send\n");
    auto set = load_page_texts(dir.file(""));
    REQUIRE_FALSE(set);
    CHECK(set.error() == dir.file("portal.txt") + ":2: not a line 'key = text'");
  }
  SECTION("an empty text, a key twice, a '{{' left open, bytes that are not UTF-8") {
    for (auto [content, why] : std::vector<std::pair<std::string, std::string>>{
             {"login.submit =\n", ":1: 'login.submit' has an empty text"},
             {"login.submit = a\nlogin.submit = b\n", ":2: 'login.submit' is given twice in this file"},
             {"list.count = {{total tickets\n", ":1: a '{{' without '}}'"},
             {"login.submit = \xff\xfe\n", ":1: not UTF-8"}}) {
      dir.write("portal.txt", content);
      auto set = load_page_texts(dir.file(""));
      REQUIRE_FALSE(set);
      CHECK(set.error() == dir.file("portal.txt") + why);
    }
  }
  SECTION("a file of another name or language") {
    dir.write("portal.fr.txt", "login.submit = Envoyer\n");
    auto set = load_page_texts(dir.file(""));
    REQUIRE_FALSE(set);
    CHECK(set.error().rfind(dir.file("portal.fr.txt") + ": not a page text file", 0) == 0);
  }
  SECTION("no such directory") {
    auto set = load_page_texts(dir.file("missing"));
    REQUIRE_FALSE(set);
    CHECK(set.error() == dir.file("missing") + ": not a directory of page texts");
  }
}

TEST_CASE("No templates directory gives the built-in texts", "[portal][texts]") {
  auto set = load_page_texts("");
  REQUIRE(set);
  CHECK(set->for_language("da").get("nav.sign_out") == "Log ud");
}

TEST_CASE("The page's language: the organisation's, else the browser's first we have, else the service's",
          "[portal][texts]") {
  CHECK(pick_language("sv", {"da", "en"}, "en") == "sv");
  CHECK(pick_language("", {"fr-FR", "da-DK", "sv"}, "en") == "da");
  CHECK(pick_language("de", {"SV-se"}, "en") == "sv");
  CHECK(pick_language("", {"fr", "*"}, "da") == "da");
  CHECK(pick_language("", {}, "") == "en");
  CHECK(pick_language("", {"nb"}, "xx") == "en");
}

TEST_CASE("Page texts fill their placeholders and leave unknown ones visible", "[portal][texts]") {
  CHECK(render_text("Page {{page}} of {{ pages }}", {{"page", "2"}, {"pages", "3"}}) == "Page 2 of 3");
  CHECK(render_text("{{x}} and {{", {}) == "{{x}} and {{");
  CHECK(texts_for("sv").format("list.page", {{"page", "1"}, {"pages", "4"}}) == "sida 1 av 4");
}

TEST_CASE("The stylesheet is small and loads nothing from elsewhere", "[portal][pages]") {
  std::string css = portal_css();
  CHECK(css.size() < 12000);
  CHECK_FALSE(contains(css, "url("));
  CHECK_FALSE(contains(css, "@import"));
  CHECK(contains(css, "@media"));
}

TEST_CASE("The ticket list shows a contact's coming maintenance and the service windows, their texts escaped") {
  TicketListView v;
  v.maintenance_notices.push_back({"Infrastructure maintenance", "Saturday 5 December 2026, 09:00 CET \xE2\x80\x93 "
                                   "Saturday 5 December 2026, 18:00 CET",
                                   "New disks.\nSecond line " + kScript, false});
  v.maintenance_notices.push_back({"Emergency maintenance", "now", "", true});
  v.maintenance_windows.push_back({"Infrastructure maintenance", "daily 04:00-05:00 (Europe/Stockholm), next ...", "", false});
  auto page = ticket_list_page(contact(), v);
  CHECK(page.find("<h2 id=\"maintenance-title\">Planned maintenance</h2>") != std::string::npos);
  CHECK(page.find("<strong>Infrastructure maintenance</strong> Saturday 5 December 2026, 09:00 CET") != std::string::npos);
  CHECK(page.find("<p class=\"text\">New disks.\nSecond line &lt;script&gt;") != std::string::npos);
  CHECK(page.find(kScript) == std::string::npos);
  CHECK(page.find("<span class=\"badge\">in progress</span>") != std::string::npos);
  CHECK(page.find("Recurring service windows, when the service may be affected:") != std::string::npos);
  CHECK(page.find("daily 04:00-05:00 (Europe/Stockholm)") != std::string::npos);
  auto sv = contact();
  sv.language = "sv";
  CHECK(ticket_list_page(sv, v).find("Planerat underhåll") != std::string::npos);
  auto da = contact();
  da.language = "da";
  CHECK(ticket_list_page(da, v).find("Planlagt vedligeholdelse") != std::string::npos);
  // Nothing coming: no section at all.
  CHECK(ticket_list_page(contact(), TicketListView{}).find("maintenance-title") == std::string::npos);
}

TEST_CASE("The incidents list, the estimate form, the broadcast box and hypercare: text stays text, every form is a "
          "POST with the CSRF token, and contacts get none of the agents' parts", "[portal][pages]") {
  IncidentListView list;
  list.rows.push_back({"SD-100", kScript, "open", kImg, 3, {kScript, "Beta"}});
  list.rows.push_back({"not a ref\"", "Mail", "resolved", "2026-12-01 10:00", 0, {}});
  std::string html = incident_list_page(agent(), list);
  check_page_is_self_contained(html);
  CHECK(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;, Beta"));
  CHECK_FALSE(contains(html, "<img"));
  CHECK(contains(html, "<a href=\"/incidents/SD-100/report\">Incident report</a>"));
  CHECK(contains(html, "<a href=\"/tickets/SD-100\">"));
  CHECK_FALSE(contains(html, "/incidents/not a ref"));  // no link from a ref that is none of ours
  CHECK(contains(incident_list_page(agent(), {}), "No major incident has been declared."));
  CHECK(contains(html, "<a href=\"/incidents\">Major incidents</a>"));  // in the agents' navigation
  CHECK_FALSE(contains(ticket_page(contact(), ticket()), "href=\"/incidents\""));
  // The new-ticket form is the contacts'; agents open tickets for customers with `ticket new`.
  CHECK_FALSE(contains(html, "href=\"/tickets/new\""));
  CHECK(contains(ticket_page(contact(), ticket()), "href=\"/tickets/new\""));

  TicketView v = ticket();
  v.can_estimate = true;
  v.estimate_errors = {kScript};
  v.estimate_draft = {kImg, kScript};
  v.hypercare = TicketView::Hypercare{"2026-12-14", "", true, false};
  v.account_agent = kImg;
  std::string staff = ticket_page(agent(), v);
  check_page_is_self_contained(staff);
  check_post_forms_carry(staff, "CSRF-TOKEN-123");
  CHECK(contains(staff, "<form method=\"post\" action=\"/tickets/SD-42/estimate\">"));
  CHECK(contains(staff, "name=\"duration\""));
  CHECK_FALSE(contains(staff, "<img"));
  CHECK(contains(staff, "<dt>Hypercare</dt><dd>until 2026-12-14</dd>"));
  CHECK(contains(staff, "<dt>Account agent</dt>"));
  CHECK_FALSE(contains(staff, "name=\"broadcast\""));  // no incident
  v.is_incident = true;
  v.can_estimate = false;
  std::string incident = ticket_page(agent(), v);
  CHECK(contains(incident, "<input id=\"r-broadcast\" type=\"checkbox\" name=\"broadcast\" value=\"1\">"));
  CHECK(contains(incident, "href=\"/incidents/SD-42/report\""));
  CHECK_FALSE(contains(incident, "name=\"duration\""));
  v.hypercare->ended_early = "2026-12-01 10:00";
  CHECK(contains(ticket_page(agent(), v), "<dd>ended early on 2026-12-01 10:00</dd>"));

  // A contact: none of it but "Hypercare until" while it runs, even if passed by mistake.
  TicketView c = ticket();
  c.can_estimate = true;
  c.is_incident = true;
  c.account_agent = "Secret Agent";
  c.hypercare = TicketView::Hypercare{"2026-12-14", "", true, false};
  std::string hers = ticket_page(contact(), c);
  check_page_is_self_contained(hers);
  CHECK_FALSE(contains(hers, "name=\"duration\""));
  CHECK_FALSE(contains(hers, "name=\"broadcast\""));
  CHECK_FALSE(contains(hers, "/report"));
  CHECK_FALSE(contains(hers, "Secret Agent"));
  CHECK(contains(hers, "<dt>Hypercare</dt><dd>until 2026-12-14</dd>"));
  c.hypercare->running = false;
  c.hypercare->over = true;
  CHECK_FALSE(contains(ticket_page(contact(), c), "Hypercare"));
}
