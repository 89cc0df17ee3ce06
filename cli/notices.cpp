// cli/notices.cpp: `servicedesk notice` (see notices.h).
#include "cli/notices.h"

#include "api/json.h"
#include "cli/exit_status.h"
#include "core/file.h"
#include "core/text.h"
#include "desk/desk.h"
#include "desk/notices.h"
#include "desk/sla_clock.h"
#include "store/notices.h"
#include "store/store.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <iterator>

namespace sd {
namespace {

// The desk's refusals as the command's: 64 for a value of the wrong shape, else 65.
template <class F>
auto desk_rules(F&& f) {
  try {
    return f();
  } catch (const NoticeError& e) {
    throw CommandError(e.malformed ? Failure::usage : Failure::bad_input, e.what());
  }
}

// A text file's words, checked (desk/notices.h); "" when `path` is empty.
std::string notice_text_file(const std::string& path, const std::string& option) {
  if (path.empty()) return "";
  std::string what = option + " " + path;
  std::string bytes;
  if (path == "-") {
    bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    auto content = read_file(path, kMaxNoticeTextBytes);
    if (!content && content.error().error == EFBIG)
      throw CommandError(Failure::bad_input,
                         fmt::format("{}: larger than the {} bytes a notice's text may have", what, kMaxNoticeTextBytes));
    if (!content) throw CommandError(Failure::no_input, fmt::format("{}: cannot read ({})", what, content.error().reason()));
    bytes = std::move(*content);
  }
  auto text = checked_notice_text(bytes, what);
  if (!text) throw CommandError(Failure::bad_input, text.error());
  return *text;
}

std::vector<std::string> organisations_of(const std::string& orgs) {
  std::vector<std::string> out;
  if (trim(orgs) == "all") return out;
  std::size_t start = 0;
  while (start <= orgs.size()) {
    auto comma = orgs.find(',', start);
    auto name = trim(orgs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (name.empty()) throw CommandError(Failure::usage, "--orgs: say all, or name organisations separated by commas");
    out.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string utc(store::Time t) { return sla::rfc3339_utc(sla::Instant(std::chrono::seconds(t))); }

std::string state_of(const Config& c, const store::Notice& n, store::Time now) {
  if (n.cancelled_at) return "cancelled";
  if (n.ends_at <= now) return "ended";
  if (n.starts_at <= now) return "in progress";
  auto due = notice_due(c, n);
  return due <= now ? "announced" : "mails at " + utc(due);
}

}  // namespace

int cmd_notice_add(const Config& c, const NoticeArgs& a) {
  NoticeRequest req;
  req.kind = a.kind;
  req.starts_at = desk_rules([&] { return parse_notice_time(a.start, "--start"); });
  req.ends_at = desk_rules([&] { return parse_notice_time(a.end, "--end"); });
  if (!is_notice_kind(a.kind))
    throw CommandError(Failure::usage, fmt::format("--kind '{}' is not infrastructure, integrations, upgrade or emergency",
                                                   printable(a.kind)));
  if (req.ends_at <= req.starts_at) throw CommandError(Failure::usage, "--end must be after --start");
  req.organisations = organisations_of(a.orgs);
  if (a.text_file.empty()) throw CommandError(Failure::usage, "--text-file is required: the notice's default text");
  req.text = notice_text_file(a.text_file, "--text-file");
  req.text_sv = notice_text_file(a.text_file_sv, "--text-file-sv");
  req.text_da = notice_text_file(a.text_file_da, "--text-file-da");
  req.actor = "operator:" + a.operator_name;
  Desk desk(c, false);
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::write);
  NoticeRun run;
  auto id = desk_rules([&] { return add_notice(*tx, desk, req, clock_now(c), &run); });
  tx->commit();
  std::cout << id << "\n";
  if (run.mailed > 0)
    std::cerr << fmt::format("notice {}: {} {} mailed now\n", id, run.mailed, run.mailed == 1 ? "contact is" : "contacts are");
  return 0;
}

int cmd_notice_list(const Config& c, bool as_json) {
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::read);
  auto now = clock_now(c);
  auto notices = tx->notices().notices();
  auto arr = nlohmann::json::array();
  for (const auto& n : notices) {
    int told = 0, cancelled = 0;
    for (const auto& m : tx->notices().notice_mails(n.id)) (m.what == "notice" ? told : cancelled)++;
    std::string orgs = n.all_organisations ? "all" : fmt::format("{}", fmt::join(n.organisations, ","));
    if (as_json) {
      arr.push_back({{"id", n.id},
                     {"kind", n.kind},
                     {"start", utc(n.starts_at)},
                     {"end", utc(n.ends_at)},
                     {"organisations", n.all_organisations ? nlohmann::json("all") : nlohmann::json(n.organisations)},
                     {"state", state_of(c, n, now)},
                     {"mailed", told},
                     {"cancellations_mailed", cancelled},
                     {"cancelled_at", n.cancelled_at ? nlohmann::json(utc(*n.cancelled_at)) : nlohmann::json()},
                     {"created_by", n.created_by},
                     {"text", n.text}});
      continue;
    }
    std::cout << fmt::format("{:<4} {:<15} {} - {}  orgs {}  {}  mailed {}{}\n", n.id, n.kind, utc(n.starts_at),
                             utc(n.ends_at), printable(orgs), state_of(c, n, now), told,
                             n.cancelled_at ? fmt::format(", cancellation to {}", cancelled) : "");
  }
  if (as_json) std::cout << json_text(arr) << "\n";  // terminal controls escaped, as every --json
  else if (notices.empty()) std::cout << "no notices\n";
  return 0;
}

int cmd_notice_cancel(const Config& c, const NoticeArgs& a) {
  Desk desk(c, false);
  auto st = open_store(c);
  auto tx = st->begin(store::Store::Mode::write);
  int told = desk_rules([&] { return cancel_notice(*tx, desk, a.id, clock_now(c)); });
  tx->commit();
  std::cout << fmt::format("notice {} cancelled; {} {} told\n", a.id, told, told == 1 ? "contact is" : "contacts are");
  return 0;
}

}  // namespace sd
