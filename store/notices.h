// store/notices.h: maintenance notices (seed 000, 4.1) as the store keeps them: the window,
// the organisations it concerns, its texts, and the mails decided for it.
//
// Contract: the store records; the desk decides (desk/notices.h: who is told, when, in which
// language). record_notice_mail() is the once-only rule: one row per notice, recipient and
// kind of mail, inserted only if absent, inside the caller's write transaction, so two runs
// or two daemons racing queue each mail once. Times are seconds since the epoch, UTC.
#pragma once

#include "store/store.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sd::store {

struct Notice {
  std::int64_t id = 0;  // given by add_notice
  std::string kind;     // infrastructure, integrations, upgrade, emergency
  Time starts_at = 0, ends_at = 0;
  bool all_organisations = true;
  std::vector<std::string> organisations;  // names, when not all; sorted by name when read
  std::string text;                        // the default text
  std::string text_sv, text_da;            // empty: the default text
  Time created_at = 0;
  std::string created_by;  // "operator:NAME", an agent's address
  std::optional<Time> cancelled_at;
};

// A mail decided for a notice: the notice itself, or its cancellation.
struct NoticeMail {
  std::int64_t notice_id = 0;
  std::string recipient;     // lower case
  std::string what;          // "notice" or "cancellation"
  std::string organisation;  // the recipient's, by name, when it was decided
  Time at = 0;
};

class Notices {
 public:
  // Throws StoreError (refused) naming an organisation that does not exist.
  virtual std::int64_t add_notice(const Notice& n) = 0;
  virtual std::optional<Notice> notice(std::int64_t id) = 0;
  // Every notice, by start (then id).
  virtual std::vector<Notice> notices() = 0;
  // Those not cancelled whose window ends after `now`, by start (then id).
  virtual std::vector<Notice> coming_notices(Time now) = 0;
  // Sets cancelled_at; false when there is no such notice or it was cancelled already.
  virtual bool cancel_notice(std::int64_t id, Time at) = 0;
  // True the first time this notice, recipient and kind are recorded; false (nothing
  // changes) every time after.
  virtual bool record_notice_mail(const NoticeMail& m) = 0;
  // The notice's mails, by time, then recipient and kind.
  virtual std::vector<NoticeMail> notice_mails(std::int64_t notice_id) = 0;

 protected:
  ~Notices() = default;
};

}  // namespace sd::store
