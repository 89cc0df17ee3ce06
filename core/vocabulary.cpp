// core/vocabulary.cpp: see vocabulary.h.
#include "core/vocabulary.h"

#include <cctype>

namespace sd {
namespace {

constexpr std::array<std::string_view, 6> kStatusNames = {"new", "open", "pending", "awaiting-approval", "resolved",
                                                          "closed"};
constexpr std::array<std::string_view, 5> kPriorityNames = {"highest", "high", "medium", "low", "lowest"};
constexpr std::array<std::string_view, 4> kCategoryNames = {"incident", "support", "order", "feature"};
constexpr std::array<std::string_view, 3> kLanguageNames = {"en", "sv", "da"};

template <class E, std::size_t N>
std::optional<E> find(const std::array<std::string_view, N>& names, std::string_view s) {
  for (std::size_t i = 0; i < N; ++i) {
    const auto& n = names[i];
    if (n.size() != s.size()) continue;
    bool same = true;
    for (std::size_t k = 0; k < n.size() && same; ++k)
      same = std::tolower(static_cast<unsigned char>(s[k])) == n[k];
    if (same) return static_cast<E>(i);
  }
  return std::nullopt;
}

template <class E, std::size_t N>
std::string_view name(const std::array<std::string_view, N>& names, E v) {
  auto i = static_cast<std::size_t>(v);
  return i < N ? names[i] : std::string_view{};
}

}  // namespace

std::string_view to_string(Status s) { return name(kStatusNames, s); }
std::string_view to_string(Priority p) { return name(kPriorityNames, p); }
std::string_view to_string(Category c) { return name(kCategoryNames, c); }
std::string_view to_string(Language l) { return name(kLanguageNames, l); }

std::optional<Status> parse_status(std::string_view s) { return find<Status>(kStatusNames, s); }
std::optional<Priority> parse_priority(std::string_view s) {
  if (auto p = find<Priority>(kPriorityNames, s)) return p;
  if (find<Priority>(std::array<std::string_view, 1>{"critical"}, s)) return Priority::highest;
  return std::nullopt;
}
std::optional<Category> parse_category(std::string_view s) { return find<Category>(kCategoryNames, s); }
std::optional<Language> parse_language(std::string_view s) { return find<Language>(kLanguageNames, s); }

}  // namespace sd
