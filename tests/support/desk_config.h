// tests/support/desk_config.h: the built-in config of a test desk whose store lives in `dir`.
#pragma once

#include "config/config.h"
#include "tests/support/tempdir.h"

namespace sd::test {

inline Config desk_config(const TempDir& dir) {
  Config c = builtin_config();
  c.service.name = "Example Servicedesk";
  c.service.address = "servicedesk@example.com";
  c.sla.agents_address = "agents@example.com";
  c.store.path = dir.file("sd.db");
  c.store.url = "sqlite://" + c.store.path;  // as load_config() fills it from store.path
  return c;
}

}  // namespace sd::test
