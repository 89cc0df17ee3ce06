// tests/cli/test_cli_files.cpp: the files the desk reads and writes, as an attacker on
// the same host would try them: credential files' modes (group read only inside systemd's
// $CREDENTIALS_DIRECTORY), the token secret's length for `run`, the modes of the store and
// of backups under a lax umask, backups onto a symlink, the STARTTLS exemption's loopback
// test, and [test] config keys outside tests.
//
// Security notes: each test runs in its own temporary directory; the umask and the
// environment variables a test changes are put back when it ends.
#include <catch2/catch.hpp>

#include "cli/exit_status.h"
#include "cli/ops.h"
#include "config/config.h"
#include "core/loopback.h"
#include "store/store.h"
#include "tests/support/config_text.h"
#include "tests/support/desk_config.h"
#include "tests/support/tempdir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>

using namespace sd;

namespace {

// Sets (or, with nullopt, removes) an environment variable for one test.
class EnvVar {
 public:
  EnvVar(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ~EnvVar() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class Umask {
 public:
  explicit Umask(mode_t m) : old_(::umask(m)) {}
  ~Umask() { ::umask(old_); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;

 private:
  mode_t old_;
};

unsigned mode_of(const std::string& path) {
  struct stat st{};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string secret_file(const test::TempDir& dir, const std::string& name, const std::string& content, mode_t mode) {
  auto path = dir.write(name, content);
  ::chmod(path.c_str(), mode);
  return path;
}

std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A desk whose config file and IMAP password are private, and whose token secret is `secret`.
Config desk_for_run(const test::TempDir& dir, const std::string& secret) {
  Config c = test::desk_config(dir);
  c.path = secret_file(dir, "sd.toml", "# the config\n", 0600);
  c.imap.password_file = secret_file(dir, "imap.pass", "imap-password\n", 0600);
  c.agents.token_secret_file = secret_file(dir, "token.secret", secret, 0600);
  return c;
}

const std::string kDesk = test::kMinimalConfig.substr(1);  // from "[service]" on

}  // namespace

// --- finding 9: credential files and the token secret -------------------------------------

TEST_CASE("A group-readable password file outside the credentials directory is refused, naming the file and the fix") {
  test::TempDir dir;
  EnvVar no_credentials("CREDENTIALS_DIRECTORY", std::nullopt);
  for (mode_t mode : {0640, 0440}) {
    auto path = secret_file(dir, "imap.pass", "secret\n", mode);
    auto msg = refusal([&] { read_secret(path, "IMAP password file"); });
    CAPTURE(mode, msg);
    CHECK(msg.rfind(path + ": IMAP password file is readable by its group", 0) == 0);
    CHECK(contains(msg, "run: chmod 600 " + path));
    CHECK(contains(msg, "$CREDENTIALS_DIRECTORY"));
  }
  // Another service's credentials directory does not make a file elsewhere acceptable.
  test::TempDir credentials;
  EnvVar elsewhere("CREDENTIALS_DIRECTORY", credentials.file(""));
  auto path = secret_file(dir, "imap.pass", "secret\n", 0640);
  CHECK(contains(refusal([&] { read_secret(path, "IMAP password file"); }), "readable by its group"));
}

TEST_CASE("A group-readable credential inside systemd's credentials directory is read") {
  test::TempDir credentials;
  EnvVar dir("CREDENTIALS_DIRECTORY", credentials.file(""));
  for (mode_t mode : {0640, 0440, 0400, 0600}) {
    auto path = secret_file(credentials, "imap", "secret\r\nsecond line\n", mode);
    CAPTURE(mode);
    CHECK(read_secret(path, "IMAP password file") == "secret");
  }
  // Group write or any access for others stays refused there too.
  auto path = secret_file(credentials, "imap", "secret\n", 0660);
  CHECK(contains(refusal([&] { read_secret(path, "IMAP password file"); }), "writable by its group"));
  ::chmod(path.c_str(), 0604);
  CHECK(contains(refusal([&] { read_secret(path, "IMAP password file"); }), "readable by others"));
}

TEST_CASE("A symlink in the credentials directory to a group-readable file elsewhere is refused") {
  test::TempDir credentials, elsewhere;
  EnvVar dir("CREDENTIALS_DIRECTORY", credentials.file(""));
  auto real = secret_file(elsewhere, "imap.pass", "secret\n", 0640);
  std::filesystem::create_symlink(real, credentials.file("imap"));
  CHECK(contains(refusal([&] { read_secret(credentials.file("imap"), "IMAP password file"); }), "readable by its group"));
  // And a path that only spells the directory's name ("DIR/../x") is judged where it leads.
  auto elsewhere_name = std::filesystem::path(elsewhere.file("")).parent_path().filename().string();
  auto dotdot = credentials.file("../" + elsewhere_name + "/imap.pass");
  CHECK(contains(refusal([&] { read_secret(dotdot, "IMAP password file"); }), "readable by its group"));
}

TEST_CASE("A password path that is a directory or missing is refused with what is wrong") {
  test::TempDir dir;
  CHECK(contains(refusal([&] { read_secret(dir.file(""), "IMAP password file"); }), "not a regular file"));
  CHECK(contains(refusal([&] { read_secret(dir.file("missing"), "IMAP password file"); }), "file missing?"));
}

TEST_CASE("run refuses a token secret shorter than 16 bytes and says how to make one") {
  test::TempDir dir;
  EnvVar no_credentials("CREDENTIALS_DIRECTORY", std::nullopt);
  for (std::string secret : {"x", "x\n", "0123456789abcde\n"}) {
    auto c = desk_for_run(dir, secret);
    auto msg = refusal([&] { check_files_for_run(c); });
    CAPTURE(secret, msg);
    CHECK(msg.rfind(c.agents.token_secret_file + ": agents' token secret is", 0) == 0);
    CHECK(contains(msg, "shorter than 16"));
    CHECK(contains(msg, "head -c 32 /dev/urandom | base64 > " + c.agents.token_secret_file));
  }
}

TEST_CASE("run accepts an empty token secret (tokens off) and one of 16 bytes or more") {
  test::TempDir dir;
  for (std::string secret : {"", "\n", "0123456789abcdef\n", "a-much-longer-secret-from-urandom-base64==\n"}) {
    auto c = desk_for_run(dir, secret);
    CAPTURE(secret);
    CHECK_NOTHROW(check_files_for_run(c));
  }
  auto c = desk_for_run(dir, "0123456789abcdef\n");
  c.agents.token_secret_file.clear();  // not configured at all
  CHECK_NOTHROW(check_files_for_run(c));
}

TEST_CASE("run refuses a group-readable token secret and SMTP password outside the credentials directory") {
  test::TempDir dir;
  EnvVar no_credentials("CREDENTIALS_DIRECTORY", std::nullopt);
  auto c = desk_for_run(dir, "0123456789abcdef0123\n");
  ::chmod(c.agents.token_secret_file.c_str(), 0640);
  CHECK(contains(refusal([&] { check_files_for_run(c); }), "token.secret: agents' token secret is readable by its group"));
  ::chmod(c.agents.token_secret_file.c_str(), 0600);
  c.smtp.password_file = secret_file(dir, "smtp.pass", "pw\n", 0640);
  CHECK(contains(refusal([&] { check_files_for_run(c); }), "smtp.pass: SMTP password file is readable by its group"));
}

// --- finding 10: modes of what the desk creates ------------------------------------------

TEST_CASE("A new store and its -wal and -shm are mode 0600 under umask 022") {
  test::TempDir dir;
  Umask lax(022);
  auto path = dir.file("sd.db");
  auto st = store::open_sqlite_store({path});
  {
    auto tx = st->begin(store::Store::Mode::write);
    tx->commit();
  }
  CHECK(mode_of(path) == 0600);
  CHECK(mode_of(path + "-wal") == 0600);
  CHECK(mode_of(path + "-shm") == 0600);
}

TEST_CASE("A backup is mode 0600 under umask 022 from its first byte") {
  test::TempDir dir;
  Umask lax(022);
  auto st = store::open_sqlite_store({dir.file("sd.db")});
  auto copy = dir.file("copy.db");
  st->backup(copy);
  CHECK(mode_of(copy) == 0600);
  CHECK_FALSE(std::filesystem::exists(copy + "-journal"));
  auto again = store::open_sqlite_store({copy});
  CHECK(again->begin(store::Store::Mode::read)->tickets().empty());
}

TEST_CASE("A backup onto a symlink is refused and the file it points at is untouched") {
  test::TempDir dir;
  auto st = store::open_sqlite_store({dir.file("sd.db")});
  auto victim = secret_file(dir, "victim", "not yours\n", 0644);
  auto link = dir.file("backup.db");
  std::filesystem::create_symlink(victim, link);
  try {
    st->backup(link);
    FAIL("wrote a backup through a symlink");
  } catch (const store::StoreError& e) {
    CHECK(e.refused);
    CHECK(contains(e.what(), "symbolic link"));
  }
  std::ifstream in(victim);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == "not yours\n");
  CHECK(mode_of(victim) == 0644);
  CHECK(std::filesystem::is_symlink(link));

  // A dangling symlink is not followed to create its target either.
  auto dangling = dir.file("dangling.db");
  std::filesystem::create_symlink(dir.file("created-elsewhere.db"), dangling);
  CHECK_THROWS_AS(st->backup(dangling), store::StoreError);
  CHECK_FALSE(std::filesystem::exists(dir.file("created-elsewhere.db")));
}

TEST_CASE("The backup command refuses a symlink, dangling or not, with exit 73") {
  test::TempDir dir;
  Config c = test::desk_config(dir);
  auto dangling = dir.file("backup.db");
  std::filesystem::create_symlink(dir.file("target.db"), dangling);
  CHECK(run_command([&] { return cmd_backup(c, dangling); }) == 73);
  CHECK_FALSE(std::filesystem::exists(dir.file("target.db")));
  Umask lax(022);
  CHECK(cmd_backup(c, dir.file("fresh.db")) == 0);
  CHECK(mode_of(dir.file("fresh.db")) == 0600);
}

// --- finding 13: the STARTTLS exemption -------------------------------------------------

TEST_CASE("Only literal loopback addresses and exactly localhost are exempt from STARTTLS") {
  for (const char* url : {"imap://127.0.0.1/INBOX", "imap://127.0.0.1:1143/INBOX", "imap://127.8.9.10:143/INBOX",
                          "imap://localhost/INBOX", "imap://localhost:993/INBOX", "imap://LOCALHOST/INBOX",
                          "imap://LocalHost:143", "imap://[::1]:143/INBOX", "imap://[0:0:0:0:0:0:0:1]/INBOX",
                          "imap://user@localhost/INBOX", "imap://user:pw@127.0.0.1:143/INBOX",
                          "imap://desk%40example.com@localhost/INBOX", "smtp://127.0.0.1:1025"}) {
    CAPTURE(url);
    CHECK(notify::is_loopback_url(url));
  }
}

TEST_CASE("Host names that only start like loopback are not exempt from STARTTLS") {
  for (const char* url : {
           "imap://localhost.corp.example/INBOX", "imap://LOCALHOST.CORP.EXAMPLE/INBOX",
           "imap://localhost.corp.example:993/INBOX", "imap://localhost.corp.localhost/INBOX",
           "imap://127.0.0.1.evil.example/INBOX", "imap://127.evil.example/INBOX", "imap://127.0.0.1.nip.io:143/",
           "imap://localhostx/INBOX", "imap://xlocalhost/INBOX", "imap://localhost./INBOX",
           "imap://localhost@evil.example/INBOX", "imap://localhost:993@evil.example/INBOX",
           "imap://127.0.0.1@evil.example/INBOX", "imap://user@localhost@evil.example/INBOX",
           "imap://evil.example\\@localhost/INBOX", "imap://[::1].evil.example/INBOX", "imap://[::1]evil/INBOX",
           "imap://[::ffff:127.0.0.1]/INBOX", "imap://[fe80::1%25lo]/INBOX", "imap://127.1/INBOX",
           "imap://0x7f.0.0.1/INBOX", "imap://2130706433/INBOX", "imap://%6cocalhost/INBOX",
           "imap://128.0.0.1/INBOX", "imap://126.255.255.255/INBOX", "imap://localhost:abc/INBOX",
           "imap://localhost:/INBOX", "imap://mail.example.com/INBOX", "imap://", "imap:/localhost/INBOX", "",
       }) {
    CAPTURE(url);
    CHECK_FALSE(notify::is_loopback_url(url));
  }
}

// --- finding 14: [test] keys -------------------------------------------------------------

TEST_CASE("A [test] key away from its default is refused with file, line and key outside tests") {
  test::TempDir dir;
  EnvVar off("SERVICEDESK_TEST_KEYS", std::nullopt);
  auto fault = dir.write("fault.toml", kDesk + "[test]\nfault = \"crash_after_commit\"\n");
  auto msg = refusal([&] { load_config(fault); });
  CHECK(msg.rfind(fault + ":12: key 'test.fault': a test aid, refused outside tests", 0) == 0);
  CHECK(contains(msg, "SERVICEDESK_TEST_KEYS=1"));
  auto clock = dir.write("clock.toml", kDesk + "[test]\nfault = \"\"\nclock_offset_s = 86400\n");
  msg = refusal([&] { load_config(clock); });
  CHECK(msg.rfind(clock + ":13: key 'test.clock_offset_s': a test aid, refused outside tests", 0) == 0);
  EnvVar other("SERVICEDESK_TEST_KEYS", "yes");  // only exactly 1 opens the gate
  CHECK_THROWS_AS(load_config(fault), ConfigError);
}

TEST_CASE("[test] keys load with SERVICEDESK_TEST_KEYS=1, and at their defaults without it") {
  test::TempDir dir;
  {
    EnvVar on("SERVICEDESK_TEST_KEYS", "1");
    auto c = load_config(dir.write("on.toml", kDesk + "[test]\nfault = \"crash_after_commit\"\nclock_offset_s = -60\n"));
    CHECK(c.test.fault == "crash_after_commit");
    CHECK(c.test.clock_offset_s == -60);
  }
  EnvVar off("SERVICEDESK_TEST_KEYS", std::nullopt);
  CHECK_NOTHROW(load_config(dir.write("defaults.toml", kDesk + "[test]\nfault = \"\"\nclock_offset_s = 0\n")));
  CHECK_NOTHROW(load_config(SD_SOURCE_DIR "/config/servicedesk.example.toml"));
}
