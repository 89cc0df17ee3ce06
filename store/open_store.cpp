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
  constexpr std::string_view kSupported = "the store URL must be sqlite:///PATH/TO/FILE.db (postgresql:// comes with a later version)";
  auto sep = url.find("://");
  if (sep == std::string::npos || sep == 0)
    return tl::unexpected(fmt::format("store URL without a scheme: {}", kSupported));
  std::string_view scheme(url.data(), sep);
  if (url.compare(0, sep + 3, kSqliteScheme) != 0)
    return tl::unexpected(fmt::format("store URL scheme '{}' is not supported: {}", scheme, kSupported));
  StoreUrl out;
  out.backend = StoreUrl::Backend::sqlite;
  out.path = url.substr(sep + 3);
  if (out.path.empty()) return tl::unexpected(fmt::format("store URL names no database file: {}", kSupported));
  // SQLite takes a C string: a NUL would silently cut the name short.
  if (out.path.find('\0') != std::string::npos)
    return tl::unexpected(std::string("store URL: the database file name holds a NUL byte"));
  return out;
}

std::unique_ptr<Store> open_store(const std::string& url, const StoreOptions& extra) {
  auto parsed = parse_store_url(url);
  if (!parsed) throw StoreError(parsed.error(), false);
  switch (parsed->backend) {
    case StoreUrl::Backend::sqlite: {
      StoreOptions o = extra;
      o.path = parsed->path;
      return open_sqlite_store(o);
    }
  }
  throw StoreError("store URL: unknown backend", false);  // unreachable: the switch covers every Backend
}

}  // namespace sd::store
