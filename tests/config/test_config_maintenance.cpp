// tests/config/test_config_maintenance.cpp: [notices] lead_days and [[maintenance.windows]]:
// their defaults, the seed's windows as the example shows them, and each wrong line named
// with file and line.
//
// Security notes: test code; configs are written to a private temporary directory.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "tests/support/config_text.h"
#include "tests/support/tempdir.h"

using namespace sd;

namespace {
Config load(const std::string& extra) {
  test::TempDir dir;
  return load_config(dir.write("sd.toml", test::kMinimalConfig + extra));
}
std::string error_of(const std::string& extra) { return test::config_error_of(test::kMinimalConfig + extra); }
// kMinimalConfig ends on line 11: the first line of `extra` is line 12.
}  // namespace

TEST_CASE("Without [notices] or [maintenance] notices go out 7 days ahead and there are no recurring windows") {
  auto c = load("");
  CHECK(c.notices.lead_days == 7);
  CHECK(c.maintenance.windows.empty());
  CHECK(builtin_config().notices.lead_days == 7);
}

TEST_CASE("The seed's windows load: daily 04:00-05:00 and the first Saturday 09:00-18:00 on se, integrations 05:00-08:00") {
  auto c = load(R"(
[notices]
lead_days = 10
[[maintenance.windows]]
kind = "infrastructure"
calendar = "se"
days = "daily"
start = "04:00"
end = "05:00"
[[maintenance.windows]]
kind = "infrastructure"
calendar = "se"
days = "first-saturday"
start = "09:00"
end = "18:00"
[[maintenance.windows]]
kind = "integrations"
calendar = "se"
days = "daily"
start = "05:00"
end = "08:00"
[[maintenance.windows]]
kind = "upgrade"
calendar = "dk"
days = "sunday"
start = "23:00"
end = "01:30"
[[maintenance.windows]]
kind = "upgrade"
calendar = "dk"
days = "last-friday"
start = "20:00"
end = "21:00"
)");
  CHECK(c.notices.lead_days == 10);
  REQUIRE(c.maintenance.windows.size() == 5);
  const auto& daily = c.maintenance.windows[0];
  CHECK(daily.kind == "infrastructure");
  CHECK(daily.calendar == "se");
  CHECK(daily.weekday == -1);
  CHECK(daily.start_minute == 4 * 60);
  CHECK(daily.end_minute == 5 * 60);
  CHECK(daily.line == 15);
  const auto& saturday = c.maintenance.windows[1];
  CHECK(saturday.weekday == 5);
  CHECK(saturday.ordinal == 1);
  CHECK(saturday.days == "first-saturday");
  CHECK(saturday.end_minute == 18 * 60);
  CHECK(c.maintenance.windows[2].kind == "integrations");
  const auto& overnight = c.maintenance.windows[3];
  CHECK(overnight.weekday == 6);
  CHECK(overnight.ordinal == 0);
  CHECK(overnight.start_minute == 23 * 60);
  CHECK(overnight.end_minute == 90);  // before the start: on the next day
  CHECK(c.maintenance.windows[4].ordinal == -1);
}

TEST_CASE("A wrong maintenance window is refused naming the file, the line and the key") {
  const std::string head = "[[maintenance.windows]]\nkind = \"infrastructure\"\ncalendar = \"se\"\n";
  CHECK(error_of(head + "days = \"daily\"\nstart = \"4:00\"\nend = \"05:00\"\n") ==
        "sd.toml:16: key 'maintenance.windows[1].start': \"4:00\" is not a time like \"04:00\"");
  CHECK(error_of(head + "days = \"daily\"\nstart = \"04:00\"\nend = \"24:00\"\n") ==
        "sd.toml:17: key 'maintenance.windows[1].end': \"24:00\" is not a time like \"05:00\"");
  CHECK(error_of(head + "days = \"daily\"\nstart = \"04:00\"\nend = \"04:00\"\n") ==
        "sd.toml:17: key 'maintenance.windows[1].end': must differ from start (an end before the start is on the "
        "next day)");
  CHECK(error_of(head + "days = \"fifth-saturday\"\nstart = \"04:00\"\nend = \"05:00\"\n") ==
        "sd.toml:15: key 'maintenance.windows[1].days': \"fifth-saturday\" is not \"daily\", a weekday like "
        "\"saturday\" or one like \"first-saturday\" (first, second, third, fourth or last)");
  CHECK(error_of(head + "days = \"Saturday\"\nstart = \"04:00\"\nend = \"05:00\"\n").find("sd.toml:15: key "
                                                                                          "'maintenance.windows[1].days'") == 0);
  CHECK(error_of("[[maintenance.windows]]\nkind = \"infrastructure\"\ncalendar = \"mars\"\ndays = \"daily\"\n"
                 "start = \"04:00\"\nend = \"05:00\"\n") ==
        "sd.toml:14: key 'maintenance.windows[1].calendar': no calendar named 'mars'");
  CHECK(error_of("[[maintenance.windows]]\nkind = \"emergency\"\ncalendar = \"se\"\ndays = \"daily\"\n"
                 "start = \"04:00\"\nend = \"05:00\"\n") ==
        "sd.toml:13: key 'maintenance.windows[1].kind': must be \"infrastructure\", \"integrations\" or \"upgrade\"");
  CHECK(error_of("[[maintenance.windows]]\ncalendar = \"se\"\ndays = \"daily\"\nstart = \"04:00\"\nend = \"05:00\"\n") ==
        "sd.toml:12: required key 'maintenance.windows[1].kind' is missing");
  CHECK(error_of(head + "days = \"daily\"\nstart = \"04:00\"\nend = \"05:00\"\nduration = 60\n") ==
        "sd.toml:18: unknown key 'maintenance.windows[1].duration'");
  CHECK(error_of("[maintenance]\nwindows = \"daily\"\n") ==
        "sd.toml:13: key 'maintenance.windows': must be an array of tables ([[maintenance.windows]])");
  CHECK(error_of("[notices]\nlead_days = -1\n") == "sd.toml:13: key 'notices.lead_days': must be between 0 and 365");
  CHECK(error_of("[notices]\nlead_day = 7\n") == "sd.toml:13: unknown key 'notices.lead_day'");
}

TEST_CASE("The maintenance keys are known keys") {
  auto keys = known_config_keys();
  for (auto k : {"notices.lead_days", "maintenance.windows[].kind", "maintenance.windows[].calendar",
                 "maintenance.windows[].days", "maintenance.windows[].start", "maintenance.windows[].end"})
    CHECK(std::find(keys.begin(), keys.end(), k) != keys.end());
}
