// Authentication-Results (RFC 8601) read as tokens: a forged "dmarc=pass" inside a property
// value or a comment is not a result, and any byte string is read in one linear pass.
#include <catch2/catch.hpp>

#include "parser/auth_results.h"

using sd::parser::parse_authentication_results;

TEST_CASE("A typical MTA's Authentication-Results is read into methods, results and properties") {
  auto ar = parse_authentication_results(
      "mx.example.com; dkim=pass (2048-bit key; unprotected) header.d=example.com header.i=@example.com "
      "header.b=\"aBc/12+=\"; spf=pass (domain of eva@example.com designates 192.0.2.1) smtp.mailfrom=eva@example.com; "
      "dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com");
  REQUIRE(ar.valid);
  CHECK(ar.authserv_id == "mx.example.com");
  REQUIRE(ar.results.size() == 3);
  CHECK(ar.results[0].method == "dkim");
  CHECK(ar.results[0].result == "pass");
  CHECK(*ar.results[0].property("header.d") == "example.com");
  CHECK(*ar.results[0].property("header.b") == "aBc/12+=");
  CHECK(*ar.results[1].property("smtp.mailfrom") == "eva@example.com");
  CHECK(ar.results[2].method == "dmarc");
  CHECK(*ar.results[2].property("header.from") == "example.com");
}

TEST_CASE("A version, method versions, a reason and 'none' are understood") {
  auto ar = parse_authentication_results("mx.example.com 1; dkim/1 = fail reason=\"bad signature\" header.d=x.example");
  REQUIRE(ar.valid);
  CHECK(ar.results[0].method == "dkim");
  CHECK(ar.results[0].result == "fail");
  CHECK(*ar.results[0].property("header.d") == "x.example");
  auto none = parse_authentication_results("mx.example.com; none");
  CHECK(none.valid);
  CHECK(none.results.empty());
}

TEST_CASE("dmarc=pass inside a property value or a comment is no result") {
  auto ar = parse_authentication_results("mx.example.com; spf=fail smtp.mailfrom=dmarc=pass@evil.example");
  REQUIRE(ar.valid);
  REQUIRE(ar.results.size() == 1);
  CHECK(ar.results[0].method == "spf");
  CHECK(*ar.results[0].property("smtp.mailfrom") == "dmarc=pass@evil.example");
  auto c = parse_authentication_results("mx.example.com; dmarc=fail (dmarc=pass; dkim=pass) header.from=example.com");
  REQUIRE(c.valid);
  REQUIRE(c.results.size() == 1);
  CHECK(c.results[0].result == "fail");
}

TEST_CASE("A DKIM domain is taken whole, not cut at the first character a pattern did not expect") {
  auto ar = parse_authentication_results("mx.example.com; dkim=pass header.d=example.com_x.evil.example");
  REQUIRE(ar.valid);
  CHECK(*ar.results[0].property("header.d") == "example.com_x.evil.example");
}

TEST_CASE("Malformed fields keep their authserv-id but are not valid") {
  for (const char* v : {"mx.example.com", "mx.example.com; dmarc", "mx.example.com; dmarc=pass (unclosed",
                        "mx.example.com; dmarc=pass header.from", "mx.example.com; =pass", "; dmarc=pass",
                        "mx.example.com; dmarc=pass header.from=\"unclosed", "mx.example.com; dmarc=pass;;"}) {
    auto ar = parse_authentication_results(v);
    CAPTURE(v);
    CHECK_FALSE(ar.valid);
    CHECK(ar.results.empty());
  }
  CHECK(parse_authentication_results("mx.example.com; dmarc").authserv_id == "mx.example.com");
}

TEST_CASE("A 100 KB field and a million nested comments are read without harm") {
  std::string big = "mx.example.com; dkim=pass header.d=" + std::string(100000, 'a');
  auto ar = parse_authentication_results(big);
  CHECK(ar.valid);
  std::string nested = "mx.example.com; dmarc=pass " + std::string(1000000, '(') + std::string(1000000, ')') +
                       " header.from=example.com";
  CHECK(parse_authentication_results(nested).valid);
  CHECK_FALSE(parse_authentication_results("mx.example.com; dmarc=pass " + std::string(1000000, '(')).valid);
  std::string many = "mx.example.com";
  for (int i = 0; i < 20000; ++i) many += "; dkim=pass header.d=a.example";
  CHECK(parse_authentication_results(many).results.size() == 20000);
}
