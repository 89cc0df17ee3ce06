// cli/notices.h: `servicedesk notice add|list|cancel`: maintenance notices (desk/notices.h).
//
// Contract: as every command (cli/exit_status.h): 0 when done, else a CommandError: 64 for a
// time that is not RFC 3339 with an offset, a kind that is none of the four, an end not after
// the start; 65 for an organisation or notice that is not there, a notice cancelled or ended
// already, a text file the desk refuses (too large, not UTF-8, control characters, empty);
// 66 for a text file that cannot be read. `notice add` prints the new notice's id alone on
// its line; the mails it is due for already (emergency, a lead time already past) are queued
// in the same transaction, and the daemon sends them.
//
// Security: the texts are files the operator names; desk/notices.h checks them. What `list`
// prints of them passes through printable().
#pragma once

#include "config/config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sd {

struct NoticeArgs {
  std::string kind, start, end, orgs = "all";
  std::string text_file, text_file_sv, text_file_da;
  std::string operator_name;
  std::int64_t id = 0;
};

int cmd_notice_add(const Config& c, const NoticeArgs& a);
int cmd_notice_list(const Config& c, bool as_json);
int cmd_notice_cancel(const Config& c, const NoticeArgs& a);

}  // namespace sd
