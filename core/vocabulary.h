// core/vocabulary.h: the words a ticket is described in: status, priority, category,
// language. One list each, with parse and to_string; the strings are those the store keeps
// and the commands, mails and JSON show, so a new value is added here and nowhere else.
//
// Security: parse_*() take text from mails, the command line and the web; anything that is
// not exactly one of the names (case-insensitive; "critical" for priority highest) is nullopt.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace sd {

// awaiting_approval ("awaiting-approval"): an agent's estimate waits for the customer's approval
// (desk/estimates.h); only an estimate sets it.
enum class Status { new_, open, pending, awaiting_approval, resolved, closed };
enum class Priority { highest, high, medium, low, lowest };  // default medium
enum class Category { incident, support, order, feature };
enum class Language { en, sv, da };

inline constexpr std::array kStatuses = {Status::new_, Status::open, Status::pending, Status::awaiting_approval,
                                         Status::resolved, Status::closed};
inline constexpr std::array kPriorities = {Priority::highest, Priority::high, Priority::medium, Priority::low,
                                           Priority::lowest};
inline constexpr std::array kCategories = {Category::incident, Category::support, Category::order, Category::feature};
inline constexpr std::array kLanguages = {Language::en, Language::sv, Language::da};

std::string_view to_string(Status s);
std::string_view to_string(Priority p);
std::string_view to_string(Category c);
std::string_view to_string(Language l);

std::optional<Status> parse_status(std::string_view s);
std::optional<Priority> parse_priority(std::string_view s);  // also "critical" (highest)
std::optional<Category> parse_category(std::string_view s);
std::optional<Language> parse_language(std::string_view s);

// Waiting for the customer: their answer (pending) or their approval of an estimate.
constexpr bool waits_for_customer(Status s) { return s == Status::pending || s == Status::awaiting_approval; }
// The SLA clock stands still while a ticket waits for the customer or is done.
constexpr bool pauses_sla(Status s) { return waits_for_customer(s) || s == Status::resolved || s == Status::closed; }
// Still to be worked: new, open, pending or awaiting-approval.
constexpr bool is_open(Status s) { return s == Status::new_ || s == Status::open || waits_for_customer(s); }
// Done (resolved or closed): the ticket has its resolution.
constexpr bool is_done(Status s) { return s == Status::resolved || s == Status::closed; }

// "new|open|pending|awaiting-approval|resolved|closed": the names joined, for usage and error messages.
template <class E, std::size_t N>
std::string names_of(const std::array<E, N>& values, std::string_view sep = "|") {
  std::string out;
  for (auto v : values) out += (out.empty() ? "" : std::string(sep)) + std::string(to_string(v));
  return out;
}

// Whether `s` is exactly one of the names, as they are stored (lower case).
template <class E, std::size_t N>
bool is_named(const std::array<E, N>& values, std::string_view s) {
  for (auto v : values)
    if (to_string(v) == s) return true;
  return false;
}

}  // namespace sd
