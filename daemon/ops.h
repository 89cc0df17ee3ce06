// daemon/ops.h: the operators' commands: check-config, status, outbox, quarantine, backup.
//
// Contract: each returns the process exit code and prints for a person (or JSON where
// asked). None of them needs the daemon to be running; all work while it runs.
#pragma once

#include "daemon/config.h"

#include <string>

namespace sd {

int cmd_check_config(const Config& c);
int cmd_status(const Config& c, bool as_json);
int cmd_outbox(const Config& c, const std::string& action, std::int64_t id, bool as_json);
int cmd_quarantine(const Config& c, const std::string& action, std::int64_t id, bool as_json);
int cmd_backup(const Config& c, const std::string& path);

// Refuses (ConfigError) a config file that others may read or write: it names the
// credential files and the store. Used when the daemon starts.
void check_config_file_mode(const std::string& path);

// A non-empty agents' token secret shorter than this is refused by `run`.
inline constexpr std::size_t kMinTokenSecretBytes = 16;

// What `run` refuses before the daemon starts (ConfigError, naming the file and the fix):
// the config's mode (check_config_file_mode), each credential file's (read_secret), and a
// non-empty token secret under kMinTokenSecretBytes. Empty means tokens are off.
void check_files_for_run(const Config& c);

}  // namespace sd
