// tests/api/test_api_json.cpp: every field of the ticket list (ticket_json) and the ticket
// detail (ticket_detail_json) JSON, its type and its value, for tickets made through the
// real ingest path and changed through the store as agents and the SLA clock change them.
// The field names are an interface (`--json`, the coming portal): a renamed or retyped field
// fails here. And json_text() writes the terminal controls a subject may carry as \u escapes.
//
// Security notes: each test has its own temporary store; the hostile subject is data only.
#include <catch2/catch.hpp>

#include "api/json.h"
#include "desk/ingest.h"
#include "desk/sla_clock.h"
#include "desk/ticket_change.h"
#include "sla/calendar.h"
#include "store/store.h"
#include "tests/support/desk_config.h"
#include "tests/support/tempdir.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace sd;
using nlohmann::json;

namespace {

// Also used for a constant, before Catch2 runs: throws rather than REQUIRE.
store::Time at(const char* rfc3339) {
  auto t = sla::parse_rfc3339(rfc3339);
  if (!t) throw std::invalid_argument(rfc3339);
  return t->time_since_epoch().count();
}

// 2 November 2026 is a Monday; 07:00Z is 08:00 in Copenhagen, the "dk" calendar's opening.
const store::Time kMonday = at("2026-11-02T07:00:00Z");

const std::string kMail =
    "From: Anna Berg <anna@kund.se>\r\n"
    "To: servicedesk@example.com\r\n"
    "Cc: bo@kund.se\r\n"
    "Subject: Printer on floor 2\r\n"
    "Message-ID: <first@kund.se>\r\n"
    "Date: Mon, 02 Nov 2026 07:59:00 +0100\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "It prints blank pages.\r\n"
    "--b\r\nContent-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename=\"page.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
    "--b--\r\n";

class TestDesk {
 public:
  TestDesk() : config(test::desk_config(dir)), store(store::open_sqlite_store({config.store.path})) {
    auto tx = store->begin(store::Store::Mode::write);
    store::Organisation o;
    o.name = "Kund AB";
    o.domains = {"kund.se"};
    tx->add_organisation(o);
    store::Contact anna;
    anna.email = "anna@kund.se";
    anna.name = "Anna Berg";
    anna.organisation = "Kund AB";
    tx->add_contact(anna);
    tx->commit();
  }

  std::int64_t mail(const std::string& raw, store::Time when) {
    auto r = ingest(*store, config, raw, std::nullopt, when);
    REQUIRE(r.ticket_id != 0);
    return r.ticket_id;
  }

  std::unique_ptr<store::Transaction> write() { return store->begin(store::Store::Mode::write); }

  json list_json(std::int64_t id, store::Time now) {
    auto tx = store->begin(store::Store::Mode::read);
    auto t = tx->ticket(id);
    REQUIRE(t);
    SlaClock clock(config);
    return ticket_json(config, *t, clock.evaluate(*t, tx->pauses(id), now));
  }

  json detail_json(std::int64_t id, store::Time now) {
    auto tx = store->begin(store::Store::Mode::read);
    auto t = tx->ticket(id);
    REQUIRE(t);
    SlaClock clock(config);
    return ticket_detail_json(config, *t, clock.evaluate(*t, tx->pauses(id), now), tx->messages(id), tx->events(id));
  }

  test::TempDir dir;
  Config config;
  std::unique_ptr<store::Store> store;
};

void check_new_ticket_fields(const json& j) {
  CHECK(j.at("id") == "SD-1");
  CHECK(j.at("subject") == "Printer on floor 2");
  CHECK(j.at("status") == "new");
  CHECK(j.at("requester") == "anna@kund.se");
  CHECK(j.at("requester_name") == "Anna Berg");
  CHECK(j.at("priority") == "medium");
  CHECK(j.at("category").is_null());  // no rule set one
  CHECK(j.at("created_at") == "2026-11-02T07:00:00Z");
  CHECK(j.at("updated_at").is_string());
  CHECK(j.at("message_count").is_number_integer());
  CHECK(j.at("message_count") >= 1);
  CHECK(j.at("sla_name") == "standard");
  CHECK(j.at("assignee").is_null());
  // Medium: 8 business hours from Monday 08:00 Copenhagen.
  CHECK(j.at("first_response_due") == "2026-11-02T15:00:00Z");
  CHECK(j.at("first_response_at").is_null());
  CHECK(j.at("resolution_due").is_null());  // the standard SLA has no resolution target
  CHECK(j.at("resolved_at").is_null());
  CHECK(j.at("sla") == "ok");
  CHECK(j.at("organisation") == "Kund AB");
  CHECK(j.at("unverified") == false);
  CHECK(j.at("unverified").is_boolean());
  CHECK(j.at("hypercare") == false);
  CHECK(j.at("hypercare").is_boolean());
  CHECK(j.at("time_spent_s") == 0);
  CHECK(j.at("time_spent_s").is_number_integer());
  CHECK(j.at("repeat_count") == 0);
  CHECK(j.at("repeat_count").is_number_integer());
  CHECK(j.at("refers_to").is_null());
  CHECK(j.at("resolution").is_null());
  // The earliest coming warning or breach: the warning at 75% of the 8 hours.
  CHECK(j.at("sla_next_due") == "2026-11-02T13:00:00Z");
}

}  // namespace

TEST_CASE("The ticket list JSON has every field with its type and value for a new ticket") {
  TestDesk desk;
  REQUIRE(desk.mail(kMail, kMonday) == 1);
  auto j = desk.list_json(1, at("2026-11-02T08:00:00Z"));
  REQUIRE(j.is_object());
  check_new_ticket_fields(j);
  CHECK(j.at("updated_at") == "2026-11-02T07:00:00Z");
}

TEST_CASE("The ticket list JSON shows category, assignee, response, resolution, time and the ticket referred to") {
  TestDesk desk;
  REQUIRE(desk.mail(kMail, kMonday) == 1);
  {
    auto tx = desk.write();
    tx->set_category(1, "incident", at("2026-11-02T07:10:00Z"));
    tx->set_priority(1, "high", at("2026-11-02T07:10:00Z"));
    tx->set_assignee(1, "eva@example.com", at("2026-11-02T07:10:00Z"));
    tx->set_first_response(1, at("2026-11-02T07:30:00Z"));
    store::TimeEntry e;
    e.ticket_id = 1;
    e.at = at("2026-11-02T08:00:00Z");
    e.agent = "eva@example.com";
    e.seconds = 900;
    tx->add_time(e);
    set_status(*tx, 1, Status::resolved, at("2026-11-02T09:00:00Z"));
    tx->set_resolution(1, "New toner cartridge");
    tx->commit();
  }
  auto j = desk.list_json(1, at("2026-11-02T10:00:00Z"));
  CHECK(j.at("category") == "incident");
  CHECK(j.at("priority") == "high");
  CHECK(j.at("assignee") == "eva@example.com");
  CHECK(j.at("first_response_at") == "2026-11-02T07:30:00Z");
  CHECK(j.at("first_response_due") == "2026-11-02T11:00:00Z");  // high: 4 business hours
  CHECK(j.at("status") == "resolved");
  CHECK(j.at("resolved_at") == "2026-11-02T09:00:00Z");
  CHECK(j.at("sla") == "met");
  CHECK(j.at("time_spent_s") == 900);
  CHECK(j.at("resolution") == "New toner cartridge");
  CHECK(j.at("updated_at") == "2026-11-02T09:00:00Z");

  // A reply to a closed ticket opens a new one that refers to it.
  {
    auto tx = desk.write();
    set_status(*tx, 1, Status::closed, at("2026-11-03T09:00:00Z"));
    tx->commit();
  }
  auto again = desk.mail("From: Anna Berg <anna@kund.se>\r\nTo: servicedesk@example.com\r\n"
                         "Subject: Re: [SD-1] Printer on floor 2\r\nMessage-ID: <again@kund.se>\r\n"
                         "In-Reply-To: <first@kund.se>\r\n\r\nBlank again.\r\n",
                         at("2026-11-04T07:00:00Z"));
  CHECK(again == 2);
  auto j2 = desk.list_json(again, at("2026-11-04T07:00:00Z"));
  CHECK(j2.at("id") == "SD-2");
  CHECK(j2.at("refers_to") == "SD-1");
}

TEST_CASE("An unknown sender's ticket is marked unverified and has no organisation") {
  TestDesk desk;
  auto id = desk.mail("From: eve@gmail.example\r\nTo: servicedesk@example.com\r\nSubject: Hello\r\n"
                      "Message-ID: <eve@gmail.example>\r\n\r\nHi\r\n",
                      kMonday);
  auto j = desk.list_json(id, kMonday);
  CHECK(j.at("unverified") == true);
  CHECK(j.at("organisation").is_null());
  CHECK(j.at("requester") == "eve@gmail.example");
  CHECK(j.at("requester_name") == "");
}

TEST_CASE("The ticket detail JSON has the list's fields, each message's and each event's") {
  TestDesk desk;
  REQUIRE(desk.mail(kMail, kMonday) == 1);
  auto j = desk.detail_json(1, at("2026-11-02T08:00:00Z"));
  check_new_ticket_fields(j);

  REQUIRE(j.at("messages").is_array());
  REQUIRE(j.at("messages").size() >= 1);
  const auto& in = j.at("messages").at(0);
  CHECK(in.at("direction") == "in");
  CHECK(in.at("message_id") == "first@kund.se");
  CHECK(in.at("from") == "anna@kund.se");
  CHECK(in.at("from_name") == "Anna Berg");
  CHECK(in.at("to") == json::array({"servicedesk@example.com"}));
  CHECK(in.at("cc") == json::array({"bo@kund.se"}));
  CHECK(in.at("subject") == "Printer on floor 2");
  CHECK(in.at("date") == "2026-11-02T06:59:00Z");  // the Date header, in UTC
  CHECK(in.at("received_at") == "2026-11-02T07:00:00Z");
  CHECK(in.at("body_text").get<std::string>().find("It prints blank pages.") != std::string::npos);
  CHECK(in.at("new_text").get<std::string>().find("It prints blank pages.") != std::string::npos);
  CHECK(in.at("automatic").is_null());  // a person's mail
  CHECK(in.at("internal") == false);     // the customer's own mail is on the thread
  REQUIRE(in.at("attachments").size() == 1);
  // Issue 13 adds `number`, the one `attachment get` and the portal take.
  CHECK(in.at("attachments")[0] ==
        json({{"number", 1}, {"filename", "page.pdf"}, {"content_type", "application/pdf"}, {"size", 5}}));

  // The acknowledgement is the desk's own message on the ticket.
  bool acknowledged = false;
  for (const auto& m : j.at("messages"))
    if (m.at("direction") == "out") {
      acknowledged = true;
      CHECK(m.at("to") == json::array({"anna@kund.se"}));
      CHECK(m.at("subject").get<std::string>().find("[SD-1]") != std::string::npos);
      CHECK(m.at("attachments") == json::array());
      CHECK(m.at("internal") == false);
    }
  CHECK(acknowledged);

  REQUIRE(j.at("events").is_array());
  REQUIRE_FALSE(j.at("events").empty());
  for (const auto& e : j.at("events")) {
    CHECK(e.at("at").is_string());
    CHECK(e.at("actor").is_string());
    CHECK(e.at("kind").is_string());
    CHECK(e.at("detail").is_string());
    CHECK(e.at("internal").is_boolean());
  }
  CHECK(j.at("events")[0].at("kind") == "created");
  CHECK(j.at("events")[0].at("at") == "2026-11-02T07:00:00Z");
}

TEST_CASE("An automatic mail's message says why it is automatic") {
  TestDesk desk;
  auto id = desk.mail("From: Anna Berg <anna@kund.se>\r\nTo: servicedesk@example.com\r\nSubject: Out of office\r\n"
                      "Message-ID: <ooo@kund.se>\r\nAuto-Submitted: auto-replied\r\n\r\nAway.\r\n",
                      kMonday);
  auto j = desk.detail_json(id, kMonday);
  CHECK(j.at("messages").at(0).at("automatic").is_string());
  CHECK_FALSE(j.at("messages").at(0).at("automatic").get<std::string>().empty());
}

TEST_CASE("Attachment numbers in the detail JSON count over all the ticket's messages in order of arrival") {
  TestDesk desk;
  REQUIRE(desk.mail(kMail, kMonday) == 1);
  // Anna's reply on the thread, with two files.
  const std::string reply =
      "From: Anna Berg <anna@kund.se>\r\nTo: servicedesk@example.com\r\nSubject: Re: [SD-1] Printer on floor 2\r\n"
      "Message-ID: <second@kund.se>\r\nIn-Reply-To: <first@kund.se>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nTwo more.\r\n"
      "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"a.log\"\r\n\r\nA\r\n"
      "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"b.log\"\r\n\r\nB\r\n"
      "--b--\r\n";
  REQUIRE(desk.mail(reply, kMonday + 600) == 1);
  auto j = desk.detail_json(1, kMonday + 600);
  std::vector<std::pair<std::int64_t, std::string>> numbered;
  for (const auto& m : j.at("messages"))
    for (const auto& a : m.at("attachments")) {
      CHECK(a.at("number").is_number_integer());
      numbered.emplace_back(a.at("number"), a.at("filename"));
    }
  CHECK(numbered == std::vector<std::pair<std::int64_t, std::string>>{{1, "page.pdf"}, {2, "a.log"}, {3, "b.log"}});

  // attachment_json, the shape of `attachment list --json`: the same numbers.
  auto tx = desk.store->begin(store::Store::Mode::read);
  auto files = tx->attachments(1);
  REQUIRE(files.size() == 3);
  auto a = attachment_json(files[1]);
  CHECK(a.at("number") == 2);
  CHECK(a.at("filename") == "a.log");
  CHECK(a.at("content_type") == "text/plain");
  CHECK(a.at("size") == 1);
  CHECK(a.at("inline") == false);
  CHECK(a.at("kept") == true);
  CHECK(a.at("internal") == false);
  CHECK(a.at("received_at") == "2026-11-02T07:10:00Z");
}

TEST_CASE("json_text writes the terminal controls of a subject as \\u escapes and keeps the string exact") {
  TestDesk desk;
  const std::string subject = "Alarm \x1b[2J \xc2\x9b" "31m moc.elpmaxe\xe2\x80\xae \xe2\x81\xa6x\xe2\x81\xa9 \xe2\x80\xa8" "end";
  auto id = desk.mail("From: anna@kund.se\r\nTo: servicedesk@example.com\r\nSubject: " + subject +
                          "\r\nMessage-ID: <esc@kund.se>\r\n\r\nHi\r\n",
                      kMonday);
  auto j = desk.list_json(id, kMonday);
  REQUIRE(j.at("subject") == subject);  // stored and shaped as the mail said it
  for (int indent : {2, -1}) {
    CAPTURE(indent);
    auto text = json_text(j, indent);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(text.find("\xc2\x9b") == std::string::npos);
    CHECK(text.find("\xe2\x80\xae") == std::string::npos);
    CHECK(text.find("\xe2\x81\xa6") == std::string::npos);
    CHECK(text.find("\xe2\x80\xa8") == std::string::npos);
    CHECK(text.find("\\u001b[2J") != std::string::npos);
    CHECK(text.find("\\u009b") != std::string::npos);
    CHECK(text.find("\\u202e") != std::string::npos);
    CHECK(text.find("\\u2066") != std::string::npos);
    CHECK(text.find("\\u2069") != std::string::npos);
    CHECK(text.find("\\u2028") != std::string::npos);
    CHECK(json::parse(text).at("subject") == subject);  // the same string to a JSON reader
  }
}

TEST_CASE("json_text turns bytes that are not UTF-8 into U+FFFD instead of failing") {
  json j = {{"subject", std::string("cut \xc3")}};
  std::string text;
  REQUIRE_NOTHROW(text = json_text(j));
  CHECK(json::parse(text).at("subject") == "cut \xef\xbf\xbd");
}
