// tests/fuzz/fuzz_parse.cpp: libFuzzer target for sd::parser::parse() and its building
// blocks, the Authentication-Results reader among them. Besides ASan/UBSan findings it checks the contract: every string in a
// ParsedMail is valid UTF-8 and parse() returns (no exception escapes).
//
// Run: tests/fuzz/run_fuzz.sh BUILD/tests/fuzz/fuzz_parse SECONDS [WORKDIR]
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "parser/auth_results.h"
#include "parser/internal.h"
#include "parser/parse.h"

namespace {

void require_utf8(const std::string& s) {
  if (!sd::parser::detail::is_valid_utf8(s)) std::abort();
}

void check(const sd::parser::ParsedMail& m) {
  require_utf8(m.subject);
  require_utf8(m.from.name);
  require_utf8(m.from.email);
  for (const auto* list : {&m.to, &m.cc, &m.reply_to}) {
    for (const auto& a : *list) {
      require_utf8(a.name);
      require_utf8(a.email);
    }
  }
  require_utf8(m.message_id);
  require_utf8(m.in_reply_to);
  for (const auto& r : m.references) require_utf8(r);
  require_utf8(m.date);
  if (m.automatic) require_utf8(*m.automatic);
  require_utf8(m.body_text);
  require_utf8(m.new_text);
  for (const auto& a : m.attachments) {
    require_utf8(a.filename);
    require_utf8(a.content_type);
    require_utf8(a.content_id);
    if (!a.data.empty() && a.data.size() != a.size) std::abort();
    if (a.filename.find('/') != std::string::npos) std::abort();  // display names, not paths
  }
  for (const auto& p : m.problems) require_utf8(p);
  for (const auto& h : m.headers) {
    require_utf8(h.name);
    require_utf8(h.value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check(sd::parser::parse(input));
  // Tight limits reach the limit paths with small inputs.
  sd::parser::Limits tight;
  tight.max_header_bytes = 512;
  tight.max_parts = 8;
  tight.max_depth = 3;
  tight.max_attachment_bytes = 64;
  tight.max_message_bytes = 4096;
  check(sd::parser::parse(input, tight));
  // Building blocks on their own: the first line as a charset label for the rest.
  const std::size_t nl = input.find('\n');
  const std::string_view label = input.substr(0, nl == std::string_view::npos ? 0 : nl);
  const std::string_view rest = nl == std::string_view::npos ? input : input.substr(nl + 1);
  require_utf8(sd::parser::to_utf8(rest, label));
  require_utf8(sd::parser::decode_header_words(input));
  require_utf8(sd::parser::html_to_text(input));
  require_utf8(sd::parser::reply_new_part(sd::parser::detail::guess_to_utf8(input)));
  // Authentication-Results: any bytes as a field value. An invalid field has no results, and
  // a valid one has a method and a result for each.
  const auto ar = sd::parser::parse_authentication_results(input);
  if (!ar.valid && !ar.results.empty()) std::abort();
  for (const auto& r : ar.results)
    if (r.method.empty() || r.result.empty()) std::abort();
  return 0;
}
