// daemon/ingest.cpp: see ingest.h.
//
// The order inside the transaction follows the "raw bytes first" rule: the raw mail row
// is written before anything derived from it, so a crash or a parser bug can never leave
// a ticket without the mail it came from.
#include "daemon/ingest.h"

#include "daemon/log.h"
#include "daemon/sla_clock.h"
#include "notify/compose.h"
#include "notify/templates.h"
#include "parser/parse.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace sd {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

// Our own address, with or without a +detail.
bool is_own_address(const Config& c, const std::string& addr) {
  std::string a = lower(addr), own = lower(c.service.address);
  if (a == own) return true;
  auto at = own.find('@'), plus = a.find('+');
  return plus != std::string::npos && a.compare(0, plus, own, 0, at) == 0 && plus == at &&
         a.substr(a.find('@')) == own.substr(at);
}

std::string domain_of(const std::string& addr) {
  auto at = addr.find('@');
  return at == std::string::npos ? "localhost" : addr.substr(at + 1);
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

// Why the service desk must not answer this mail automatically, or "" when it may.
std::string no_ack_reason(const Config& c, const parser::ParsedMail& m) {
  if (m.automatic) return "automatic mail (" + *m.automatic + ")";
  std::string from = lower(m.from.email);
  if (from.empty()) return "no sender address";
  auto local = from.substr(0, from.find('@'));
  if (local == "mailer-daemon" || local == "postmaster") return "sender " + from;
  if (is_own_address(c, from)) return "mail from our own address";
  return "";
}

}  // namespace

std::string ticket_ref(const Config& c, std::int64_t id) { return fmt::format("{}-{}", c.service.ticket_prefix, id); }

std::optional<std::int64_t> parse_ticket_ref(const Config& c, std::string_view ref) {
  if (iequals_prefix(ref, c.service.ticket_prefix + "-")) ref.remove_prefix(c.service.ticket_prefix.size() + 1);
  if (ref.empty() || ref.size() > 18 || !std::all_of(ref.begin(), ref.end(), [](char ch) { return std::isdigit((unsigned char)ch); }))
    return std::nullopt;
  return std::stoll(std::string(ref));
}

std::optional<std::int64_t> ticket_tag_in(const Config& c, std::string_view subject) {
  std::string tag = "[" + c.service.ticket_prefix + "-";
  for (std::size_t i = 0; i + tag.size() < subject.size(); ++i) {
    if (subject[i] != '[' || !iequals_prefix(subject.substr(i), tag)) continue;
    auto close = subject.find(']', i);
    if (close == std::string_view::npos) return std::nullopt;
    if (auto id = parse_ticket_ref(c, subject.substr(i + tag.size(), close - i - tag.size()))) return id;
  }
  return std::nullopt;
}

std::string content_hash(std::string_view raw) {
  // Drop the trace fields a second delivery of the same mail would carry differently.
  std::string canon;
  canon.reserve(raw.size());
  std::size_t pos = 0;
  bool skipping = false;
  while (pos < raw.size()) {
    auto eol = raw.find('\n', pos);
    std::string_view line = raw.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol + 1 - pos);
    if (line == "\n" || line == "\r\n") {  // end of the header block
      canon.append(raw.substr(pos));
      break;
    }
    bool continuation = line[0] == ' ' || line[0] == '\t';
    if (!continuation)
      skipping = iequals_prefix(line, "received:") || iequals_prefix(line, "return-path:") ||
                 iequals_prefix(line, "delivered-to:") || iequals_prefix(line, "x-original-to:");
    if (!skipping) canon.append(line);
    pos += line.size();
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(canon.data(), canon.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

IngestResult ingest(store::Store& st, const Config& c, std::string_view raw,
                    const std::optional<store::MailOrigin>& origin, store::Time now) {
  // Parse outside the transaction: it is pure and may take a while on a big mail.
  parser::ParsedMail m;
  bool quarantined = false;
  try {
    m = parser::parse(raw, c.limits);
  } catch (const std::exception& e) {
    // parse() promises not to throw; if it ever does, the mail is still kept.
    quarantined = true;
    m = parser::ParsedMail{};
    m.problems.push_back(std::string("parser failed: ") + e.what());
  }
  if (m.from.email.empty()) m.problems.push_back("no usable From address");
  std::string hash = content_hash(raw);

  IngestResult result;
  result.message_id = m.message_id;
  auto tx = st.begin(store::Store::Mode::write);

  auto advance_watermark = [&] {
    if (!origin) return;
    auto box = tx->mailbox(origin->mailbox).value_or(store::MailboxState{origin->mailbox, origin->uidvalidity, 0, {}});
    if (box.uidvalidity != origin->uidvalidity) box.last_uid = 0;  // a renumbered mailbox starts over
    box.uidvalidity = origin->uidvalidity;
    box.last_uid = std::max(box.last_uid, origin->uid);
    tx->set_mailbox(box);
  };

  std::optional<store::DuplicateHit> dup;
  if (origin) dup = tx->raw_at(*origin);
  if (!dup) dup = tx->raw_with(m.message_id, hash);
  if (dup) {
    advance_watermark();
    tx->commit();
    result.kind = IngestResult::Kind::duplicate;
    result.ticket_id = dup->ticket_id.value_or(0);
    result.note = "already stored";
    return result;
  }

  store::RawMail rawrow{now, origin, m.message_id, hash, std::string(raw), join(m.problems, "\n"), quarantined};
  std::int64_t raw_id = tx->add_raw(rawrow);

  // Threading: the subject's tag, else the Message-IDs this mail answers.
  std::optional<std::int64_t> ticket_id;
  if (auto tagged = ticket_tag_in(c, m.subject); tagged && tx->ticket(*tagged)) ticket_id = tagged;
  if (!ticket_id) {
    std::vector<std::string> parents = m.references;
    if (!m.in_reply_to.empty()) parents.push_back(m.in_reply_to);
    ticket_id = tx->ticket_by_message_ids(parents);
  }

  std::string subject = m.subject.empty() ? std::string("(no subject)") : m.subject;
  if (ticket_id) {
    result.kind = IngestResult::Kind::joined;
    tx->touch_ticket(*ticket_id, now);
  } else {
    result.kind = IngestResult::Kind::created;
    ticket_id = tx->create_ticket(store::NewTicket{subject, lower(m.from.email), m.from.name, now, c.sla.default_sla, "medium"});
  }
  result.ticket_id = *ticket_id;

  store::MessageRecord rec;
  rec.ticket_id = *ticket_id;
  rec.direction = "in";
  rec.raw_id = raw_id;
  rec.message_id = m.message_id;
  rec.from_addr = lower(m.from.email);
  rec.from_name = m.from.name;
  for (const auto& a : m.to) rec.to.push_back(a.email);
  for (const auto& a : m.cc) rec.cc.push_back(a.email);
  rec.subject = m.subject;
  rec.date = m.date_unix;
  rec.body_text = m.body_text;
  rec.new_text = m.new_text;
  rec.automatic = m.automatic.value_or("");
  rec.created_at = now;
  for (const auto& a : m.attachments)
    rec.attachments.push_back({a.filename, a.content_type, static_cast<std::int64_t>(a.size), a.data});
  tx->add_message(rec);
  tx->add_event({*ticket_id, now, rec.from_addr.empty() ? "unknown" : rec.from_addr,
                 result.kind == IngestResult::Kind::created ? "created" : "message",
                 m.message_id.empty() ? "" : "<" + m.message_id + ">"});
  if (!m.problems.empty())
    tx->add_event({*ticket_id, now, "system", quarantined ? "quarantined" : "parse-problems", join(m.problems, "; ")});

  // The acknowledgement: only for a new ticket, only to a person, at a bounded rate.
  if (result.kind == IngestResult::Kind::created) {
    std::string reason = no_ack_reason(c, m);
    const auto& to_list = m.reply_to.empty() ? std::vector<parser::Address>{m.from} : m.reply_to;
    std::string to = lower(to_list.front().email);
    if (reason.empty() && (to.empty() || is_own_address(c, to))) reason = "reply address is our own";
    if (reason.empty() &&
        tx->count_sent_or_queued("acknowledgement", to, now - 3600) >= c.intake.acks_per_address_per_hour)
      reason = fmt::format("rate limit: {} acknowledgements to {} within the hour", c.intake.acks_per_address_per_hour, to);
    if (reason.empty()) {
      std::string ref = ticket_ref(c, *ticket_id);
      SlaClock clock(c);
      auto ticket = tx->ticket(*ticket_id).value();
      auto due = clock.evaluate(ticket, {}, now).first_response_due;
      std::string first_response_line;
      if (due) {
        auto when = clock.calendar(ticket.sla).format_local(sla::Instant(std::chrono::seconds(*due)), c.service.language);
        first_response_line = c.service.language == "sv"   ? "Du får ett första svar senast " + when + ".\n"
                              : c.service.language == "da" ? "Du får et første svar senest " + when + ".\n"
                                                           : "You will have a first response by " + when + ".\n";
      }
      auto tpl = notify::builtin_template("acknowledgement", c.service.language);
      std::map<std::string, std::string> vars = {{"ticket", ref},
                                                 {"subject", subject},
                                                 {"requester_name", to_list.front().name.empty() ? to : to_list.front().name},
                                                 {"service_name", c.service.name},
                                                 {"first_response_line", first_response_line}};
      notify::Draft d;
      d.from = {c.service.name, c.service.address};
      d.to = {{to_list.front().name, to}};
      d.subject = notify::render(tpl.subject, vars);
      d.body_text = notify::render(tpl.body, vars);
      d.in_reply_to = m.message_id;
      d.references = m.references;
      if (!m.message_id.empty()) d.references.push_back(m.message_id);
      d.auto_submitted = "auto-replied";
      d.date = now;
      d.message_id_domain = domain_of(c.service.address);
      d.extra_headers = {{"X-Servicedesk-Ticket", ref}};
      auto mail = notify::compose(d);

      store::OutboxItem o;
      o.ticket_id = *ticket_id;
      o.kind = "acknowledgement";
      o.mail_from = c.service.address;
      o.recipients = {to};
      o.message_id = mail.message_id;
      o.bytes = mail.bytes;
      o.next_attempt_at = now;
      o.created_at = now;
      std::int64_t outbox_id = tx->enqueue(o);

      store::MessageRecord out;
      out.ticket_id = *ticket_id;
      out.direction = "out";
      out.outbox_id = outbox_id;
      out.message_id = mail.message_id;
      out.from_addr = c.service.address;
      out.from_name = c.service.name;
      out.to = {to};
      out.subject = d.subject;
      out.date = now;
      out.body_text = d.body_text;
      out.new_text = d.body_text;
      out.automatic = "auto-replied";
      out.created_at = now;
      tx->add_message(out);
      tx->add_event({*ticket_id, now, "system", "acknowledgement-queued", to});
      result.acknowledgement_queued = true;
    } else {
      result.note = "no acknowledgement: " + reason;
    }
  }

  advance_watermark();
  tx->commit();
  if (!m.problems.empty())
    result.note += (result.note.empty() ? "" : "; ") + std::string("parser: ") + join(m.problems, "; ");
  return result;
}

}  // namespace sd
