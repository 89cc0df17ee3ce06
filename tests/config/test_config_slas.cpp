// tests/config/test_config_slas.cpp: the built-in SLAs (standard and hypercare on the Danish
// calendar, standard-se and hypercare-se on the Swedish one) and how an operator's [slas]
// tables reach the Swedish twins; the [sla] keys of the SLA mails' recipients.
//
// Security notes: test code; configs are written to a private temporary directory.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "tests/support/config_text.h"
#include "tests/support/tempdir.h"

#include <algorithm>

using namespace sd;

namespace {
Config load(const std::string& extra) {
  test::TempDir dir;
  return load_config(dir.write("sd.toml", test::kMinimalConfig + extra));
}
}  // namespace

TEST_CASE("The built-in SLAs are standard and hypercare on the dk calendar and their -se twins on the se calendar") {
  for (const auto& c : {builtin_config(), load("")}) {
    REQUIRE(c.slas.count("standard"));
    REQUIRE(c.slas.count("hypercare"));
    REQUIRE(c.slas.count("standard-se"));
    REQUIRE(c.slas.count("hypercare-se"));
    CHECK(c.slas.at("standard").calendar == "dk");
    CHECK(c.slas.at("hypercare").calendar == "dk");
    CHECK(c.slas.at("standard-se").calendar == "se");
    CHECK(c.slas.at("hypercare-se").calendar == "se");
    CHECK(c.calendars.at("se").holiday_rules == "SE");
    // Same targets: 1, 4, 8, 12, 16 business hours; hypercare the next priority up's.
    CHECK(c.slas.at("standard-se").first_response == c.slas.at("standard").first_response);
    CHECK(c.slas.at("hypercare-se").first_response == c.slas.at("hypercare").first_response);
    auto medium = static_cast<std::size_t>(sla::Priority::medium);
    CHECK(c.slas.at("standard-se").first_response[medium] == sla::Seconds(8 * 3600));
    CHECK(c.slas.at("hypercare-se").first_response[medium] == sla::Seconds(4 * 3600));
  }
}

TEST_CASE("An operator's standard SLA carries its targets and escalation address to standard-se on the se calendar") {
  auto c = load(R"(
[slas.standard]
first_response_hours = { medium = 6 }
escalation_address = "boss@example.com"
)");
  auto medium = static_cast<std::size_t>(sla::Priority::medium);
  CHECK(c.slas.at("standard").first_response[medium] == sla::Seconds(6 * 3600));
  CHECK(c.slas.at("standard-se").first_response[medium] == sla::Seconds(6 * 3600));
  CHECK(c.slas.at("standard-se").escalation_address == "boss@example.com");
  CHECK(c.slas.at("standard-se").calendar == "se");
  CHECK(c.slas.at("hypercare-se").escalation_address.empty());  // hypercare was not redefined
}

TEST_CASE("A standard-se the operator defines is taken as written") {
  auto c = load(R"(
[slas.standard]
escalation_address = "boss@example.com"
[slas.standard-se]
calendar = "se"
escalation_address = "chef@example.se"
first_response_hours = { medium = 9 }
)");
  CHECK(c.slas.at("standard-se").escalation_address == "chef@example.se");
  CHECK(c.slas.at("standard-se").first_response[static_cast<std::size_t>(sla::Priority::medium)] ==
        sla::Seconds(9 * 3600));
}

TEST_CASE("sla.agents_address and the SLAs' escalation_address are read and listed as known keys") {
  auto c = load(R"(
[sla]
agents_address = "agents@example.com"
[slas.hypercare-se]
escalation_address = "jour@example.se"
)");
  CHECK(c.sla.agents_address == "agents@example.com");
  CHECK(c.slas.at("hypercare-se").escalation_address == "jour@example.se");
  CHECK(c.slas.at("hypercare-se").calendar == "se");  // a redefinition starts from the built-in SLA
  auto keys = known_config_keys();
  CHECK(std::count(keys.begin(), keys.end(), "sla.agents_address") == 1);
  CHECK(std::count(keys.begin(), keys.end(), "slas.*.escalation_address") == 1);
}
