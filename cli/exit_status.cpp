// cli/exit_status.cpp: see exit_status.h.
#include "cli/exit_status.h"

#include "config/config.h"
#include "store/store.h"

#include <sysexits.h>

#include <iostream>

namespace sd {

int exit_status(Failure f) {
  switch (f) {
    case Failure::usage: return EX_USAGE;
    case Failure::bad_input: return EX_DATAERR;
    case Failure::no_input: return EX_NOINPUT;
    case Failure::unavailable: return EX_UNAVAILABLE;
    case Failure::internal: return EX_SOFTWARE;
    case Failure::cannot_create: return EX_CANTCREAT;
    case Failure::store_broken: return EX_IOERR;
    case Failure::try_again: return EX_TEMPFAIL;
    case Failure::config: return EX_CONFIG;
  }
  return EX_SOFTWARE;
}

FailureReport failure_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const CommandError& x) {
    return {x.failure, x.what()};
  } catch (const ConfigError& x) {
    return {Failure::config, std::string("configuration error: ") + x.what()};
  } catch (const store::StoreError& x) {
    // A refused change (a name that exists) is bad input; the rest is the store's trouble.
    return {x.refused ? Failure::bad_input : x.transient ? Failure::try_again : Failure::store_broken, x.what()};
  } catch (const std::exception& x) {
    return {Failure::internal, x.what()};
  } catch (...) {
    return {Failure::internal, "unknown failure"};
  }
}

int report_failure(const std::exception_ptr& e, std::string_view context) {
  auto f = failure_of(e);
  std::cerr << "servicedesk: " << context << (context.empty() ? "" : ": ") << f.message << std::endl;
  return exit_status(f.failure);
}

int run_command(const std::function<int()>& command) {
  try {
    return command();
  } catch (...) {
    return report_failure(std::current_exception());
  }
}

}  // namespace sd
