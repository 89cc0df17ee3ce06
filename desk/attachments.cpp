// desk/attachments.cpp: see attachments.h.
#include "desk/attachments.h"

#include "desk/ingest.h"
#include "desk/mailer.h"
#include "notify/templates.h"

#include <fmt/format.h>

namespace sd {
namespace {

std::string file_line(const store::AttachmentInfo& f) {
  std::string name = f.filename.empty() ? "(unnamed " + f.content_type + ")" : f.filename;
  return fmt::format("  {}. {} ({})", f.number, name, size_words(f.size));
}

// Whether a file can go by mail at all: its bytes were kept and alone it is under the limit.
bool mailable(const store::AttachmentInfo& f, std::size_t max_bytes) {
  return f.kept && static_cast<std::size_t>(f.size) <= max_bytes;
}

}  // namespace

std::string size_words(std::int64_t bytes) {
  if (bytes < 1000) return fmt::format("{} bytes", bytes);
  if (bytes < 1000 * 1000) return fmt::format("{} KB", (bytes + 500) / 1000);
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

AttachedFiles attach_what_fits(const std::vector<store::AttachmentInfo>& files, std::size_t max_bytes,
                               const std::string& ref) {
  AttachedFiles out;
  if (files.empty()) return out;
  std::string attached, left, lost;
  std::size_t total = 0;
  for (const auto& f : files) {
    auto size = static_cast<std::size_t>(f.size);
    if (!f.kept) lost += file_line(f) + "\n";
    else if (total + size <= max_bytes) {
      total += size;
      out.ids.push_back(f.id);
      attached += file_line(f) + "\n";
    } else {
      ++out.left_out;
      left += file_line(f) + "\n";
    }
  }
  if (!attached.empty()) out.listing += "Attached:\n" + attached;
  if (!left.empty())
    out.listing += fmt::format("Not attached (more than {} in one mail):\n{}Reply #attachments to get them in mails "
                               "under the limit, or on the server: servicedesk attachment get {} NUMBER\n",
                               size_words(static_cast<std::int64_t>(max_bytes)), left, ref);
  if (!lost.empty()) out.listing += "Not kept (over limits.max_attachment_bytes; the raw mail has them):\n" + lost;
  return out;
}

std::vector<std::vector<store::AttachmentInfo>> split_for_mails(const std::vector<store::AttachmentInfo>& files,
                                                                std::size_t max_bytes) {
  std::vector<std::vector<store::AttachmentInfo>> mails;
  std::size_t total = 0;
  for (const auto& f : files) {
    if (!mailable(f, max_bytes)) continue;
    auto size = static_cast<std::size_t>(f.size);
    if (mails.empty() || total + size > max_bytes) {
      mails.emplace_back();
      total = 0;
    }
    mails.back().push_back(f);
    total += size;
  }
  return mails;
}

int mail_attachments(store::Transaction& tx, const Desk& desk, const store::Ticket& t, const notify::Mailbox& agent,
                     store::Time now) {
  const auto& c = desk.config();
  auto files = tx.attachments(t.id);
  auto mails = split_for_mails(files, c.notify.attach_max_bytes);
  std::string too_large;
  for (const auto& f : files)
    if (!mailable(f, c.notify.attach_max_bytes))
      too_large += file_line(f) + (f.kept ? "" : " (not kept)") + "\n";
  if (!too_large.empty())
    too_large = fmt::format("Too large for any mail, or not kept (on the server: servicedesk attachment get {} "
                            "NUMBER):\n{}",
                            ticket_ref(c, t.id), too_large);
  if (mails.empty()) mails.emplace_back();  // one mail saying there is nothing to send
  const auto& tpl = desk.templates().get("attachments", "en");
  int part = 0;
  for (const auto& files_of_mail : mails) {
    ++part;
    std::string list;
    MailToQueue q;
    for (const auto& f : files_of_mail) {
      list += file_line(f) + "\n";
      q.attachment_ids.push_back(f.id);
    }
    if (files.empty()) list = "(this ticket has no attachments)\n";
    if (part == 1) list += too_large;
    std::map<std::string, std::string> vars = {{"ticket", ticket_ref(c, t.id)},
                                               {"subject", mail_subject(desk, t)},
                                               {"part", std::to_string(part)},
                                               {"parts", std::to_string(mails.size())},
                                               {"list", list}};
    q.ticket_id = t.id;
    q.kind = "attachments";
    q.to = agent;
    q.record = false;  // the agents' business, not the customer's thread
    q.draft.subject = notify::render(tpl.subject, vars);
    q.draft.body_text = notify::render(tpl.body, vars);
    q.draft.auto_submitted = "auto-replied";
    queue_mail(tx, c, q, now);
  }
  return part;
}

}  // namespace sd
