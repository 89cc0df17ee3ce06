// tests/desk/test_desk_estimates.cpp: estimates the customer approves (desk/estimates.h), on a
// desk loaded from TOML (tests/support/test_desk.h: Acme (sv) with contact anna@acme.se, Beta
// (da) with bo@beta.dk, agent eva@example.com, SD-1 Acme's). The attacks come first: each is a
// mail someone would send to get an approval they may not give, and each must leave the
// estimate awaiting, the ticket in awaiting-approval, the agent without an "approved" mail,
// and the mail kept on the ticket as an ordinary reply.
#include <catch2/catch.hpp>

#include "desk/desk.h"
#include "desk/estimates.h"
#include "desk/from_portal.h"
#include "desk/ingest.h"
#include "desk/sla_clock.h"
#include "desk/ticket_change.h"
#include "parser/parse.h"
#include "store/estimates.h"
#include "tests/support/test_desk.h"

#include <regex>
#include <string>

using namespace sd;
using namespace sd::test;

namespace {

const std::string kBertil = "bertil@acme.se";  // another contact of Acme

struct EstimateDesk : TestDesk {
  EstimateDesk() {
    auto tx = st->begin(store::Store::Mode::write);
    tx->add_contact({kBertil, "Bertil", "Acme"});
    tx->commit();
  }

  // The agent's #estimate on SD-1, by answering the notification.
  IngestResult estimate(const std::string& commands = "#estimate 3h Bygga om CRM-flödet i två steg\r\n\r\nHej Anna,\r\n"
                                                      "det här ligger utanför avtalet.\r\n",
                        store::Time at = kNow + 60) {
    return take(mail("Eva Agent <" + kAgent + ">", agent_address, "Re: [SD-1] Skrivaren", "est-" + std::to_string(at),
                     "", commands),
                at);
  }

  store::Estimate only_estimate(std::int64_t ticket_id = 1) {
    auto es = st->begin(store::Store::Mode::read)->estimates().estimates_of(ticket_id);
    REQUIRE(es.size() == 1);
    return es.front();
  }

  // The approval address the estimate mail carries in its Reply-To.
  std::string approval_address() {
    auto mails = outbox("estimate", kCustomer);
    REQUIRE(mails.size() == 1);
    std::smatch m;
    REQUIRE(std::regex_search(mails[0].bytes, m, std::regex(R"(servicedesk\+approve\.[A-Za-z0-9.\-]+@example\.com)")));
    return m.str();
  }

  // A customer's reply to the estimate mail.
  IngestResult reply(const std::string& from, const std::string& to, const std::string& body,
                     const std::string& extra = "", store::Time at = kNow + 3600) {
    static int n = 0;
    return take(mail(from, to, "Re: [SD-1] Uppskattning att godkänna: Skrivaren", "reply-" + std::to_string(++n) + "@x",
                     extra, body),
                at);
  }

  std::size_t answered_mails() { return outbox("estimate-answered").size(); }
};

// What every failed attack leaves: the estimate awaiting, the ticket waiting, the agent
// without an answer mail, and why it did not count on the ticket's internal events.
void not_answered(EstimateDesk& d) {
  CHECK(d.ticket(1).status == "awaiting-approval");
  CHECK(d.only_estimate().state == "awaiting");
  CHECK(d.answered_mails() == 0);
  CHECK_FALSE(d.has_event(1, "estimate-approved"));
  CHECK_FALSE(d.has_event(1, "estimate-declined"));
}

std::string dmarc_pass(const std::string& domain) {
  return "Authentication-Results: mx.example.com; dmarc=pass header.from=" + domain + "\r\n";
}

}  // namespace

// ---- attacks ----

TEST_CASE("A forged From without the estimate's Reply-To token or a DMARC pass approves nothing") {
  EstimateDesk d;
  REQUIRE(d.estimate().kind == IngestResult::Kind::joined);
  // To the plain address, as anyone can write, From the requester.
  auto r = d.reply("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "godkänn\r\n");
  CHECK(r.ticket_id == 1);
  not_answered(d);
  CHECK(d.has_event(1, "estimate-answer-not-counted"));
  CHECK(d.has_event(1, "message"));  // kept as a reply
  // The agents hear of it as of any customer reply.
  CHECK(d.outbox("agent-notification").size() >= 2);
  // A dmarc=pass below another server's header, or from a server nobody trusts, is no pass.
  d.reply("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "approve\r\n",
          "Authentication-Results: evil.example; dmarc=pass header.from=acme.se\r\n");
  not_answered(d);
}

TEST_CASE("The approval token goes to the requester alone: the Cc list's copy answers to the plain address") {
  EstimateDesk d;
  d.take(TestDesk::mail("Eva Agent <" + kAgent + ">", d.agent_address, "Re: [SD-1] Skrivaren", "cc@x", "",
                        "#cc add " + kBertil + "\r\n#cc add boss@elsewhere.example\r\n#note\r\n\r\nkeep them posted\r\n"));
  d.estimate();
  auto to_anna = d.outbox("estimate", kCustomer);
  REQUIRE(to_anna.size() == 1);
  CHECK(to_anna[0].recipients == std::vector<std::string>{kCustomer});
  auto copies = d.outbox("estimate", kBertil);
  REQUIRE(copies.size() == 1);
  CHECK(copies[0].recipients == std::vector<std::string>{kBertil, "boss@elsewhere.example"});
  CHECK(copies[0].bytes.find("approve.") == std::string::npos);
  CHECK(std::regex_search(copies[0].bytes, std::regex(R"(Reply-To:[^\r\n]*<servicedesk@example\.com>\r\n)")));
  // The outsider on Cc, writing as Anna to the plain address, approves nothing.
  d.reply("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "godkänn\r\n");
  not_answered(d);
}

TEST_CASE("Another ticket's approval token, or another estimate's, approves nothing") {
  EstimateDesk d;
  d.estimate();
  auto e = d.only_estimate();
  auto other_ticket = estimate_reply_address(d.c, kSecret, 2, e.id, kCustomer, kNow);
  d.reply("Anna Berg <" + kCustomer + ">", other_ticket, "godkänn\r\n");
  not_answered(d);
  auto other_estimate = estimate_reply_address(d.c, kSecret, 1, e.id + 1, kCustomer, kNow);
  d.reply("Anna Berg <" + kCustomer + ">", other_estimate, "godkänn\r\n");
  not_answered(d);
  // Not even with the sender's DMARC pass: the answer is addressed to something else.
  d.reply("Anna Berg <" + kCustomer + ">", other_ticket, "godkänn\r\n", dmarc_pass("acme.se"));
  not_answered(d);
  // A token of SD-1's estimate carried by an address of SD-2 counts as SD-2's, not SD-1's.
  auto real = d.approval_address();
  auto forged = std::regex_replace(real, std::regex(R"(approve\.SD-1\.)"), "approve.SD-2.");
  d.reply("Anna Berg <" + kCustomer + ">", forged, "godkänn\r\n");
  not_answered(d);
}

TEST_CASE("An agent's Reply-To token is no approval token, and an approval token is no agent's") {
  EstimateDesk d;
  d.estimate();
  auto e = d.only_estimate();
  // The agent token of SD-1 for the requester, put where an approval token goes.
  auto day = kNow / 86400;
  auto agent_tok = agent_token(kSecret, "SD-1", kCustomer, day);
  d.reply("Anna Berg <" + kCustomer + ">",
          "servicedesk+approve.SD-1." + std::to_string(e.id) + "." + agent_tok + "@example.com", "godkänn\r\n");
  not_answered(d);
  // The agent's own address (a token for anna as recipient): the customer path, nothing approved.
  d.reply("Anna Berg <" + kCustomer + ">", agent_reply_address(d.c, kSecret, 1, kCustomer, kNow), "godkänn\r\n");
  not_answered(d);
  CHECK(check_estimate_token(kSecret, "SD-1", e.id, kCustomer, agent_tok, kNow, 90) == TokenCheck::wrong);
  // The other way round: the approval token does not make the agent's mail apply commands.
  auto approval_tok = estimate_token(kSecret, "SD-1", e.id, kAgent, day);
  CHECK(check_token(kSecret, "SD-1", kAgent, approval_tok, kNow, 90, std::nullopt) == TokenCheck::wrong);
  d.take(TestDesk::mail("Eva Agent <" + kAgent + ">", "servicedesk+SD-1." + approval_tok + "@example.com",
                        "Re: [SD-1] Skrivaren", "agent-forge@x", "", "#status closed\r\n\r\nClosing.\r\n"),
         kNow + 7200);
  CHECK(d.ticket(1).status == "awaiting-approval");
}

TEST_CASE("The requester's token used by another contact, or a contact of another organisation, approves nothing") {
  EstimateDesk d;
  d.estimate();
  auto address = d.approval_address();
  // Bertil is Acme's too, but the token is Anna's.
  d.reply("Bertil <" + kBertil + ">", address, "godkänn\r\n");
  not_answered(d);
  // Bo is Beta's: with Anna's token and even with his own domain's DMARC pass. His mail does
  // not join SD-1 at all (not on its thread); judged against SD-1 it does not count either.
  auto r = d.reply("Bo <bo@beta.dk>", address, "godkend\r\n", dmarc_pass("beta.dk"));
  CHECK(r.ticket_id != 1);
  not_answered(d);
  parser::ParsedMail m;
  m.from = {"Bo", "bo@beta.dk"};
  m.to = {{"", address}};
  m.new_text = "godkend";
  m.headers.push_back({"Authentication-Results", "mx.example.com; dmarc=pass header.from=beta.dk"});
  auto tx = d.st->begin(store::Store::Mode::read);
  Desk desk(d.c);
  auto v = judge_estimate_reply(*tx, desk, *tx->ticket(1), m, "bo@beta.dk", kNow + 60);
  CHECK_FALSE(v.counts);
  CHECK(v.why == "bo@beta.dk is no registered contact of Acme");
  // Someone of Acme's domain who is no registered contact.
  m.from = {"", "eve@acme.se"};
  m.headers = {{"Authentication-Results", "mx.example.com; dmarc=pass header.from=acme.se"}};
  CHECK_FALSE(judge_estimate_reply(*tx, desk, *tx->ticket(1), m, "eve@acme.se", kNow + 60).counts);
}

TEST_CASE("An auto-responder's approve approves nothing, even with the token") {
  EstimateDesk d;
  d.estimate();
  d.reply("Anna Berg <" + kCustomer + ">", d.approval_address(), "Approve\r\n\r\nI am out of office.\r\n",
          "Auto-Submitted: auto-replied\r\n");
  not_answered(d);
  CHECK(d.has_event(1, "estimate-answer-not-counted"));
}

TEST_CASE("Approve in the quoted part or below the first line approves nothing") {
  EstimateDesk d;
  d.estimate();
  auto address = d.approval_address();
  d.reply("Anna Berg <" + kCustomer + ">", address,
          "Jag återkommer efter mötet.\r\n\r\nDen 18 nov. skrev Example Servicedesk:\r\n> godkänn\r\n> avböj\r\n");
  not_answered(d);
  d.reply("Anna Berg <" + kCustomer + ">", address, "Hej,\r\ngodkänn\r\n");
  not_answered(d);
  d.reply("Anna Berg <" + kCustomer + ">", address, "godkänner inte riktigt\r\n");
  not_answered(d);
  CHECK(estimate_answer_in("\n\n  GODKÄNN.\nmore") == EstimateAnswer::approve);
  CHECK(estimate_answer_in("Afvis!") == EstimateAnswer::decline);
  CHECK_FALSE(estimate_answer_in("approved"));
  CHECK_FALSE(estimate_answer_in("> approve"));
}

TEST_CASE("Only the first answer counts: a second approval or a late decline changes nothing") {
  EstimateDesk d;
  d.estimate();
  auto address = d.approval_address();
  d.reply("Anna Berg <" + kCustomer + ">", address, "godkänn\r\n");
  CHECK(d.ticket(1).status == "open");
  CHECK(d.only_estimate().state == "approved");
  REQUIRE(d.answered_mails() == 1);
  d.reply("Anna Berg <" + kCustomer + ">", address, "avböj\r\n", "", kNow + 7200);
  d.reply("Anna Berg <" + kCustomer + ">", address, "godkänn\r\n", "", kNow + 7300);
  CHECK(d.only_estimate().state == "approved");
  CHECK(d.only_estimate().answered_at == std::optional<store::Time>(kNow + 3600));
  CHECK(d.answered_mails() == 1);
  CHECK(d.ticket(1).status == "open");
  // The portal's button after the mail's answer: refused.
  auto id = d.only_estimate().id;
  auto tx = d.st->begin(store::Store::Mode::write);
  Desk desk(d.c);
  auto r = answer_estimate_on_portal(*tx, desk, 1, id, kCustomer, EstimateAnswer::decline, kNow + 8000);
  CHECK_FALSE(r);
}

// ---- what counts ----

TEST_CASE("An agent's #estimate waits for the customer's approval, its SLA clock standing still") {
  EstimateDesk d;
  auto r = d.estimate();
  CHECK(r.note.empty());
  auto t = d.ticket(1);
  CHECK(t.status == "awaiting-approval");
  CHECK(t.first_response_at == std::optional<store::Time>(kNow + 60));
  auto e = d.only_estimate();
  CHECK(e.seconds == 3 * 3600);
  CHECK(e.text == "Bygga om CRM-flödet i två steg");  // its case kept
  CHECK(e.agent == kAgent);
  CHECK(e.requester == kCustomer);
  CHECK(e.organisation == "Acme");
  {
    auto tx = d.st->begin(store::Store::Mode::read);
    Desk desk(d.c);
    CHECK(desk.clock().evaluate(t, tx->pauses(1), kNow + 3600).state == "paused");
  }
  // The requester's mail, in Acme's Swedish: the agent's words, the estimate, how to answer.
  auto mails = d.outbox("estimate", kCustomer);
  REQUIRE(mails.size() == 1);
  CHECK(d.approval_address().find("servicedesk+approve.SD-1." + std::to_string(e.id) + ".") == 0);
  // The body is quoted-printable; the words are checked on the stored "out" message.
  auto msgs = d.st->begin(store::Store::Mode::read)->messages(1);
  std::string body;
  for (const auto& m : msgs)
    if (m.direction == "out" && m.body_text.find("godkänn") != std::string::npos) body = m.body_text;
  REQUIRE_FALSE(body.empty());
  CHECK(body.find("Hej Anna,\ndet här ligger utanför avtalet.") != std::string::npos);
  CHECK(body.find("3h arbete: Bygga om CRM-flödet i två steg") != std::string::npos);
  CHECK(body.find("\n  godkänn\n") != std::string::npos);
  CHECK(body.find("\n  avböj\n") != std::string::npos);
  CHECK(d.has_event(1, "estimate"));
  // No second "reply" mail with the agent's words.
  CHECK(d.outbox("reply", kCustomer).empty());
}

TEST_CASE("The requester approves by replying with the word on the first line") {
  EstimateDesk d;
  d.estimate();
  auto r = d.reply("Anna Berg <" + kCustomer + ">", d.approval_address(),
                   "Godkänn\r\n\r\nKör på, men ring mig först.\r\n\r\n> Uppskattning\r\n");
  CHECK(r.ticket_id == 1);
  CHECK(d.ticket(1).status == "open");
  auto e = d.only_estimate();
  CHECK(e.state == "approved");
  CHECK(e.answered_by == kCustomer);
  CHECK(e.answered_via == "mail");
  CHECK(e.answered_at == std::optional<store::Time>(kNow + 3600));
  CHECK(e.answer_detail.find("Reply-To token") == 0);
  CHECK(d.has_event(1, "estimate-approved"));
  auto told = d.outbox("estimate-answered", kAgent);
  REQUIRE(told.size() == 1);
  CHECK(told[0].bytes.find("Estimate approved by anna@acme.se") != std::string::npos);
  CHECK(told[0].bytes.find("ring mig f") != std::string::npos);
  // The answer's mail went to the agent; no extra "Customer reply" notification for it.
  CHECK(d.outbox("agent-notification").size() == 1);
}

TEST_CASE("A decline with an aligned DMARC pass and no token counts, and the ticket is open again") {
  EstimateDesk d;
  d.estimate();
  d.reply("Anna Berg <" + kCustomer + ">", "servicedesk@example.com", "avböj\r\n", dmarc_pass("acme.se"));
  CHECK(d.ticket(1).status == "open");
  auto e = d.only_estimate();
  CHECK(e.state == "declined");
  CHECK(e.answer_detail.find("DMARC pass") == 0);
  auto told = d.outbox("estimate-answered", kAgent);
  REQUIRE(told.size() == 1);
  CHECK(told[0].bytes.find("Estimate declined by anna@acme.se") != std::string::npos);
}

TEST_CASE("The portal's button answers for a registered contact of the ticket's organisation only") {
  EstimateDesk d;
  d.estimate();
  auto id = d.only_estimate().id;
  Desk desk(d.c);
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    CHECK_FALSE(answer_estimate_on_portal(*tx, desk, 1, id, "bo@beta.dk", EstimateAnswer::approve, kNow + 100));
    CHECK_FALSE(answer_estimate_on_portal(*tx, desk, 1, id + 7, kCustomer, EstimateAnswer::approve, kNow + 100));
    CHECK_FALSE(answer_estimate_on_portal(*tx, desk, 1, id, kAgent, EstimateAnswer::approve, kNow + 100));
    tx->commit();
  }
  not_answered(d);
  auto tx = d.st->begin(store::Store::Mode::write);
  REQUIRE(answer_estimate_on_portal(*tx, desk, 1, id, kBertil, EstimateAnswer::approve, kNow + 200));
  tx->commit();
  auto e = d.only_estimate();
  CHECK(e.state == "approved");
  CHECK(e.answered_by == kBertil);
  CHECK(e.answered_via == "portal");
  CHECK(d.ticket(1).status == "open");
}

TEST_CASE("Awaiting-approval comes with an estimate only, and leaving it otherwise withdraws the estimate") {
  EstimateDesk d;
  Desk desk(d.c);
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    TicketChange ch;
    ch.status = Status::awaiting_approval;
    auto out = change_ticket(*tx, desk, *tx->ticket(1), ch, "operator:root", kNow + 10);
    REQUIRE(out.refused.size() == 1);
    CHECK(out.refused[0].find("awaiting-approval comes with an estimate only") == 0);
  }
  CHECK(d.ticket(1).status == "new");
  // #status awaiting-approval by mail is not understood.
  d.take(TestDesk::mail("Eva Agent <" + kAgent + ">", d.agent_address, "Re: [SD-1] Skrivaren", "st@x", "",
                        "#status awaiting-approval\r\n"));
  CHECK(d.ticket(1).status == "new");
  CHECK(d.outbox("command-error").size() == 1);

  d.estimate();
  auto address = d.approval_address();
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    TicketChange ch;
    ch.status = Status::open;
    REQUIRE(change_ticket(*tx, desk, *tx->ticket(1), ch, "operator:root", kNow + 100).refused.empty());
    tx->commit();
  }
  CHECK(d.only_estimate().state == "withdrawn");
  CHECK(d.only_estimate().answered_by == "operator:root");
  CHECK(d.has_event(1, "estimate-withdrawn"));
  // The old mail's answer comes too late.
  d.reply("Anna Berg <" + kCustomer + ">", address, "godkänn\r\n");
  CHECK(d.only_estimate().state == "withdrawn");
  CHECK(d.answered_mails() == 0);
}

TEST_CASE("A newer estimate replaces the one awaiting an answer, whose token no longer counts") {
  EstimateDesk d;
  d.estimate();
  auto first_address = d.approval_address();
  d.estimate("#estimate 1h30m Bara första steget\r\n", kNow + 120);
  auto es = d.st->begin(store::Store::Mode::read)->estimates().estimates_of(1);
  REQUIRE(es.size() == 2);
  CHECK(es[0].state == "withdrawn");
  CHECK(es[1].state == "awaiting");
  CHECK(es[1].seconds == 5400);
  d.reply("Anna Berg <" + kCustomer + ">", first_address, "godkänn\r\n");
  CHECK(d.st->begin(store::Store::Mode::read)->estimates().estimate(es[1].id)->state == "awaiting");
  CHECK(d.ticket(1).status == "awaiting-approval");
}

TEST_CASE("An #estimate the requester could not approve, or without time or text, applies nothing") {
  EstimateDesk d;
  for (const char* bad : {"#estimate 3h\r\n", "#estimate soon Fix it\r\n", "#estimate 0m Fix it\r\n",
                          "#estimate 3h Fix\r\n#status pending\r\n"}) {
    CAPTURE(bad);
    d.estimate(bad);
    CHECK(d.ticket(1).status == "new");
  }
  CHECK(d.st->begin(store::Store::Mode::read)->estimates().estimates_of(1).empty());
  CHECK(d.outbox("command-error").size() == 4);
  // A requester of no organisation (or not a registered contact) could never approve.
  auto r = d.take(TestDesk::mail("Stranger <x@stranger.example>", "servicedesk@example.com", "Hjälp", "s1@x"));
  auto notification = agent_reply_address(d.c, kSecret, r.ticket_id, kAgent, kNow);
  d.take(TestDesk::mail("Eva Agent <" + kAgent + ">", notification, "Re: [SD-2] Hjälp", "est-s@x", "",
                        "#estimate 2h Consultancy\r\n"));
  CHECK(d.ticket(r.ticket_id).status == "new");
  CHECK(d.st->begin(store::Store::Mode::read)->estimates().estimates_of(r.ticket_id).empty());
}

// ---- the clock ----

TEST_CASE("Business days skip weekends and the calendar's holidays") {
  EstimateDesk d;
  Desk desk(d.c);
  const auto& dk = desk.clock().calendar("standard");
  auto at = [](const char* s) { return sla::parse_rfc3339(s).value().time_since_epoch().count(); };
  CHECK(add_business_days(dk, at("2026-11-20T10:00:00+01:00"), 1) == at("2026-11-23T10:00:00+01:00"));
  CHECK(add_business_days(dk, at("2026-11-18T12:06:40+01:00"), 5) == at("2026-11-25T12:06:40+01:00"));
  // Christmas Day (a Friday) is closed in DK: the next business day after Thursday the 24th
  // (itself closed in DK or not) is Monday the 28th.
  CHECK(add_business_days(dk, at("2026-12-24T10:00:00+01:00"), 1) == at("2026-12-28T10:00:00+01:00"));
  // Saturday counts from the Monday after.
  CHECK(add_business_days(dk, at("2026-11-21T09:00:00+01:00"), 1) == at("2026-11-23T09:00:00+01:00"));
}

TEST_CASE("Without an answer the requester is reminded after 5 business days and the agent told after 10, once each") {
  EstimateDesk d;
  d.estimate();
  Desk desk(d.c);
  // Another daemon on the same store (PostgreSQL runs several): the same reminders, once.
  auto second = store::open_sqlite_store({d.c.store.path});
  const store::Time five = kNow + 60 + 7 * 86400, ten = kNow + 60 + 14 * 86400;  // Wed + 1 week, + 2 weeks
  auto before = fire_due_sla_events(*d.st, desk, five - 60);
  CHECK(d.outbox("estimate-reminder").empty());
  REQUIRE(before.next_at);
  CHECK(*before.next_at <= five);
  fire_due_sla_events(*d.st, desk, five);
  fire_due_sla_events(*second, desk, five + 1);
  auto reminders = d.outbox("estimate-reminder", kCustomer);
  REQUIRE(reminders.size() == 1);
  CHECK(reminders[0].bytes.find("servicedesk+approve.SD-1.") != std::string::npos);
  CHECK(d.outbox("estimate-unanswered").empty());
  fire_due_sla_events(*second, desk, ten);
  fire_due_sla_events(*d.st, desk, ten + 1);
  fire_due_sla_events(*d.st, desk, ten + 86400 * 30);
  CHECK(d.outbox("estimate-reminder").size() == 1);
  auto told = d.outbox("estimate-unanswered", kAgent);
  REQUIRE(told.size() == 1);
  CHECK(told[0].bytes.find("no answer from anna@acme.se") != std::string::npos);
  // The reminder's token works like the first mail's.
  d.reply("Anna Berg <" + kCustomer + ">", d.approval_address(), "godkänn\r\n", "", ten + 86400 * 31);
  CHECK(d.only_estimate().state == "approved");
}

TEST_CASE("An answered estimate is reminded of by nobody") {
  EstimateDesk d;
  d.estimate();
  d.reply("Anna Berg <" + kCustomer + ">", d.approval_address(), "avböj\r\n");
  Desk desk(d.c);
  fire_due_sla_events(*d.st, desk, kNow + 30 * 86400);
  CHECK(d.outbox("estimate-reminder").empty());
  CHECK(d.outbox("estimate-unanswered").empty());
}

// ---- included minutes ----

TEST_CASE("The #time that takes an organisation past its included minutes tells the agent once a month") {
  EstimateDesk d;
  auto time = [&](const char* t, store::Time at) {
    d.take(TestDesk::mail("Eva Agent <" + kAgent + ">", d.agent_address, "Re: [SD-1] Skrivaren",
                          "time-" + std::to_string(at), "", std::string(t) + "\r\n#note\r\n\r\nworked\r\n"),
           at);
  };
  time("#time 10m", kNow + 100);
  CHECK(d.outbox("allowance-used").empty());
  time("#time 5m", kNow + 200);  // exactly the 15 included: not past them
  CHECK(d.outbox("allowance-used").empty());
  time("#time 1m", kNow + 300);
  auto told = d.outbox("allowance-used", kAgent);
  REQUIRE(told.size() == 1);
  CHECK(told[0].bytes.find("Acme: included minutes used up for 2026-11") != std::string::npos);
  CHECK(told[0].bytes.find("#estimate") != std::string::npos);
  time("#time 30m", kNow + 400);
  CHECK(d.outbox("allowance-used").size() == 1);
  // Next month counts again.
  time("#time 20m", kNow + 20 * 86400);
  CHECK(d.outbox("allowance-used").size() == 2);
}

TEST_CASE("Time on incidents does not count against the included minutes") {
  EstimateDesk d;
  d.take(TestDesk::mail("Eva Agent <" + kAgent + ">", d.agent_address, "Re: [SD-1] Skrivaren", "inc@x", "",
                        "#category incident\r\n#time 2h\r\n#note\r\n\r\nfixed\r\n"));
  CHECK(d.ticket(1).time_spent_s == 7200);
  CHECK(d.outbox("allowance-used").empty());
}

TEST_CASE("An estimate made on the portal (no token secret there) gets its approval token at send time, in our "
          "Reply-To only, and the requester's reply to it approves") {
  EstimateDesk d;
  Desk portal(d.c, false);  // the portal's Desk
  std::int64_t id = 0;
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    auto made = agent_estimates(*tx, portal, 1, kAgent, "1h30m", "Bygga om flödet", kNow + 60);
    REQUIRE(made);
    id = *made;
    // What the form refuses: a duration that is none, no text, someone who is no agent.
    CHECK_FALSE(agent_estimates(*tx, portal, 1, kAgent, "soon", "x", kNow + 60));
    CHECK_FALSE(agent_estimates(*tx, portal, 1, kAgent, "0m", "x", kNow + 60));
    CHECK_FALSE(agent_estimates(*tx, portal, 1, kAgent, "2h", " ", kNow + 60));
    CHECK_FALSE(agent_estimates(*tx, portal, 1, kCustomer, "2h", "x", kNow + 60));
    tx->commit();
  }
  CHECK(d.only_estimate().seconds == 90 * 60);
  CHECK(d.ticket(1).status == "awaiting-approval");
  auto mails = d.outbox("estimate", kCustomer);
  REQUIRE(mails.size() == 1);
  const std::string placeholder =
      "servicedesk+approve.SD-1." + std::to_string(id) + "." + std::string(kSendTimeToken) + "@example.com";
  REQUIRE(parser::parse(mails[0].bytes).reply_to.at(0).email == placeholder);
  // The placeholder is no token.
  CHECK(check_estimate_token(kSecret, "SD-1", id, kCustomer, std::string(kSendTimeToken), kNow + 60, 90) !=
        TokenCheck::valid);
  // The daemon's outbox fills it in: the same address the daemon would have written.
  auto filled = fill_send_time_estimate_token(mails[0].bytes, d.c, kSecret, 1, kCustomer, kNow + 60);
  REQUIRE(filled);
  auto address = estimate_reply_address(d.c, kSecret, 1, id, kCustomer, kNow + 60);
  CHECK(parser::parse(*filled).reply_to.at(0).email == address);
  CHECK_FALSE(fill_send_time_estimate_token(*filled, d.c, kSecret, 1, kCustomer, kNow + 60));  // nothing left
  // Never in the body, another field, or for another ticket; without the secret the plain address.
  std::string head = "From: x@example.com\r\nSubject: Reply-To: <" + placeholder + ">\r\n";
  CHECK_FALSE(fill_send_time_estimate_token(head + "\r\nReply-To: <" + placeholder + ">\r\n", d.c, kSecret, 1, kCustomer, kNow));
  CHECK_FALSE(fill_send_time_estimate_token(head + "X-Note: <" + placeholder + ">\r\n\r\n", d.c, kSecret, 1, kCustomer, kNow));
  CHECK_FALSE(fill_send_time_estimate_token(head + "Reply-To: <" + placeholder + ">\r\n\r\n", d.c, kSecret, 2, kCustomer, kNow));
  auto plain = fill_send_time_estimate_token(mails[0].bytes, d.c, "", 1, kCustomer, kNow + 60);
  REQUIRE(plain);
  CHECK(parser::parse(*plain).reply_to.at(0).email == "servicedesk@example.com");

  auto r = d.reply("Anna Berg <" + kCustomer + ">", address, "Godkänn\r\n");
  CHECK(r.ticket_id == 1);
  CHECK(d.only_estimate().state == "approved");
  CHECK(d.only_estimate().answered_via == "mail");
  CHECK(d.ticket(1).status == "open");
}
