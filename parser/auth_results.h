// parser/auth_results.h: reads one Authentication-Results header field (RFC 8601) into its
// authserv-id and its results, each a method, a result and properties.
//
// Pure: no I/O, no exceptions, no recursion, no regular expressions; linear in the length
// of the value (a 100 KB header costs one pass), so any byte string is safe to give it.
//
// Security: the header is written by whoever handled the mail, the sender included. Only
// the caller knows which one to believe (desk/agent_mail.cpp: the topmost one whose
// authserv-id the operator trusts); this reader only makes sure that "dmarc=pass" is a
// method and a result, not a substring of a property value or a comment. Values are kept
// as written (without quotes and comments); comparing them is the caller's business.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sd::parser {

struct AuthResult {
  std::string method;  // lower case, without a "/version": "dmarc", "dkim", "spf"
  std::string result;  // lower case: "pass", "fail", "none", ...
  // ("header.from", "example.com"), ("header.d", "example.com"), ...: ptype.property in lower
  // case, the value as written, unquoted.
  std::vector<std::pair<std::string, std::string>> properties;

  // The value of the first property of that name ("header.d"), or nullptr.
  const std::string* property(std::string_view name) const;
};

struct AuthResults {
  std::string authserv_id;  // as written; empty when the field has none
  bool valid = false;       // the whole field followed RFC 8601's grammar
  std::vector<AuthResult> results;  // empty for "none" and when not valid
};

AuthResults parse_authentication_results(std::string_view value);

}  // namespace sd::parser
