// desk/directory.h: who the desk knows: organisations, their contact persons (at most ten
// each, the seeds' rule), agents. The command line and later the portal register them here,
// so the rules hold whichever way a person is added.
//
// Security: an address is lower-cased and must be a plain addr-spec (no spaces, angle
// brackets, commas, semicolons or line breaks): it is later a recipient and a key of trust.
#pragma once

#include "config/config.h"
#include "store/store.h"

#include <cstddef>
#include <stdexcept>
#include <string>

namespace sd {

inline constexpr std::size_t kMaxContacts = 10;  // per organisation

// What the directory refuses: `malformed` for a value of the wrong shape, else a rule (an
// 11th contact, an organisation or SLA that does not exist).
struct DirectoryError : std::runtime_error {
  DirectoryError(const std::string& what, bool malformed_) : std::runtime_error(what), malformed(malformed_) {}
  bool malformed;
};

bool plausible_address(const std::string& address);

// An organisation's settings as the config allows them: a known SLA, a language of the
// vocabulary, a hypercare start that is a date. Throws DirectoryError.
void check_organisation(const Config& c, const store::Organisation& o);

// Register a contact person (address lower-cased) of an existing organisation, within the
// limit; an agent. Throw DirectoryError, or StoreError (refused) for an address that exists.
void add_contact(store::Transaction& tx, store::Contact contact);
void add_agent(store::Transaction& tx, store::Agent agent);

}  // namespace sd
