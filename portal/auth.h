// portal/auth.h: signing in to the portal by a mailed link, and the sessions that follow:
// random tokens, their hashes, the login-link request with its limits, the one use of a
// link, and the session a cookie names, checked on every request.
//
// Contract: a login link's token (192 bits) and a session id (128 bits) come from OpenSSL's
// RAND_bytes as lower-case hex; the store keeps only their SHA-256 (hex), so a copy of the
// store signs nobody in. request_login_link() does the same store work for every address
// (its rate counter and a token row; only a registered contact's or agent's address also
// gets the mail), so neither the answer nor the store's work tells who is registered.
// sign_in() uses a token once (store: use_login_token) and makes a session with the role the
// directory gives the address then (agent or contact, never both). visitor_of() checks a
// session's idle and absolute expiry and that its address is still in the directory with the
// same role; a session that fails is removed.
//
// Diagnostics: none of these log; the caller counts logins by result
// (portal_logins_total{result}). Store failures throw StoreError as usual. RAND_bytes
// failing throws std::runtime_error (no weak token is ever made).
//
// Security: tokens are compared by hash lookups in the store, CSRF tokens with
// same_secret() (constant time). Addresses are bounded and lower-cased before use; nothing
// here puts an address or a token into a log.
#pragma once

#include "desk/desk.h"
#include "store/store.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sd::portal {

inline constexpr std::string_view kSessionCookie = "sd_session";
inline constexpr std::string_view kCsrfCookie = "sd_csrf";  // the pre-session double-submit token
inline constexpr std::size_t kLoginTokenBytes = 24;
inline constexpr std::size_t kSessionBytes = 16;
inline constexpr std::size_t kCsrfBytes = 16;

// `bytes` random bytes from RAND_bytes as lower-case hex. Throws std::runtime_error when the
// generator fails.
std::string random_hex(std::size_t bytes);
// The hex SHA-256 of `data`: what the store keeps of a token or session id.
std::string sha256_hex(std::string_view data);
// Whether two secrets are equal, in time that depends only on their lengths. Empty never
// equals anything.
bool same_secret(std::string_view a, std::string_view b);
// Whether `s` can be one of our tokens (16 to 64 lower-case hex digits): anything else is
// refused before the store is asked.
bool looks_like_token(std::string_view s);
// The address as the directory keys it (trimmed, lower case), or "" for something that is no
// plausible address (no '@', controls, spaces, over 254 bytes).
std::string normal_address(std::string_view typed);

// The signed-in visitor, from the directory as it is now.
struct Visitor {
  std::string email, name;
  bool agent = false;
  std::optional<store::Contact> contact;  // set for a contact
  std::string csrf;                       // the session's CSRF token
  std::string session_hash;
};

struct LoginRequest {
  bool over_client_limit = false;  // answer 429 (nothing else was done)
  bool mailed = false;             // a link was queued (a registered address under its limit)
};

// POST /login's work in `tx` (the caller commits): the per-client counter (over
// login_requests_per_client_per_minute: stop, 429), the per-address counter, a token row,
// and for a registered address under login_mails_per_address_per_hour the mail with
// `{base_url}/login/{token}`. `email` as typed; `client` from http::client_address().
LoginRequest request_login_link(store::Transaction& tx, const Desk& desk, std::string_view email,
                                const std::string& client, store::Time now);

struct SignIn {
  std::string result;  // "ok", "invalid" (used, expired, unknown), "unregistered" (no longer in the directory)
  std::string session;  // the cookie's value when ok
};
// POST /login/{token}'s work in `tx` (the caller commits, also when it failed: the token is used).
SignIn sign_in(store::Transaction& tx, std::string_view token, store::Time now);

// The visitor a session cookie names, or nullopt (no such session, idle or too old, or its
// address is no longer a contact or agent with the role it signed in with: then the session
// is removed). Touches last_seen when it is over a minute old.
std::optional<Visitor> visitor_of(store::Store& store, const Config::Portal& portal, std::string_view cookie,
                                  store::Time now);

// POST /logout: the session is gone.
void sign_out(store::Transaction& tx, const Visitor& v);

}  // namespace sd::portal
