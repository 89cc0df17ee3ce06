// desk/on_behalf.cpp: opening and answering tickets for an agent without a mail of their own
// (on_behalf.h says the contract).
#include "desk/on_behalf.h"

namespace sd {

tl::expected<std::int64_t, std::string> open_ticket_for(store::Transaction&, const Desk&, const OnBehalf&, store::Time) {
  return tl::unexpected(std::string("not implemented yet"));
}

tl::expected<void, std::string> agent_writes(store::Transaction&, const Desk&, std::int64_t, const std::string&,
                                             const std::string&, bool, store::Time) {
  return tl::unexpected(std::string("not implemented yet"));
}

}  // namespace sd
