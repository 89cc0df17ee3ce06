// tests/portal/test_portal_auth.cpp: the pieces of signing in (portal/auth.h): random tokens,
// their hashes, constant-time comparison, addresses, and the store work of a sign-in, on a
// real SQLite store (tests/support/test_desk.h).
#include "portal/auth.h"

#include "tests/support/test_desk.h"

#include <set>

namespace sd {
namespace {
using test::kAgent;
using test::kCustomer;
using test::kNow;
}  // namespace

TEST_CASE("tokens are random hex of the asked length and never repeat") {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto t = portal::random_hex(portal::kSessionBytes);
    CHECK(t.size() == 32);
    CHECK(portal::looks_like_token(t));
    CHECK(seen.insert(t).second);
  }
  CHECK(portal::random_hex(portal::kLoginTokenBytes).size() == 48);
}

TEST_CASE("what the store keeps of a token is its SHA-256") {
  CHECK(portal::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("secrets compare equal only when they are") {
  CHECK(portal::same_secret("abcdef0123456789", "abcdef0123456789"));
  CHECK_FALSE(portal::same_secret("abcdef0123456789", "abcdef0123456788"));
  CHECK_FALSE(portal::same_secret("abc", "abcd"));
  CHECK_FALSE(portal::same_secret("", ""));
}

TEST_CASE("only our own token shape reaches the store") {
  CHECK_FALSE(portal::looks_like_token(""));
  CHECK_FALSE(portal::looks_like_token("short"));
  CHECK_FALSE(portal::looks_like_token(std::string(32, 'A')));
  CHECK_FALSE(portal::looks_like_token(std::string(31, 'a') + "'"));
  CHECK_FALSE(portal::looks_like_token(std::string(65, 'a')));
  CHECK(portal::looks_like_token(std::string(48, '0')));
}

TEST_CASE("a typed address is trimmed and lower-cased, and what is no address is refused") {
  CHECK(portal::normal_address("  Anna@Acme.SE ") == "anna@acme.se");
  CHECK(portal::normal_address("anna") == "");
  CHECK(portal::normal_address("@acme.se") == "");
  CHECK(portal::normal_address("a@b@c") == "");
  CHECK(portal::normal_address("anna@acme.se\r\nBcc: x@y") == "");
  CHECK(portal::normal_address("Anna <anna@acme.se>") == "");
  CHECK(portal::normal_address(std::string(300, 'a') + "@x.se") == "");
}

TEST_CASE("a sign-in link is stored only as its hash, works once, and gives the directory's role") {
  test::TestDesk d;
  Desk desk(d.c, false);
  auto tx = d.st->begin(store::Store::Mode::write);
  auto r = portal::request_login_link(*tx, desk, "EVA@example.com", "192.0.2.1", kNow);
  CHECK(r.mailed);
  CHECK_FALSE(r.over_client_limit);
  tx->commit();
  auto mails = d.outbox("login-link", kAgent);
  REQUIRE(mails.size() == 1);
  auto at = mails[0].bytes.find("/login/");
  REQUIRE(at != std::string::npos);
  std::string token;
  for (auto i = at + 7; i < mails[0].bytes.size() && std::isxdigit(static_cast<unsigned char>(mails[0].bytes[i])); ++i)
    token += mails[0].bytes[i];
  REQUIRE(portal::looks_like_token(token));

  auto w = d.st->begin(store::Store::Mode::write);
  CHECK_FALSE(w->use_login_token(token, kNow));  // the token itself is not what is stored
  auto s = portal::sign_in(*w, token, kNow + 10);
  CHECK(s.result == "ok");
  REQUIRE(portal::looks_like_token(s.session));
  auto session = w->session(portal::sha256_hex(s.session));
  REQUIRE(session);
  CHECK(session->role == "agent");
  CHECK(session->email == kAgent);
  CHECK_FALSE(w->session(s.session));
  CHECK(portal::sign_in(*w, token, kNow + 20).result == "invalid");
  w->commit();

  auto v = portal::visitor_of(*d.st, d.c.portal, s.session, kNow + 30);
  REQUIRE(v);
  CHECK(v->agent);
  CHECK(v->name == "Eva Agent");
  CHECK_FALSE(portal::visitor_of(*d.st, d.c.portal, portal::random_hex(16), kNow + 30));
}

TEST_CASE("a link for an address that left the directory before it was used signs nobody in") {
  test::TestDesk d;
  Desk desk(d.c, false);
  {
    auto tx = d.st->begin(store::Store::Mode::write);
    REQUIRE(portal::request_login_link(*tx, desk, kCustomer, "192.0.2.1", kNow).mailed);
    tx->commit();
  }
  auto bytes = d.outbox("login-link", kCustomer).at(0).bytes;
  auto at = bytes.find("/login/") + 7;
  std::string token = bytes.substr(at, 48);
  auto tx = d.st->begin(store::Store::Mode::write);
  tx->remove_contact(kCustomer);
  CHECK(portal::sign_in(*tx, token, kNow + 5).result == "unregistered");
}

}  // namespace sd
