// tests/fuzz/fuzz_http.cpp: libFuzzer target for the parsing of what an HTTP client sends
// (http/parse.h): multipart forms, query strings and url-encoded bodies, cookies,
// Accept-Language, X-Forwarded-For with trusted proxies, Origin, the request path, and the
// builders whose output goes back into a header or a page.
//
// The input: byte 0 chooses the multipart limits (bit 0: small caps, so that every cap is
// reached); the rest is cut at each 0x1E byte (ASCII record separator, rare in what clients
// send) into fields: 0 Content-Type, 1 body, 2 Cookie, 3 Accept-Language, 4 X-Forwarded-For,
// 5 the peer's address, 6 the request target, 7 Origin, 8 base_url, 9 trusted proxies
// (comma-separated), 10 a file name; missing fields are empty. Every field also goes through
// every one-argument parser. Besides ASan/UBSan findings it checks the contract: nothing
// throws, every list stays under its cap, and what goes back into a header holds no CR/LF.
//
// Run: tests/fuzz/run_fuzz.sh BUILD/tests/fuzz/fuzz_http SECONDS [WORKDIR]
//
// Security notes: test code.
#include "http/parse.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

bool has_crlf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// What one field gives to each parser that takes one string.
void every_parser(std::string_view s) {
  using namespace sd::http;
  if (auto d = percent_decode(s, true)) require(d->size() <= s.size());
  if (auto d = percent_decode(s, false)) require(d->size() <= s.size());

  if (auto q = parse_query(s, 16)) {
    require(q->size() <= 16);
    // Encoding each pair and parsing again gives the same pairs.
    std::string again;
    for (const auto& [k, v] : *q) again += url_encode_component(k) + "=" + url_encode_component(v) + "&";
    auto back = parse_query(again, 16);
    require(back && *back == *q);
    if (!q->empty()) require(param(*q, q->front().first) == &q->front().second);
  }

  auto cookies = parse_cookies(s);
  require(cookies.size() <= 64);
  for (const auto& [k, v] : cookies) {
    require(!k.empty() && k.size() <= 4096 && v.size() <= 4096);
    CookieOptions o;
    o.path = std::string(s.substr(0, 64));
    o.max_age = static_cast<long long>(s.size()) - 100;
    auto header = set_cookie(k, v, o);
    require(!has_crlf(header));
  }
  (void)cookie(s, "sd_session");

  auto langs = accept_languages(s);
  require(langs.size() <= 16);
  for (const auto& l : langs) {
    require(!l.empty() && l.size() <= 8);
    for (char c : l) require(c >= 'a' && c <= 'z');
  }

  auto escaped = html_escape(s);
  require(escaped.find_first_of("<>\"'") == std::string::npos);

  auto disposition = content_disposition_attachment(s);
  require(disposition.rfind("attachment", 0) == 0);
  require(disposition.size() <= 1024);
  for (char c : disposition) {
    auto b = static_cast<unsigned char>(c);
    require(b >= 0x20 && b < 0x7F && c != '/' && c != '\\');
  }

  if (auto p = decode_path(s)) {
    require(!p->empty() && p->front() == '/');
    require(p->find('\0') == std::string::npos);
    require(p->find("/../") == std::string::npos && p->find("/./") == std::string::npos);
    require(p->size() < 3 || p->substr(p->size() - 3) != "/..");
  }
  require(query_of(s).size() <= s.size());

  (void)check_proxy_entry(s);
  if (check_proxy_entry(s) && s.find('/') == std::string_view::npos) require(address_in(s, s));
  (void)same_origin(s, s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sd::http;
  if (size < 1) return 0;
  MultipartLimits limits;
  if (data[0] & 1) {
    limits.max_parts = 3;
    limits.max_part_header_bytes = 64;
  }
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string_view> fields;
  for (std::size_t pos = 0; pos <= input.size() && fields.size() < 16;) {
    std::size_t sep = input.find('\x1E', pos);
    fields.push_back(input.substr(pos, sep == std::string_view::npos ? std::string_view::npos : sep - pos));
    if (sep == std::string_view::npos) break;
    pos = sep + 1;
  }
  auto field = [&](std::size_t i) { return i < fields.size() ? fields[i] : std::string_view(); };

  if (auto parts = parse_multipart(field(0), field(1), limits)) {
    require(parts->size() <= limits.max_parts);
    std::size_t total = 0;
    for (const auto& p : *parts) total += p.data.size() + p.name.size();
    require(total <= field(1).size());
  }

  std::vector<std::string> proxies;
  std::string_view list = field(9);
  for (std::size_t pos = 0; pos <= list.size() && proxies.size() < 8;) {
    std::size_t comma = list.find(',', pos);
    proxies.emplace_back(list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  auto client = client_address(field(5), field(4), proxies);
  require(field(5).empty() || !client.empty());
  // Whatever X-Forwarded-For says, an untrusted peer is the client.
  bool peer_trusted = false;
  for (const auto& p : proxies) peer_trusted = peer_trusted || address_in(field(5), p);
  if (!peer_trusted) require(client == client_address(field(5), "", proxies));

  (void)same_origin(field(7), field(8));
  (void)accept_languages(field(3));
  (void)cookie(field(2), "sd_csrf");
  (void)decode_path(field(6));
  (void)parse_query(query_of(field(6)));
  (void)content_disposition_attachment(field(10));

  for (auto f : fields) every_parser(f);
  return 0;
}
