#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "config/config.h"
#include "tests/support/config_text.h"
#include "tests/support/tempdir.h"

#include <sys/stat.h>

using namespace sd;

namespace {
const std::string& kMinimal = test::kMinimalConfig;

std::string error_of(const std::string& text) { return test::config_error_of(text); }
}  // namespace

TEST_CASE("A minimal config gets every documented default") {
  test::TempDir dir;
  auto c = load_config(dir.write("sd.toml", kMinimal));
  CHECK(c.service.address == "desk@example.com");
  CHECK(c.service.ticket_prefix == "SD");
  CHECK(c.imap.poll_interval_s == 30);
  CHECK(c.imap.after_ingest == "seen");
  CHECK(c.smtp.username.empty());
  CHECK(c.intake.acks_per_address_per_hour == 3);
  CHECK(c.limits.max_parts == 1000);
  CHECK(c.move_target().empty());
}

TEST_CASE("The shipped example config loads and documents a value for every key") {
  auto c = load_config(SD_SOURCE_DIR "/config/servicedesk.example.toml");
  CHECK(c.service.name == "Example Servicedesk");
  CHECK(c.imap.url == "imaps://mail.example.com/INBOX");
  CHECK(c.store.path == "/var/lib/servicedesk/servicedesk.db");
}

TEST_CASE("An unknown key is refused with file, line and key") {
  CHECK(error_of(kMinimal + "[imap2]\nx = 1\n") == "sd.toml:12: unknown key 'imap2'");
  auto text = kMinimal;
  text.insert(text.find("[smtp]"), "pol_interval_s = 5\n");
  CHECK(error_of(text) == "sd.toml:8: unknown key 'imap.pol_interval_s'");
}

TEST_CASE("A wrong type is refused with file, line and key") {
  auto text = kMinimal;
  text.insert(text.find("[smtp]"), "poll_interval_s = \"30\"\n");
  CHECK(error_of(text) == "sd.toml:8: key 'imap.poll_interval_s': must be an integer");
  text = kMinimal;
  text.insert(text.find("[smtp]"), "after_ingest = \"archive\"\n");
  CHECK(error_of(text) == "sd.toml:8: key 'imap.after_ingest': must be \"seen\", \"delete\" or \"move:FOLDER\"");
}

TEST_CASE("A missing required key is named") {
  auto text = kMinimal;
  text.erase(text.find("username"), std::string("username = \"desk\"\n").size());
  CHECK(error_of(text) == "sd.toml: required key 'imap.username' is missing");
}

TEST_CASE("A TOML syntax error names the line") {
  auto msg = error_of(kMinimal + "[store\n");
  CHECK(msg.rfind("sd.toml:12:", 0) == 0);
}

TEST_CASE("A credential file readable by others is refused with the fix") {
  test::TempDir dir;
  auto path = dir.write("pw", "secret\n");
  chmod(path.c_str(), 0644);
  try {
    read_secret(path, "IMAP password file");
    FAIL("accepted a world-readable secret");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("chmod 600") != std::string::npos);
  }
  chmod(path.c_str(), 0660);
  CHECK_THROWS_AS(read_secret(path, "IMAP password file"), ConfigError);
  chmod(path.c_str(), 0440);  // group read only inside $CREDENTIALS_DIRECTORY (test_daemon_files.cpp)
  CHECK_THROWS_AS(read_secret(path, "IMAP password file"), ConfigError);
  chmod(path.c_str(), 0600);
  CHECK(read_secret(path, "IMAP password file") == "secret");
  CHECK_THROWS_AS(read_secret(dir.file("missing"), "x"), ConfigError);
}
