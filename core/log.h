// core/log.h: one line per event on stderr, prefixed with the sd-daemon priority
// (<3> error ... <7> debug) so journald keeps the level.
//
// Contract: thread-safe; a line never interleaves with another. Lines name the ticket
// and the mail's Message-ID where there is one (the caller puts them in the text).
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace sd::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

void set_level(std::string_view name);  // "error" ... "debug"
bool enabled(Level level);
void write(Level level, std::string_view line);

template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... a) {
  if (enabled(Level::error)) write(Level::error, fmt::format(f, std::forward<Args>(a)...));
}
template <class... Args>
void warning(fmt::format_string<Args...> f, Args&&... a) {
  if (enabled(Level::warning)) write(Level::warning, fmt::format(f, std::forward<Args>(a)...));
}
template <class... Args>
void notice(fmt::format_string<Args...> f, Args&&... a) {
  if (enabled(Level::notice)) write(Level::notice, fmt::format(f, std::forward<Args>(a)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... a) {
  if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<Args>(a)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) {
  if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<Args>(a)...));
}

}  // namespace sd::log
