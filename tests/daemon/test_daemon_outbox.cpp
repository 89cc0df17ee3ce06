// tests/daemon/test_daemon_outbox.cpp: outbox delivery per recipient and with files, against
// a real SMTP server (aiosmtpd running tests/e2e/smtp_faults.py's FaultyMailbox, told by its
// control file to answer 550 or 450 to chosen recipients) and the real SQLite store.
//
// What is checked is what people would see: who got the mail and how often, what the ticket
// records for an address that bounced, which recipients a retry goes to, and the files a
// recipient gets, read back with our own parser; the Reply-To token a mail queued without the
// secret (by the portal) gets at send time.
#include <catch2/catch.hpp>

#include "daemon/outbox.h"
#include "desk/agent_mail.h"
#include "notify/compose.h"
#include "parser/parse.h"
#include "store/store.h"
#include "tests/support/desk_config.h"
#include "tests/support/new_ticket.h"
#include "tests/support/smtp_server.h"
#include "tests/support/tempdir.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/stat.h>

using namespace sd;
using Status = notify::RecipientResult::Status;

namespace {

constexpr store::Time kT0 = 1795330800;  // 2026-11-22T05:00:00Z

// A desk's store with one ticket, a faulty SMTP server, and the config.
struct Fixture {
  test::TempDir dir;
  Config c = test::desk_config(dir);
  std::string control = dir.file("smtp-control.json");
  test::FaultyHandler handler{control, std::string(SD_SOURCE_DIR) + "/tests/e2e"};
  test::SmtpServer server{dir.file("maildir"), &handler};
  std::unique_ptr<store::Store> st = store::open_sqlite_store({c.store.path});
  std::int64_t ticket = 0;
  std::atomic<bool> stopping{false};

  Fixture() {
    control_with("{}");
    auto tx = st->begin(store::Store::Mode::write);
    ticket = tx->create_ticket(test::new_ticket("Skrivaren", "anna@kund.se", "Anna Andersson", kT0));
    tx->commit();
  }

  void control_with(const std::string& json) const { std::ofstream(control, std::ios::trunc) << json; }

  notify::Composed compose(const std::vector<std::string>& to_and_cc) const {
    notify::Draft d;
    d.from = {c.service.name, c.service.address};
    d.to = {{"", to_and_cc.front()}};
    for (std::size_t i = 1; i < to_and_cc.size(); ++i) d.cc.push_back({"", to_and_cc[i]});
    d.subject = "[SD-1] Re: Skrivaren";
    d.body_text = "Hej,\n\nHär är guiden.\n";
    d.date = kT0;
    d.message_id_domain = "example.com";
    return notify::compose(d);
  }

  std::int64_t queue(const std::vector<std::string>& recipients, const std::vector<std::int64_t>& attachment_ids = {},
                     std::string* message_id = nullptr, std::string* text = nullptr) {
    auto composed = compose(recipients);
    store::OutboxItem o;
    o.ticket_id = ticket;
    o.kind = "reply";
    o.mail_from = c.service.address;
    o.recipients = recipients;
    o.message_id = composed.message_id;
    o.bytes = composed.bytes;
    o.attachment_ids = attachment_ids;
    o.next_attempt_at = kT0;
    o.created_at = kT0;
    if (message_id) *message_id = composed.message_id;
    if (text) *text = composed.bytes;
    auto tx = st->begin(store::Store::Mode::write);
    auto id = tx->enqueue(o);
    tx->commit();
    return id;
  }

  OutboxRun deliver(store::Time at) {
    notify::SmtpClient smtp({server.url(), "", "", 10});
    return deliver_due(*st, smtp, c, [at] { return at; }, stopping);
  }

  store::OutboxItem row(std::int64_t id) const {
    auto tx = st->begin(store::Store::Mode::read);
    for (const char* status : {"pending", "sent", "failed"})
      for (auto& o : tx->outbox(status))
        if (o.id == id) return o;
    FAIL("no outbox row " << id);
    throw;
  }

  std::vector<store::Event> events(const std::string& kind) const {
    auto tx = st->begin(store::Store::Mode::read);
    std::vector<store::Event> out;
    for (auto& e : tx->events(ticket))
      if (e.kind == kind) out.push_back(std::move(e));
    return out;
  }

  // How many mails each address got.
  std::map<std::string, int> received() const {
    std::map<std::string, int> n;
    for (const auto& m : server.accepted())
      for (const auto& r : m.recipients) ++n[r];
    return n;
  }

  // RCPT TO answers the server gave each address, oldest first (its journal).
  std::vector<int> rcpt_answers(const std::string& address) const {
    std::ifstream in(control + ".journal");
    std::vector<int> out;
    for (std::string line; std::getline(in, line);) {
      if (line.find("\"stage\": \"rcpt\"") == std::string::npos || line.find("\"" + address + "\"") == std::string::npos)
        continue;
      auto at = line.find("\"code\": ");
      if (at != std::string::npos) out.push_back(std::stoi(line.substr(at + 8)));
    }
    return out;
  }
};

// A mail as the server stored it, without the envelope headers aiosmtpd adds, with CRLF.
std::string as_sent(const std::string& stored) {
  std::string out;
  std::istringstream in(stored);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("X-Peer:", 0) == 0 || line.rfind("X-MailFrom:", 0) == 0 || line.rfind("X-RcptTo:", 0) == 0) continue;
    out += line + "\r\n";
  }
  return out;
}

}  // namespace

TEST_CASE("A mail to three recipients where one is refused with 550 reaches the other two, and the refusal is "
          "recorded for that one only") {
  Fixture f;
  f.control_with(R"({"reject_rcpt": ["gone@kund.se"]})");
  auto id = f.queue({"anna@kund.se", "gone@kund.se", "bo@kund.se"});
  auto run = f.deliver(kT0);
  CHECK(run.sent == 1);
  CHECK(run.failed == 0);
  CHECK(run.retried == 0);
  CHECK(f.received() == std::map<std::string, int>{{"anna@kund.se", 1}, {"bo@kund.se", 1}});
  CHECK(f.row(id).status == "sent");
  auto failed = f.events("delivery-failed");
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].detail.find("gone@kund.se") != std::string::npos);
  CHECK(failed[0].detail.find("550 5.1.1 <gone@kund.se>: mailbox unavailable") != std::string::npos);
  CHECK(failed[0].detail.find("anna@kund.se") == std::string::npos);
  CHECK(failed[0].internal);
  auto sent = f.events("reply-sent");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].detail.find("anna@kund.se, bo@kund.se") != std::string::npos);
  // Nothing is left to send: the refused address is not tried again.
  CHECK(f.deliver(kT0 + 3600).sent == 0);
  CHECK(f.rcpt_answers("gone@kund.se") == std::vector<int>{550});
}

TEST_CASE("A recipient refused with 450 gets the mail later, alone, with the same bytes, the others get it once") {
  Fixture f;
  f.control_with(R"({"tempfail_rcpt": ["full@kund.se"]})");
  std::string message_id;
  auto id = f.queue({"anna@kund.se", "full@kund.se", "bo@kund.se"}, {}, &message_id);
  auto run = f.deliver(kT0);
  CHECK(run.sent == 1);
  CHECK(run.retried == 1);
  CHECK(f.received() == std::map<std::string, int>{{"anna@kund.se", 1}, {"bo@kund.se", 1}});
  auto waiting = f.row(id);
  CHECK(waiting.status == "pending");
  CHECK(waiting.recipients == std::vector<std::string>{"full@kund.se"});
  CHECK(waiting.attempts == 1);
  CHECK(waiting.next_attempt_at == kT0 + retry_delay(f.c, 1));
  CHECK(waiting.last_error.find("full@kund.se: 450") != std::string::npos);
  CHECK(run.next_attempt_at == kT0 + retry_delay(f.c, 1));
  CHECK(f.events("delivery-failed").empty());

  CHECK(f.deliver(kT0 + 1).sent == 0);  // not before its time
  f.control_with("{}");                 // the mailbox has room again
  auto later = f.deliver(kT0 + retry_delay(f.c, 1));
  CHECK(later.sent == 1);
  CHECK(later.retried == 0);
  CHECK(f.received() == std::map<std::string, int>{{"anna@kund.se", 1}, {"bo@kund.se", 1}, {"full@kund.se", 1}});
  CHECK(f.row(id).status == "sent");
  CHECK(f.rcpt_answers("anna@kund.se") == std::vector<int>{250});  // the others were not asked again
  CHECK(f.rcpt_answers("full@kund.se") == std::vector<int>{450, 250});
  auto mails = f.server.accepted();
  REQUIRE(mails.size() == 2);
  CHECK(mails[0].message_id == message_id);
  CHECK(mails[1].message_id == message_id);
  CHECK(as_sent(mails[0].bytes) == as_sent(mails[1].bytes));
  CHECK(f.events("reply-sent").size() == 2);
}

TEST_CASE("Every recipient refused for good: the mail is failed and each refusal is on the ticket") {
  Fixture f;
  f.control_with(R"({"reject_rcpt": ["gone@kund.se", "left@kund.se"]})");
  auto id = f.queue({"gone@kund.se", "left@kund.se"});
  auto run = f.deliver(kT0);
  CHECK(run.failed == 1);
  CHECK(run.sent == 0);
  auto row = f.row(id);
  CHECK(row.status == "failed");
  CHECK(row.last_error.find("gone@kund.se: 550") != std::string::npos);
  CHECK(row.last_error.find("left@kund.se: 550") != std::string::npos);
  auto failed = f.events("delivery-failed");
  REQUIRE(failed.size() == 2);
  CHECK(failed[0].detail.find("gone@kund.se") != std::string::npos);
  CHECK(failed[1].detail.find("left@kund.se") != std::string::npos);
  CHECK(f.received().empty());
  CHECK_FALSE(run.next_attempt_at);
}

TEST_CASE("A 550 and a 450 with nobody accepting: the 450 one waits alone and the 550 one is recorded") {
  Fixture f;
  f.control_with(R"({"reject_rcpt": ["gone@kund.se"], "tempfail_rcpt": ["full@kund.se"]})");
  auto id = f.queue({"gone@kund.se", "full@kund.se"});
  auto run = f.deliver(kT0);
  CHECK(run.retried == 1);
  CHECK(run.failed == 0);
  auto row = f.row(id);
  CHECK(row.status == "pending");
  CHECK(row.recipients == std::vector<std::string>{"full@kund.se"});
  REQUIRE(f.events("delivery-failed").size() == 1);
  CHECK(f.events("delivery-failed")[0].detail.find("gone@kund.se") != std::string::npos);
  f.control_with(R"({"reject_rcpt": ["gone@kund.se"]})");
  CHECK(f.deliver(kT0 + retry_delay(f.c, 1)).sent == 1);
  CHECK(f.received() == std::map<std::string, int>{{"full@kund.se", 1}});
  CHECK(f.rcpt_answers("gone@kund.se") == std::vector<int>{550});
  CHECK(f.events("delivery-failed").size() == 1);
}

TEST_CASE("A reply's files are added from the store at send time, byte for byte, one whose bytes were not kept is "
          "left out; the row keeps only the text mail") {
  Fixture f;
  std::string pdf = "%PDF-1.7\n";
  for (int b = 0; b < 256; ++b) pdf += static_cast<char>(b);
  std::vector<std::int64_t> ids;
  {
    auto tx = f.st->begin(store::Store::Mode::write);
    store::MessageRecord m;
    m.ticket_id = f.ticket;
    m.direction = "in";
    m.message_id = "guide@kund.se";
    m.from_addr = "per@example.com";
    m.created_at = kT0;
    store::AttachmentRecord guide;
    guide.filename = "Användarguide åäö.pdf";
    guide.content_type = "application/pdf";
    guide.size = static_cast<std::int64_t>(pdf.size());
    guide.data = pdf;
    store::AttachmentRecord huge;
    huge.filename = "huge.iso";
    huge.content_type = "application/octet-stream";
    huge.size = 40 << 20;  // over the limit: only its name and size were kept
    huge.kept = false;
    store::AttachmentRecord shot;
    shot.filename = "skärmbild.png";
    shot.content_type = "image/png";
    shot.content_id = "image001.png@01DA0000";
    shot.is_inline = true;
    shot.size = 4;
    shot.data = "\x89PNG";
    m.attachments = {guide, huge, shot};
    tx->add_message(m);
    for (const auto& a : tx->attachments(f.ticket)) ids.push_back(a.id);
    tx->commit();
  }
  REQUIRE(ids.size() == 3);
  std::string text;
  f.control_with(R"({"tempfail_rcpt": ["bo@kund.se"]})");  // so that the row stays to be looked at
  f.queue({"anna@kund.se", "bo@kund.se"}, ids, nullptr, &text);
  CHECK(f.deliver(kT0).sent == 1);
  auto mails = f.server.accepted();
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].recipients == std::vector<std::string>{"anna@kund.se"});
  auto parsed = parser::parse(as_sent(mails[0].bytes));
  CHECK(parsed.body_text == parser::parse(text).body_text);
  REQUIRE(parsed.attachments.size() == 2);
  CHECK(parsed.attachments[0].filename == "Användarguide åäö.pdf");
  CHECK(parsed.attachments[0].content_type == "application/pdf");
  CHECK(parsed.attachments[0].data == pdf);
  CHECK(parsed.attachments[1].filename == "skärmbild.png");
  CHECK(parsed.attachments[1].is_inline);
  CHECK(parsed.attachments[1].content_id == "image001.png@01DA0000");
  CHECK(parsed.attachments[1].data == "\x89PNG");
  {
    // The row still holds the text mail as queued: the files are the store's, once.
    auto tx = f.st->begin(store::Store::Mode::read);
    auto due = tx->due_outbox(kT0 + retry_delay(f.c, 1), 10);
    REQUIRE(due.size() == 1);
    CHECK(due[0].bytes == text);
    CHECK(due[0].attachment_ids == ids);
  }
  // The retry to the one who waited carries the same files, in the same bytes.
  f.control_with("{}");
  CHECK(f.deliver(kT0 + retry_delay(f.c, 1)).sent == 1);
  mails = f.server.accepted();
  REQUIRE(mails.size() == 2);
  CHECK(as_sent(mails[0].bytes) == as_sent(mails[1].bytes));
}

TEST_CASE("A mail the portal queued without the secret goes out with the agent's token in its Reply-To, and only there") {
  Fixture f;
  auto secret_file = f.dir.write("token.secret", "outbox-test-secret-0123456789abcdef\n");
  ::chmod(secret_file.c_str(), 0600);
  f.c.agents.token_secret_file = secret_file;
  const std::string agent = "eva@example.com";
  // As the portal queues it: the placeholder address, from agent_reply_to() without a secret.
  std::string placeholder = agent_reply_to(f.c, "", f.ticket, agent, kT0);
  REQUIRE(placeholder.find(kSendTimeToken) != std::string::npos);
  notify::Draft d;
  d.from = {f.c.service.name, f.c.service.address};
  d.to = {{"Eva", agent}};
  d.reply_to = {{f.c.service.name, placeholder}};
  d.subject = "[SD-1] Customer reply: Skrivaren";
  d.body_text = "---- Anna wrote ----\nReply-To: " + placeholder + "\n----\n";  // the customer's words
  d.date = kT0;
  d.message_id_domain = "example.com";
  auto composed = notify::compose(d);
  store::OutboxItem o;
  o.ticket_id = f.ticket;
  o.kind = "agent-notification";
  o.mail_from = f.c.service.address;
  o.recipients = {agent};
  o.message_id = composed.message_id;
  o.bytes = composed.bytes;
  o.next_attempt_at = kT0;
  o.created_at = kT0;
  {
    auto tx = f.st->begin(store::Store::Mode::write);
    tx->enqueue(o);
    tx->commit();
  }
  auto run = f.deliver(kT0 + 86400);  // sent a day later: the token is issued that day
  CHECK(run.sent == 1);
  auto mails = f.server.accepted();
  REQUIRE(mails.size() == 1);
  auto m = parser::parse(mails[0].bytes);
  REQUIRE(m.reply_to.size() == 1);
  CHECK(m.reply_to[0].email ==
        agent_reply_address(f.c, "outbox-test-secret-0123456789abcdef", f.ticket, agent, kT0 + 86400));
  CHECK(m.body_text.find("Reply-To: " + placeholder) != std::string::npos);  // the body is never touched
  CHECK(mails[0].bytes.find(kSendTimeToken) != std::string::npos);           // (there, and only there)
}
