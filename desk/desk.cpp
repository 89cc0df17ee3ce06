// desk/desk.cpp: see desk.h.
#include "desk/desk.h"

#include "desk/ingest.h"

#include <fmt/format.h>

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
  return store::open_store(c.store.url, o);
}

}  // namespace sd
