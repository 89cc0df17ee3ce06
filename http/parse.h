// http/parse.h: the pure parsing of what an HTTP client sends to the portal: percent
// decoding, query strings and url-encoded forms, multipart/form-data uploads, the Cookie
// header and the Set-Cookie value we send back, Accept-Language, the client's address
// behind trusted proxies (X-Forwarded-For), the Origin check, the request path; and the
// few builders whose output goes back into a page or a header (html_escape,
// url_encode_component, content_disposition_attachment).
//
// Contract: every function is pure (no I/O; inet_pton is the only library call that looks
// at an address) and takes std::string_view in, values out. None throws on any input: a
// malformed input is nullopt, an error string (tl::expected), or left out (the lenient
// parsers: cookies, Accept-Language). Every loop is linear in its input and every output
// is bounded (counts and lengths below), so a hostile request costs at most the bytes the
// server's body limit let in. Nothing recurses.
//
// Diagnostics: the error strings say what was wrong in plain words ("multipart body has no
// closing boundary", "more than 256 parameters"); they quote no input, so they are safe to
// log and to show.
//
// Security: everything a client sends is attacker-chosen. Decoded values may hold any byte
// (NUL, CR, LF, invalid UTF-8): a caller that needs text checks it. decode_path() refuses
// what could leave the route table ("..", encoded slashes, NUL, non-UTF-8). set_cookie()
// and content_disposition_attachment() never let a value break out of its header (CR, LF,
// ';', quotes) and a file name is never a path. client_address() believes X-Forwarded-For
// only from peers in trusted_proxies, and only as far as the chain of trusted hops goes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace sd::http {

// %XX decoded (either hex case); with `plus_is_space` ('application/x-www-form-urlencoded'
// and query strings) '+' is a space. nullopt on a '%' not followed by two hex digits. The
// result may contain any byte, NUL included.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

// Name/value pairs in the order sent; a name may repeat.
using Params = std::vector<std::pair<std::string, std::string>>;

// A query string (without the '?') or an application/x-www-form-urlencoded body: pairs
// split on '&' (';' is not a separator), "name" alone is ("name", ""), empty pieces are
// skipped. An error on a bad %XX or on more than `max_params` pairs.
tl::expected<Params, std::string> parse_query(std::string_view s, std::size_t max_params = 256);

// The first value of `name` (exact, case-sensitive), or nullptr. Points into `params`.
const std::string* param(const Params& params, std::string_view name);

// The Cookie header (RFC 6265 5.4: "a=1; b=2"): pairs in order, names and values trimmed,
// a value's surrounding double quotes removed. Lenient: a piece without '=' or with an
// empty name is skipped. Bounded: at most 64 cookies, names and values of at most 4096
// bytes (longer ones are skipped, not cut).
std::vector<std::pair<std::string, std::string>> parse_cookies(std::string_view cookie_header);

// The first cookie called `name` in a Cookie header.
std::optional<std::string> cookie(std::string_view cookie_header, std::string_view name);

enum class SameSite { none_set, lax, strict };

struct CookieOptions {
  bool http_only = true;
  bool secure = false;
  SameSite same_site = SameSite::lax;
  std::string path = "/";              // left out when empty
  std::optional<long long> max_age;    // seconds; 0 (or less) asks the browser to delete it
};

// A Set-Cookie header value: "name=value; Path=/; Max-Age=N; HttpOnly; Secure;
// SameSite=Lax". A name that is not an RFC 6265 token gives "" (the caller's bug; an empty
// value is never a valid header). Characters that could end the value or the header
// (CTLs, CR, LF, ';', ',', '"', '\\', space) are left out of the value and the path.
std::string set_cookie(std::string_view name, std::string_view value, const CookieOptions& options);

// One field or file of a multipart/form-data body.
struct FormPart {
  std::string name;          // Content-Disposition name
  std::string filename;      // filename* (RFC 5987/2231, UTF-8) if given, else filename; empty if none
  std::string content_type;  // the part's Content-Type, "" when absent (text/plain by RFC 7578)
  std::string data;          // the bytes between the part's headers and the next boundary
};

struct MultipartLimits {
  std::size_t max_parts = 32;
  std::size_t max_part_header_bytes = 8192;
};

// Splits a multipart/form-data body. The boundary comes from `content_type_header`
// ("multipart/form-data; boundary=..." quoted or not, 1 to 70 characters by RFC 2046).
// Each part needs a Content-Disposition: form-data with a name. Errors: not
// multipart/form-data, no or bad boundary, no first boundary, a part's headers over the
// limit or not ended by an empty line, more than max_parts parts, no closing boundary.
// Text before the first boundary and after the closing one is ignored (RFC 2046). Linear
// in the body: one forward search for each delimiter.
tl::expected<std::vector<FormPart>, std::string> parse_multipart(std::string_view content_type_header,
                                                                 std::string_view body,
                                                                 const MultipartLimits& limits = {});

// The primary language subtags of an Accept-Language header ("sv-SE;q=0.8, en" gives
// {"en", "sv"}), lower case, by q descending (stable for equal q), each once, q=0 and "*"
// and malformed ranges left out. At most 16 entries; at most 64 ranges are looked at.
std::vector<std::string> accept_languages(std::string_view header);

// Text made safe inside HTML element content and attribute values (quoted with " or '):
// & < > " ' become entities.
std::string html_escape(std::string_view s);

// Every byte but the RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~) as %XX: for a
// path segment or a query value.
std::string url_encode_component(std::string_view s);

// A Content-Disposition value for a download: `attachment; filename="fallback";
// filename*=UTF-8''percent-encoded`. The name is only the last path component, without
// controls, bidi controls, quotes, backslashes, or leading dots; invalid UTF-8 is dropped;
// the fallback is ASCII only ('_' for the rest and for '%'); at most 150 bytes of name. When nothing is
// left, the value is just "attachment".
std::string content_disposition_attachment(std::string_view filename);

// Whether `address` (IPv4 or IPv6, as text) is `cidr_or_address`: an address equal to it,
// or inside a range "a.b.c.d/n" or "x::/n". An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
// counts as the IPv4 address. False on anything unparsable.
bool address_in(std::string_view address, std::string_view cidr_or_address);

// Whether a [portal] trusted_proxies entry is an address or a CIDR range address_in()
// understands, with a reason when not (for the config loader's file/line/key message).
tl::expected<void, std::string> check_proxy_entry(std::string_view entry);

// The client's address for rate limits and logs. `peer` is the TCP peer's address. If the
// peer is in `trusted_proxies`, X-Forwarded-For (comma-separated, possibly several headers
// joined with ',') is walked from the right: each hop that is itself trusted is skipped, the
// first untrusted one is the client. A malformed hop ends the walk at the last trusted
// address. An untrusted peer's header is ignored. The answer is in inet_ntop's form (an
// IPv4-mapped address as plain IPv4, IPv6 in lower case), so one client is one key for rate
// limits; a `peer` that is not an address comes back as it was. Never empty when `peer` is not.
std::string client_address(std::string_view peer, std::string_view x_forwarded_for,
                           const std::vector<std::string>& trusted_proxies);

// Whether an Origin header names the same origin as `base_url` (the [portal] base_url):
// scheme and host equal ignoring case, ports equal counting 80/443 as the default of
// http/https. "null", empty, or anything unparsable is false.
bool same_origin(std::string_view origin_header, std::string_view base_url);

// The path of a request target ("/tickets/SD-42?x=1" gives "/tickets/SD-42"),
// percent-decoded ('+' stays '+'). nullopt when it does not start with '/', on a bad %XX,
// a NUL or other control, an encoded '/' or '\\', a "." or ".." segment (raw or encoded),
// invalid UTF-8, or more than 2048 bytes.
std::optional<std::string> decode_path(std::string_view target);

// The query of a request target without the '?' (and without a '#fragment'), or "".
std::string_view query_of(std::string_view target);

}  // namespace sd::http
