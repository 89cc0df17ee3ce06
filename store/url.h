// store/url.h: the store's URL (config key store.url), read at the parse boundary.
//
// Contract: `sqlite://PATH` names an SQLite file; PATH is everything after the two slashes,
// taken as written (no %-decoding), so sqlite:///var/lib/servicedesk/servicedesk.db is
// absolute and sqlite://servicedesk.db is relative to the working directory, exactly as
// store.path = "servicedesk.db" is. `postgresql://...` (or `postgres://...`) is a libpq
// connection URI, given to libpq as it is (user, host, port, database, ?sslmode=... and the
// other parameters libpq knows). The scheme is lower case. Other schemes are refused.
//
// Diagnostics: the error names the scheme and what to write instead. Security: it never
// repeats the URL, which for PostgreSQL may hold a password (better: store.password_file).
#pragma once

#include <tl/expected.hpp>

#include <string>

namespace sd::store {

struct StoreUrl {
  enum class Backend { sqlite, postgresql };
  Backend backend = Backend::sqlite;
  std::string path;      // sqlite: the database file
  std::string conninfo;  // postgresql: the URI for libpq
};

inline constexpr const char* kSqliteScheme = "sqlite://";

tl::expected<StoreUrl, std::string> parse_store_url(const std::string& url);

}  // namespace sd::store
