// desk/directory.h: who the desk knows: organisations, their contact persons (at most ten
// each, the seeds' rule), agents. The command line and the portal register, change and
// remove them here, so the rules hold whichever way a person is added.
//
// Contract: an address is either a contact or an agent, never both (add_contact refuses an
// agent's address, add_agent a contact's): a role decides what a person sees and may do,
// and one address with two would have both. Visibility settings (who sees what,
// desk/visibility.h) are checked here: an organisation's is "organisation" or "own", a
// contact's also "inherit".
//
// Security: removing a contact or an agent, and moving a contact to another organisation,
// end their portal sessions in the same transaction (store Portal::remove_sessions_of): this
// is done here, not in the store, so the store stays a recorder of what it is told and every
// caller (the CLI, the portal) gets it by going through these functions. A change of
// visibility needs no such step: the portal reads the scope anew on every request.
// An address is lower-cased and must be a plain addr-spec (no spaces, angle brackets,
// commas, semicolons or line breaks): it is later a recipient and a key of trust.
#pragma once

#include "config/config.h"
#include "store/store.h"

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

namespace sd {

inline constexpr std::size_t kMaxContacts = 10;  // per organisation

// What the directory refuses: `malformed` for a value of the wrong shape, else a rule (an
// 11th contact, an organisation or SLA that does not exist, an address with the other role).
struct DirectoryError : std::runtime_error {
  DirectoryError(const std::string& what, bool malformed_) : std::runtime_error(what), malformed(malformed_) {}
  bool malformed;
};

bool plausible_address(const std::string& address);

// An organisation's settings as the config allows them: a known SLA, a language of the
// vocabulary, a hypercare start that is a date, a visibility of "organisation" or "own"
// (empty: not given, the default). Throws DirectoryError.
void check_organisation(const Config& c, const store::Organisation& o);

// Register a contact person (address lower-cased) of an existing organisation, within the
// limit; an agent. Throw DirectoryError (also for an address that has the other role), or
// StoreError (refused) for an address that exists.
void add_contact(store::Transaction& tx, store::Contact contact);
void add_agent(store::Transaction& tx, store::Agent agent);

// Changes a contact: moves it to `organisation` (an existing one, within its limit; its
// portal sessions end) and/or sets its `visibility` ("inherit", "organisation", "own").
// nullopt leaves a setting as it is. Returns the contact as stored now. Throws
// DirectoryError: no such contact (not malformed), an unknown organisation, a full one, a
// visibility of the wrong shape (malformed).
store::Contact set_contact(store::Transaction& tx, const std::string& email, const std::optional<std::string>& organisation,
                           const std::optional<std::string>& visibility);

// Remove a contact or an agent and end their portal sessions; false when there was none.
bool remove_contact(store::Transaction& tx, const std::string& email);
bool remove_agent(store::Transaction& tx, const std::string& email);

}  // namespace sd
