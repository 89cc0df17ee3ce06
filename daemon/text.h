// daemon/text.h: small string helpers the daemon's files share (ASCII case, trimming).
#pragma once

#include <algorithm>
#include <cctype>
#include <string>

namespace sd {

// Mail addresses and keywords compare in ASCII lower case.
inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

inline std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace sd
