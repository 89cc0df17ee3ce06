#include <catch2/catch.hpp>

#include "notify/templates.h"

using namespace sd::notify;

TEST_CASE("Rendering replaces known placeholders and leaves unknown ones visible") {
  CHECK(render("[{{ticket}}] {{subject}} {{typo}}", {{"ticket", "SD-1"}, {"subject", "Hi"}}) == "[SD-1] Hi {{typo}}");
  CHECK(render("{{unclosed", {}) == "{{unclosed");
  CHECK(render("", {}) == "");
}

TEST_CASE("The acknowledgement exists in English, Swedish and Danish and names the ticket") {
  for (auto lang : {"en", "sv", "da", "xx"}) {
    auto t = builtin_template("acknowledgement", lang);
    auto body = render(t.body, {{"ticket", "SD-9"}});
    CHECK(body.find("SD-9") != std::string::npos);
    CHECK(render(t.subject, {{"ticket", "SD-9"}, {"subject", "s"}}) == "[SD-9] s");
  }
  CHECK(builtin_template("acknowledgement", "sv").body.find("Ärendet") != std::string::npos);
  CHECK(builtin_template("acknowledgement", "da").body.find("Sagen") != std::string::npos);
  CHECK_THROWS(builtin_template("no-such-kind", "en"));
}
