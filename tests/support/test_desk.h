// tests/support/test_desk.h: a desk as the daemon loads it from TOML (two organisations,
// Acme (sv) and Beta (da), one contact each, one agent, a token secret, a trusted
// authserv-id, a monitoring rule) with Acme's ticket SD-1 open, and what a user would check
// afterwards: tickets, events, outgoing mail.
#pragma once

#include "desk/agent_mail.h"
#include "desk/ingest.h"
#include "tests/support/tempdir.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

namespace sd::test {

inline constexpr store::Time kNow = 1'795'000'000;  // 2026-11-18
inline const std::string kAgent = "eva@example.com";
inline const std::string kCustomer = "anna@acme.se";
inline const std::string kSecret = "hostile-test-secret-0123456789abcdef";

struct TestDesk {
  test::TempDir dir;
  Config c;
  std::unique_ptr<store::Store> st;
  std::string agent_address;  // SD-1's Reply-To for the agent, as the notification carries it

  TestDesk() {
    auto secret = dir.write("token.secret", kSecret + "\n");
    ::chmod(secret.c_str(), 0600);
    auto pw = dir.write("pw", "x\n");
    ::chmod(pw.c_str(), 0600);
    auto path = dir.write("servicedesk.toml", fmt::format(R"(
[service]
name = "Example Servicedesk"
address = "servicedesk@example.com"

[imap]
url = "imap://127.0.0.1:1/INBOX"
username = "desk"
password_file = "{pw}"

[smtp]
url = "smtp://127.0.0.1:1"

[store]
path = "{store}"

[intake]
acks_per_address_per_hour = 3
acks_per_domain_per_hour = 5
acks_per_hour = 8

[[intake.rules]]
name = "monitoring"
from = "*@monitoring.example.com"
subject = "re:^PROBLEM"
category = "incident"
priority = "high"
alert_key = 're:^PROBLEM: (\S+)'

[agents]
token_secret_file = "{secret}"
trusted_authserv_ids = ["mx.example.com"]
)",
                                                          fmt::arg("pw", pw), fmt::arg("store", dir.file("sd.db")),
                                                          fmt::arg("secret", secret)));
    c = load_config(path);
    st = store::open_sqlite_store({c.store.path});
    {
      auto tx = st->begin(store::Store::Mode::write);
      tx->add_organisation({0, "Acme", {"acme.se"}, "", "sv", "", 0, std::nullopt});
      tx->add_organisation({0, "Beta", {"beta.dk"}, "", "da", "", 0, std::nullopt});
      tx->add_contact({kCustomer, "Anna Berg", "Acme"});
      tx->add_contact({"bo@beta.dk", "Bo", "Beta"});
      tx->add_agent({kAgent, "Eva Agent"});
      tx->commit();
    }
    auto r = ingest(*st, c, mail("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "Skrivaren", "c1@acme.se",
                                 "", "Skrivaren är trasig.\r\n"),
                    std::nullopt, kNow);
    REQUIRE(r.ticket_id == 1);
    agent_address = agent_reply_address(c, kSecret, 1, kAgent, kNow);
  }

  static std::string mail(const std::string& from, const std::string& to, const std::string& subject,
                          const std::string& msgid, const std::string& extra = "", const std::string& body = "Hej\r\n") {
    return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + msgid + ">\r\n" + extra +
           "Date: Wed, 18 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body;
  }

  IngestResult take(const std::string& raw, store::Time at = kNow + 60) { return ingest(*st, c, raw, std::nullopt, at); }

  store::Ticket ticket(std::int64_t id = 1) {
    auto t = st->begin(store::Store::Mode::read)->ticket(id);
    REQUIRE(t);
    return *t;
  }
  std::vector<store::Ticket> tickets() { return st->begin(store::Store::Mode::read)->tickets(); }
  std::vector<store::Event> events(std::int64_t id = 1) { return st->begin(store::Store::Mode::read)->events(id); }
  bool has_event(std::int64_t id, const std::string& kind) {
    for (const auto& e : events(id))
      if (e.kind == kind) return true;
    return false;
  }
  // Outgoing mail, queued or sent, of `kind` (empty: any) to `to` (empty: anyone).
  std::vector<store::OutboxItem> outbox(const std::string& kind = "", const std::string& to = "") {
    auto tx = st->begin(store::Store::Mode::read);
    std::vector<store::OutboxItem> out;
    for (auto& o : tx->due_outbox(kNow + 365 * 86400, 100000))
      if ((kind.empty() || o.kind == kind) && (to.empty() || o.recipients.at(0) == to)) out.push_back(o);
    return out;
  }
};

}  // namespace sd::test
