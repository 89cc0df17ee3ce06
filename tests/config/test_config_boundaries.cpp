// tests/config/test_config_boundaries.cpp: the I/O and parse boundaries that return
// tl::expected (issue 12): read_file (core/file.h), try_read_secret, the server URLs'
// schemes; and that the layers above still throw ConfigError with the same messages.
//
// Security notes: each test runs in its own temporary directory; secret files are made
// with the mode the test needs.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "core/file.h"
#include "tests/support/config_text.h"
#include "tests/support/tempdir.h"

#include <sys/stat.h>

#include <string>

using namespace sd;

namespace {

std::string with_line(std::string text, const std::string& line, const std::string& replacement) {
  auto p = text.find(line);
  REQUIRE(p != std::string::npos);
  return text.replace(p, line.size(), replacement);
}

}  // namespace

TEST_CASE("read_file gives the content, or why a file cannot be read, without throwing") {
  test::TempDir dir;
  auto mail = dir.write("m.eml", std::string("Subject: x\r\n\r\n\0body", 19));
  auto ok = read_file(mail);
  REQUIRE(ok);
  CHECK(ok->size() == 19);  // bytes as they are, NUL included

  auto missing = read_file(dir.file("none.eml"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().missing());
  CHECK(missing.error().path == dir.file("none.eml"));
  CHECK(missing.error().reason() == "No such file or directory");

  // A directory opens, but is no file: an error, never an empty mail or config.
  auto directory = read_file(dir.file(""));
  REQUIRE_FALSE(directory);
  CHECK(directory.error().reason() == "Is a directory");

  auto big = read_file(mail, 10);
  REQUIRE_FALSE(big);
  CHECK(big.error().reason() == "larger than allowed");
}

TEST_CASE("try_read_secret returns the refusal read_secret throws, with the same message") {
  test::TempDir dir;
  auto good = dir.write("pw", "s3cret\nsecond line\n");
  ::chmod(good.c_str(), 0600);
  auto secret = try_read_secret(good, "IMAP password file");
  REQUIRE(secret);
  CHECK(*secret == "s3cret");

  auto lax = dir.write("lax", "s3cret\n");
  ::chmod(lax.c_str(), 0644);
  auto refused = try_read_secret(lax, "IMAP password file");
  REQUIRE_FALSE(refused);
  CHECK(refused.error() == lax + ": IMAP password file is readable by others (mode 644); run: chmod 600 " + lax);
  try {
    read_secret(lax, "IMAP password file");
    FAIL("read_secret accepted a file others can read");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) == refused.error());
  }

  auto missing = try_read_secret(dir.file("none"), "SMTP password file");
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == dir.file("none") + ": cannot read SMTP password file (file missing?)");
}

TEST_CASE("A server URL of another scheme is refused with file and key, naming the schemes") {
  CHECK(test::config_error_of(with_line(test::kMinimalConfig, "url = \"imap://127.0.0.1:1143/INBOX\"",
                                        "url = \"http://127.0.0.1:1143/INBOX\"")) ==
        "sd.toml: key 'imap.url': must start with imap:// or imaps://");
  CHECK(test::config_error_of(with_line(test::kMinimalConfig, "url = \"imap://127.0.0.1:1143/INBOX\"",
                                        "url = \"imapx://127.0.0.1/INBOX\"")) ==
        "sd.toml: key 'imap.url': must start with imap:// or imaps://");
  CHECK(test::config_error_of(with_line(test::kMinimalConfig, "url = \"smtp://127.0.0.1:1025\"",
                                        "url = \"127.0.0.1:25\"")) ==
        "sd.toml: key 'smtp.url': must start with smtp:// or smtps://");
  CHECK(test::config_error_of(with_line(test::kMinimalConfig, "url = \"imap://127.0.0.1:1143/INBOX\"",
                                        "url = \"imaps://mail.example.com/INBOX\""))
            .empty());
  CHECK(test::config_error_of(with_line(test::kMinimalConfig, "url = \"smtp://127.0.0.1:1025\"",
                                        "url = \"smtps://mail.example.com\""))
            .empty());
}

TEST_CASE("A config file that cannot be read is a config error saying why") {
  test::TempDir dir;
  try {
    load_config(dir.file("none.toml"));
    FAIL("a missing config loaded");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) == dir.file("none.toml") + ": cannot read config file (No such file or directory)");
  }
  CHECK_THROWS_WITH(load_config(dir.file("")), Catch::Contains("cannot read config file (Is a directory)"));
}
