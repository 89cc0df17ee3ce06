// core/loopback.h: whether a mail server URL names this host by a loopback literal.
//
// Used for the one place plaintext is allowed: a plain imap:// URL to this host itself
// logs in without STARTTLS (nothing crosses a network). It lives in notify/ so that both
// mail clients can see it (daemon/ may include notify/, not the other way); the SMTP
// client makes no exemption today: with a username, smtp:// always requires STARTTLS.
// Header-only, no I/O, no name resolution.
//
// Security: only three spellings count, matched on the whole host, never by prefix:
// exactly `localhost` (any case: host names are case-insensitive), an IPv4 literal in
// 127.0.0.0/8 in strict dotted-quad form, and the IPv6 literal [::1] (any spelling of it).
// Everything else is not loopback: `localhost.corp.example`, `127.0.0.1.evil.example`,
// `localhost.` (a trailing dot), `127.1`, `0x7f.0.0.1`, `[::ffff:127.0.0.1]`, zone ids,
// percent-encoding, and an authority with more than one `@` or a backslash, which URL
// parsers split differently. A URL with no `://` is not loopback either.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <string_view>

namespace sd::notify {

inline bool is_loopback_host(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    std::string inside(host.substr(1, host.size() - 2));
    in6_addr a{};
    return inet_pton(AF_INET6, inside.c_str(), &a) == 1 && std::memcmp(&a, &in6addr_loopback, sizeof a) == 0;
  }
  std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (h.size() != 9) return false;
  for (auto& ch : h) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  return h == "localhost";
}

// URL: scheme://[userinfo@]host[:port][/path][?query][#fragment] (RFC 3986).
inline bool is_loopback_url(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string_view authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (authority.find('\\') != std::string_view::npos) return false;
  if (auto at = authority.find('@'); at != std::string_view::npos) {
    if (authority.find('@', at + 1) != std::string_view::npos) return false;
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(0, close + 1);
    port = authority.substr(close + 1);
  } else if (auto colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon);
  }
  if (!port.empty()) {
    if (port.front() != ':' || port.size() == 1) return false;
    for (char ch : port.substr(1))
      if (ch < '0' || ch > '9') return false;
  }
  return is_loopback_host(host);
}

}  // namespace sd::notify
