// tests/support/config_text.h: the smallest config text load_config() accepts, and the
// message a config text is refused with, for tests of the config loader.
#pragma once

#include "config/config.h"
#include "tests/support/tempdir.h"

#include <string>

namespace sd::test {

inline const std::string kMinimalConfig = R"(
[service]
address = "desk@example.com"
[imap]
url = "imap://127.0.0.1:1143/INBOX"
username = "desk"
password_file = "/tmp/pw"
[smtp]
url = "smtp://127.0.0.1:1025"
[store]
path = "/tmp/sd.db"
)";

// load_config()'s refusal of `text`, from the file name on (the temporary directory left
// out); "" when it loads.
inline std::string config_error_of(const std::string& text) {
  TempDir dir;
  try {
    load_config(dir.write("sd.toml", text));
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    auto p = msg.find("sd.toml");
    return p == std::string::npos ? msg : msg.substr(p);
  }
  return "";
}

}  // namespace sd::test
