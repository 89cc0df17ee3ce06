// desk/desk.h: the service desk as configured, built once from the config (at start and on
// SIGHUP) and shared, read-only, by every mail, command and timer until the next reload.
//
// Contract: everything the desk's rules need from outside the store is read and checked
// here, never inside a write transaction: the SLA policy and calendars, the intake rules
// (compiled when the config was read), every template in every language, and the agents'
// token secret. A problem with any of them is a ConfigError naming the file, the line and
// the fix, raised when the Desk is built: `run` refuses to start, a reload keeps the old
// Desk, and no mail is ever quarantined because of the operator's configuration.
#pragma once

#include "config/config.h"
#include "desk/sla_clock.h"
#include "notify/templates.h"
#include "store/store.h"

#include <cstdint>
#include <memory>
#include <string>

namespace sd {

class Desk {
 public:
  // Throws ConfigError. `read_token_secret`: false for commands that send no mail to agents
  // (reading the secret needs the service's credentials).
  explicit Desk(const Config& config, bool read_token_secret = true);
  Desk(const Desk&) = delete;
  Desk& operator=(const Desk&) = delete;

  const Config& config() const { return config_; }
  const SlaClock& clock() const { return clock_; }
  const notify::TemplateSet& templates() const { return templates_; }
  const std::string& token_secret() const { return token_secret_; }  // empty: tokens are off
  std::string ref(std::int64_t ticket) const;                          // 42 -> "SD-42"

 private:
  Config config_;
  SlaClock clock_;
  notify::TemplateSet templates_;
  std::string token_secret_;
};

// The configured store (store.url, with store.password_file for PostgreSQL), opened and
// migrated: what every process (daemon, portal, CLI) opens. Throws store::StoreError.
std::unique_ptr<store::Store> open_store(const Config& c);

}  // namespace sd
