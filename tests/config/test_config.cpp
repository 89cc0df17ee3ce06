#include <catch2/catch.hpp>

#include "config/config.h"
#include "store/store.h"
#include "tests/support/config_text.h"
#include "tests/support/tempdir.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>

#include <filesystem>

using namespace sd;

namespace {
const std::string& kMinimal = test::kMinimalConfig;

std::string error_of(const std::string& text) { return test::config_error_of(text); }
Config parse_config_text(const std::string& text) {
  test::TempDir dir;
  return load_config(dir.write("sd.toml", text));
}
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

namespace {

// A key and every table above it: "slas.*.first_response_hours.high" also gives "slas",
// "slas.*" and "slas.*.first_response_hours".
void add_with_parents(std::set<std::string>& out, const std::string& key) {
  for (auto dot = key.find('.'); dot != std::string::npos; dot = key.find('.', dot + 1)) out.insert(key.substr(0, dot));
  out.insert(key);
}

// The keys a TOML table sets, named as known_config_keys() names them: a calendar's or an
// SLA's own name is "*", the tables of an array of tables are "NAME[]".
void collect_keys(const toml::table& table, const std::string& prefix, std::set<std::string>& out) {
  for (auto&& [k, v] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (prefix == "calendars" || prefix == "slas") key = prefix + ".*";
    add_with_parents(out, key);
    if (auto* sub = v.as_table()) collect_keys(*sub, key, out);
    if (auto* arr = v.as_array(); arr && arr->is_array_of_tables())
      for (auto& item : *arr) collect_keys(*item.as_table(), key + "[]", out);
  }
}

std::string lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

}  // namespace

TEST_CASE("The shipped example config loads and documents a value for every key") {
  const std::string path = SD_SOURCE_DIR "/config/servicedesk.example.toml";
  auto c = load_config(path);
  CHECK(c.service.name == "Example Servicedesk");
  CHECK(c.imap.url == "imaps://mail.example.com/INBOX");
  CHECK(c.store.path == "/var/lib/servicedesk/servicedesk.db");

  // A key shown commented out ("# url = ...", an alternative or a per-day override) counts
  // as documented: it is read as if it were set.
  std::ifstream in(path);
  std::ostringstream text;
  // So is a commented array-of-tables header ("# [[maintenance.windows]]"): a commented
  // example of tables the defaults do not have.
  const std::regex commented_key(R"(^#\s*([A-Za-z_][A-Za-z0-9_]*\s*=\s*\S.*)$)");
  const std::regex commented_tables(R"(^#\s*(\[\[[A-Za-z_.]+\]\])\s*(#.*)?$)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    text << (std::regex_match(line, m, commented_key) || std::regex_match(line, m, commented_tables) ? m[1].str() : line)
         << "\n";
  }
  std::set<std::string> documented;
  collect_keys(toml::parse(text.str(), path), "", documented);

  std::set<std::string> known;
  for (const auto& k : known_config_keys()) add_with_parents(known, k);
  REQUIRE(known.count("imap.url"));
  REQUIRE(known.count("intake.rules[].alert_key"));
  REQUIRE(known.count("calendars.*.time_zone"));
  REQUIRE(known.count("slas.*.resolution_hours.highest"));

  std::vector<std::string> undocumented, unknown;
  std::set_difference(known.begin(), known.end(), documented.begin(), documented.end(), std::back_inserter(undocumented));
  std::set_difference(documented.begin(), documented.end(), known.begin(), known.end(), std::back_inserter(unknown));
  CHECK(lines(undocumented) == "");  // keys the loader reads that the example does not show
  CHECK(lines(unknown) == "");       // keys the example shows that the loader would refuse
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

TEST_CASE("The portal's section gets its documented defaults and refuses a wrong address with file, line and key") {
  auto c = parse_config_text(kMinimal);
  CHECK(c.portal.listen.empty());
  CHECK(c.portal.session_idle_minutes == 60);
  CHECK(c.portal.session_max_hours == 12);
  CHECK(c.portal.login_link_minutes == 15);
  CHECK(c.portal.login_mails_per_address_per_hour == 5);
  CHECK(c.portal.login_requests_per_client_per_minute == 10);
  auto ok = parse_config_text(kMinimal + "[portal]\nlisten = \"127.0.0.1:8080\"\nbase_url = \"https://desk.example.com/\"\n"
                                         "trusted_proxies = [\"127.0.0.1\", \"fd00::/8\"]\n");
  CHECK(ok.portal.base_url == "https://desk.example.com");  // no trailing slash: links are base_url + "/login/..."
  CHECK(error_of(kMinimal + "[portal]\nlisten = \"8080\"\n") ==
        "sd.toml:13: key 'portal.listen': \"8080\" is not HOST:PORT like \"127.0.0.1:8080\"");
  CHECK(error_of(kMinimal + "[portal]\nbase_url = \"desk.example.com\"\n") ==
        "sd.toml:13: key 'portal.base_url': must start with http:// or https://");
  CHECK(error_of(kMinimal + "[portal]\nbase_url = \"https://desk.example.com/\\\"><script>\"\n").find(
            "sd.toml:13: key 'portal.base_url'") == 0);
  CHECK(error_of(kMinimal + "[portal]\ntrusted_proxies = [\"10.0.0.0/33\"]\n") ==
        "sd.toml:13: key 'portal.trusted_proxies': \"10.0.0.0/33\" is not an IP address or a CIDR range like \"10.0.0.0/8\"");
  CHECK(error_of(kMinimal + "[portal]\ntls_key_file = \"/etc/k\"\n") ==
        "sd.toml: section [portal]: set both tls_certificate_file and tls_key_file, or neither");
  CHECK(error_of(kMinimal + "[portal]\nsession_idle_minutes = 0\n").find("sd.toml:13: key 'portal.session_idle_minutes'") == 0);
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

TEST_CASE("A credential file named %d/NAME is read from the unit's credentials directory, and only there") {
  test::TempDir dir;
  auto path = dir.write("store-password", "s3cret\n");
  chmod(path.c_str(), 0600);
  const char* before = std::getenv("CREDENTIALS_DIRECTORY");
  std::string saved = before ? before : "";
  ::unsetenv("CREDENTIALS_DIRECTORY");
  try {
    read_secret("%d/store-password", "store password file");
    FAIL("read a %d file without a credentials directory");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("CREDENTIALS_DIRECTORY is not set") != std::string::npos);
  }
  ::setenv("CREDENTIALS_DIRECTORY", std::filesystem::path(path).parent_path().c_str(), 1);
  CHECK(read_secret("%d/store-password", "store password file") == "s3cret");
  CHECK_THROWS_AS(read_secret("%d/other", "store password file"), ConfigError);
  if (before) ::setenv("CREDENTIALS_DIRECTORY", saved.c_str(), 1);
  else ::unsetenv("CREDENTIALS_DIRECTORY");
}

// --- [store]: store.url and its shorthand store.path -------------------------------------

namespace {
// The minimal config with its [store] section's body replaced by `store`.
std::string with_store(const std::string& store) {
  auto text = kMinimal;
  return text.substr(0, text.find("[store]\n")) + "[store]\n" + store;
}
}  // namespace

TEST_CASE("store.path alone gives the store URL sqlite:// plus the path, a relative path unchanged") {
  test::TempDir dir;
  auto c = load_config(dir.write("sd.toml", kMinimal));
  CHECK(c.store.path == "/tmp/sd.db");
  CHECK(c.store.url == "sqlite:///tmp/sd.db");
  c = load_config(dir.write("sd.toml", with_store("path = \"data/sd.db\"\n")));
  CHECK(c.store.path == "data/sd.db");
  CHECK(c.store.url == "sqlite://data/sd.db");
}

TEST_CASE("store.url alone names the store, and an SQLite URL gives its file for the lock") {
  test::TempDir dir;
  auto c = load_config(dir.write("sd.toml", with_store("url = \"sqlite:///var/lib/servicedesk/servicedesk.db\"\n")));
  CHECK(c.store.url == "sqlite:///var/lib/servicedesk/servicedesk.db");
  CHECK(c.store.path == "/var/lib/servicedesk/servicedesk.db");
}

TEST_CASE("The store opens from the URL the config gives") {
  test::TempDir dir;
  auto c = load_config(dir.write("sd.toml", with_store("url = \"sqlite://" + dir.file("sd.db") + "\"\n")));
  auto st = store::open_store(c.store.url);
  CHECK(st->begin(store::Store::Mode::read)->tickets().empty());
  CHECK(std::filesystem::exists(c.store.path));
}

TEST_CASE("store.url and store.path together are refused with file, line and key") {
  CHECK(error_of(kMinimal + "url = \"sqlite:///tmp/other.db\"\n") ==
        "sd.toml:12: key 'store.url': give store.url or its shorthand store.path, not both");
  CHECK(error_of(with_store("url = \"sqlite:///tmp/sd.db\"\npath = \"/tmp/sd.db\"\n")) ==
        "sd.toml:11: key 'store.url': give store.url or its shorthand store.path, not both");
}

TEST_CASE("A config without store.url or store.path is refused, naming both") {
  CHECK(error_of(with_store("")) == "sd.toml: required key 'store.url' (or its shorthand 'store.path') is missing");
}

TEST_CASE("A store URL of another scheme loads without an SQLite file and is refused when the store opens") {
  test::TempDir dir;
  auto c = load_config(dir.write("sd.toml", with_store("url = \"mysql://desk@db.example.com/servicedesk\"\n")));
  CHECK(c.store.path.empty());
  try {
    store::open_store(c.store.url);
    FAIL("a mysql:// store was opened");
  } catch (const store::StoreError& e) {
    CHECK_FALSE(e.transient);
    CHECK(std::string(e.what()).find("'mysql' is not supported") != std::string::npos);
  }
}

TEST_CASE("A PostgreSQL store's URL and its password file load as given") {
  test::TempDir dir;
  auto pw = dir.write("pw", "s3cret\n");
  ::chmod(pw.c_str(), 0600);
  auto c = load_config(dir.write("sd.toml", with_store("url = \"postgresql://desk@db.example.com/servicedesk\"\n"
                                                       "password_file = \"" + pw + "\"\n")));
  CHECK(c.store.path.empty());
  CHECK(c.store.url == "postgresql://desk@db.example.com/servicedesk");
  CHECK(c.store.password_file == pw);
}
