// tests/cli/test_cli_incidents.cpp: the operator's commands for major incidents through the
// built binary: `incident new` (prints the id; 64 for a malformed argument, 65 for what the
// desk refuses), `incident update SD-n --orgs --alert-key`, `ticket set --incident SD-n|none`,
// `report incident SD-n`.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "store/incidents.h"
#include "store/store.h"
#include "tests/cli/cli_run.h"
#include "tests/support/tempdir.h"

#include <nlohmann/json.hpp>

#include <string>

using namespace sd;

namespace {

struct IncidentCli {
  IncidentCli() : config_path(test::write_config(dir)), config(load_config(config_path)) {
    ok("org add Acme --domain acme.se --language sv");
    ok("contact add anna@acme.se --org Acme --name Anna");
    ok("agent add eva@example.com --name Eva");
    ok("ticket new --requester anna@acme.se --subject 'Kan inte logga in' --agent eva@example.com");  // SD-1
    ok("ticket new --requester anna@acme.se --subject 'Igen' --agent eva@example.com");               // SD-2
  }
  test::Run run(const std::string& args) const { return test::servicedesk(config_path, args); }
  test::Run ok(const std::string& args) const {
    auto r = run(args);
    INFO(args << ": " << r.err);
    REQUIRE(r.status == 0);
    return r;
  }
  std::optional<store::IncidentLink> link_of(std::int64_t id) const {
    return store::open_store(config.store.url)->begin(store::Store::Mode::read)->incidents().link_of(id);
  }
  test::TempDir dir;
  std::string config_path;
  Config config;
};

}  // namespace

TEST_CASE("incident new prints the new id and refuses what it cannot declare, declaring nothing") {
  IncidentCli d;
  CHECK(d.run("incident new --title 'X' --agent nobody@example.com").status == 65);
  CHECK(d.run("incident new --title 'X' --agent eva@example.com --from SD-99").status == 65);
  CHECK(d.run("incident new --title 'X' --agent eva@example.com --from banana").status == 64);
  CHECK(d.run("incident new --title 'X' --agent eva@example.com --orgs 'Acme,,'").status == 64);
  CHECK(d.run("incident new --title 'X' --agent eva@example.com --orgs Nonesuch").status == 65);
  CHECK(d.run("incident new --title '  ' --agent eva@example.com").status == 64);
  CHECK(d.run("incident new --agent eva@example.com").status == 64);  // --title is required
  auto r = d.ok("incident new --title 'Inloggningen ligger nere' --agent eva@example.com --from SD-1 --orgs Acme "
                "--alert-key login --alert-key db");
  CHECK(r.out == "SD-3\n");
  auto st = store::open_store(d.config.store.url);
  auto tx = st->begin(store::Store::Mode::read);
  auto inc = tx->incidents().incident(3);
  REQUIRE(inc);
  CHECK(inc->alert_keys == std::vector<std::string>{"db", "login"});
  CHECK(inc->organisations == std::vector<std::string>{"Acme"});
  auto t = tx->ticket(3);
  CHECK(t->category == "incident");
  CHECK(t->priority == "highest");
  CHECK(t->assignee == "eva@example.com");
  CHECK(tx->tickets().size() == 3);
}

TEST_CASE("incident update adds organisations and alert keys found later, and refuses what it cannot add, adding "
          "nothing") {
  IncidentCli d;
  d.ok("org add Beta --domain beta.dk --language da");
  d.ok("incident new --title 'Nere' --agent eva@example.com --from SD-1");  // SD-3, Acme by its link
  auto incident = [&] {
    return *store::open_store(d.config.store.url)->begin(store::Store::Mode::read)->incidents().incident(3);
  };
  CHECK(d.run("incident update SD-3").status == 64);  // nothing to add
  CHECK(d.run("incident update SD-3 --orgs 'Beta,,'").status == 64);
  CHECK(d.run("incident update SD-3 --orgs Beta,Nonesuch").status == 65);  // all or nothing
  CHECK(d.run("incident update SD-2 --orgs Beta").status == 65);          // no major incident
  CHECK(d.run("incident update SD-3 --alert-key ' '").status == 65);
  CHECK(incident().organisations.empty());
  CHECK(incident().alert_keys.empty());
  CHECK(d.ok("incident update SD-3 --orgs Beta --alert-key db").out == "SD-3: affects Acme, Beta\n");
  CHECK(incident().organisations == std::vector<std::string>{"Beta"});
  CHECK(incident().alert_keys == std::vector<std::string>{"db"});
  CHECK(d.ok("incident update SD-3 --orgs all").out.find("SD-3: affects Acme, Beta") == 0);
  CHECK(incident().all_organisations);
}

TEST_CASE("ticket set --incident links and unlinks, and refuses a ticket that is no incident") {
  IncidentCli d;
  d.ok("incident new --title 'Nere' --agent eva@example.com");  // SD-3
  CHECK(d.run("ticket set SD-2 --incident SD-1").status == 65);
  CHECK_FALSE(d.link_of(2));
  d.ok("ticket set SD-2 --incident SD-3");
  REQUIRE(d.link_of(2));
  CHECK(d.link_of(2)->incident_id == 3);
  CHECK(d.link_of(2)->how == "cli");
  d.ok("ticket set SD-2 --incident none");
  CHECK(d.link_of(2)->unlinked_at);
  CHECK(d.run("ticket set SD-2 --incident none").status == 65);
  CHECK(d.run("ticket set SD-3 --incident SD-3").status == 65);  // an incident is not linked to one
}

TEST_CASE("report incident writes the incident's report and refuses what is not one") {
  IncidentCli d;
  d.ok("incident new --title 'Nere' --agent eva@example.com --from SD-1");
  auto j = nlohmann::json::parse(d.ok("report incident SD-3 --format json").out);
  CHECK(j["report"] == "incident");
  CHECK(j["linked"].size() == 1);
  CHECK(d.ok("report incident SD-3").out.rfind("Major incident SD-3: Nere\n", 0) == 0);
  CHECK(d.ok("report incident SD-3 --format html").out.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(d.run("report incident SD-1").status == 65);
  CHECK(d.run("report incident").status == 64);
  CHECK(d.run("report incident SD-3 --format csv").status == 64);
  CHECK(d.run("report incident SD-3 --month 2026-11").status == 64);
  CHECK(d.run("report incidents SD-3 --month 2026-11").status == 64);
  CHECK(d.run("report incidents").status == 64);  // --month is still required for the monthly reports
}
