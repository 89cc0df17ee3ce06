// store/url.h: the store's URL (config key store.url), read at the parse boundary.
//
// Contract: `sqlite://PATH` names an SQLite file; PATH is everything after the two slashes,
// taken as written (no %-decoding), so sqlite:///var/lib/servicedesk/servicedesk.db is
// absolute and sqlite://servicedesk.db is relative to the working directory, exactly as
// store.path = "servicedesk.db" is. The scheme is lower case. Other schemes are refused
// (postgresql:// comes with a later version).
//
// Diagnostics: the error names the scheme and what to write instead. Security: it never
// repeats the URL, which for a server backend may hold a password.
#pragma once

#include <tl/expected.hpp>

#include <string>

namespace sd::store {

struct StoreUrl {
  enum class Backend { sqlite };
  Backend backend = Backend::sqlite;
  std::string path;  // sqlite: the database file
};

inline constexpr const char* kSqliteScheme = "sqlite://";

tl::expected<StoreUrl, std::string> parse_store_url(const std::string& url);

}  // namespace sd::store
