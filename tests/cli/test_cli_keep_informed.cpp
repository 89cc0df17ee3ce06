// tests/cli/test_cli_keep_informed.cpp: the commands of keeping customers informed (issue 16)
// through the built binary: `org set --account-agent` takes only a registered agent (a
// contact's or a stranger's address is refused with 65, two addresses with 64), `org
// hypercare extend` and `end` refuse an organisation without hypercare and record who acted
// (`--agent`, else the operator) and when, which `org show` prints.
#include <catch2/catch.hpp>

#include "desk/keep_informed.h"
#include "tests/cli/cli_run.h"
#include "tests/support/tempdir.h"

#include <nlohmann/json.hpp>

#include <chrono>

using namespace sd;
using test::contains;
using test::servicedesk;

namespace {

struct Org {
  test::TempDir dir;
  std::string config = test::write_config(dir);
  Org() {
    for (const char* cmd : {"org add Acme --domain acme.se --language sv", "agent add eva@example.com --name 'Eva Ek'",
                            "contact add --org Acme anna@acme.se --name 'Anna A'"}) {
      auto r = servicedesk(config, cmd);
      INFO(cmd << ": " << r.err);
      REQUIRE(r.status == 0);
    }
  }
  nlohmann::json show() {
    auto r = servicedesk(config, "org show Acme --json");
    REQUIRE(r.status == 0);
    return nlohmann::json::parse(r.out);
  }
};

store::Time real_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("org set --account-agent takes a registered agent only and says who set it") {
  Org o;
  auto r = servicedesk(o.config, "org set Acme --account-agent anna@acme.se");
  CHECK(r.status == 65);
  CHECK(contains(r.err, "anna@acme.se is not a registered agent (servicedesk agent add anna@acme.se)"));
  r = servicedesk(o.config, "org set Acme --account-agent mallory@evil.example");
  CHECK(r.status == 65);
  r = servicedesk(o.config, "org set Acme --account-agent 'eva@example.com,mallory@evil.example'");
  CHECK(r.status == 64);
  CHECK(o.show()["account_agent"].is_null());  // nothing of the refused changes stuck

  r = servicedesk(o.config, "org set Acme --account-agent eva@example.com --agent stranger@example.com");
  CHECK(r.status == 65);
  CHECK(contains(r.err, "--agent stranger@example.com: not a registered agent"));
  CHECK(o.show()["account_agent"].is_null());

  r = servicedesk(o.config, "org set Acme --account-agent Eva@Example.com --agent eva@example.com");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(o.show()["account_agent"] == "eva@example.com");
  r = servicedesk(o.config, "org show Acme");
  CHECK(contains(r.out, "account agent: eva@example.com\n"));
  CHECK(contains(r.out, "  eva@example.com  account-agent  (none) -> eva@example.com\n"));
  r = servicedesk(o.config, "org set Acme --account-agent -");
  CHECK(r.status == 0);
  CHECK(o.show()["account_agent"].is_null());
}

TEST_CASE("org hypercare extend and end record who and when, and refuse what has no hypercare") {
  Org o;
  auto r = servicedesk(o.config, "org hypercare extend Acme --weeks 2");
  CHECK(r.status == 65);
  CHECK(contains(r.err, "'Acme' has no hypercare period to extend"));
  CHECK(servicedesk(o.config, "org hypercare end Acme").status == 65);
  CHECK(servicedesk(o.config, "org hypercare extend Nobody --weeks 2").status == 65);

  auto start = utc_day(real_now() - 3 * 86400);
  REQUIRE(servicedesk(o.config, "org set Acme --hypercare-start " + start + " --hypercare-weeks 2").status == 0);
  CHECK(servicedesk(o.config, "org hypercare extend Acme --weeks 0").status == 64);
  r = servicedesk(o.config, "org hypercare extend Acme --weeks 1 --agent eva@example.com");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out == "hypercare of Acme extended by 1 weeks: it ends after " + utc_day(real_now() + 17 * 86400) + "\n");
  auto j = o.show();
  CHECK(j["hypercare_weeks"] == 3);
  CHECK(j["in_hypercare"] == true);

  r = servicedesk(o.config, "org hypercare end Acme");
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "hypercare of Acme ended"));
  j = o.show();
  CHECK(j["in_hypercare"] == false);
  r = servicedesk(o.config, "org show Acme");
  CHECK(contains(r.out, "  eva@example.com  hypercare-extended  by 1 weeks to 3 weeks"));
  CHECK(contains(r.out, "  operator:"));
  CHECK(contains(r.out, "hypercare-ended  early, by agreement, after 3 days"));
  CHECK(servicedesk(o.config, "org hypercare end Acme").status == 65);
  CHECK(servicedesk(o.config, "org hypercare extend Acme --weeks 1").status == 65);
}
