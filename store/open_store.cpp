// store/open_store.cpp: the store's URL and the choice of backend (store.h: open_store).
//
// Diagnostics: a URL this build cannot open is a non-transient StoreError naming the
// schemes it can. Security: messages name a URL's scheme, never the URL (store/url.h).
#include "store/store.h"
#include "store/url.h"

#include <fmt/format.h>

#include <string_view>

namespace sd::store {

tl::expected<StoreUrl, std::string> parse_store_url(const std::string& url) {
  constexpr std::string_view kSupported =
      "the store URL must be sqlite:///PATH/TO/FILE.db or postgresql://USER@HOST:PORT/DATABASE";
  auto sep = url.find("://");
  if (sep == std::string::npos || sep == 0)
    return tl::unexpected(fmt::format("store URL without a scheme: {}", kSupported));
  std::string_view scheme(url.data(), sep);
  // libpq takes a C string: a NUL would silently cut the URL short.
  if (url.find('\0') != std::string::npos)
    return tl::unexpected(std::string("store URL: it holds a NUL byte"));
  StoreUrl out;
  if (scheme == "postgresql" || scheme == "postgres") {
    out.backend = StoreUrl::Backend::postgresql;
    out.conninfo = url;
    return out;
  }
  if (url.compare(0, sep + 3, kSqliteScheme) != 0)
    return tl::unexpected(fmt::format("store URL scheme '{}' is not supported: {}", scheme, kSupported));
  out.backend = StoreUrl::Backend::sqlite;
  out.path = url.substr(sep + 3);
  if (out.path.empty()) return tl::unexpected(fmt::format("store URL names no database file: {}", kSupported));
  return out;
}

std::unique_ptr<Store> open_store(const std::string& url, const StoreOptions& extra) {
  auto parsed = parse_store_url(url);
  if (!parsed) throw StoreError(parsed.error(), false);
  StoreOptions o = extra;
  switch (parsed->backend) {
    case StoreUrl::Backend::sqlite:
      o.path = parsed->path;
      return open_sqlite_store(o);
    case StoreUrl::Backend::postgresql:
      o.conninfo = parsed->conninfo;
      return open_pg_store(o);
  }
  throw StoreError("store URL: unknown backend", false);  // unreachable: the switch covers every Backend
}

}  // namespace sd::store
