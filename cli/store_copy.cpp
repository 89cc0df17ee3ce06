// cli/store_copy.cpp: see store_copy.h.
#include "cli/store_copy.h"

#include "cli/exit_status.h"
#include "desk/ingest.h"
#include "store/copy.h"

#include <fmt/format.h>

#include <iostream>

namespace sd {
namespace {

store::CopyEnd end_of(const std::optional<Config>& c, const std::string& url) {
  store::CopyEnd e;
  e.url = url;
  if (c && url == c->store.url && !c->store.password_file.empty())
    e.options.password = read_secret(c->store.password_file, "store password file");
  return e;
}

Failure failure_of_refusal(store::CopyRefused::Reason r) {
  using R = store::CopyRefused::Reason;
  switch (r) {
    case R::same_store: return Failure::usage;
    case R::no_source: return Failure::no_input;
    case R::daemon_running: return Failure::try_again;
    case R::target_holds_data:
    case R::unknown_schema: return Failure::bad_input;
  }
  return Failure::internal;
}

}  // namespace

int cmd_store_copy(const std::optional<Config>& config, const std::string& from, const std::string& to) {
  store::CopyReport report;
  try {
    report = store::copy_store(end_of(config, from), end_of(config, to));
  } catch (const store::CopyRefused& e) {
    throw CommandError(failure_of_refusal(e.reason), std::string("store copy refused: ") + e.what());
  }
  std::cout << fmt::format("copied {} to {}:\n", report.from, report.to);
  for (const auto& t : report.tables) {
    std::cout << fmt::format("  {:<20} {:>9} row{}", t.name, t.rows, t.rows == 1 ? "" : "s");
    if (t.text_replaced > 0)
      std::cout << fmt::format(" ({} text value{} not UTF-8: stored with U+FFFD, as PostgreSQL holds only UTF-8)",
                               t.text_replaced, t.text_replaced == 1 ? "" : "s");
    std::cout << "\n";
  }
  std::cout << fmt::format("verified: {} tables, row counts and content hashes match\n", report.tables.size());
  std::cout << fmt::format("new tickets continue at {}\n",
                           ticket_ref(config ? *config : builtin_config(), report.next_ticket));
  return 0;
}

}  // namespace sd
