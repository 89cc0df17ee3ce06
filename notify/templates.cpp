// notify/templates.cpp: built-in mail texts and operators' overrides (see templates.h).
#include "notify/templates.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sd::notify {
namespace {

struct Texts {
  const char* kind;
  Template en, sv, da;
};

// Customer-facing texts exist in English, Swedish and Danish; agent-facing ones in English.
const Texts kTexts[] = {
    {"acknowledgement",
     {"[{{ticket}}] {{subject}}",
      "Hello {{requester_name}},\n\nThank you for your message. Your case is registered as {{ticket}}.\n"
      "{{first_response_line}}\nReply to this mail to add anything; keep {{ticket}} in the subject.\n\n"
      "Kind regards\n{{service_name}}\n"},
     {"[{{ticket}}] {{subject}}",
      "Hej {{requester_name}},\n\nTack för ditt meddelande. Ärendet är registrerat med nummer {{ticket}}.\n"
      "{{first_response_line}}\nSvara på detta mail om du vill lägga till något; behåll {{ticket}} i ämnesraden.\n\n"
      "Med vänliga hälsningar\n{{service_name}}\n"},
     {"[{{ticket}}] {{subject}}",
      "Hej {{requester_name}},\n\nTak for din henvendelse. Sagen er registreret med nummer {{ticket}}.\n"
      "{{first_response_line}}\nSvar på denne mail, hvis du vil tilføje noget; behold {{ticket}} i emnelinjen.\n\n"
      "Med venlig hilsen\n{{service_name}}\n"}},
    {"status-open",
     {"[{{ticket}}] We are working on your case: {{subject}}",
      "Hello {{requester_name}},\n\n{{agent_name}} has started working on your case {{ticket}}.\n{{text}}\n"
      "Kind regards\n{{service_name}}\n"},
     {"[{{ticket}}] Vi arbetar med ditt ärende: {{subject}}",
      "Hej {{requester_name}},\n\n{{agent_name}} har börjat arbeta med ditt ärende {{ticket}}.\n{{text}}\n"
      "Med vänliga hälsningar\n{{service_name}}\n"},
     {"[{{ticket}}] Vi arbejder på din sag: {{subject}}",
      "Hej {{requester_name}},\n\n{{agent_name}} er begyndt at arbejde på din sag {{ticket}}.\n{{text}}\n"
      "Med venlig hilsen\n{{service_name}}\n"}},
    {"status-pending",
     {"[{{ticket}}] We are waiting for you: {{subject}}",
      "Hello {{requester_name}},\n\n{{text}}\nYour case {{ticket}} waits for your answer; just reply to this mail.\n\n"
      "Kind regards\n{{agent_name}}\n{{service_name}}\n"},
     {"[{{ticket}}] Vi väntar på ditt svar: {{subject}}",
      "Hej {{requester_name}},\n\n{{text}}\nDitt ärende {{ticket}} väntar på ditt svar; svara bara på detta mail.\n\n"
      "Med vänliga hälsningar\n{{agent_name}}\n{{service_name}}\n"},
     {"[{{ticket}}] Vi venter på dit svar: {{subject}}",
      "Hej {{requester_name}},\n\n{{text}}\nDin sag {{ticket}} venter på dit svar; svar blot på denne mail.\n\n"
      "Med venlig hilsen\n{{agent_name}}\n{{service_name}}\n"}},
    {"status-resolved",
     {"[{{ticket}}] Resolved: {{subject}}",
      "Hello {{requester_name}},\n\nYour case {{ticket}} is resolved.\n\n{{text}}\n"
      "If the problem is not solved, reply to this mail and the case opens again.\n\n"
      "Kind regards\n{{agent_name}}\n{{service_name}}\n"},
     {"[{{ticket}}] Löst: {{subject}}",
      "Hej {{requester_name}},\n\nDitt ärende {{ticket}} är löst.\n\n{{text}}\n"
      "Om problemet inte är löst, svara på detta mail så öppnas ärendet igen.\n\n"
      "Med vänliga hälsningar\n{{agent_name}}\n{{service_name}}\n"},
     {"[{{ticket}}] Løst: {{subject}}",
      "Hej {{requester_name}},\n\nDin sag {{ticket}} er løst.\n\n{{text}}\n"
      "Hvis problemet ikke er løst, så svar på denne mail, og sagen åbnes igen.\n\n"
      "Med venlig hilsen\n{{agent_name}}\n{{service_name}}\n"}},
    {"status-reopened",
     {"[{{ticket}}] Reopened: {{subject}}",
      "Hello {{requester_name}},\n\nYour case {{ticket}} is open again and back with our agents.\n\n"
      "Kind regards\n{{service_name}}\n"},
     {"[{{ticket}}] Öppnat igen: {{subject}}",
      "Hej {{requester_name}},\n\nDitt ärende {{ticket}} är öppnat igen och ligger hos våra handläggare.\n\n"
      "Med vänliga hälsningar\n{{service_name}}\n"},
     {"[{{ticket}}] Genåbnet: {{subject}}",
      "Hej {{requester_name}},\n\nDin sag {{ticket}} er åbnet igen og ligger hos vores medarbejdere.\n\n"
      "Med venlig hilsen\n{{service_name}}\n"}},
    {"status-closed",
     {"[{{ticket}}] Closed: {{subject}}",
      "Hello {{requester_name}},\n\nYour case {{ticket}} is closed. A reply to this mail opens a new case.\n\n"
      "Kind regards\n{{service_name}}\n"},
     {"[{{ticket}}] Stängt: {{subject}}",
      "Hej {{requester_name}},\n\nDitt ärende {{ticket}} är stängt. Ett svar på detta mail öppnar ett nytt ärende.\n\n"
      "Med vänliga hälsningar\n{{service_name}}\n"},
     {"[{{ticket}}] Lukket: {{subject}}",
      "Hej {{requester_name}},\n\nDin sag {{ticket}} er lukket. Et svar på denne mail opretter en ny sag.\n\n"
      "Med venlig hilsen\n{{service_name}}\n"}},
    {"reply",
     {"[{{ticket}}] {{subject}}", "{{text}}\n\n-- \n{{agent_name}}\n{{service_name}} ({{ticket}})\n"},
     {"[{{ticket}}] {{subject}}", "{{text}}\n\n-- \n{{agent_name}}\n{{service_name}} ({{ticket}})\n"},
     {"[{{ticket}}] {{subject}}", "{{text}}\n\n-- \n{{agent_name}}\n{{service_name}} ({{ticket}})\n"}},
    {"unknown-sender",
     {"Re: {{subject}}",
      "Hello,\n\nYour mail was received, but only registered contact persons of our customers can open cases at "
      "{{service_name}}. Please ask your organisation's contact person to register you, or to report the case.\n"},
     {"Sv: {{subject}}",
      "Hej,\n\nDitt mail har tagits emot, men endast registrerade kontaktpersoner hos våra kunder kan öppna ärenden "
      "hos {{service_name}}. Be din organisations kontaktperson att registrera dig eller att anmäla ärendet.\n"},
     {"Sv: {{subject}}",
      "Hej,\n\nDin mail er modtaget, men kun registrerede kontaktpersoner hos vores kunder kan oprette sager hos "
      "{{service_name}}. Bed din organisations kontaktperson om at registrere dig eller om at melde sagen.\n"}},
};

const Template kAgentNotification = {
    "[{{ticket}}] {{event}}: {{subject}}",
    "{{event}} on {{ticket}}: {{subject}}\n\nRequester:    {{requester_name}} <{{requester}}>{{unverified}}\n"
    "Organisation: {{organisation}}\nPriority:     {{priority}}\nCategory:     {{category}}\nStatus:       {{status}}\n"
    "First response due: {{first_response_due}}\nResolution due:     {{resolution_due}}\n\n"
    "---- {{sender_name}} <{{sender}}> wrote ----\n{{text}}\n----\n\n"
    "Reply to this mail to answer the customer. Commands on the first lines, before any text:\n"
    "  #status open|pending|resolved|closed   #resolve   #priority highest|high|medium|low|lowest\n"
    "  #category incident|support|order|feature   #assign someone@example.com|me   #time 15m|1h30m   #note\n"};

// To an agent whose mail on a ticket was kept as a note instead of being applied: sent to the
// agent's registered address, never to where the mail came from.
const Template kAgentMailNotApplied = {
    "[{{ticket}}] Kept as a note, not applied: {{subject}}",
    "Your mail <{{message_id}}> on {{ticket}} was stored on the ticket as an internal note. No command in it was "
    "applied and nothing went to the customer:\n\n  {{reason}}\n\n"
    "To answer the customer, reply to the newest notification of {{ticket}} (its Reply-To carries a fresh token).\n"
    "If you did not send this mail, someone is writing in your name: tell your administrator.\n"};

// To the agents, at most once an hour per domain: mail that became tickets without acknowledgement.
const Template kIntakeCapped = {
    "Acknowledgements withheld: {{count}} mails from {{domain}} within the hour",
    "{{count}} mails from {{domain}} within the last hour became tickets without an acknowledgement and without a "
    "notification each: {{reason}}.\nThe newest is {{ticket}} ({{subject}}).\n"
    "Nothing is lost: `servicedesk tickets` lists them. This notice comes at most once an hour for {{domain}}.\n"};

const Template kCommandError = {
    "[{{ticket}}] Not applied: {{subject}}",
    "Nothing of your mail on {{ticket}} was applied, and nothing went to the customer:\n\n{{text}}\n\n"
    "Commands go on the first lines, one per line:\n"
    "  #status open|pending|resolved|closed   #resolve   #priority highest|high|medium|low|lowest\n"
    "  #category incident|support|order|feature   #assign someone@example.com|me   #time 15m|1h30m   #note\n"};

}  // namespace

Template builtin_template(std::string_view kind, std::string_view language) {
  if (kind == "agent-notification") return kAgentNotification;
  if (kind == "command-error") return kCommandError;
  if (kind == "agent-mail-not-applied") return kAgentMailNotApplied;
  if (kind == "intake-capped") return kIntakeCapped;
  for (const auto& t : kTexts) {
    if (kind != t.kind) continue;
    if (language == "sv") return t.sv;
    if (language == "da") return t.da;
    return t.en;
  }
  throw std::invalid_argument("no built-in template for " + std::string(kind));
}

Template load_template(const std::string& dir, std::string_view kind, std::string_view language) {
  if (!dir.empty()) {
    for (std::string name : {std::string(kind) + "." + std::string(language) + ".txt", std::string(kind) + ".txt"}) {
      std::ifstream in(dir + "/" + name);
      if (!in) continue;
      Template t;
      std::string first;
      std::getline(in, first);
      if (first.rfind("Subject: ", 0) != 0)
        throw std::invalid_argument(dir + "/" + name + ":1: a template starts with a line \"Subject: ...\"");
      t.subject = first.substr(9);
      std::string blank;
      std::getline(in, blank);
      std::stringstream rest;
      rest << in.rdbuf();
      t.body = rest.str();
      return t;
    }
  }
  return builtin_template(kind, language);
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
