// notify/templates.cpp: built-in mail texts and operators' overrides (see templates.h).
#include "notify/templates.h"

#include "core/vocabulary.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
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
      "{{first_response_line}}{{unregistered_line}}\nReply to this mail to add anything; keep {{ticket}} in the subject.\n\n"
      "Kind regards\n{{service_name}}\n"},
     {"[{{ticket}}] {{subject}}",
      "Hej {{requester_name}},\n\nTack för ditt meddelande. Ärendet är registrerat med nummer {{ticket}}.\n"
      "{{first_response_line}}{{unregistered_line}}\nSvara på detta mail om du vill lägga till något; behåll {{ticket}} i ämnesraden.\n\n"
      "Med vänliga hälsningar\n{{service_name}}\n"},
     {"[{{ticket}}] {{subject}}",
      "Hej {{requester_name}},\n\nTak for din henvendelse. Sagen er registreret med nummer {{ticket}}.\n"
      "{{first_response_line}}{{unregistered_line}}\nSvar på denne mail, hvis du vil tilføje noget; behold {{ticket}} i emnelinjen.\n\n"
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
    // The acknowledgement's {{first_response_line}} when the ticket's SLA has a first-response
    // target (the subject is not used).
    {"first-response",
     {"", "You will have a first response by {{due}}.\n"},
     {"", "Du får ett första svar senast {{due}}.\n"},
     {"", "Du får et første svar senest {{due}}.\n"}},
    // The acknowledgement's {{unregistered_line}} for a sender of an organisation's mail domain
    // who is not one of its registered contacts (the subject is not used).
    {"unregistered-contact",
     {"", "You wrote from an address of {{organisation}} that is not one of its registered contacts. Cases from "
          "registered contacts are handled first; ask your organisation's contact person to have you registered "
          "with {{service_name}}.\n"},
     {"", "Du skrev från en adress hos {{organisation}} som inte är en av dess registrerade kontaktpersoner. Ärenden "
          "från registrerade kontaktpersoner hanteras först; be din organisations kontaktperson att registrera dig "
          "hos {{service_name}}.\n"},
     {"", "Du skrev fra en adresse hos {{organisation}}, som ikke er en af dens registrerede kontaktpersoner. Sager "
          "fra registrerede kontaktpersoner behandles først; bed din organisations kontaktperson om at få dig "
          "registreret hos {{service_name}}.\n"}},
};

const Template kAgentNotification = {
    "[{{ticket}}] {{event}}: {{subject}}",
    "{{event}} on {{ticket}}: {{subject}}\n\nRequester:    {{requester_name}} <{{requester}}>{{unverified}}\n"
    "Organisation: {{organisation}}\nPriority:     {{priority}}\nCategory:     {{category}}\nStatus:       {{status}}\n"
    "First response due: {{first_response_due}}\nResolution due:     {{resolution_due}}\n\n"
    "---- {{sender_name}} <{{sender}}> wrote ----\n{{text}}\n----\n{{attachments}}\n"
    "Reply to this mail to answer the customer. Commands on the first lines, before any text:\n{{commands}}"};

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

// The SLA clock's mails to the assignee (else sla.agents_address; breaches to the SLA's
// escalation_address when set).
const Template kSlaWarning = {
    "[{{ticket}}] SLA warning: {{target}} due {{due}}",
    "Ticket {{ticket}}: {{subject}}\nRequester: {{requester_name}} <{{requester}}>\nOrganisation: {{organisation}}\n"
    "Priority: {{priority}}\nStatus: {{status}}\n{{target}} due: {{due}}\n\nThe target is near. Please act.\n"};
const Template kSlaBreach = {
    "[{{ticket}}] SLA breached: {{target}} was due {{due}}",
    "Ticket {{ticket}}: {{subject}}\nRequester: {{requester_name}} <{{requester}}>\nOrganisation: {{organisation}}\n"
    "Priority: {{priority}}\nStatus: {{status}}\n{{target}} due: {{due}}\n\nThe target has been missed. Please act now.\n"};
const Template kSlaReminder = {
    "[{{ticket}}] Reminder: {{target}} was due {{due}}",
    "Ticket {{ticket}}: {{subject}}\nRequester: {{requester_name}} <{{requester}}>\nOrganisation: {{organisation}}\n"
    "Priority: {{priority}}\nStatus: {{status}}\n{{target}} due: {{due}}\n\n"
    "The customer has heard nothing for a while: please send them the latest status.\n"};

// An agent's #attachments: the ticket's files, in as many mails as the size limit needs.
const Template kAttachments = {
    "[{{ticket}}] Attachments {{part}}/{{parts}}: {{subject}}",
    "The attachments of {{ticket}} ({{subject}}), mail {{part}} of {{parts}}:\n\n{{list}}\n"};

const Template kCommandError = {
    "[{{ticket}}] Not applied: {{subject}}",
    "Nothing of your mail on {{ticket}} was applied, and nothing went to the customer:\n\n{{text}}\n\n"
    "Commands go on the first lines, one per line:\n{{commands}}"};

}  // namespace

Template builtin_template(std::string_view kind, std::string_view language) {
  if (kind == "agent-notification") return kAgentNotification;
  if (kind == "command-error") return kCommandError;
  if (kind == "attachments") return kAttachments;
  if (kind == "agent-mail-not-applied") return kAgentMailNotApplied;
  if (kind == "intake-capped") return kIntakeCapped;
  if (kind == "sla-warning") return kSlaWarning;
  if (kind == "sla-breach") return kSlaBreach;
  if (kind == "sla-reminder") return kSlaReminder;
  for (const auto& t : kTexts) {
    if (kind != t.kind) continue;
    if (language == "sv") return t.sv;
    if (language == "da") return t.da;
    return t.en;
  }
  throw std::invalid_argument("no built-in template for " + std::string(kind));
}

const std::vector<TemplateKind>& template_kinds() {
  static const std::vector<TemplateKind> kinds = {
      {"acknowledgement", true, {"ticket", "subject", "requester_name", "service_name", "first_response_line", "unregistered_line"}},
      {"first-response", true, {"due"}},
      {"unregistered-contact", true, {"organisation", "service_name"}},
      {"status-open", true, {"ticket", "subject", "requester_name", "agent_name", "service_name", "text"}},
      {"status-pending", true, {"ticket", "subject", "requester_name", "agent_name", "service_name", "text"}},
      {"status-resolved", true, {"ticket", "subject", "requester_name", "agent_name", "service_name", "text"}},
      {"status-reopened", true, {"ticket", "subject", "requester_name", "agent_name", "service_name", "text"}},
      {"status-closed", true, {"ticket", "subject", "requester_name", "agent_name", "service_name", "text"}},
      {"reply", true, {"ticket", "subject", "requester_name", "agent_name", "service_name", "text"}},
      {"unknown-sender", true, {"subject", "service_name"}},
      {"agent-notification", false,
       {"ticket", "event", "subject", "requester", "requester_name", "sender", "sender_name", "unverified",
        "organisation", "priority", "category", "status", "first_response_due", "resolution_due", "text", "attachments",
        "commands"}},
      {"command-error", false, {"ticket", "subject", "text", "commands"}},
      {"attachments", false, {"ticket", "subject", "part", "parts", "list"}},
      {"agent-mail-not-applied", false, {"ticket", "subject", "message_id", "reason"}},
      {"intake-capped", false, {"count", "domain", "reason", "ticket", "subject"}},
      {"sla-warning", false, {"ticket", "subject", "requester", "requester_name", "organisation", "priority", "status", "target", "due"}},
      {"sla-breach", false, {"ticket", "subject", "requester", "requester_name", "organisation", "priority", "status", "target", "due"}},
      {"sla-reminder", false, {"ticket", "subject", "requester", "requester_name", "organisation", "priority", "status", "target", "due"}},
  };
  return kinds;
}

const TemplateKind* template_kind(std::string_view kind) {
  for (const auto& k : template_kinds())
    if (k.kind == kind) return &k;
  return nullptr;
}

namespace {

const std::vector<std::string> kCustomerLanguages = [] {
  std::vector<std::string> names;
  for (auto l : kLanguages) names.emplace_back(to_string(l));
  return names;
}();

// The {{name}} placeholders of `text` that `kind` does not know, each with its line number
// (counted from `first_line`).
std::optional<std::string> unknown_placeholder(const TemplateKind& kind, std::string_view text, int first_line) {
  int line = first_line;
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    if (text[pos] == '\n') ++line;
    if (text.compare(pos, 2, "{{") != 0) continue;
    auto close = text.find("}}", pos + 2);
    if (close == std::string_view::npos) return std::nullopt;
    std::string name(text.substr(pos + 2, close - pos - 2));
    if (std::find(kind.placeholders.begin(), kind.placeholders.end(), name) == kind.placeholders.end()) {
      std::string known;
      for (const auto& k : kind.placeholders) known += (known.empty() ? "{{" : ", {{") + k + "}}";
      return std::to_string(line) + ": {{" + name + "}} is no placeholder of " + kind.kind + " (it has " + known + ")";
    }
    pos = close + 1;
  }
  return std::nullopt;
}

// One operator's file: a first line "Subject: ...", a blank line, the body.
tl::expected<Template, std::string> read_template_file(const std::string& path, const TemplateKind& kind) {
  std::ifstream in(path);
  if (!in) return tl::make_unexpected(path + ": cannot be read");
  Template t;
  std::string first, blank;
  std::getline(in, first);
  if (first.rfind("Subject: ", 0) != 0) return tl::make_unexpected(path + ":1: a template starts with a line \"Subject: ...\"");
  t.subject = first.substr(9);
  std::getline(in, blank);
  std::stringstream rest;
  rest << in.rdbuf();
  t.body = rest.str();
  if (auto bad = unknown_placeholder(kind, t.subject, 1)) return tl::make_unexpected(path + ":" + *bad);
  if (auto bad = unknown_placeholder(kind, t.body, 3)) return tl::make_unexpected(path + ":" + *bad);
  return t;
}

}  // namespace

const Template& TemplateSet::get(std::string_view kind, std::string_view language) const {
  auto it = texts_.find(std::string(kind) + "." + std::string(language));
  if (it == texts_.end()) it = texts_.find(std::string(kind) + ".en");
  if (it == texts_.end()) throw std::logic_error("no template kind " + std::string(kind) + " (notify/templates.h)");
  return it->second;
}

TemplateSet TemplateSet::builtin() {
  TemplateSet set;
  for (const auto& k : template_kinds())
    for (const auto& lang : kCustomerLanguages)
      if (k.customer || lang == "en") set.texts_[k.kind + "." + lang] = builtin_template(k.kind, lang);
  return set;
}

tl::expected<TemplateSet, std::string> load_templates(const std::string& dir) {
  auto set = TemplateSet::builtin();
  if (dir.empty()) return set;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return tl::make_unexpected(dir + ": not a directory of templates");
  // Every file must be a template of a known kind and language: a misspelt name would
  // otherwise be ignored without a word.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".txt") names.push_back(e.path().filename().string());
  if (ec) return tl::make_unexpected(dir + ": " + ec.message());
  std::sort(names.begin(), names.end());  // KIND.txt before KIND.LANG.txt is not needed: precedence below
  for (const auto& name : names) {
    std::string stem = name.substr(0, name.size() - 4), lang;
    const TemplateKind* kind = template_kind(stem);
    if (!kind) {
      auto dot = stem.rfind('.');
      if (dot != std::string::npos) {
        lang = stem.substr(dot + 1);
        kind = template_kind(stem.substr(0, dot));
      }
    }
    std::string path = dir + "/" + name;
    if (!kind) {
      std::string kinds;
      for (const auto& k : template_kinds()) kinds += (kinds.empty() ? "" : ", ") + k.kind;
      return tl::make_unexpected(path + ": no template kind of that name; the kinds are " + kinds +
                                 " (files KIND.txt or KIND.LANG.txt, docs/templates.md)");
    }
    if (!lang.empty() && std::find(kCustomerLanguages.begin(), kCustomerLanguages.end(), lang) == kCustomerLanguages.end())
      return tl::make_unexpected(path + ": no language '" + lang + "'; the languages are en, sv, da");
    auto t = read_template_file(path, *kind);
    if (!t) return tl::make_unexpected(t.error());
    for (const auto& l : kCustomerLanguages) {
      if (!kind->customer && l != "en") continue;
      if (!lang.empty() && l != lang) continue;
      // KIND.LANG.txt wins over KIND.txt for its language.
      bool specific = std::filesystem::exists(dir + "/" + kind->kind + "." + l + ".txt");
      if (lang.empty() && specific) continue;
      set.texts_[kind->kind + "." + l] = *t;
    }
  }
  return set;
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
