// cli/exit_status.h: the one mapping from what went wrong in a command to the process's
// exit status (sysexits.h) and the line that says so on stderr.
//
// Contract: a command returns 0 when it did its job and throws when it did not: a
// CommandError for what it refuses itself, ConfigError, store::StoreError and the rest as
// they come. Commands print no error of their own; run_command() (the top-level catch of
// main) reports it once, as "servicedesk: WHAT", and returns its status. The table, also in
// docs/servicedesk.1 (EXIT STATUS):
//   64 usage         an option of the wrong shape: ticket id, status, time, month, address,
//                    attachment number; --text with --text-file; attachment get to a terminal;
//                    store copy with one store as --from and --to
//   65 bad input     well formed but naming nothing (no such ticket, organisation, SLA,
//                    calendar, outbox or stored mail), or a change the desk or the store
//                    refuses (an 11th contact, a name that exists); store copy into a
//                    store that holds data
//   66 no input      a mail file or --text-file that is missing or cannot be read; store
//                    copy's SQLite source missing
//   69 unavailable   check-config: a mail server that cannot be reached (down, wrong
//                    host or port) and nothing else failed
//   70 internal      anything else: a bug; the message says what failed
//   73 cannot create backup or attachment get -o onto a name that exists (a symbolic
//                    link included)
//   74 store broken  a store failure that waiting will not cure; a store copy that does not verify
//   75 try again     the store is locked or the disk full (an MTA keeps the mail);
//                    `run` when another daemon holds the store; store copy when a daemon
//                    runs on either store
//   78 config        the config (file, line, key), a credential file; check-config's failed checks
// Security: the messages name files and keys, never a secret's content.
#pragma once

#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sd {

enum class Failure { usage, bad_input, no_input, unavailable, internal, cannot_create, store_broken, try_again, config };

// The table above.
int exit_status(Failure f);

// What a command refuses itself; the text says what is wrong and, where it can, the fix.
struct CommandError : std::runtime_error {
  CommandError(Failure f, const std::string& what) : std::runtime_error(what), failure(f) {}
  Failure failure;
};

struct FailureReport {
  Failure failure;
  std::string message;  // without the "servicedesk: " prefix
};

// Classifies an exception a command let out (ConfigError, StoreError, CommandError, other).
FailureReport failure_of(const std::exception_ptr& e);

// Writes "servicedesk: [CONTEXT: ]MESSAGE" to stderr and returns the exit status.
int report_failure(const std::exception_ptr& e, std::string_view context = {});

// Runs a command: its own return (0, or check-config's verdict), or the reported failure.
int run_command(const std::function<int()>& command);

}  // namespace sd
