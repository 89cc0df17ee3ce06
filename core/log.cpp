// core/log.cpp: see log.h.
#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

namespace sd::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
}

void set_level(std::string_view name) {
  Level l = Level::info;
  if (name == "error") l = Level::error;
  else if (name == "warning") l = Level::warning;
  else if (name == "notice") l = Level::notice;
  else if (name == "debug") l = Level::debug;
  g_level = static_cast<int>(l);
}

bool enabled(Level level) { return static_cast<int>(level) <= g_level.load(); }

void write(Level level, std::string_view text) {
  // One write(2) per line keeps lines whole between threads.
  std::string line = fmt::format("<{}>", static_cast<int>(level));
  for (char c : text) line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace sd::log
