// desk/from_portal.cpp: what the portal asks of the desk (from_portal.h says the contract).
// customer_writes() is in ingest.cpp: it runs the mail path's steps.
#include "desk/from_portal.h"

#include "core/text.h"
#include "desk/agent_mail.h"
#include "desk/attachments.h"
#include "desk/estimates.h"
#include "desk/incidents.h"
#include "desk/ingest.h"
#include "desk/mailer.h"
#include "desk/on_behalf.h"
#include "notify/compose.h"
#include "notify/templates.h"
#include "store/incidents.h"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

namespace sd {
namespace {

// "type/subtype" in lower case as a browser names an upload's type, else application/octet-stream
// (the outbox sends what it is told; a hostile type must not become a header of its choice).
std::string upload_type(std::string_view type) {
  auto token = [](std::string_view t) {
    return !t.empty() && t.size() <= 100 && std::all_of(t.begin(), t.end(), [](unsigned char ch) {
      return std::isalnum(ch) || ch == '-' || ch == '+' || ch == '.' || ch == '_';
    });
  };
  std::string t = lower(std::string(type.substr(0, type.find(';'))));
  auto slash = t.find('/');
  if (slash == std::string::npos || !token(t.substr(0, slash)) || !token(t.substr(slash + 1)))
    return "application/octet-stream";
  return t;
}

}  // namespace

// A form's text as the desk keeps a mail's: UTF-8 (a byte that is not becomes U+FFFD), line
// ends LF (browsers send a textarea's as CRLF), no controls but tab and newline.
std::string form_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto ch = text_detail::decode_utf8(s, i);
    if (ch.len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    std::string_view bytes = s.substr(i, ch.len);
    i += ch.len;
    if (ch.cp == '\r') {
      if (i < s.size() && s[i] == '\n') continue;  // CRLF: the LF follows
      out += '\n';
    } else if (ch.cp == '\n' || ch.cp == '\t' || !is_terminal_control(ch.cp)) {
      out += bytes;
    }
  }
  return out;
}

// A form's one-line field (a subject): form_text() on one line, at most `max_bytes` bytes.
std::string form_line(std::string_view s, std::size_t max_bytes) {
  std::string text = form_text(s);
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\t', ' ');
  return trim(utf8_prefix(text, max_bytes));
}

// The files of a portal message as a mail's attachments, under the same limits as a mail's:
// at most limits.max_parts of them and limits.max_message_bytes in all with the text (else an
// error, nothing stored); one over limits.max_attachment_bytes keeps its name and size, not its
// bytes. A name is text only, made as our own mails would send it (never a path).
tl::expected<std::vector<parser::Attachment>, std::string> uploads_as_attachments(const Config& c,
                                                                                    const std::vector<Upload>& files,
                                                                                    std::size_t text_bytes) {
  const auto& limits = c.limits;
  if (files.size() + 1 > limits.max_parts)
    return tl::unexpected(fmt::format("too many files: at most {} in one message", limits.max_parts - 1));
  std::size_t total = text_bytes;
  for (const auto& f : files) total += f.data.size();
  if (total > limits.max_message_bytes)
    return tl::unexpected(fmt::format("the message is {}, more than the {} one message may be", size_words(static_cast<std::int64_t>(total)),
                                      size_words(static_cast<std::int64_t>(limits.max_message_bytes))));
  std::vector<parser::Attachment> out;
  for (const auto& f : files) {
    parser::Attachment a;
    a.filename = notify::attachment_filename(f.filename);
    a.content_type = upload_type(f.content_type);
    a.size = f.data.size();
    if (f.data.size() <= limits.max_attachment_bytes) a.data = f.data;
    out.push_back(std::move(a));
  }
  return out;
}

// <portal.RANDOM@our-domain>: a portal message's own Message-ID, so that a mail answering one
// of our mails about it threads as any other.
std::string portal_message_id(const Config& c) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no random bytes for a Message-ID (OpenSSL)");
  std::string id = "portal.";
  for (unsigned char b : bytes) id += fmt::format("{:02x}", b);
  return id + "@" + domain_of(c.service.address);
}

namespace {
std::string portal_url(const Config& c, const std::string& path) {
  std::string base = c.portal.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base.empty() ? "" : base + path;
}
}  // namespace

std::string portal_link(const Config& c, std::int64_t ticket) { return portal_url(c, "/tickets/" + ticket_ref(c, ticket)); }

std::string portal_incident_report_link(const Config& c, std::int64_t incident) {
  return portal_url(c, "/incidents/" + ticket_ref(c, incident) + "/report");
}

tl::expected<ChangeOutcome, std::string> agent_works(store::Transaction& tx, const Desk& desk, const AgentWrite& w,
                                                     store::Time now) {
  AgentWork work;
  work.text = form_text(w.text);
  work.internal_note = w.note;
  work.change = w.change;
  // A major incident's own ticket: its requester is its manager, and customers hear of it
  // only by a broadcast (the mail path's rule, desk/ingest.cpp apply_incident_commands()).
  const bool incident = tx.incidents().incident(w.ticket_id).has_value();
  const bool resolving = w.change.status == Status::resolved;
  const bool words = !trim(work.text).empty();
  if (w.broadcast) {
    if (!incident)
      return tl::unexpected(fmt::format("broadcast works only on a major incident; {} is none",
                                        ticket_ref(desk.config(), w.ticket_id)));
    if (w.note) return tl::unexpected(std::string("an internal note is never broadcast: untick one of them"));
    if (!words) return tl::unexpected(std::string("broadcast: write the words to send"));
  }
  if (incident && !resolving && words) work.internal_note = true;
  auto files = uploads_as_attachments(desk.config(), w.files, work.text.size());
  if (!files) return tl::unexpected(files.error());
  work.files = std::move(*files);
  auto done = agent_writes(tx, desk, w.ticket_id, w.agent, work, now);
  if (!done || !incident) return done;
  auto agent = tx.agent(lower(w.agent));
  std::string name = agent && !agent->name.empty() ? agent->name : lower(w.agent);
  if (incident_update_by_agent(tx, desk, w.ticket_id, words ? work.text : std::string(), w.broadcast, resolving, name,
                               lower(w.agent), now))
    done->mail_queued = true;
  return done;
}

tl::expected<std::int64_t, std::string> agent_estimates(store::Transaction& tx, const Desk& desk,
                                                        std::int64_t ticket_id, const std::string& agent_address,
                                                        const std::string& duration, const std::string& text,
                                                        store::Time now) {
  auto agent = tx.agent(lower(agent_address));
  if (!agent) return tl::unexpected(fmt::format("{} is not a registered agent (servicedesk agent add)", agent_address));
  auto t = tx.ticket(ticket_id);
  if (!t) return tl::unexpected(fmt::format("no ticket {}", ticket_ref(desk.config(), ticket_id)));
  std::string d = form_line(duration, 40);
  auto seconds = parse_duration(d);
  if (!seconds || *seconds <= 0)
    return tl::unexpected(fmt::format("'{}' is not a duration (e.g. 3h, 90m, 1h30m)", d));
  EstimateRequest r{*seconds, form_line(text, 1000), "", agent->email, agent->name.empty() ? agent->email : agent->name,
                    {}};
  return make_estimate(tx, desk, *t, r, now);
}

void queue_login_link(store::Transaction& tx, const Desk& desk, const std::string& email, const std::string& name,
                      const std::string& language, const std::string& link, int minutes, store::Time now) {
  const auto& c = desk.config();
  const auto& tpl = desk.templates().get("login-link", language);
  std::string who = form_line(name, 200);
  std::map<std::string, std::string> vars = {{"link", link},
                                             {"minutes", std::to_string(minutes)},
                                             {"service_name", c.service.name},
                                             {"name", who}};
  MailToQueue q;
  q.kind = "login-link";
  q.to = {who, lower(email)};
  q.record = false;  // on no ticket; the store blanks the row's bytes once it is sent
  q.draft.subject = notify::render(tpl.subject, vars);
  q.draft.body_text = notify::render(tpl.body, vars);
  q.draft.auto_submitted = "auto-generated";
  queue_mail(tx, c, q, now);
}

}  // namespace sd
