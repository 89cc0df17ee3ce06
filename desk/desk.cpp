// desk/desk.cpp: see desk.h.
#include "desk/desk.h"

#include "desk/ingest.h"

#include <fmt/format.h>

#include <algorithm>

namespace sd {

Desk::Desk(const Config& config, bool read_token_secret) : config_(config), clock_(config_) {
  auto loaded = notify::load_templates(config_.service.templates_dir);
  if (!loaded)
    throw ConfigError(fmt::format("{}: service.templates_dir: {}", config_.path, loaded.error()));
  templates_ = std::move(*loaded);
  if (read_token_secret) token_secret_ = checked_token_secret(config_);
}

std::string Desk::ref(std::int64_t ticket) const { return ticket_ref(config_, ticket); }

std::unique_ptr<store::Store> open_store(const Config& c) {
  store::StoreOptions o;
  if (!c.store.password_file.empty()) o.password = read_secret(c.store.password_file, "store password file");
  // A daemon frozen inside a write transaction holds PostgreSQL's write lock until the
  // server ends its session: that must come well before its mailbox lease runs out, or the
  // standby that takes the lease over waits for the lock past the lease (half of it; between
  // 2 and 10 s).
  o.idle_in_transaction_ms = std::clamp(c.imap.lease_s * 500, 2000, 10000);
  return store::open_store(c.store.url, o);
}

}  // namespace sd
