// tests/cli/test_cli_estimates.cpp: estimates from the command line, through the built binary:
// `ticket estimate` makes one as #estimate would, `ticket estimates` shows who answered, when
// and how, `ticket set --status` can neither set awaiting-approval nor fake an approval (it
// withdraws the estimate), and `report time` keeps its columns and adds the estimates'.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "desk/desk.h"
#include "desk/estimates.h"
#include "desk/ingest.h"
#include "store/estimates.h"
#include "store/store.h"
#include "tests/cli/cli_run.h"
#include "tests/support/tempdir.h"

#include <nlohmann/json.hpp>

#include <string>

using namespace sd;
using test::contains;
using test::servicedesk;

namespace {

struct EstimateCli {
  EstimateCli() : config_path(test::write_config(dir)), config(load_config(config_path)) {
    for (const char* args : {"org add Acme --domain acme.se --language sv", "contact add --org Acme anna@acme.se",
                             "agent add eva@example.com --name Eva"})
      ok(args);
    auto st = store::open_store(config.store.url);
    auto r = ingest(*st, config,
                    "From: Anna <anna@acme.se>\r\nTo: servicedesk@example.com\r\nSubject: Flow\r\nMessage-ID: <e1@acme.se>\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n\r\nA new flow, please.\r\n",
                    std::nullopt, 1'795'000'000);
    REQUIRE(r.ticket_id == 1);
  }
  test::Run run(const std::string& args) const { return servicedesk(config_path, args, {}); }
  void ok(const std::string& args) const {
    auto r = run(args);
    INFO(args << ": " << r.err);
    REQUIRE(r.status == 0);
  }
  nlohmann::json estimates() const { return nlohmann::json::parse(run("ticket estimates SD-1 --json").out); }

  test::TempDir dir;
  std::string config_path;
  Config config;
};

}  // namespace

TEST_CASE("ticket set cannot set awaiting-approval: only an estimate does, and leaving it withdraws the estimate") {
  EstimateCli d;
  auto refused = d.run("ticket set SD-1 --status awaiting-approval");
  CHECK(refused.status == 65);
  CHECK(contains(refused.err, "awaiting-approval comes with an estimate only"));

  auto made = d.run("ticket estimate SD-1 --agent eva@example.com --time 1h30m --work 'Build the flow'");
  INFO(made.err);
  REQUIRE(made.status == 0);
  CHECK(contains(made.out, "SD-1: estimate 1 (1h30m) mailed to anna@acme.se for approval"));
  auto show = nlohmann::json::parse(d.run("show SD-1 --json").out);
  CHECK(show["status"] == "awaiting-approval");
  // The status is one of the vocabulary's: the list's filter and the open statuses take it.
  CHECK(contains(d.run("tickets --status awaiting-approval").out, "SD-1"));
  CHECK(contains(d.run("tickets --status open").out, "no tickets match"));
  auto e = d.estimates();
  REQUIRE(e.size() == 1);
  CHECK(e[0]["state"] == "awaiting");
  CHECK(e[0]["minutes"] == 90);
  CHECK(e[0]["answered_by"].is_null());

  // An operator's status change is no approval: the estimate is withdrawn, naming them.
  d.ok("ticket set SD-1 --status open --operator olle");
  e = d.estimates();
  CHECK(e[0]["state"] == "withdrawn");
  CHECK(e[0]["answered_by"] == "operator:olle");
  CHECK(contains(d.run("ticket estimates SD-1").out, "withdrawn"));
}

TEST_CASE("ticket estimate refuses a duration of the wrong shape with 64 and a ticket nobody could approve with 65") {
  EstimateCli d;
  CHECK(d.run("ticket estimate SD-1 --agent eva@example.com --time soon --work X").status == 64);
  CHECK(d.run("ticket estimate SD-1 --agent nobody@example.com --time 1h --work X").status == 65);
  CHECK(d.run("ticket estimate SD-9 --agent eva@example.com --time 1h --work X").status == 65);
  d.ok("ticket set SD-1 --status closed");
  auto closed = d.run("ticket estimate SD-1 --agent eva@example.com --time 1h --work X");
  CHECK(closed.status == 65);
  CHECK(contains(closed.err, "the ticket is closed"));
  CHECK(d.run("ticket estimates SD-1").out == "SD-1: no estimates\n");
}

TEST_CASE("report time keeps its columns and adds the approved estimates and billable minutes") {
  EstimateCli d;
  auto csv = d.run("report time --month 2026-11 --format csv");
  REQUIRE(csv.status == 0);
  CHECK(csv.out.rfind("organisation,sla,included_minutes,spent_minutes,over_minutes,incident_minutes,total_minutes,"
                      "tickets,entries,approved_estimates,approved_estimate_minutes,billable_minutes\r\n",
                      0) == 0);
  // An estimate approved on the portal, then 40 minutes of work on the ticket: billable.
  d.ok("ticket estimate SD-1 --agent eva@example.com --time 1h --work 'Build the flow'");
  {
    Desk desk(d.config);
    auto st = store::open_store(d.config.store.url);
    auto tx = st->begin(store::Store::Mode::write);
    auto id = tx->estimates().awaiting_estimate(1)->id;
    REQUIRE(answer_estimate_on_portal(*tx, desk, 1, id, "anna@acme.se", EstimateAnswer::approve, 1'795'100'000));
    tx->add_time({1, 1'795'100'100, "eva@example.com", 40 * 60, "", ""});
    tx->commit();
  }
  auto json = nlohmann::json::parse(d.run("report time --month 2026-11 --format json").out);
  REQUIRE(json["approved_estimates"].size() == 1);
  CHECK(json["approved_estimates"][0]["approved_by"] == "anna@acme.se");
  CHECK(json["approved_estimates"][0]["approved_via"] == "portal");
  bool seen = false;
  for (const auto& row : json["rows"])
    if (row["organisation"] == "Acme") {
      seen = true;
      CHECK(row["approved_estimates"] == 1);
      CHECK(row["approved_estimate_minutes"] == 60.0);
      CHECK(row["billable_minutes"] == 40.0);
      CHECK(row["spent_minutes"] == 40.0);
    }
  CHECK(seen);
}
