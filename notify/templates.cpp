// notify/templates.cpp: built-in mail texts (see templates.h).
#include "notify/templates.h"

#include <stdexcept>

namespace sd::notify {

Template builtin_template(std::string_view kind, std::string_view language) {
  if (kind == "acknowledgement") {
    if (language == "sv")
      return {"[{{ticket}}] {{subject}}",
              "Hej {{requester_name}},\n\nTack för ditt meddelande. Ärendet är registrerat med nummer {{ticket}}.\n"
              "{{first_response_line}}\nSvara på detta mail om du vill lägga till något; behåll {{ticket}} i ämnesraden.\n\n"
              "Med vänliga hälsningar\n{{service_name}}\n"};
    if (language == "da")
      return {"[{{ticket}}] {{subject}}",
              "Hej {{requester_name}},\n\nTak for din henvendelse. Sagen er registreret med nummer {{ticket}}.\n"
              "{{first_response_line}}\nSvar på denne mail, hvis du vil tilføje noget; behold {{ticket}} i emnelinjen.\n\n"
              "Med venlig hilsen\n{{service_name}}\n"};
    return {"[{{ticket}}] {{subject}}",
            "Hello {{requester_name}},\n\nThank you for your message. Your case is registered as {{ticket}}.\n"
            "{{first_response_line}}\nReply to this mail to add anything; keep {{ticket}} in the subject.\n\n"
            "Kind regards\n{{service_name}}\n"};
  }
  throw std::invalid_argument("no built-in template for " + std::string(kind));
}

std::string render(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(pos, open - pos));
    auto it = values.find(std::string(text.substr(open + 2, close - open - 2)));
    out.append(it != values.end() ? std::string_view(it->second) : text.substr(open, close + 2 - open));
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace sd::notify
