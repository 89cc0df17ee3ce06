// tests/desk/test_desk_incidents.cpp: major incidents (desk/incidents.h) as a user checks
// them: what each person receives when an incident is declared, updated, broadcast and
// resolved, by mail and through the desk's calls; and the attacks: a customer's #incident new
// or #broadcast, a forged From without token or DMARC, a contact of an organisation the
// incident does not affect, a monitoring system as requester, one mail per person.
#include <catch2/catch.hpp>

#include "desk/desk.h"
#include "desk/from_portal.h"
#include "desk/incidents.h"
#include "desk/ticket_change.h"
#include "store/incidents.h"
#include "tests/support/test_desk.h"

#include <algorithm>
#include <map>

using namespace sd;
using sd::test::kAgent;
using sd::test::kCustomer;
using sd::test::kNow;
using sd::test::kSecret;
using sd::test::TestDesk;

namespace {

const std::string kAuthPass = "Authentication-Results: mx.example.com; dmarc=pass header.from=example.com\r\n";

// The desk of tests/support/test_desk.h (SD-1: Anna of Acme, sv) with more people: Carl
// (Acme) on SD-1's Cc, Dora (Acme, no ticket), Bo's SD-2 (Beta, da), Gus of Gamma (never
// affected), a second agent Olle.
struct IncidentDesk : TestDesk {
  IncidentDesk() {
    {
      auto tx = st->begin(store::Store::Mode::write);
      tx->add_contact({"carl@acme.se", "Carl Ek", "Acme"});
      tx->add_contact({"dora@acme.se", "Dora Lind", "Acme"});
      tx->add_organisation({0, "Gamma", {"gamma.example"}, "", "en", "", 0, std::nullopt});
      tx->add_contact({"gus@gamma.example", "Gus", "Gamma"});
      tx->add_agent({"olle@example.com", "Olle Agent"});
      tx->set_cc(1, {"carl@acme.se", "system", kNow, false}, false);
      tx->commit();
    }
    REQUIRE(take(mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Login virker ikke", "b1@beta.dk")).ticket_id == 2);
  }

  // Eva's mail on ticket `id`, answering its notification (a valid token).
  IngestResult eva(std::int64_t id, const std::string& body, const std::string& msgid, store::Time at = kNow + 120) {
    return take(mail("Eva Agent <" + kAgent + ">", agent_reply_address(c, kSecret, id, kAgent, kNow),
                     fmt::format("Re: [SD-{}] x", id), msgid, "", body),
                at);
  }

  std::int64_t declare(const std::string& title, std::optional<std::int64_t> from = 1,
                       std::vector<std::string> keys = {}, std::vector<std::string> orgs = {}) {
    Desk desk(c);
    auto tx = st->begin(store::Store::Mode::write);
    IncidentDeclaration d;
    d.title = title;
    d.agent = kAgent;
    d.from = from;
    d.alert_keys = std::move(keys);
    d.organisations = std::move(orgs);
    auto id = declare_incident(*tx, desk, d, "operator:root", "cli", kNow + 100);
    REQUIRE(id);
    tx->commit();
    return *id;
  }

  void link(std::int64_t ticket, std::int64_t incident) {
    Desk desk(c);
    auto tx = st->begin(store::Store::Mode::write);
    REQUIRE(link_to_incident(*tx, desk, ticket, incident, kAgent, "cli", kNow + 101));
    tx->commit();
  }

  std::optional<store::IncidentLink> link_of(std::int64_t ticket) {
    return st->begin(store::Store::Mode::read)->incidents().link_of(ticket);
  }

  // How many mails of `kind` each address got.
  std::map<std::string, int> received(const std::string& kind) {
    std::map<std::string, int> n;
    for (const auto& o : outbox(kind))
      for (const auto& r : o.recipients) ++n[r];
    return n;
  }
};

// A header field's value with its continuation lines unfolded.
std::string header(const std::string& bytes, const std::string& name) {
  auto at = bytes.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "";
  std::string out;
  for (auto pos = at + 4 + name.size();;) {
    auto eol = bytes.find("\r\n", pos);
    out += bytes.substr(pos, eol - pos);
    if (eol + 2 >= bytes.size() || (bytes[eol + 2] != ' ' && bytes[eol + 2] != '\t')) break;
    pos = eol + 2;
  }
  return out;
}

// The mail's text with quoted-printable's soft line breaks taken out (the words are ASCII).
std::string text_of(const std::string& bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes.compare(i, 3, "=\r\n") == 0) {
      i += 2;
      continue;
    }
    out += bytes[i];
  }
  return out;
}

}  // namespace

TEST_CASE("A declared incident is a highest-priority incident ticket assigned to its manager, with SD-1 linked and its "
          "agents told with a tokened Reply-To") {
  IncidentDesk d;
  auto id = d.declare("Inloggningen ligger nere");
  CHECK(id == 3);
  auto t = d.ticket(id);
  CHECK(t.category == "incident");
  CHECK(t.priority == "highest");
  CHECK(t.assignee == kAgent);
  CHECK(t.subject == "Inloggningen ligger nere");
  auto inc = d.st->begin(store::Store::Mode::read)->incidents().incident(id);
  REQUIRE(inc);
  CHECK(inc->declared_by == "operator:root");
  REQUIRE(d.link_of(1));
  CHECK(d.link_of(1)->incident_id == id);
  CHECK(d.link_of(1)->how == "from");
  CHECK(d.has_event(1, "incident-link"));
  // Eva (assignee) and Olle (every agent, no team address): one notification each, tokened.
  auto notes = d.outbox("agent-notification");
  std::map<std::string, std::string> reply_to;
  for (const auto& o : notes)
    if (o.ticket_id == id) reply_to[o.recipients.at(0)] = header(o.bytes, "Reply-To");
  REQUIRE(reply_to.size() == 2);
  CHECK(reply_to[kAgent].find("servicedesk+SD-3.") != std::string::npos);
  CHECK(reply_to["olle@example.com"].find("servicedesk+SD-3.") != std::string::npos);
  CHECK(reply_to[kAgent] != reply_to["olle@example.com"]);  // each their own token
  // No customer heard anything yet, and the incident's "requester" (Eva) got no customer mail.
  CHECK(d.outbox("incident-update").empty());
  CHECK(d.outbox("status-open", kAgent).empty());
}

TEST_CASE("An agent links and unlinks a ticket by mail, and a wrong incident reference changes nothing") {
  IncidentDesk d;
  auto id = d.declare("Inloggningen ligger nere");
  auto r = d.eva(2, "#incident SD-3\n", "e1@example.com");
  CHECK(d.link_of(2));
  CHECK(d.link_of(2)->how == "mail");
  d.eva(2, "#incident none\n", "e2@example.com");
  REQUIRE(d.link_of(2));
  CHECK(d.link_of(2)->unlinked_at);
  CHECK(d.link_of(2)->unlinked_by == kAgent);
  // SD-1 is no incident: refused, with a command-error mail, and nothing else applied.
  d.eva(2, "#incident SD-1\n#priority low\n", "e3@example.com");
  CHECK(d.link_of(2)->unlinked_at);
  CHECK(d.ticket(2).priority == "medium");
  CHECK_FALSE(d.outbox("command-error", kAgent).empty());
  // #broadcast on a ticket that is no incident is refused too.
  d.eva(2, "#broadcast\nHej\n", "e4@example.com");
  CHECK(d.outbox("incident-update").empty());
  (void)id;
  (void)r;
}

TEST_CASE("A broadcast reaches each affected person once, in their language, on their own thread; agents, other "
          "organisations and monitoring systems get nothing") {
  IncidentDesk d;
  auto id = d.declare("Inloggningen ligger nere", 1, {"login"});
  d.link(2, id);
  // A monitoring alert with the incident's key links itself; its requester is a machine.
  auto alert = d.take(TestDesk::mail("Nagios <nagios@monitoring.example.com>", "servicedesk@example.com",
                                     "PROBLEM: login is down", "n1@monitoring.example.com",
                                     "Auto-Submitted: auto-generated\r\n"));
  REQUIRE(alert.ticket_id == 4);
  REQUIRE(d.link_of(4));
  CHECK(d.link_of(4)->how == "alert-key");
  // Anna's second ticket, linked too: her one mail goes on it (the most recent), naming SD-1.
  REQUIRE(d.take(TestDesk::mail("Anna Berg <anna@acme.se>", "servicedesk@example.com", "Kan inte logga in", "a2@acme.se"))
              .ticket_id == 5);
  d.link(5, id);

  d.eva(id, "#broadcast\nVi har hittat felet och arbetar på en lösning.\n", "e1@example.com", kNow + 300);
  auto got = d.received("incident-update");
  CHECK(got == std::map<std::string, int>{{"anna@acme.se", 1}, {"bo@beta.dk", 1}, {"carl@acme.se", 1}, {"dora@acme.se", 1}});
  for (const auto& o : d.outbox("incident-update")) {
    CHECK(o.recipients.size() == 1);  // each on their own mail: no Cc
    CHECK(text_of(o.bytes).find("Vi har hittat felet") != std::string::npos);
    CHECK(text_of(o.bytes).find("Inloggningen ligger nere") != std::string::npos);
    std::string subject = header(o.bytes, "Subject");
    if (o.recipients[0] == "anna@acme.se") {
      CHECK(o.ticket_id == 5);
      CHECK(header(o.bytes, "X-Servicedesk-Ticket") == "SD-5");  // the subject is an encoded word (Driftstörning)
      CHECK(header(o.bytes, "In-Reply-To").find("@") != std::string::npos);  // threaded on SD-5's mails
      CHECK(o.bytes.find("SD-1") != std::string::npos);  // names her other ticket
    }
    if (o.recipients[0] == "bo@beta.dk") {
      CHECK(o.ticket_id == 2);
      CHECK(subject.find("[SD-2]") != std::string::npos);
      CHECK(o.bytes.find("Driftsforstyrrelse") != std::string::npos);  // Danish, in an encoded word or not
    }
    if (o.recipients[0] == "carl@acme.se") CHECK(o.ticket_id == 1);
    if (o.recipients[0] == "dora@acme.se") CHECK(o.ticket_id == 5);  // her organisation's most recent, which she may see
  }
  CHECK(got.count("gus@gamma.example") == 0);
  CHECK(got.count("nagios@monitoring.example.com") == 0);
  CHECK(got.count(kAgent) == 0);
  CHECK(got.count("olle@example.com") == 0);
  for (std::int64_t t : {1, 2, 4, 5}) CHECK(d.has_event(t, "incident-broadcast"));
  // Olle hears of the update (not Eva, who wrote it).
  bool olle = false;
  for (const auto& o : d.outbox("agent-notification", "olle@example.com"))
    olle = olle || o.bytes.find("broadcast to 4 people") != std::string::npos;
  CHECK(olle);
}

TEST_CASE("An update without #broadcast goes to the incident's agents only") {
  IncidentDesk d;
  auto id = d.declare("Inloggningen ligger nere");
  auto before = d.outbox().size();
  d.eva(id, "Vi tittar på certifikatet.\n", "e1@example.com");
  CHECK(d.outbox("incident-update").empty());
  CHECK(d.outbox("reply").empty());
  std::vector<std::string> to;
  for (std::size_t i = before; i < d.outbox().size(); ++i) to.push_back(d.outbox()[i].recipients.at(0));
  CHECK(to == std::vector<std::string>{"olle@example.com"});
  CHECK(d.outbox().back().bytes.find("agents only") != std::string::npos);
}

TEST_CASE("A contact of an organisation the incident does not affect gets no broadcast, until --orgs names it") {
  IncidentDesk d;
  auto id = d.declare("Inloggningen ligger nere", std::nullopt);  // nothing linked: nobody is affected
  d.eva(id, "#broadcast\nStörning.\n", "e1@example.com");
  CHECK(d.received("incident-update").empty());
  auto named = d.declare("Integrationerna", std::nullopt, {}, {"Gamma"});
  d.eva(named, "#broadcast\nDisruption.\n", "e2@example.com");
  CHECK(d.received("incident-update") == std::map<std::string, int>{{"gus@gamma.example", 1}});
  auto o = d.outbox("incident-update", "gus@gamma.example").at(0);
  CHECK(o.ticket_id == named);  // no ticket of his: the incident's own tag
  CHECK(header(o.bytes, "Subject").find("[SD-4] Incident update: Integrationerna") != std::string::npos);
}

TEST_CASE("#incident-orgs on the incident adds an organisation later: its contacts get the broadcasts from then on") {
  IncidentDesk d;
  auto id = d.declare("Inloggningen ligger nere", std::nullopt);  // nothing linked yet
  // Refused, changing nothing: an unknown organisation (with a known one), or a ticket that is no incident.
  d.eva(id, "#incident-orgs Gamma, Nonesuch\n#broadcast\nStörning.\n", "e1@example.com");
  d.eva(2, "#incident-orgs Gamma\n", "e2@example.com");
  CHECK(d.received("incident-update").empty());
  CHECK(d.st->begin(store::Store::Mode::read)->incidents().incident(id)->organisations.empty());
  // A customer cannot add one: customers' mail runs no commands.
  d.take(TestDesk::mail("Anna Berg <anna@acme.se>", agent_reply_address(d.c, kSecret, id, kAgent, kNow),
                        "Re: [SD-3] x", "a1@acme.se", "", "#incident-orgs all\n#broadcast\nAlla!\n"));
  CHECK_FALSE(d.st->begin(store::Store::Mode::read)->incidents().incident(id)->all_organisations);
  CHECK(d.received("incident-update").empty());
  d.eva(id, "#incident-orgs Gamma\n#broadcast\nStörning i inloggningen.\n", "e3@example.com");
  CHECK(d.received("incident-update") == std::map<std::string, int>{{"gus@gamma.example", 1}});
  auto tx = d.st->begin(store::Store::Mode::read);
  CHECK(tx->incidents().incident(id)->organisations == std::vector<std::string>{"Gamma"});
  auto events = tx->events(id);
  CHECK(std::any_of(events.begin(), events.end(),
                    [](const auto& e) { return e.kind == "incident-orgs" && e.detail == "added: Gamma"; }));
}

TEST_CASE("A customer's #incident new and #broadcast change nothing") {
  IncidentDesk d;
  auto id = d.declare("Inloggningen ligger nere");
  // To the incident's agent address, with a forged token-less plus-address: the customer path.
  d.take(TestDesk::mail("Anna Berg <anna@acme.se>", agent_reply_address(d.c, kSecret, id, kAgent, kNow),
                        "Re: [SD-3] x", "a9@acme.se", "", "#broadcast\nAlla: systemet är hackat.\n"));
  d.take(TestDesk::mail("Anna Berg <anna@acme.se>", "servicedesk@example.com", "Nytt", "a10@acme.se", kAuthPass,
                        "#incident new Falsk incident\n"));
  CHECK(d.outbox("incident-update").empty());
  auto rd = d.st->begin(store::Store::Mode::read);
  for (const auto& t : rd->tickets()) CHECK((t.id == id || !rd->incidents().incident(t.id)));
}

TEST_CASE("A forged From without token or DMARC is only a note; with an aligned DMARC pass #incident new declares") {
  IncidentDesk d;
  auto id = d.declare("Inloggningen ligger nere");
  // The incident's plus-address without a valid token: kept as a note, nothing broadcast.
  auto forged = d.take(TestDesk::mail("Eva Agent <eva@example.com>", "servicedesk+SD-3.20000.00000000000000000000@example.com",
                                      "Re: [SD-3] x", "f1@evil.example", "", "#broadcast\n#resolve\nAllt är löst.\n"));
  CHECK(forged.note.find("kept as a note") != std::string::npos);
  CHECK(d.outbox("incident-update").empty());
  CHECK(d.outbox("incident-resolved").empty());
  CHECK(d.ticket(id).status != "resolved");
  // The plain address without DMARC: nothing declared; Eva is told.
  auto plain = d.take(TestDesk::mail("Eva Agent <eva@example.com>", "servicedesk@example.com", "Storm", "f2@evil.example",
                                     "", "#incident new Falsk\n"));
  CHECK(plain.kind == IngestResult::Kind::rejected);
  CHECK(d.outbox("incident-refused", kAgent).size() == 1);
  // With the trusted server's DMARC pass for example.com: declared, Eva its manager.
  auto ok = d.take(TestDesk::mail("Eva Agent <eva@example.com>", "servicedesk@example.com", "Storm", "ok1@example.com",
                                  kAuthPass, "#incident new Databasen svarar inte\n#incident-key db\nDet vi vet.\n"));
  REQUIRE(ok.kind == IngestResult::Kind::created);
  auto inc = d.st->begin(store::Store::Mode::read)->incidents().incident(ok.ticket_id);
  REQUIRE(inc);
  CHECK(inc->title == "Databasen svarar inte");
  CHECK(inc->alert_keys == std::vector<std::string>{"db"});
  CHECK(d.ticket(ok.ticket_id).assignee == kAgent);
}

TEST_CASE("#incident new in an answer to a ticket's notification declares an incident with that ticket linked") {
  IncidentDesk d;
  d.eva(2, "#incident new Login nede hos flere kunder\n", "e1@example.com");
  auto l = d.link_of(2);
  REQUIRE(l);
  auto inc = d.st->begin(store::Store::Mode::read)->incidents().incident(l->incident_id);
  REQUIRE(inc);
  CHECK(inc->title == "Login nede hos flere kunder");  // its case kept
}

TEST_CASE("Resolving the incident resolves its linked tickets with one mail per person, not the unlinked one; a "
          "customer's reply reopens only their ticket") {
  IncidentDesk d;
  auto id = d.declare("Inloggningen ligger nere", 1, {"login"});
  d.link(2, id);
  REQUIRE(d.take(TestDesk::mail("Anna Berg <anna@acme.se>", "servicedesk@example.com", "Kan inte logga in", "a2@acme.se"))
              .ticket_id == 4);
  d.link(4, id);
  REQUIRE(d.take(TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Andet", "b2@beta.dk")).ticket_id == 5);
  d.link(5, id);
  d.eva(5, "#incident none\n", "e0@example.com");
  auto before_status = d.outbox("status-resolved").size();

  d.eva(id, "#resolve\n#rca Certifikatet gick ut\n#followup Bevaka certifikatens giltighet\nCertifikatet är förnyat.\n",
        "e1@example.com", kNow + 600);
  CHECK(d.ticket(id).status == "resolved");
  for (std::int64_t t : {1, 2, 4}) {
    CHECK(d.ticket(t).status == "resolved");
    CHECK(d.ticket(t).resolution == "Certifikatet är förnyat.");
  }
  CHECK(d.ticket(5).status != "resolved");  // unlinked first
  CHECK(d.outbox("status-resolved").size() == before_status);  // no per-ticket mails
  CHECK(d.received("incident-resolved") ==
        std::map<std::string, int>{{"anna@acme.se", 1}, {"bo@beta.dk", 1}, {"carl@acme.se", 1}, {"dora@acme.se", 1}});
  auto inc = d.st->begin(store::Store::Mode::read)->incidents().incident(id);
  CHECK(inc->root_cause == "Certifikatet gick ut");
  CHECK(inc->follow_up == "Bevaka certifikatens giltighet");
  // Bo answers his SD-2: only SD-2 opens again.
  d.take(TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Re: [SD-2] Login virker ikke", "b3@beta.dk", "",
                        "Det virker stadig ikke.\r\n"),
         kNow + 900);
  CHECK(d.ticket(2).status == "open");
  CHECK(d.ticket(1).status == "resolved");
  CHECK(d.ticket(4).status == "resolved");
  CHECK(d.ticket(id).status == "resolved");
  // A resolved incident takes no more alerts.
  auto late = d.take(TestDesk::mail("Nagios <nagios@monitoring.example.com>", "servicedesk@example.com",
                                    "PROBLEM: login is down", "n2@monitoring.example.com",
                                    "Auto-Submitted: auto-generated\r\n"),
                     kNow + 1000);
  CHECK_FALSE(d.link_of(late.ticket_id));
}

TEST_CASE("The CLI's and portal's calls refuse what makes no sense and change nothing") {
  IncidentDesk d;
  Desk desk(d.c);
  auto tx = d.st->begin(store::Store::Mode::write);
  IncidentDeclaration x;
  x.title = "T";
  x.agent = "nobody@example.com";
  CHECK_FALSE(declare_incident(*tx, desk, x, "operator:root", "cli", kNow));
  x.agent = kAgent;
  x.organisations = {"Nonesuch"};
  CHECK_FALSE(declare_incident(*tx, desk, x, "operator:root", "cli", kNow));
  x.organisations = {};
  x.title = "  ";
  CHECK_FALSE(declare_incident(*tx, desk, x, "operator:root", "cli", kNow));
  CHECK_FALSE(link_to_incident(*tx, desk, 1, 2, kAgent, "cli", kNow));  // SD-2 is no incident
  CHECK_FALSE(unlink_from_incident(*tx, desk, 1, kAgent, kNow));        // linked to none
  CHECK(tx->tickets().size() == 2);
}

TEST_CASE("A contact's answer to a broadcast on the incident's own tag opens a ticket linked to it; a stranger's tag "
          "links nothing") {
  IncidentDesk d;
  auto named = d.declare("Integrationerna", std::nullopt, {}, {"Gamma"});
  d.eva(named, "#broadcast\nDisruption.\n", "e1@example.com");
  auto gus = d.take(TestDesk::mail("Gus <gus@gamma.example>", "servicedesk@example.com", "Re: [SD-3] Incident update: x",
                                   "g1@gamma.example", "", "We are down too.\r\n"));
  REQUIRE(gus.kind == IngestResult::Kind::created);
  REQUIRE(d.link_of(gus.ticket_id));
  CHECK(d.link_of(gus.ticket_id)->incident_id == named);
  CHECK(d.link_of(gus.ticket_id)->how == "answer");
  CHECK(d.ticket(named).status != "resolved");  // the incident itself is not touched by the answer
  // Bo's Beta is not affected: his tagged mail opens a ticket of his own, unlinked.
  auto bo = d.take(TestDesk::mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Re: [SD-3] x", "b9@beta.dk"));
  REQUIRE(bo.ticket_id != 0);
  CHECK(bo.ticket_id != named);
  CHECK_FALSE(d.link_of(bo.ticket_id));
}

TEST_CASE("An agent's portal reply on the incident goes to its other agents only; with broadcast to each affected "
          "person once, and a note is never broadcast") {
  IncidentDesk d;
  auto id = d.declare("Inloggningen ligger nere");  // SD-3, with SD-1 linked
  d.link(2, id);
  Desk portal(d.c, false);  // the portal's Desk: no token secret
  auto works = [&](const AgentWrite& w) {
    auto tx = d.st->begin(store::Store::Mode::write);
    auto done = agent_works(*tx, portal, w, kNow + 300);
    if (done) tx->commit();
    return done;
  };
  AgentWrite w;
  w.agent = kAgent;
  w.ticket_id = id;
  w.text = "Vi tittar på certifikatet.";
  auto before = d.outbox().size();
  REQUIRE(works(w));
  std::vector<std::string> to;
  auto all = d.outbox();
  for (std::size_t i = before; i < all.size(); ++i)
    for (const auto& r : all[i].recipients) to.push_back(r);
  CHECK(to == std::vector<std::string>{"olle@example.com"});  // not Eva, who wrote it; no customer
  CHECK(d.outbox().back().kind == "agent-notification");
  CHECK(d.outbox().back().bytes.find("agents only") != std::string::npos);
  CHECK(d.outbox("incident-update").empty());
  // Kept on the incident as the agents' words, never as a reply to its requester.
  auto msgs = d.st->begin(store::Store::Mode::read)->messages(id);
  REQUIRE(!msgs.empty());
  CHECK(msgs.back().internal);

  // A note is never broadcast; nor is a ticket that is no incident, nor empty words.
  AgentWrite note = w;
  note.note = true;
  note.broadcast = true;
  CHECK_FALSE(works(note));
  AgentWrite other = w;
  other.ticket_id = 1;
  other.broadcast = true;
  CHECK_FALSE(works(other));
  AgentWrite empty = w;
  empty.text = " ";
  empty.broadcast = true;
  CHECK_FALSE(works(empty));
  CHECK(d.outbox("incident-update").empty());

  AgentWrite b = w;
  b.text = "Vi har hittat felet och arbetar på en lösning.";
  b.broadcast = true;
  auto done = works(b);
  REQUIRE(done);
  CHECK(done->mail_queued);
  CHECK(d.received("incident-update") ==
        std::map<std::string, int>{{"anna@acme.se", 1}, {"bo@beta.dk", 1}, {"carl@acme.se", 1}, {"dora@acme.se", 1}});
  for (const auto& o : d.outbox("incident-update"))
    CHECK(text_of(o.bytes).find("Vi har hittat felet") != std::string::npos);
  bool olle = false, eva = false;
  for (const auto& o : d.outbox("agent-notification")) {
    bool broadcast = o.bytes.find("broadcast to 4 people") != std::string::npos;
    for (const auto& r : o.recipients) {
      olle = olle || (r == "olle@example.com" && broadcast);
      eva = eva || (r == kAgent && broadcast);
    }
  }
  CHECK(olle);
  CHECK_FALSE(eva);
  for (std::int64_t t : {1, 2}) CHECK(d.has_event(t, "incident-broadcast"));
}
