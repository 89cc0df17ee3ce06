// tests/desk/test_desk_mailer.cpp: what queue_mail() lets out (issue 11, finding 11).
// An address a mail named is queued only when it is one RFC 5321 Mailbox ("<a@x,b@y>"
// reached RCPT TO as two recipients), and a reply threads only on well-formed msg-ids, so
// no foreign 8-bit or control byte leaves in our In-Reply-To or References.
#include <catch2/catch.hpp>

#include "desk/ingest.h"
#include "desk/mailer.h"
#include "tests/support/desk_config.h"
#include "tests/support/tempdir.h"

#include <string>
#include <vector>

using namespace sd;

TEST_CASE("A mail to an address with a comma inside <> is not queued, and the ticket is kept") {
  test::TempDir dir;
  Config c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  // The parser keeps "<a@x,b@y>" as one address: it reached RCPT TO as two recipients.
  auto r = ingest(*st, c,
                  "From: <victim@kund.se,other@evil.example>\r\nTo: servicedesk@example.com\r\nSubject: Hi\r\n"
                  "Message-ID: <c1@evil.example>\r\n\r\nHello\r\n",
                  std::nullopt, 1'795'000'000);
  CHECK(r.ticket_id);  // the mail is kept: only the acknowledgement is not sent
  auto tx = st->begin(store::Store::Mode::write);
  for (auto& o : tx->due_outbox(1'795'000'000 + 86400, 1000))
    for (const auto& rcpt : o.recipients) {
      CAPTURE(rcpt);
      CHECK(notify::valid_addr_spec(rcpt));
    }

  MailToQueue q;
  q.kind = "acknowledgement";
  q.to = {"", "a@x,b@y"};
  q.draft.subject = "Hi";
  q.draft.body_text = "Hello";
  CHECK_FALSE(queue_mail(*tx, c, q, 1'795'000'000).has_value());
  q.to = {"", "anna@kund.se\r\nRCPT TO:<b@y>"};
  CHECK_FALSE(queue_mail(*tx, c, q, 1'795'000'000).has_value());
  q.to = {"Anna", "anna@kund.se"};
  auto queued = queue_mail(*tx, c, q, 1'795'000'000);
  REQUIRE(queued.has_value());
  CHECK(queued->outbox_id > 0);
  std::size_t to_anna = 0;
  for (auto& o : tx->due_outbox(1'795'000'000 + 86400, 1000))
    if (o.recipients == std::vector<std::string>{"anna@kund.se"}) ++to_anna;
  CHECK(to_anna == 1);
}

TEST_CASE("A reply threads on the ticket's well-formed Message-IDs only") {
  test::TempDir dir;
  Config c = test::desk_config(dir);
  auto st = store::open_sqlite_store({c.store.path});
  auto r = ingest(*st, c,
                  "From: anna@kund.se\r\nTo: servicedesk@example.com\r\nSubject: Hi\r\n"
                  "Message-ID: <\xc3\xa5\x01x@kund.se>\r\n\r\nHello\r\n",
                  std::nullopt, 1'795'000'000);
  REQUIRE(r.ticket_id);
  auto tx = st->begin(store::Store::Mode::write);
  notify::Draft d;
  thread_on_ticket(*tx, r.ticket_id, d);
  CHECK(notify::valid_msg_id(d.in_reply_to));  // our acknowledgement's, not the foreign one
  for (const auto& ref : d.references) CHECK(notify::valid_msg_id(ref));
  for (auto& o : tx->due_outbox(1'795'000'000 + 86400, 1000))
    for (unsigned char ch : o.bytes) CHECK(ch < 0x80);
}
