// cli/ops.h: the operators' commands: check-config, status, outbox, quarantine, backup.
//
// Contract: each returns 0 when it did its job (check-config: 78 when a check failed, 69
// when only a mail server could not be reached; its report, warnings too, on stdout) and throws when it did not (cli/exit_status.h maps that to the exit
// status); output is for a person, or JSON where asked. None of them needs the daemon to
// be running; all work while it runs.
#pragma once

#include "config/config.h"

#include <string>

namespace sd {

int cmd_check_config(const Config& c);
int cmd_status(const Config& c, bool as_json);
int cmd_outbox(const Config& c, const std::string& action, std::int64_t id, bool as_json);
int cmd_quarantine(const Config& c, const std::string& action, std::int64_t id, bool as_json);
int cmd_backup(const Config& c, const std::string& path);

}  // namespace sd
