// store/sql_text.h: SQL text that more than one of store/'s SQL headers builds from the
// desk's vocabulary. Internal to store/.
#pragma once

#include "core/vocabulary.h"

#include <string>

namespace sd::store::sql {

// "('open','pending',...)": the statuses is_open() counts, for "status IN ...".
inline const std::string& open_statuses() {
  static const std::string list = [] {
    std::string out;
    for (auto st : kStatuses)
      if (is_open(st)) out += (out.empty() ? "('" : ",'") + std::string(to_string(st)) + "'";
    return out + ")";
  }();
  return list;
}

}  // namespace sd::store::sql
