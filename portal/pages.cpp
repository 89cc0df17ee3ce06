// portal/pages.cpp: the portal's HTML, written by hand: a frame (head, the signed-in or
// signed-out header, main) around each page's content, and the stylesheet.
//
// Contract: see pages.h. Each page is built from the caller's plain data and the page texts of
// the visitor's language; nothing here reads the store or the request.
//
// Security: one rule, kept by construction: text goes into the page only through text() (for
// a visitor's or a mail's text: printable() first, so bidi overrides and controls in a file
// name or subject cannot disguise it, then html_escape()), and into an attribute only through
// attr() (the same, inside double quotes). URLs are made of fixed paths, refs checked by
// linkable_ref() and numbers; query values are percent-encoded, then escaped. The markup has
// no script, no inline style and no external reference, as the portal's
// Content-Security-Policy demands; forms post only to our own paths.
#include "portal/pages.h"

#include "http/parse.h"

#include "core/text.h"
#include "core/vocabulary.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace sd::portal {

std::string html_escape(std::string_view s) { return http::html_escape(s); }

namespace {

// Text from a mail, a visitor or the store, for the page: controls and bidi overrides become
// spaces, bytes that are not UTF-8 become U+FFFD, then it is escaped. `multiline` keeps line
// breaks and tabs (shown by CSS white-space: pre-wrap).
std::string text(std::string_view s, bool multiline = false) { return html_escape(printable(s, multiline)); }

// An attribute value, with its quotes.
std::string attr(std::string_view s) { return "\"" + text(s) + "\""; }

std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Only refs of our own form ("SD-42": letters and digits, '-', digits) become part of a URL.
bool linkable_ref(std::string_view ref) {
  auto dash = ref.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == ref.size() || ref.size() > 64) return false;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(ref[i]);
    if (i == dash) continue;
    if (i > dash ? !std::isdigit(c) : !std::isalnum(c)) return false;
  }
  return true;
}

// A CSS class made of a vocabulary name ("status-open"); anything else is "other".
std::string css_word(std::string_view word) {
  if (word.empty() || word.size() > 20) return "other";
  for (char c : word)
    if (c < 'a' || c > 'z') return "other";
  return std::string(word);
}

struct Page {
  const PageContext& ctx;
  const PageTexts& t;
  explicit Page(const PageContext& c)
      : ctx(c), t(c.texts ? c.texts->for_language(c.language) : texts_for(c.language)) {}

  bool signed_in() const { return !ctx.visitor_email.empty() || !ctx.visitor_name.empty(); }
  // A page text, escaped.
  std::string w(std::string_view key) const { return text(t.get(key)); }
  std::string w(std::string_view key, const std::map<std::string, std::string>& values) const {
    return text(t.format(key, values));
  }
  // A vocabulary word ("status", "open") in the page's language, not escaped; an unknown
  // value as it is.
  std::string label(std::string_view kind, const std::string& value) const {
    std::string key = std::string(kind) + "." + value;
    return page_text_key(key) ? t.get(key) : value;
  }
  std::string word(std::string_view kind, const std::string& value) const { return text(label(kind, value)); }
  std::string service() const { return ctx.service_name.empty() ? t.get("site.name") : ctx.service_name; }

  std::string csrf_field(const std::string& token) const {
    return "<input type=\"hidden\" name=\"csrf\" value=" + attr(token) + ">";
  }

  std::string frame(const std::string& title, const std::string& main) const {
    std::string lang = ctx.texts ? ctx.texts->for_language(ctx.language).language : t.language;
    std::string out;
    out += "<!DOCTYPE html>\n<html lang=" + attr(lang.empty() ? "en" : lang) + ">\n<head>\n";
    out += "<meta charset=\"utf-8\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    // No referrer <meta>: the Referrer-Policy header (same-origin) already keeps the sign-in
    // link from other sites, and under "no-referrer" browsers send "Origin: null" with a
    // form's POST, which the portal's Origin check refuses (the browser test saw it).
    out += "<title>" + text(title) + " \xE2\x80\x93 " + text(service()) + "</title>\n";
    out += "<link rel=\"stylesheet\" href=\"/static/portal.css\">\n</head>\n<body>\n";
    out += "<a class=\"skip\" href=\"#main\">" + w("site.skip") + "</a>\n";
    out += "<header class=\"top\"><div class=\"wrap\">\n";
    out += "<a class=\"brand\" href=\"" + std::string(signed_in() ? "/tickets" : "/login") + "\">" + text(service()) +
           "</a>\n<nav>\n";
    if (signed_in()) {
      out += "<a href=\"/tickets\">" + w(ctx.agent ? "nav.queue" : "nav.tickets") + "</a>\n";
      // Agents open tickets for customers with `ticket new` (the form is the contacts').
      if (!ctx.agent) out += "<a href=\"/tickets/new\">" + w("nav.new_ticket") + "</a>\n";
      if (ctx.agent) out += "<a href=\"/incidents\">" + w("nav.incidents") + "</a>\n";
      std::string who = ctx.visitor_name.empty() ? ctx.visitor_email : ctx.visitor_name;
      out += "<span class=\"who\">" + w("nav.signed_in_as", {{"name", who}});
      if (ctx.agent) out += " <span class=\"badge\">" + w("nav.agent") + "</span>";
      out += "</span>\n";
      out += "<form class=\"inline\" method=\"post\" action=\"/logout\">" + csrf_field(ctx.csrf) +
             "<button type=\"submit\" class=\"link\">" + w("nav.sign_out") + "</button></form>\n";
    } else {
      out += "<a href=\"/login\">" + w("nav.sign_in") + "</a>\n";
    }
    out += "</nav>\n</div></header>\n<main id=\"main\" class=\"wrap\">\n" + main + "</main>\n</body>\n</html>\n";
    return out;
  }

  std::string notice(const std::string& s) const {
    return s.empty() ? "" : "<p class=\"notice\" role=\"status\">" + text(s) + "</p>\n";
  }
  std::string errors(const std::vector<std::string>& list) const {
    if (list.empty()) return "";
    std::string out = "<div class=\"errors\" role=\"alert\"><p>" + w("ticket.errors") + "</p><ul>\n";
    for (const auto& e : list) out += "<li>" + text(e) + "</li>\n";
    return out + "</ul></div>\n";
  }

  // <option>s for a select: `none_label` first with value "" (empty: left out).
  std::string options(const std::vector<Choice>& choices, const std::string& selected,
                      const std::string& none_label) const {
    std::string out;
    if (!none_label.empty())
      out += "<option value=\"\"" + std::string(selected.empty() ? " selected" : "") + ">" + text(none_label) +
             "</option>\n";
    for (const auto& c : choices)
      out += "<option value=" + attr(c.value) + (c.value == selected && !selected.empty() ? " selected" : "") + ">" +
             text(c.label) + "</option>\n";
    return out;
  }
  template <class E, std::size_t N>
  std::vector<Choice> vocabulary(std::string_view kind, const std::array<E, N>& values, bool (*keep)(E) = nullptr) const {
    std::vector<Choice> out;
    for (auto v : values)
      if (!keep || keep(v)) {
        std::string name(to_string(v));
        out.push_back({name, label(kind, name)});
      }
    return out;
  }

  std::string sla(const std::string& state, const std::string& due) const {
    if (state.empty()) return "";
    std::string out = "<span class=\"sla sla-" + css_word(state) + "\">" + word("sla", state) + "</span>";
    if (!due.empty() && state != "met") out += " <span class=\"due\">" + w("list.sla_due", {{"due", due}}) + "</span>";
    return out;
  }
  std::string status_badge(const std::string& status) const {
    return "<span class=\"status status-" + css_word(status) + "\">" + word("status", status) + "</span>";
  }

  std::string size_text(std::int64_t bytes) const {
    std::string s = bytes < 1024            ? fmt::format("{} B", bytes)
                    : bytes < 1024 * 1024   ? fmt::format("{} KB", (bytes + 1023) / 1024)
                                            : fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    if (t.language != "en") std::replace(s.begin(), s.end(), '.', ',');
    return s;
  }

  std::string ticket_href(const std::string& ref) const { return "/tickets/" + ref; }
  // The ref as a link when it is one of ours, else as text.
  std::string ref_link(const std::string& ref, const std::string& label_html) const {
    if (!linkable_ref(ref)) return label_html;
    return "<a href=" + attr(ticket_href(ref)) + ">" + label_html + "</a>";
  }

  std::string attachment_item(const std::string& ref, const AttachmentLink& a) const {
    std::string name = text(a.filename.empty() ? "#" + std::to_string(a.number) : a.filename);
    std::string out = "<li>";
    if (a.kept && linkable_ref(ref) && a.number > 0)
      out += "<a href=" + attr(ticket_href(ref) + "/attachments/" + std::to_string(a.number)) + " download>" + name +
             "</a>";
    else
      out += "<span class=\"filename\">" + name + "</span>";
    out += " <span class=\"size\">" + text(size_text(a.size)) + "</span>";
    if (!a.kept) out += " <span class=\"muted\">(" + w("ticket.file_not_kept") + ")</span>";
    return out + "</li>\n";
  }
};

std::string time_text(const Page& p, std::int64_t seconds) {
  std::int64_t minutes = std::max<std::int64_t>(0, seconds) / 60;
  return p.t.format("ticket.time_value", {{"hours", std::to_string(minutes / 60)},
                                          {"minutes", std::to_string(minutes % 60)}});
}

}  // namespace

std::string ticket_list_query(const TicketFilters& f, int page, bool agent) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!f.status.empty()) params.emplace_back("status", f.status);
  if (!f.search.empty()) params.emplace_back("q", f.search);
  if (agent) {
    if (!f.organisation.empty()) params.emplace_back("organisation", f.organisation);
    if (!f.assignee.empty()) params.emplace_back("assignee", f.assignee);
    if (f.mine) params.emplace_back("mine", "1");
    if (f.breaching) params.emplace_back("breaching", "1");
  }
  if (page > 1) params.emplace_back("page", std::to_string(page));
  std::string out;
  for (const auto& [k, v] : params) out += (out.empty() ? "?" : "&") + k + "=" + percent_encode(v);
  return out;
}

std::string login_page(const PageContext& ctx, const std::string& csrf, const std::string& message) {
  Page p(ctx);
  std::string m = "<section class=\"card narrow\">\n<h1>" + p.w("login.title") + "</h1>\n";
  m += p.notice(message);
  m += "<p>" + p.w("login.intro") + "</p>\n";
  m += "<form method=\"post\" action=\"/login\">\n" + p.csrf_field(csrf) + "\n";
  m += "<label for=\"email\">" + p.w("login.email") + "</label>\n";
  m += "<input id=\"email\" type=\"email\" name=\"email\" autocomplete=\"email\" required maxlength=\"254\">\n";
  m += "<button type=\"submit\">" + p.w("login.submit") + "</button>\n</form>\n</section>\n";
  return p.frame(p.t.get("login.title"), m);
}

std::string login_link_page(const PageContext& ctx, const std::string& token, const std::string& csrf) {
  Page p(ctx);
  std::string m = "<section class=\"card narrow\">\n<h1>" + p.w("login_link.title") + "</h1>\n";
  m += "<p>" + p.w("login_link.intro") + "</p>\n";
  m += "<form method=\"post\" action=" + attr("/login/" + percent_encode(token)) + ">\n" + p.csrf_field(csrf) + "\n";
  m += "<button type=\"submit\">" + p.w("login_link.submit") + "</button>\n</form>\n</section>\n";
  return p.frame(p.t.get("login_link.title"), m);
}

std::string ticket_list_page(const PageContext& ctx, const TicketListView& v) {
  Page p(ctx);
  const bool agent = ctx.agent;
  const auto& f = v.filters;
  std::string title = p.t.get(agent ? "list.title_agent" : "list.title");
  std::string m = "<h1>" + text(title) + "</h1>\n" + p.notice(v.notice);

  // Coming maintenance (contacts): notices first, then the recurring service windows.
  if (!v.maintenance_notices.empty() || !v.maintenance_windows.empty()) {
    m += "<section class=\"card maintenance\" aria-labelledby=\"maintenance-title\">\n<h2 id=\"maintenance-title\">" +
         p.w("maintenance.title") + "</h2>\n";
    if (!v.maintenance_notices.empty()) {
      m += "<ul class=\"notices\">\n";
      for (const auto& n : v.maintenance_notices) {
        m += "<li><strong>" + text(n.kind) + "</strong> " + text(n.when);
        if (n.in_progress) m += " <span class=\"badge\">" + p.w("maintenance.in_progress") + "</span>";
        if (!n.text.empty()) m += "\n<p class=\"text\">" + text(n.text, true) + "</p>";
        m += "</li>\n";
      }
      m += "</ul>\n";
    }
    if (!v.maintenance_windows.empty()) {
      m += "<p>" + p.w("maintenance.windows") + "</p>\n<ul class=\"windows\">\n";
      for (const auto& w : v.maintenance_windows) {
        m += "<li><strong>" + text(w.kind) + "</strong> " + text(w.when);
        if (w.in_progress) m += " <span class=\"badge\">" + p.w("maintenance.in_progress") + "</span>";
        m += "</li>\n";
      }
      m += "</ul>\n";
    }
    m += "</section>\n";
  }

  // The filters: a GET form, so a filtered list is a link one can keep.
  m += "<form class=\"filters\" method=\"get\" action=\"/tickets\">\n<fieldset>\n<legend>" +
       p.w("list.filter.legend") + "</legend>\n";
  m += "<div class=\"field\"><label for=\"f-status\">" + p.w("list.filter.status") +
       "</label>\n<select id=\"f-status\" name=\"status\">\n" +
       p.options(p.vocabulary("status", kStatuses), f.status,
                 p.t.get(agent ? "list.filter.open_statuses" : "list.filter.any_status")) +
       "</select></div>\n";
  m += "<div class=\"field\"><label for=\"f-q\">" + p.w("list.filter.search") +
       "</label>\n<input id=\"f-q\" type=\"search\" name=\"q\" maxlength=\"500\" value=" + attr(f.search) +
       "></div>\n";
  if (agent) {
    m += "<div class=\"field\"><label for=\"f-org\">" + p.w("list.filter.organisation") + "</label>\n";
    if (v.organisations.empty())
      m += "<input id=\"f-org\" type=\"text\" name=\"organisation\" maxlength=\"200\" value=" + attr(f.organisation) +
           ">";
    else
      m += "<select id=\"f-org\" name=\"organisation\">\n" +
           p.options(v.organisations, f.organisation, p.t.get("list.filter.any_organisation")) + "</select>";
    m += "</div>\n<div class=\"field\"><label for=\"f-assignee\">" + p.w("list.filter.assignee") + "</label>\n";
    if (v.agents.empty()) {
      m += "<input id=\"f-assignee\" type=\"text\" name=\"assignee\" maxlength=\"254\" value=" + attr(f.assignee) +
           ">";
    } else {
      std::vector<Choice> who = {{"me", p.t.get("list.filter.me")}};
      who.insert(who.end(), v.agents.begin(), v.agents.end());
      m += "<select id=\"f-assignee\" name=\"assignee\">\n" +
           p.options(who, f.assignee, p.t.get("list.filter.anyone")) + "</select>";
    }
    m += "</div>\n";
    m += "<div class=\"field check\"><input id=\"f-mine\" type=\"checkbox\" name=\"mine\" value=\"1\"" +
         std::string(f.mine ? " checked" : "") + "><label for=\"f-mine\">" + p.w("list.filter.mine") +
         "</label></div>\n";
    m += "<div class=\"field check\"><input id=\"f-breaching\" type=\"checkbox\" name=\"breaching\" value=\"1\"" +
         std::string(f.breaching ? " checked" : "") + "><label for=\"f-breaching\">" + p.w("list.filter.breaching") +
         "</label></div>\n";
  }
  m += "<div class=\"actions\"><button type=\"submit\">" + p.w("list.filter.submit") +
       "</button> <a href=\"/tickets\">" + p.w("list.filter.clear") + "</a></div>\n</fieldset>\n</form>\n";

  const int size = std::max(1, v.page_size);
  const int page = std::max(1, v.page);
  // With `more` the count stopped past the page (app: kCountedAhead): the last page is unknown,
  // and a next one exists.
  const std::int64_t pages = v.more ? page + 1 : std::max<std::int64_t>(1, (v.total + size - 1) / size);
  const std::string total = std::to_string(v.total);
  m += "<p class=\"count\">" + (v.more ? p.w("list.count_more", {{"total", total}}) : p.w("list.count", {{"total", total}})) +
       " \xC2\xB7 " +
       (v.more ? p.w("list.page_only", {{"page", std::to_string(page)}})
               : p.w("list.page", {{"page", std::to_string(page)}, {"pages", std::to_string(pages)}})) +
       "</p>\n";

  if (v.rows.empty()) {
    m += "<p class=\"empty\">" + p.w("list.empty") + "</p>\n";
  } else {
    std::vector<std::string> cols = {"ticket", "subject", "status", "priority", "category"};
    if (agent) cols.insert(cols.end(), {"organisation", "assignee"});
    cols.insert(cols.end(), {"created", "sla"});
    if (!agent) cols.push_back("resolution");
    m += "<div class=\"scroll\"><table class=\"tickets\">\n<thead><tr>";
    for (const auto& c : cols) m += "<th scope=\"col\">" + p.w("list.col." + c) + "</th>";
    m += "</tr></thead>\n<tbody>\n";
    for (const auto& r : v.rows) {
      m += "<tr>";
      m += "<td class=\"ref\">" + p.ref_link(r.ref, text(r.ref)) + "</td>";
      m += "<td class=\"subject\">" + p.ref_link(r.ref, text(r.subject)) + "</td>";
      m += "<td>" + p.status_badge(r.status) + "</td>";
      m += "<td><span class=\"priority priority-" + css_word(r.priority) + "\">" + p.word("priority", r.priority) +
           "</span></td>";
      m += "<td>" + p.word("category", r.category) + "</td>";
      if (agent) {
        m += "<td>" + text(r.organisation) + "</td>";
        m += "<td>" + (r.assignee.empty() ? "<span class=\"muted\">" + p.w("list.unassigned") + "</span>"
                                          : text(r.assignee)) +
             "</td>";
      }
      m += "<td class=\"nowrap\">" + text(r.created) + "</td>";
      m += "<td>" + p.sla(r.sla_state, r.sla_due) + "</td>";
      if (!agent) m += "<td>" + text(r.resolution) + "</td>";
      m += "</tr>\n";
    }
    m += "</tbody>\n</table></div>\n";
  }

  if (pages > 1) {
    m += "<nav class=\"pager\" aria-label=" + attr(p.t.get("list.pages")) + ">\n";
    if (page > 1)
      m += "<a rel=\"prev\" href=" + attr("/tickets" + ticket_list_query(f, page - 1, agent)) + ">" +
           p.w("list.previous") + "</a>\n";
    if (page < pages)
      m += "<a rel=\"next\" href=" + attr("/tickets" + ticket_list_query(f, page + 1, agent)) + ">" +
           p.w("list.next") + "</a>\n";
    m += "</nav>\n";
  }
  return p.frame(title, m);
}

std::string ticket_page(const PageContext& ctx, const TicketView& v) {
  Page p(ctx);
  const bool agent = ctx.agent;
  std::string m = "<p class=\"back\"><a href=\"/tickets\">" + p.w("ticket.back") + "</a></p>\n";
  m += "<h1><span class=\"ref\">" + text(v.ref) + "</span> " + text(v.subject) + "</h1>\n";
  m += p.notice(v.notice);
  // A refused estimate on a ticket whose page has no estimate form (resolved meanwhile).
  if (!(agent && v.can_estimate)) m += p.errors(v.estimate_errors);

  // The facts, as the list shows them and a little more.
  m += "<section class=\"card\" aria-labelledby=\"details\"><h2 id=\"details\" class=\"sr\">" + p.w("ticket.details") +
       "</h2>\n<dl class=\"facts\">\n";
  auto fact = [&](const char* key, const std::string& html) {
    if (!html.empty()) m += "<div><dt>" + p.w(key) + "</dt><dd>" + html + "</dd></div>\n";
  };
  fact("ticket.status", p.status_badge(v.status));
  fact("ticket.priority", v.priority.empty() ? "" : p.word("priority", v.priority));
  fact("ticket.category", v.category.empty() ? "" : p.word("category", v.category));
  fact("ticket.created", text(v.created));
  fact("ticket.updated", text(v.updated));
  fact("ticket.requester", text(v.requester));
  fact("ticket.organisation", text(v.organisation));
  fact("ticket.assignee", v.assignee.empty() ? "<span class=\"muted\">" + p.w("list.unassigned") + "</span>"
                                             : text(v.assignee));
  fact("ticket.sla", p.sla(v.sla_state, v.sla_due));
  fact("ticket.resolution", text(v.resolution, true));
  if (agent) fact("ticket.time_spent", text(time_text(p, v.time_spent_s)));
  if (agent && v.is_incident && linkable_ref(v.ref))
    fact("ticket.incident", p.w("incident.is_major") + " \xC2\xB7 <a href=" + attr("/incidents/" + v.ref + "/report") +
                                ">" + p.w("incidents.report") + "</a>");
  if (agent && v.part_of_incident) fact("ticket.incident", text(v.incident_ref));
  if (v.hypercare) {
    const auto& h = *v.hypercare;
    if (!agent) {
      if (h.running) fact("ticket.hypercare", p.w("hypercare.until", {{"date", h.last_day}}));
    } else if (!h.ended_early.empty()) {
      fact("ticket.hypercare", p.w("hypercare.ended_early", {{"date", h.ended_early}}));
    } else {
      fact("ticket.hypercare", p.w(h.over ? "hypercare.ended" : "hypercare.until", {{"date", h.last_day}}));
    }
  }
  if (agent) fact("ticket.account_agent", text(v.account_agent));
  m += "</dl>\n</section>\n";
  // A contact learns that their case is part of a major incident, and nothing internal of it.
  if (!agent && v.part_of_incident) m += "<p class=\"notice\" role=\"status\">" + p.w("incident.part") + "</p>\n";

  if (!v.attachments.empty()) {
    m += "<section aria-labelledby=\"files\"><h2 id=\"files\">" + p.w("ticket.files") + "</h2>\n<ul class=\"files\">\n";
    for (const auto& a : v.attachments) m += p.attachment_item(v.ref, a);
    m += "</ul>\n</section>\n";
  }

  m += "<section aria-labelledby=\"thread\"><h2 id=\"thread\">" + p.w("ticket.thread") + "</h2>\n";
  if (v.messages.empty()) m += "<p class=\"empty\">" + p.w("ticket.no_messages") + "</p>\n";
  else m += "<ol class=\"thread\">\n";
  for (const auto& msg : v.messages) {
    // A contact's view is given customer-visible messages only; should an internal one be
    // passed by mistake, it is still not shown to them.
    if (msg.internal && !agent) continue;
    std::string cls = "message";
    if (msg.internal) cls += " internal";
    if (msg.from_desk) cls += " desk";
    m += "<li><article class=\"" + cls + "\">\n<header>";
    std::string name = msg.from_name.empty() ? msg.from_addr : msg.from_name;
    m += "<span class=\"from\">" + text(name) + "</span>";
    if (!msg.from_name.empty() && !msg.from_addr.empty() && agent)
      m += " <span class=\"addr\">&lt;" + text(msg.from_addr) + "&gt;</span>";
    if (!msg.date.empty()) m += " <span class=\"date\">" + text(msg.date) + "</span>";
    if (msg.internal) m += " <span class=\"badge note\">" + p.w("ticket.internal_note") + "</span>";
    m += "</header>\n<div class=\"text\">" + text(msg.text, true) + "</div>\n";
    if (!msg.attachments.empty()) {
      m += "<ul class=\"files\">\n";
      for (const auto& a : msg.attachments) m += p.attachment_item(v.ref, a);
      m += "</ul>\n";
    }
    m += "</article></li>\n";
  }
  if (!v.messages.empty()) m += "</ol>\n";
  m += "</section>\n";

  if (!v.events.empty()) {
    m += "<section aria-labelledby=\"history\"><h2 id=\"history\">" + p.w("ticket.history") +
         "</h2>\n<div class=\"scroll\"><table class=\"history\">\n<thead><tr><th scope=\"col\">" +
         p.w("ticket.history.at") + "</th><th scope=\"col\">" + p.w("ticket.history.actor") +
         "</th><th scope=\"col\">" + p.w("ticket.history.kind") + "</th><th scope=\"col\">" +
         p.w("ticket.history.detail") + "</th></tr></thead>\n<tbody>\n";
    for (const auto& e : v.events)
      m += "<tr><td class=\"nowrap\">" + text(e.at) + "</td><td>" + text(e.actor) + "</td><td>" + text(e.kind) +
           "</td><td>" + text(e.detail) + "</td></tr>\n";
    m += "</tbody>\n</table></div>\n</section>\n";
  }

  // The estimate awaiting approval: two buttons of one POST form (never a link: mail scanners
  // open links), with the session's CSRF token and a one-time form key.
  if (v.estimate && linkable_ref(v.ref)) {
    const auto& e = *v.estimate;
    m += "<section class=\"card estimate\" aria-labelledby=\"estimate\"><h2 id=\"estimate\">" +
         p.w(agent ? "ticket.estimate.agent" : "ticket.estimate") + "</h2>\n";
    m += "<p><strong>" + text(e.time) + "</strong>: " + text(e.text) + "</p>\n<p class=\"muted\">" + text(e.created) +
         "</p>\n";
    if (e.can_answer) {
      m += "<p>" + p.w("ticket.estimate.charged") + "</p>\n";
      m += "<form method=\"post\" action=" + attr(p.ticket_href(v.ref) + "/estimate") + ">\n" + p.csrf_field(ctx.csrf) +
           "\n<input type=\"hidden\" name=\"form_key\" value=" + attr(v.form_key) +
           ">\n<input type=\"hidden\" name=\"estimate\" value=" + attr(std::to_string(e.id)) + ">\n" +
           "<button type=\"submit\" name=\"answer\" value=\"approve\">" + p.w("ticket.estimate.approve") +
           "</button>\n<button type=\"submit\" name=\"answer\" value=\"decline\">" + p.w("ticket.estimate.decline") +
           "</button>\n</form>\n";
    }
    m += "</section>\n";
  }

  // The reply form: the same path as a mail from this person (and for agents, its commands).
  if (linkable_ref(v.ref)) {
    m += "<section class=\"card\" aria-labelledby=\"reply\"><h2 id=\"reply\">" + p.w("ticket.reply") + "</h2>\n";
    m += p.errors(v.errors);
    m += "<form method=\"post\" action=" + attr(p.ticket_href(v.ref) + "/reply") +
         " enctype=\"multipart/form-data\">\n" + p.csrf_field(ctx.csrf) +
         "\n<input type=\"hidden\" name=\"form_key\" value=" + attr(v.form_key) + ">\n";
    m += "<label for=\"r-text\">" + p.w("ticket.reply.text") + "</label>\n";
    // Agents may post a change alone (a status, an assignment); a contact's reply says something.
    m += "<textarea id=\"r-text\" name=\"text\" rows=\"8\"" + std::string(agent ? "" : " required") + ">" +
         text(v.draft_text, true) + "</textarea>\n";
    m += "<label for=\"r-files\">" + p.w("ticket.reply.files") + "</label>\n";
    m += "<input id=\"r-files\" type=\"file\" name=\"files\" multiple>\n";
    if (agent) {
      std::string unchanged = p.t.get("ticket.change.unchanged");
      m += "<fieldset class=\"changes\"><legend>" + p.w("ticket.change") + "</legend>\n";
      // What the mail commands allow (desk/agent_mail.cpp): #status takes every status but new.
      m += "<div class=\"field\"><label for=\"r-status\">" + p.w("ticket.status") +
           "</label>\n<select id=\"r-status\" name=\"status\">\n" +
           p.options(p.vocabulary("status", kStatuses, +[](Status s) { return s != Status::new_ && s != Status::awaiting_approval; }), "", unchanged) +
           "</select></div>\n";
      m += "<div class=\"field\"><label for=\"r-priority\">" + p.w("ticket.priority") +
           "</label>\n<select id=\"r-priority\" name=\"priority\">\n" +
           p.options(p.vocabulary("priority", kPriorities), "", unchanged) + "</select></div>\n";
      m += "<div class=\"field\"><label for=\"r-category\">" + p.w("ticket.category") +
           "</label>\n<select id=\"r-category\" name=\"category\">\n" +
           p.options(p.vocabulary("category", kCategories), "", unchanged) + "</select></div>\n";
      m += "<div class=\"field\"><label for=\"r-assign\">" + p.w("ticket.change.assign") + "</label>\n";
      if (v.agents.empty()) {
        m += "<input id=\"r-assign\" type=\"text\" name=\"assign\" maxlength=\"254\" placeholder=\"me\">";
      } else {
        std::vector<Choice> who = {{"me", p.t.get("ticket.change.assign_me")}};
        who.insert(who.end(), v.agents.begin(), v.agents.end());
        m += "<select id=\"r-assign\" name=\"assign\">\n" + p.options(who, "", unchanged) + "</select>";
      }
      m += "</div>\n";
      m += "<div class=\"field\"><label for=\"r-time\">" + p.w("ticket.change.time") +
           "</label>\n<input id=\"r-time\" type=\"number\" name=\"time_minutes\" min=\"0\" max=\"6000\" step=\"1\" "
           "inputmode=\"numeric\"></div>\n";
      m += "<div class=\"field check\"><input id=\"r-note\" type=\"checkbox\" name=\"note\" value=\"1\"><label "
           "for=\"r-note\">" +
           p.w("ticket.change.note") + "</label></div>\n";
      // On a major incident the words go to its agents; to everyone it affects only so.
      if (v.is_incident)
        m += "<div class=\"field check\"><input id=\"r-broadcast\" type=\"checkbox\" name=\"broadcast\" "
             "value=\"1\"><label for=\"r-broadcast\">" +
             p.w("ticket.change.broadcast") + "</label></div>\n";
      m += "</fieldset>\n";
    }
    m += "<button type=\"submit\">" + p.w("ticket.reply.submit") + "</button>\n</form>\n</section>\n";
  }
  // Agents: a new estimate for the customer to approve (as #estimate 3h TEXT by mail).
  if (agent && v.can_estimate && linkable_ref(v.ref)) {
    m += "<section class=\"card\" aria-labelledby=\"new-estimate\"><h2 id=\"new-estimate\">" + p.w("estimate.new") +
         "</h2>\n";
    m += p.errors(v.estimate_errors);
    m += "<form method=\"post\" action=" + attr(p.ticket_href(v.ref) + "/estimate") + ">\n" + p.csrf_field(ctx.csrf) +
         "\n<input type=\"hidden\" name=\"form_key\" value=" + attr(v.form_key) + ">\n";
    m += "<label for=\"e-duration\">" + p.w("estimate.duration") +
         "</label>\n<input id=\"e-duration\" type=\"text\" name=\"duration\" maxlength=\"40\" required value=" +
         attr(v.estimate_draft.duration) + ">\n";
    m += "<label for=\"e-text\">" + p.w("estimate.text") +
         "</label>\n<input id=\"e-text\" type=\"text\" name=\"text\" maxlength=\"1000\" required value=" +
         attr(v.estimate_draft.text) + ">\n";
    m += "<button type=\"submit\">" + p.w("estimate.submit") + "</button>\n</form>\n</section>\n";
  }
  // Agents: link or unlink a major incident, or declare one with this ticket linked.
  if (agent && linkable_ref(v.ref) && !v.is_incident) {
    m += "<section class=\"card\" aria-labelledby=\"incident\"><h2 id=\"incident\">" + p.w("ticket.incident") + "</h2>\n";
    m += "<form method=\"post\" action=" + attr(p.ticket_href(v.ref) + "/incident") + ">\n" + p.csrf_field(ctx.csrf) +
         "\n<input type=\"hidden\" name=\"form_key\" value=" + attr(v.form_key + "a") + ">\n";
    m += "<label for=\"i-ref\">" + p.w("incident.link") + "</label>\n<input id=\"i-ref\" type=\"text\" name=\"incident\" "
         "maxlength=\"40\" required value=" + attr(v.part_of_incident ? v.incident_ref : "") + ">\n";
    m += "<button type=\"submit\">" + p.w("incident.link.submit") + "</button>\n</form>\n";
    m += "<form method=\"post\" action=\"/incidents\">\n" + p.csrf_field(ctx.csrf) +
         "\n<input type=\"hidden\" name=\"form_key\" value=" + attr(v.form_key + "b") + ">\n" +
         "<input type=\"hidden\" name=\"from\" value=" + attr(v.ref) + ">\n";
    m += "<label for=\"i-title\">" + p.w("incident.title") + "</label>\n<input id=\"i-title\" type=\"text\" "
         "name=\"title\" maxlength=\"200\" required>\n";
    m += "<label for=\"i-key\">" + p.w("incident.alert_key") + "</label>\n<input id=\"i-key\" type=\"text\" "
         "name=\"alert_key\" maxlength=\"200\">\n";
    m += "<label for=\"i-orgs\">" + p.w("incident.orgs") + "</label>\n<input id=\"i-orgs\" type=\"text\" "
         "name=\"orgs\" maxlength=\"1000\">\n";
    m += "<button type=\"submit\">" + p.w("incident.declare.submit") + "</button>\n</form>\n</section>\n";
  }
  return p.frame(v.ref + " " + v.subject, m);
}

std::string incident_list_page(const PageContext& ctx, const IncidentListView& v) {
  Page p(ctx);
  std::string title = p.t.get("incidents.title");
  std::string m = "<h1>" + text(title) + "</h1>\n";
  if (v.rows.empty()) {
    m += "<p class=\"empty\">" + p.w("incidents.empty") + "</p>\n";
    return p.frame(title, m);
  }
  if (v.more) m += "<p class=\"count\">" + p.w("incidents.newest", {{"count", std::to_string(v.rows.size())}}) + "</p>\n";
  m += "<div class=\"scroll\"><table class=\"incidents\">\n<thead><tr>";
  for (const char* c : {"incident", "title", "status", "declared", "linked", "organisations", "report"})
    m += "<th scope=\"col\">" + p.w(std::string("incidents.col.") + c) + "</th>";
  m += "</tr></thead>\n<tbody>\n";
  for (const auto& r : v.rows) {
    std::string orgs;
    for (const auto& o : r.organisations) orgs += (orgs.empty() ? "" : ", ") + o;
    m += "<tr><td class=\"ref\">" + p.ref_link(r.ref, text(r.ref)) + "</td>";
    m += "<td class=\"subject\">" + p.ref_link(r.ref, text(r.title)) + "</td>";
    m += "<td>" + p.status_badge(r.status) + "</td>";
    m += "<td class=\"nowrap\">" + text(r.declared) + "</td>";
    m += "<td>" + text(std::to_string(r.linked)) + "</td>";
    m += "<td>" + text(orgs) + "</td>";
    m += "<td>" + (linkable_ref(r.ref) ? "<a href=" + attr("/incidents/" + r.ref + "/report") + ">" + p.w("incidents.report") + "</a>" : std::string()) + "</td></tr>\n";
  }
  m += "</tbody>\n</table></div>\n";
  return p.frame(title, m);
}

std::string new_ticket_page(const PageContext& ctx, const NewTicketView& v) {
  Page p(ctx);
  std::string m = "<p class=\"back\"><a href=\"/tickets\">" + p.w("ticket.back") + "</a></p>\n";
  m += "<section class=\"card\">\n<h1>" + p.w("new.title") + "</h1>\n<p>" + p.w("new.intro") + "</p>\n";
  m += p.errors(v.errors);
  m += "<form method=\"post\" action=\"/tickets\" enctype=\"multipart/form-data\">\n" + p.csrf_field(ctx.csrf) +
       "\n<input type=\"hidden\" name=\"form_key\" value=" + attr(v.form_key) + ">\n";
  m += "<label for=\"n-subject\">" + p.w("new.subject") +
       "</label>\n<input id=\"n-subject\" type=\"text\" name=\"subject\" required maxlength=\"200\" value=" +
       attr(v.subject) + ">\n";
  m += "<label for=\"n-text\">" + p.w("new.text") + "</label>\n<textarea id=\"n-text\" name=\"text\" rows=\"10\" required>" +
       text(v.text, true) + "</textarea>\n";
  if (!v.categories.empty()) {
    std::vector<Choice> cats;
    for (const auto& c : v.categories) cats.push_back({c, p.label("category", c)});
    m += "<label for=\"n-category\">" + p.w("new.category") + "</label>\n<select id=\"n-category\" name=\"category\">\n" +
         p.options(cats, v.category, p.t.get("new.category_none")) + "</select>\n";
  }
  m += "<label for=\"n-files\">" + p.w("new.files") + "</label>\n<input id=\"n-files\" type=\"file\" name=\"files\" multiple>\n";
  m += "<button type=\"submit\">" + p.w("new.submit") + "</button>\n</form>\n</section>\n";
  return p.frame(p.t.get("new.title"), m);
}

std::string message_page(const PageContext& ctx, int status, const std::string& title, const std::string& body) {
  Page p(ctx);
  std::string code = std::to_string(status);
  bool known = page_text_key("message." + code + ".title") != nullptr;
  std::string t = !title.empty() ? title : known ? p.t.get("message." + code + ".title") : p.t.get("message.500.title");
  std::string b = !body.empty() ? body : known ? p.t.get("message." + code + ".text") : p.t.get("message.500.text");
  std::string m = "<section class=\"card narrow\">\n<h1>" + text(t) + "</h1>\n<p class=\"text\">" + text(b, true) +
                  "</p>\n<p><a href=\"" + std::string(p.signed_in() ? "/tickets" : "/login") + "\">" +
                  p.w("message.continue") + "</a></p>\n</section>\n";
  return p.frame(t, m);
}

std::string portal_css() {
  return R"css(/* The portal's stylesheet: system fonts, no external resources. */
:root {
  --fg: #1d2330; --muted: #5b6475; --bg: #f5f6f8; --card: #ffffff; --line: #d9dde4;
  --accent: #1f5fbf; --accent-fg: #ffffff; --warn: #9a5b00; --bad: #b3261e; --good: #1e7a3c;
  --note: #fff7e0;
}
* { box-sizing: border-box; }
html { font-size: 100%; }
body {
  margin: 0; color: var(--fg); background: var(--bg);
  font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #8fb4ef; outline-offset: 1px; }
.wrap { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
.skip { position: absolute; left: -999px; top: 0; background: var(--card); padding: .5rem 1rem; }
.skip:focus { left: 1rem; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

header.top { background: var(--card); border-bottom: 1px solid var(--line); margin-bottom: 1.5rem; }
header.top .wrap { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .75rem 1rem; }
.brand { font-weight: 700; font-size: 1.125rem; color: var(--fg); text-decoration: none; margin-right: auto; }
header.top nav { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; }
.who { color: var(--muted); }
form.inline { display: inline; margin: 0; }
button.link { background: none; border: 0; padding: 0; color: var(--accent); text-decoration: underline; font: inherit; cursor: pointer; }

h1 { font-size: 1.5rem; margin: 0 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.125rem; margin: 1.5rem 0 .75rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.25rem; margin-bottom: 1.25rem; }
.card h2:first-child { margin-top: 0; }
.narrow { max-width: 28rem; margin-left: auto; margin-right: auto; }
.muted, .count, .date, .addr, .size, .due { color: var(--muted); }
.notice { background: #e8f1fd; border-left: 4px solid var(--accent); padding: .5rem .75rem; }
.errors { background: #fdecea; border-left: 4px solid var(--bad); padding: .5rem .75rem; margin-bottom: 1rem; }
.errors p { margin: 0; font-weight: 600; }
.back { margin: 0 0 .5rem; }

label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
input[type=text], input[type=email], input[type=search], input[type=number], select, textarea {
  width: 100%; max-width: 100%; padding: .45rem .55rem; font: inherit; color: inherit;
  background: #fff; border: 1px solid #aab2bf; border-radius: 4px;
}
textarea { resize: vertical; min-height: 8rem; }
input[type=file] { font: inherit; }
button {
  margin-top: 1rem; padding: .5rem 1.1rem; font: inherit; font-weight: 600; cursor: pointer;
  color: var(--accent-fg); background: var(--accent); border: 1px solid var(--accent); border-radius: 4px;
}
button:hover { filter: brightness(1.1); }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 1rem 0 0; padding: .5rem 1rem 1rem; }
legend { font-weight: 600; padding: 0 .25rem; }
.field.check { display: flex; align-items: center; gap: .5rem; margin-top: .75rem; }
.field.check label { margin: 0; font-weight: normal; }

form.filters fieldset { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: 0 1rem; background: var(--card); }
form.filters .actions { display: flex; align-items: end; gap: 1rem; }
form.filters .actions button { margin-top: 0; }
.changes { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: 0 1rem; }

.scroll { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; background: var(--card); }
th, td { text-align: left; vertical-align: top; padding: .5rem .6rem; border-bottom: 1px solid var(--line); }
th { font-size: .875rem; color: var(--muted); font-weight: 600; white-space: nowrap; }
td.subject { min-width: 14rem; overflow-wrap: anywhere; }
.nowrap, td.ref { white-space: nowrap; }
tbody tr:hover { background: #f0f4fa; }

.status, .badge, .sla { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8125rem; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.status-new { color: var(--accent); }
.status-open { color: var(--warn); }
.status-pending, .status-awaiting-approval { color: var(--muted); }
.status-resolved, .status-closed { color: var(--good); }
.priority-highest, .priority-high { color: var(--bad); font-weight: 600; }
.sla-ok, .sla-met { color: var(--good); }
.sla-warning { color: var(--warn); }
.sla-breached { color: var(--bad); }
.sla-paused { color: var(--muted); }
.badge { color: var(--muted); }
.badge.note { color: var(--warn); }

dl.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(13rem, 1fr)); gap: .5rem 1.5rem; margin: 0; }
dl.facts dt { font-size: .875rem; color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }

ol.thread { list-style: none; margin: 0; padding: 0; }
.message { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin-bottom: .75rem; }
.message.desk { border-left: 4px solid var(--accent); }
.message.internal { background: var(--note); border-left: 4px solid var(--warn); }
.message header { display: flex; flex-wrap: wrap; gap: .25rem .75rem; align-items: baseline; margin-bottom: .5rem; }
.from { font-weight: 600; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
ul.files { margin: .5rem 0 0; padding-left: 1.25rem; overflow-wrap: anywhere; }

.pager { display: flex; gap: 1rem; justify-content: space-between; margin: 1rem 0 2rem; }
.pager a[rel=next] { margin-left: auto; }
.empty { color: var(--muted); font-style: italic; }

@media (max-width: 40rem) {
  h1 { font-size: 1.25rem; }
  .card { padding: .75rem; }
  th, td { padding: .4rem; }
}
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ef; --muted: #a3abba; --bg: #14171d; --card: #1d2129; --line: #333a46; --accent: #7fb0ff; --accent-fg: #10131a; --note: #2e2a1c; --warn: #e0a84a; --bad: #ff8a80; --good: #7fd69a; }
  input[type=text], input[type=email], input[type=search], input[type=number], select, textarea { background: #10131a; border-color: #4a5261; }
  tbody tr:hover { background: #232834; }
  .notice { background: #1b2a40; }
  .errors { background: #3a1f1f; }
}
)css";
}

}  // namespace sd::portal
