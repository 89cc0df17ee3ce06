// desk/attachments.h: which of a ticket's files go along with a mail, under the size limit
// one mail may carry (notify.attach_max_bytes), and the text that names them.
//
// Contract: the files are never copied here: a mail names attachment rows (outbox
// attachment_ids) and the outbox adds their bytes at send time, so a file is stored once
// however many mails carry it. A file whose bytes were not kept (a limit kept only its
// metadata) is named with its size, never attached.
#pragma once

#include "desk/desk.h"
#include "notify/compose.h"
#include "store/store.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sd {

// "25.3 MB", "812 KB", "14 bytes".
std::string size_words(std::int64_t bytes);

// Files for one mail: those that fit under `max_bytes` together, in order, and a text that
// lists them and any left out, with how to get those (#attachments, the CLI).
struct AttachedFiles {
  std::vector<std::int64_t> ids;
  std::string listing;  // empty when there are no files
  int left_out = 0;     // kept files that did not fit
};
AttachedFiles attach_what_fits(const std::vector<store::AttachmentInfo>& files, std::size_t max_bytes,
                               const std::string& ticket_ref);

// The files split into mails each under `max_bytes` (a file larger than that alone is left
// out: it cannot go by mail at all), in order of their numbers.
std::vector<std::vector<store::AttachmentInfo>> split_for_mails(const std::vector<store::AttachmentInfo>& files,
                                                                std::size_t max_bytes);

// An agent's #attachments: every kept file of the ticket, in as many mails to `agent` as
// the limit needs, each listing its files (and naming those too large for any mail).
// Returns the number of mails queued.
int mail_attachments(store::Transaction& tx, const Desk& desk, const store::Ticket& t, const notify::Mailbox& agent,
                     store::Time now);

}  // namespace sd
