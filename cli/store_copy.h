// cli/store_copy.h: `servicedesk store copy --from URL --to URL`: a desk moved from one store
// into another (SQLite to PostgreSQL and back), the upgrade path to a shared store.
//
// Contract: copies and verifies through store/copy.h and prints, per table, the rows copied,
// then "verified: N tables, row counts and content hashes match" and the next ticket's
// number; returns 0 only when the target committed. A PostgreSQL URL that is the config's
// store.url (exactly as written there) is opened with store.password_file; any other with
// libpq's own ways (PGPASSFILE, ~/.pgpass, a password in the URL). `config` is nullopt when
// no configuration file was given or found: then libpq's ways only, and the SD- prefix.
// Refusals map to the one table of cli/exit_status.h: the same store on both sides 64, an
// SQLite source that does not exist 66, a daemon running on either 75, a target holding
// data or a store of another schema 65; a verification that fails is 74.
//
// Security: messages and output name a store's file (SQLite) or its scheme (PostgreSQL),
// never a URL, which may carry a password.
#pragma once

#include "config/config.h"

#include <optional>
#include <string>

namespace sd {

int cmd_store_copy(const std::optional<Config>& config, const std::string& from, const std::string& to);

}  // namespace sd
