// notify/templates.cpp: built-in mail texts and operators' overrides (see templates.h).
#include "notify/templates.h"

#include "core/text.h"
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

struct AnswerWords {
  const char* hello;
  const char* regards;
  const char* follow;  // the portal link's words
};
const AnswerWords kEnglish{"Hello", "Kind regards", "Follow your case and answer it on the web:"};
const AnswerWords kSwedish{"Hej", "Med vänliga hälsningar", "Följ och svara på ditt ärende på webben:"};
const AnswerWords kDanish{"Hej", "Med venlig hilsen", "Følg og besvar din sag på nettet:"};

// The ticket's portal link on a paragraph of its own, placed where a paragraph begins; the
// whole of it is left out when portal.base_url is unset ({{portal_link}} empty).
std::string portal_paragraph(const AnswerWords& w) {
  return std::string("{{#portal_link}}\n") + w.follow + " {{portal_link}}\n\n{{/portal_link}}\n";
}

// The greeting by first name: "Hej Anna," or, without a first name, "Hej,".
std::string greeting(const AnswerWords& w) {
  return std::string(w.hello) + "{{#requester_first_name}} {{requester_first_name}}{{/requester_first_name}},\n\n";
}

// An answer to the customer reads as one mail. With an agent's words ({{text}}: the agent's
// whole text, their own greeting included) it is those words, one line on the status
// (`status_line`; none when empty) and one signature, the agent's name and the desk; without
// words, our greeting by first name, `plain_line` and our closing. Never two greetings, never
// two sign-offs. {{agent}} is empty when the desk itself writes (a reopened or auto-closed
// ticket, an operator's `ticket set`): then only the desk signs.
std::string answer(const AnswerWords& w, const std::string& plain_line, const std::string& status_line) {
  return "{{^text}}" + greeting(w) + plain_line + "\n\n" + portal_paragraph(w) + w.regards +
         "\n{{#agent}}{{agent}}\n{{/agent}}{{service_name}}\n" + "{{/text}}{{#text}}{{text}}\n" +
         (status_line.empty() ? "" : status_line + "\n\n") + portal_paragraph(w) +
         "-- \n{{#agent}}{{agent}}\n{{/agent}}{{service_name}} ({{ticket}})\n{{/text}}";
}
std::string answer(const AnswerWords& w, const std::string& status_line) { return answer(w, status_line, status_line); }

// The words of the estimate mails: the work line, why it needs approval, how to answer.
struct EstimateWords {
  const char* work;      // "{{estimate}} of work: {{estimate_text}}"
  const char* charged;
  const char* approve;   // before {{approve_word}}
  const char* decline;   // before {{decline_word}}
  const char* first_line;
  const char* buttons;   // before {{portal_link}}
};
const EstimateWords kEstimateEn{
    "{{estimate}} of work: {{estimate_text}}",
    "This work is outside what your service agreement includes and is charged by the time spent. We go on only once "
    "you approve.",
    "To approve, reply to this mail with this word on the first line:", "To decline, reply with:",
    "(Only the first line counts, and only from a registered contact of your organisation.)",
    "Or answer with the buttons on your case's page:"};
const EstimateWords kEstimateSv{
    "{{estimate}} arbete: {{estimate_text}}",
    "Arbetet ligger utanför vad ert serviceavtal omfattar och debiteras efter nedlagd tid. Vi går vidare först när ni "
    "har godkänt.",
    "För att godkänna, svara på detta mail med detta ord på första raden:", "För att avböja, svara med:",
    "(Bara första raden räknas, och bara från en registrerad kontaktperson i er organisation.)",
    "Eller svara med knapparna på ärendets sida:"};
const EstimateWords kEstimateDa{
    "{{estimate}} arbejde: {{estimate_text}}",
    "Arbejdet ligger uden for, hvad jeres serviceaftale omfatter, og faktureres efter forbrugt tid. Vi går først videre, "
    "når I har godkendt.",
    "For at godkende, svar på denne mail med dette ord på første linje:", "For at afvise, svar med:",
    "(Kun første linje tæller, og kun fra en registreret kontaktperson i jeres organisation.)",
    "Eller svar med knapperne på sagens side:"};

// An estimate mail: the agent's words if any (else our greeting), `intro`, the estimate, why it
// needs approval, the two answers, the portal's buttons, the signature.
std::string estimate_mail(const AnswerWords& w, const EstimateWords& e, const std::string& intro) {
  return "{{^text}}" + greeting(w) + "{{/text}}{{#text}}{{text}}\n{{/text}}" + intro + "\n\n  " + e.work + "\n\n" +
         e.charged + "\n\n" + e.approve + "\n\n  {{approve_word}}\n\n" + e.decline + "\n\n  {{decline_word}}\n\n" +
         e.first_line + "\n\n{{#portal_link}}\n" + e.buttons + " {{portal_link}}\n\n{{/portal_link}}\n" + w.regards +
         "\n{{#agent}}{{agent}}\n{{/agent}}{{service_name}} ({{ticket}})\n";
}

// Customer-facing texts exist in English, Swedish and Danish; agent-facing ones in English.
const Texts kTexts[] = {
    {"acknowledgement",
     {"[{{ticket}}] {{subject}}",
      greeting(kEnglish) + "Thank you for your message. Your case is registered as {{ticket}}.\n"
      "{{#continues}}It continues your earlier case {{continues}}.\n{{/continues}}{{first_response_line}}{{maintenance_line}}{{unregistered_line}}\nReply to this mail to add anything; keep {{ticket}} in the subject.\n\n" +
      portal_paragraph(kEnglish) + "Kind regards\n{{service_name}}\n"},
     {"[{{ticket}}] {{subject}}",
      greeting(kSwedish) + "Tack för ditt meddelande. Ärendet är registrerat med nummer {{ticket}}.\n"
      "{{#continues}}Det är en fortsättning på ditt tidigare ärende {{continues}}.\n{{/continues}}{{first_response_line}}{{maintenance_line}}{{unregistered_line}}\nSvara på detta mail om du vill lägga till något; behåll {{ticket}} i ämnesraden.\n\n" +
      portal_paragraph(kSwedish) + "Med vänliga hälsningar\n{{service_name}}\n"},
     {"[{{ticket}}] {{subject}}",
      greeting(kDanish) + "Tak for din henvendelse. Sagen er registreret med nummer {{ticket}}.\n"
      "{{#continues}}Den er en fortsættelse af din tidligere sag {{continues}}.\n{{/continues}}{{first_response_line}}{{maintenance_line}}{{unregistered_line}}\nSvar på denne mail, hvis du vil tilføje noget; behold {{ticket}} i emnelinjen.\n\n" +
      portal_paragraph(kDanish) + "Med venlig hilsen\n{{service_name}}\n"}},
    // The answers: see answer() above for how each reads with and without an agent's words.
    {"status-open",
     {"[{{ticket}}] We are working on your case: {{subject}}",
      answer(kEnglish, "{{agent_name}} has started working on your case {{ticket}}.",
             "Your case {{ticket}} is open and being worked on.")},
     {"[{{ticket}}] Vi arbetar med ditt ärende: {{subject}}",
      answer(kSwedish, "{{agent_name}} har börjat arbeta med ditt ärende {{ticket}}.",
             "Ditt ärende {{ticket}} är öppet och vi arbetar med det.")},
     {"[{{ticket}}] Vi arbejder på din sag: {{subject}}",
      answer(kDanish, "{{agent_name}} er begyndt at arbejde på din sag {{ticket}}.",
             "Din sag {{ticket}} er åben, og vi arbejder på den.")}},
    {"status-pending",
     {"[{{ticket}}] We are waiting for you: {{subject}}",
      answer(kEnglish, "Your case {{ticket}} waits for your answer; just reply to this mail.")},
     {"[{{ticket}}] Vi väntar på ditt svar: {{subject}}",
      answer(kSwedish, "Ditt ärende {{ticket}} väntar på ditt svar; svara bara på detta mail.")},
     {"[{{ticket}}] Vi venter på dit svar: {{subject}}",
      answer(kDanish, "Din sag {{ticket}} venter på dit svar; svar blot på denne mail.")}},
    {"status-resolved",
     {"[{{ticket}}] Resolved: {{subject}}",
      answer(kEnglish, "Your case {{ticket}} is resolved. If the problem is not solved, reply to this mail and the "
                       "case opens again.")},
     {"[{{ticket}}] Löst: {{subject}}",
      answer(kSwedish, "Ditt ärende {{ticket}} är löst. Om problemet inte är löst, svara på detta mail så öppnas "
                       "ärendet igen.")},
     {"[{{ticket}}] Løst: {{subject}}",
      answer(kDanish, "Din sag {{ticket}} er løst. Hvis problemet ikke er løst, så svar på denne mail, og sagen "
                      "åbnes igen.")}},
    {"status-reopened",
     {"[{{ticket}}] Reopened: {{subject}}",
      answer(kEnglish, "Your case {{ticket}} is open again and back with our agents.")},
     {"[{{ticket}}] Öppnat igen: {{subject}}",
      answer(kSwedish, "Ditt ärende {{ticket}} är öppnat igen och ligger hos våra handläggare.")},
     {"[{{ticket}}] Genåbnet: {{subject}}",
      answer(kDanish, "Din sag {{ticket}} er åbnet igen og ligger hos vores medarbejdere.")}},
    {"status-closed",
     {"[{{ticket}}] Closed: {{subject}}",
      answer(kEnglish, "Your case {{ticket}} is closed. A reply to this mail opens a new case.")},
     {"[{{ticket}}] Stängt: {{subject}}",
      answer(kSwedish, "Ditt ärende {{ticket}} är stängt. Ett svar på detta mail öppnar ett nytt ärende.")},
     {"[{{ticket}}] Lukket: {{subject}}",
      answer(kDanish, "Din sag {{ticket}} er lukket. Et svar på denne mail opretter en ny sag.")}},
    // An agent's answer that changes no status: no status line after the agent's words.
    {"reply",
     {"[{{ticket}}] {{subject}}", answer(kEnglish, "There is news on your case {{ticket}}.", "")},
     {"[{{ticket}}] {{subject}}", answer(kSwedish, "Det finns nytt i ditt ärende {{ticket}}.", "")},
     {"[{{ticket}}] {{subject}}", answer(kDanish, "Der er nyt i din sag {{ticket}}.", "")}},
    // A major incident (desk/incidents.h): an agent's #broadcast, and its resolution, to each
    // person it affects once, on their own thread. {{incident}} is its title, {{others}} the
    // person's other linked tickets (empty: none), {{text}} the agent's words.
    {"incident-update",
     {"[{{ticket}}] Incident update: {{subject}}",
      greeting(kEnglish) + "We are working on a major incident that affects you: {{incident}}.\n"
      "{{#others}}Your cases {{others}} are part of it too.\n{{/others}}\n{{text}}\n"
      "We will keep you informed until it is resolved; you need not report it again. Reply to this mail to add "
      "anything.\n\n" + portal_paragraph(kEnglish) + "Kind regards\n{{#agent}}{{agent}}\n{{/agent}}{{service_name}}\n"},
     {"[{{ticket}}] Driftstörning: {{subject}}",
      greeting(kSwedish) + "Vi arbetar med en större incident som påverkar er: {{incident}}.\n"
      "{{#others}}Även era ärenden {{others}} ingår i den.\n{{/others}}\n{{text}}\n"
      "Vi håller er informerade tills den är löst; ni behöver inte anmäla den igen. Svara på detta mail om du vill "
      "lägga till något.\n\n" + portal_paragraph(kSwedish) + "Med vänliga hälsningar\n{{#agent}}{{agent}}\n{{/agent}}{{service_name}}\n"},
     {"[{{ticket}}] Driftsforstyrrelse: {{subject}}",
      greeting(kDanish) + "Vi arbejder på en større hændelse, der berører jer: {{incident}}.\n"
      "{{#others}}Jeres sager {{others}} er også en del af den.\n{{/others}}\n{{text}}\n"
      "Vi holder jer orienteret, indtil den er løst; I behøver ikke melde den igen. Svar på denne mail, hvis du vil "
      "tilføje noget.\n\n" + portal_paragraph(kDanish) + "Med venlig hilsen\n{{#agent}}{{agent}}\n{{/agent}}{{service_name}}\n"}},
    {"incident-resolved",
     {"[{{ticket}}] Resolved: {{subject}}",
      greeting(kEnglish) + "The major incident that affected you is resolved: {{incident}}.\n"
      "{{#others}}Your cases {{others}} are resolved with it.\n{{/others}}\n{{text}}\n"
      "If the problem remains for you, reply to this mail and your case opens again.\n\n" + portal_paragraph(kEnglish) +
      "Kind regards\n{{#agent}}{{agent}}\n{{/agent}}{{service_name}}\n"},
     {"[{{ticket}}] Löst: {{subject}}",
      greeting(kSwedish) + "Den större incident som påverkade er är löst: {{incident}}.\n"
      "{{#others}}Era ärenden {{others}} är lösta samtidigt.\n{{/others}}\n{{text}}\n"
      "Om problemet kvarstår för dig, svara på detta mail så öppnas ditt ärende igen.\n\n" + portal_paragraph(kSwedish) +
      "Med vänliga hälsningar\n{{#agent}}{{agent}}\n{{/agent}}{{service_name}}\n"},
     {"[{{ticket}}] Løst: {{subject}}",
      greeting(kDanish) + "Den større hændelse, der berørte jer, er løst: {{incident}}.\n"
      "{{#others}}Jeres sager {{others}} er løst samtidig.\n{{/others}}\n{{text}}\n"
      "Hvis problemet fortsat er der for dig, så svar på denne mail, og din sag åbnes igen.\n\n" + portal_paragraph(kDanish) +
      "Med venlig hilsen\n{{#agent}}{{agent}}\n{{/agent}}{{service_name}}\n"}},
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
    // Estimates the customer approves (desk/estimates.h): the estimate, and its reminder after
    // 5 business days. The answer is a reply with the word on its first line, or the portal's
    // buttons; the mail's Reply-To carries the approval token.
    {"estimate",
     {"[{{ticket}}] Estimate for your approval: {{subject}}",
      estimate_mail(kEnglish, kEstimateEn, "Before we go on with your case {{ticket}}, we need your approval of this estimate:")},
     {"[{{ticket}}] Uppskattning att godkänna: {{subject}}",
      estimate_mail(kSwedish, kEstimateSv, "Innan vi går vidare med ditt ärende {{ticket}} behöver vi ert godkännande av denna uppskattning:")},
     {"[{{ticket}}] Estimat til godkendelse: {{subject}}",
      estimate_mail(kDanish, kEstimateDa, "Før vi går videre med din sag {{ticket}}, har vi brug for jeres godkendelse af dette estimat:")}},
    {"estimate-reminder",
     {"[{{ticket}}] Reminder, estimate for your approval: {{subject}}",
      estimate_mail(kEnglish, kEstimateEn, "On {{sent}} we sent you this estimate for your case {{ticket}}, and we have not had your answer yet:")},
     {"[{{ticket}}] Påminnelse, uppskattning att godkänna: {{subject}}",
      estimate_mail(kSwedish, kEstimateSv, "Den {{sent}} skickade vi denna uppskattning för ditt ärende {{ticket}}, och vi har ännu inte fått ert svar:")},
     {"[{{ticket}}] Påmindelse, estimat til godkendelse: {{subject}}",
      estimate_mail(kDanish, kEstimateDa, "Den {{sent}} sendte vi dette estimat for din sag {{ticket}}, og vi har endnu ikke fået jeres svar:")}},
    // Maintenance notices (desk/notices.h): to each contact of the organisations a notice
    // concerns, on no ticket; the window in the zone of the organisation's calendar.
    {"notice",
     {"Maintenance notice: {{kind}} from {{start}}",
      "Hello{{#requester_first_name}} {{requester_first_name}}{{/requester_first_name}},\n\n"
      "We will carry out {{kind}} that may affect the service for {{organisation}}:\n\n"
      "  From: {{start}}\n  To:   {{end}}\n  (times in {{time_zone}})\n\n{{text}}\n"
      "{{#portal_link}}Coming maintenance is also shown on {{portal_link}}\n\n{{/portal_link}}"
      "Kind regards\n{{service_name}}\n"},
     {"Underhållsmeddelande: {{kind}} från {{start}}",
      "Hej{{#requester_first_name}} {{requester_first_name}}{{/requester_first_name}},\n\n"
      "Vi kommer att utföra {{kind}} som kan påverka tjänsten för {{organisation}}:\n\n"
      "  Från: {{start}}\n  Till: {{end}}\n  (tider i {{time_zone}})\n\n{{text}}\n"
      "{{#portal_link}}Kommande underhåll visas också på {{portal_link}}\n\n{{/portal_link}}"
      "Med vänliga hälsningar\n{{service_name}}\n"},
     {"Meddelelse om vedligeholdelse: {{kind}} fra {{start}}",
      "Hej{{#requester_first_name}} {{requester_first_name}}{{/requester_first_name}},\n\n"
      "Vi udfører {{kind}}, som kan påvirke tjenesten for {{organisation}}:\n\n"
      "  Fra: {{start}}\n  Til: {{end}}\n  (tider i {{time_zone}})\n\n{{text}}\n"
      "{{#portal_link}}Kommende vedligeholdelse vises også på {{portal_link}}\n\n{{/portal_link}}"
      "Med venlig hilsen\n{{service_name}}\n"}},
    {"notice-cancelled",
     {"Cancelled: {{kind}} from {{start}}",
      "Hello{{#requester_first_name}} {{requester_first_name}}{{/requester_first_name}},\n\n"
      "The {{kind}} we announced for {{start}} to {{end}} ({{time_zone}}) is cancelled. The service is not "
      "affected then.\n\nKind regards\n{{service_name}}\n"},
     {"Inställt: {{kind}} från {{start}}",
      "Hej{{#requester_first_name}} {{requester_first_name}}{{/requester_first_name}},\n\n"
      "Vi har ställt in {{kind}} som vi aviserade för {{start}} till {{end}} ({{time_zone}}). Tjänsten påverkas "
      "inte då.\n\nMed vänliga hälsningar\n{{service_name}}\n"},
     {"Aflyst: {{kind}} fra {{start}}",
      "Hej{{#requester_first_name}} {{requester_first_name}}{{/requester_first_name}},\n\n"
      "Vi har aflyst {{kind}}, som vi varslede for {{start}} til {{end}} ({{time_zone}}). Tjenesten påvirkes ikke "
      "da.\n\nMed venlig hilsen\n{{service_name}}\n"}},
    // The acknowledgement's maintenance line, for a ticket opened while a service window or a
    // notice's window is in progress (the subject is not used).
    {"maintenance-in-progress",
     {"", "Maintenance is in progress until {{until}}; the service may be affected until then.\n"},
     {"", "Underhåll pågår till {{until}}; tjänsten kan påverkas fram till dess.\n"},
     {"", "Der udføres vedligeholdelse indtil {{until}}; tjenesten kan være påvirket indtil da.\n"}},
    // Keeping customers informed (desk/keep_informed.h): a ticket's status after a silence of
    // customer_update_hours; {{last_words}} is the agents' last words to the customer, quoted.
    {"customer-update",
     {"[{{ticket}}] Status of your case: {{subject}}",
      greeting(kEnglish) + "Your case {{ticket}} is {{status}}. We have not written to you since {{since}}, so here "
      "is where it stands.\n\n{{#last_words}}\nThe last we wrote to you ({{last_at}}{{#last_agent}}, "
      "{{last_agent}}{{/last_agent}}):\n\n{{last_words}}\n{{/last_words}}\n{{^last_words}}\nNo agent has "
      "answered yet: your case is in our queue.\n\n{{/last_words}}\nWe will write as soon as there is news. Reply "
      "to this mail to add anything; keep {{ticket}} in the subject.\n\n" +
      portal_paragraph(kEnglish) + "Kind regards\n{{service_name}}\n"},
     {"[{{ticket}}] Status för ditt ärende: {{subject}}",
      greeting(kSwedish) + "Ditt ärende {{ticket}} är {{status}}. Vi har inte skrivit till dig sedan {{since}}, så "
      "här är läget.\n\n{{#last_words}}\nDet senaste vi skrev till dig ({{last_at}}{{#last_agent}}, "
      "{{last_agent}}{{/last_agent}}):\n\n{{last_words}}\n{{/last_words}}\n{{^last_words}}\nIngen handläggare "
      "har svarat ännu: ditt ärende ligger i vår kö.\n\n{{/last_words}}\nVi skriver så snart det finns något "
      "nytt. Svara på detta mail om du vill lägga till något; behåll {{ticket}} i ämnesraden.\n\n" +
      portal_paragraph(kSwedish) + "Med vänliga hälsningar\n{{service_name}}\n"},
     {"[{{ticket}}] Status for din sag: {{subject}}",
      greeting(kDanish) + "Din sag {{ticket}} er {{status}}. Vi har ikke skrevet til dig siden {{since}}, så her "
      "er status.\n\n{{#last_words}}\nDet seneste, vi skrev til dig ({{last_at}}{{#last_agent}}, "
      "{{last_agent}}{{/last_agent}}):\n\n{{last_words}}\n{{/last_words}}\n{{^last_words}}\nIngen medarbejder "
      "har svaret endnu: din sag ligger i vores kø.\n\n{{/last_words}}\nVi skriver, så snart der er nyt. Svar "
      "på denne mail, hvis du vil tilføje noget; behold {{ticket}} i emnelinjen.\n\n" +
      portal_paragraph(kDanish) + "Med venlig hilsen\n{{service_name}}\n"}},
    // Hypercare's weekly summary to each contact of the organisation: the tickets they may see.
    {"hypercare-summary",
     {"Hypercare: {{organisation}}'s cases, {{from}} to {{to}}",
      "Hello{{#name}} {{name}}{{/name}},\n\nDuring hypercare we send you a summary of {{organisation}}'s cases "
      "every week. This one covers {{from}} to {{to}}; hypercare lasts until {{hypercare_end}}.\n\n"
      "Open cases ({{open_count}}):\n{{open_tickets}}{{^open_tickets}}  none\n{{/open_tickets}}\n\n"
      "Resolved this week ({{resolved_count}}):\n{{resolved_tickets}}{{^resolved_tickets}}  none\n{{/resolved_tickets}}\n\n"
      "To add to a case, reply to its last mail; keep its number in the subject.\n\nKind regards\n{{service_name}}\n"},
     {"Hypercare: {{organisation}}s ärenden, {{from}} till {{to}}",
      "Hej{{#name}} {{name}}{{/name}},\n\nUnder hypercare skickar vi varje vecka en sammanfattning av "
      "{{organisation}}s ärenden. Den här gäller {{from}} till {{to}}; hypercare pågår till {{hypercare_end}}.\n\n"
      "Öppna ärenden ({{open_count}}):\n{{open_tickets}}{{^open_tickets}}  inga\n{{/open_tickets}}\n\n"
      "Lösta den här veckan ({{resolved_count}}):\n{{resolved_tickets}}{{^resolved_tickets}}  inga\n{{/resolved_tickets}}\n\n"
      "Svara på ett ärendes senaste mail om du vill lägga till något; behåll dess nummer i ämnesraden.\n\n"
      "Med vänliga hälsningar\n{{service_name}}\n"},
     {"Hypercare: {{organisation}}s sager, {{from}} til {{to}}",
      "Hej{{#name}} {{name}}{{/name}},\n\nUnder hypercare sender vi hver uge en oversigt over {{organisation}}s "
      "sager. Denne dækker {{from}} til {{to}}; hypercare varer til {{hypercare_end}}.\n\n"
      "Åbne sager ({{open_count}}):\n{{open_tickets}}{{^open_tickets}}  ingen\n{{/open_tickets}}\n\n"
      "Løst i denne uge ({{resolved_count}}):\n{{resolved_tickets}}{{^resolved_tickets}}  ingen\n{{/resolved_tickets}}\n\n"
      "Svar på en sags seneste mail, hvis du vil tilføje noget; behold dens nummer i emnelinjen.\n\n"
      "Med venlig hilsen\n{{service_name}}\n"}},
    // The portal's sign-in mail (desk/from_portal.h, queue_login_link()): on no ticket.
    {"login-link",
     {"Sign in to {{service_name}}",
      "Hello{{#name}} {{name}}{{/name}},\n\nOpen this link to sign in to {{service_name}}:\n\n{{link}}\n\n"
      "It works once, within {{minutes}} minutes. If you did not ask to sign in, ignore this mail: nothing happens "
      "without the link.\n\n{{service_name}}\n"},
     {"Logga in på {{service_name}}",
      "Hej{{#name}} {{name}}{{/name}},\n\nÖppna den här länken för att logga in på {{service_name}}:\n\n{{link}}\n\n"
      "Den fungerar en gång, inom {{minutes}} minuter. Om du inte bad om att logga in kan du bortse från detta mail: "
      "inget händer utan länken.\n\n{{service_name}}\n"},
     {"Log ind på {{service_name}}",
      "Hej{{#name}} {{name}}{{/name}},\n\nÅbn dette link for at logge ind på {{service_name}}:\n\n{{link}}\n\n"
      "Det virker én gang, inden for {{minutes}} minutter. Hvis du ikke bad om at logge ind, kan du se bort fra denne "
      "mail: der sker intet uden linket.\n\n{{service_name}}\n"}},
};

const Template kAgentNotification = {
    "[{{ticket}}] {{event}}: {{subject}}",
    "{{event}} on {{ticket}}: {{subject}}\n\nRequester:    {{requester_name}} <{{requester}}>{{unverified}}\n"
    "Organisation: {{organisation}}\nPriority:     {{priority}}\nCategory:     {{category}}\nStatus:       {{status}}\n"
    "{{#continues}}Continues:    {{continues}} (a closed ticket the customer answered)\n{{/continues}}"
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

// The SLA clock's mails, to whoever desk/sla_clock.h's sla_recipients() names (the
// assignee, else sla.agents_address, the team address or every agent; breaches the SLA's
// escalation_address first).
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

// A week before an organisation's hypercare ends by itself, to its account agent (else the
// team address): confirm with the customer, or extend (desk/keep_informed.h).
const Template kHypercareConfirm = {
    "Hypercare of {{organisation}} ends {{end}}: confirm or extend",
    "The hypercare period of {{organisation}} (from {{start}}, {{weeks}} weeks) ends by itself after {{end}}, its "
    "last day.\n"
    "It concludes when the system has been operational for 2 weeks and both parties agree: please agree with the "
    "customer whether it ends or goes on.\n\n"
    "Open tickets of {{organisation}} now: {{open_count}}\n\n"
    "Nothing to do if it ends as planned. Otherwise, on the desk's server:\n"
    "  servicedesk org hypercare extend '{{organisation}}' --weeks N --agent YOU   (agreed to go on)\n"
    "  servicedesk org hypercare end '{{organisation}}' --agent YOU                (agreed to end it now)\n"};

// An agent's #attachments: the ticket's files, in as many mails as the size limit needs.
const Template kAttachments = {
    "[{{ticket}}] Attachments {{part}}/{{parts}}: {{subject}}",
    "The attachments of {{ticket}} ({{subject}}), mail {{part}} of {{parts}}:\n\n{{list}}\n"};

// To an agent whose #requester mail to the desk address opened nothing (no trusted
// authentication: From can be forged).
const Template kRequesterRefused = {
    "Not opened: {{subject}}",
    "Your mail <{{message_id}}> asked to open a ticket for a customer (#requester), but nothing was opened:\n\n"
    "  {{reason}}\n\n"
    "Open it on the desk's server with `servicedesk ticket new --requester ADDRESS --subject TEXT --agent YOU`, or "
    "send from a mail system that signs your domain (DMARC). To answer an existing ticket, reply to its "
    "notification.\nIf you did not send this mail, someone is writing in your name: tell your administrator.\n"};

// Estimates (desk/estimates.h), to the agent who estimated (else the assignee, else the team).
const Template kEstimateAnswered = {
    "[{{ticket}}] Estimate {{answer}} by {{by}}: {{subject}}",
    "The estimate on {{ticket}} ({{subject}}) was {{answer}}.\n\n  Estimate:     {{estimate}}: {{estimate_text}}\n"
    "  Answered by:  {{by}} ({{organisation}})\n  When:         {{at}}\n  How:          {{via}} ({{how}})\n\n"
    "The ticket is open again{{#text}}. The customer's words:\n{{text}}{{/text}}{{^text}}.\n{{/text}}\n"
    "Reply to this mail to answer the customer; #time records the work.\n"};
const Template kEstimateUnanswered = {
    "[{{ticket}}] Estimate unanswered for {{days}} business days: {{subject}}",
    "The estimate on {{ticket}} ({{subject}}) has had no answer from {{requester}} ({{organisation}}) since {{sent}}:\n\n"
    "  {{estimate}}: {{estimate_text}}\n\nThe customer was reminded after 5 business days. The ticket waits in "
    "awaiting-approval, its SLA clock standing still. Call them, send a new estimate (#estimate), or set the status "
    "(#status open withdraws the estimate).\n"};
const Template kAllowanceUsed = {
    "[{{ticket}}] {{organisation}}: included minutes used up for {{month}}",
    "With the time just recorded on {{ticket}} ({{subject}}), {{organisation}} has used {{spent}} minutes in {{month}} "
    "on tickets that are not incidents, more than the {{included}} minutes its SLA includes each month.\n\n"
    "Further work for {{organisation}} this month, other than incidents, is charged and needs an estimate the customer "
    "has approved first: reply with #estimate 3h what the work is.\n{{#approved}}{{approved}}\n{{/approved}}"
    "This notice comes once per organisation and month.\n"};
const Template kIncidentRefused = {
    "Not declared: {{subject}}",
    "Your mail <{{message_id}}> asked to declare a major incident (#incident new), but nothing was declared:\n\n"
    "  {{reason}}\n\n"
    "Declare it on the desk's server with `servicedesk incident new --title TEXT --agent YOU`, on the portal, by "
    "#incident new in a reply to a ticket's notification, or send from a mail system that signs your domain "
    "(DMARC).\nIf you did not send this mail, someone is writing in your name: tell your administrator.\n"};

const Template kCommandError = {
    "[{{ticket}}] Not applied: {{subject}}",
    "Nothing of your mail on {{ticket}} was applied, and nothing went to the customer:\n\n{{text}}\n\n"
    "Commands go on the first lines, one per line:\n{{commands}}"};

}  // namespace

Template builtin_template(std::string_view kind, std::string_view language) {
  if (kind == "agent-notification") return kAgentNotification;
  if (kind == "command-error") return kCommandError;
  if (kind == "attachments") return kAttachments;
  if (kind == "requester-refused") return kRequesterRefused;
  if (kind == "incident-refused") return kIncidentRefused;
  if (kind == "agent-mail-not-applied") return kAgentMailNotApplied;
  if (kind == "intake-capped") return kIntakeCapped;
  if (kind == "sla-warning") return kSlaWarning;
  if (kind == "sla-breach") return kSlaBreach;
  if (kind == "sla-reminder") return kSlaReminder;
  if (kind == "estimate-answered") return kEstimateAnswered;
  if (kind == "estimate-unanswered") return kEstimateUnanswered;
  if (kind == "allowance-used") return kAllowanceUsed;
  if (kind == "hypercare-confirm") return kHypercareConfirm;
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
      {"acknowledgement", true,
       {"ticket", "subject", "requester_name", "requester_first_name", "service_name", "continues", "first_response_line",
        "unregistered_line", "portal_link", "maintenance_line"}},
      {"first-response", true, {"due"}},
      {"unregistered-contact", true, {"organisation", "service_name"}},
      {"status-open", true, {"ticket", "subject", "requester_name", "requester_first_name", "agent_name", "agent", "service_name", "text", "portal_link"}},
      {"status-pending", true, {"ticket", "subject", "requester_name", "requester_first_name", "agent_name", "agent", "service_name", "text", "portal_link"}},
      {"status-resolved", true, {"ticket", "subject", "requester_name", "requester_first_name", "agent_name", "agent", "service_name", "text", "portal_link"}},
      {"status-reopened", true, {"ticket", "subject", "requester_name", "requester_first_name", "agent_name", "agent", "service_name", "text", "portal_link"}},
      {"status-closed", true, {"ticket", "subject", "requester_name", "requester_first_name", "agent_name", "agent", "service_name", "text", "portal_link"}},
      {"reply", true, {"ticket", "subject", "requester_name", "requester_first_name", "agent_name", "agent", "service_name", "text", "portal_link"}},
      {"incident-update", true, {"ticket", "subject", "requester_name", "requester_first_name", "agent_name", "agent", "service_name", "text", "incident", "others", "portal_link", "continues"}},
      {"incident-resolved", true, {"ticket", "subject", "requester_name", "requester_first_name", "agent_name", "agent", "service_name", "text", "incident", "others", "portal_link", "continues"}},
      {"unknown-sender", true, {"subject", "service_name"}},
      {"login-link", true, {"link", "minutes", "service_name", "name"}},
      {"estimate", true,
       {"ticket", "subject", "requester_name", "requester_first_name", "agent_name", "agent", "service_name", "text",
        "portal_link", "estimate", "estimate_text", "approve_word", "decline_word", "sent"}},
      {"estimate-reminder", true,
       {"ticket", "subject", "requester_name", "requester_first_name", "agent_name", "agent", "service_name", "text",
        "portal_link", "estimate", "estimate_text", "approve_word", "decline_word", "sent"}},
      {"notice", true,
       {"kind", "start", "end", "time_zone", "text", "organisation", "requester_first_name", "service_name", "portal_link"}},
      {"notice-cancelled", true,
       {"kind", "start", "end", "time_zone", "text", "organisation", "requester_first_name", "service_name", "portal_link"}},
      {"maintenance-in-progress", true, {"until"}},
      {"customer-update", true,
       {"ticket", "subject", "requester_name", "requester_first_name", "service_name", "continues", "portal_link",
        "status", "since", "last_words", "last_agent", "last_at"}},
      {"hypercare-summary", true,
       {"organisation", "name", "service_name", "from", "to", "hypercare_end", "open_count", "open_tickets",
        "resolved_count", "resolved_tickets"}},
      {"hypercare-confirm", false, {"organisation", "start", "weeks", "end", "open_count"}},
      {"agent-notification", false,
       {"ticket", "event", "subject", "requester", "requester_name", "sender", "sender_name", "unverified",
        "organisation", "priority", "category", "status", "continues", "first_response_due", "resolution_due", "text",
        "attachments",
        "commands"}},
      {"command-error", false, {"ticket", "subject", "text", "commands"}},
      {"attachments", false, {"ticket", "subject", "part", "parts", "list"}},
      {"requester-refused", false, {"subject", "message_id", "reason"}},
      {"incident-refused", false, {"subject", "message_id", "reason"}},
      {"agent-mail-not-applied", false, {"ticket", "subject", "message_id", "reason"}},
      {"intake-capped", false, {"count", "domain", "reason", "ticket", "subject"}},
      {"sla-warning", false, {"ticket", "subject", "requester", "requester_name", "organisation", "priority", "status", "target", "due"}},
      {"sla-breach", false, {"ticket", "subject", "requester", "requester_name", "organisation", "priority", "status", "target", "due"}},
      {"sla-reminder", false, {"ticket", "subject", "requester", "requester_name", "organisation", "priority", "status", "target", "due"}},
      {"estimate-answered", false,
       {"ticket", "subject", "answer", "by", "via", "how", "at", "estimate", "estimate_text", "organisation", "text"}},
      {"estimate-unanswered", false,
       {"ticket", "subject", "requester", "organisation", "estimate", "estimate_text", "sent", "days"}},
      {"allowance-used", false, {"ticket", "subject", "organisation", "month", "included", "spent", "approved"}},
  };
  return kinds;
}

const TemplateKind* template_kind(std::string_view kind) {
  for (const auto& k : template_kinds())
    if (k.kind == kind) return &k;
  return nullptr;
}

namespace {

// A template read into pieces once, for render() and for the checks at load.
struct Token {
  enum class Kind { text, value, open, open_inverted, close } kind = Kind::text;
  std::string_view text;  // Kind::text: the literal text
  std::string_view name;  // the placeholder a tag names
  std::string_view tag;   // the tag as written, "{{#name}}"
  int line = 0;           // of the tag, counted from 0
};

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r") == std::string_view::npos; }

bool is_section(const Token& t) { return t.kind != Token::Kind::text && t.kind != Token::Kind::value; }

// The pieces of `text`; a "{{" without "}}" is text. A section tag alone on its line (only
// blanks beside it) takes its line with it: the blanks before it and the line end after it
// are cut from the text pieces around it, as in mustache, so that a section on lines of its
// own leaves no empty line behind.
std::vector<Token> tokens_of(std::string_view text) {
  std::vector<Token> out;
  int line = 0;
  std::size_t pos = 0;
  auto add_text = [&](std::string_view t) {
    out.push_back({Token::Kind::text, t, {}, {}, line});
    line += static_cast<int>(std::count(t.begin(), t.end(), '\n'));
  };
  while (pos < text.size()) {
    auto open = text.find("{{", pos);
    auto close = open == std::string_view::npos ? open : text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    if (open > pos) add_text(text.substr(pos, open - pos));
    Token t;
    t.tag = text.substr(open, close + 2 - open);
    t.name = text.substr(open + 2, close - open - 2);
    t.line = line;
    t.kind = Token::Kind::value;
    if (!t.name.empty() && (t.name[0] == '#' || t.name[0] == '^' || t.name[0] == '/')) {
      t.kind = t.name[0] == '#' ? Token::Kind::open : t.name[0] == '^' ? Token::Kind::open_inverted : Token::Kind::close;
      t.name.remove_prefix(1);
    }
    line += static_cast<int>(std::count(t.tag.begin(), t.tag.end(), '\n'));
    out.push_back(t);
    pos = close + 2;
  }
  if (pos < text.size()) add_text(text.substr(pos));

  // Standalone tags, decided on the pieces as written, then cut.
  std::vector<std::size_t> cut_front(out.size(), 0), cut_back(out.size(), 0);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!is_section(out[i])) continue;
    bool before = i == 0;
    if (i > 0 && out[i - 1].kind == Token::Kind::text) {
      auto t = out[i - 1].text;
      auto nl = t.rfind('\n');
      before = (nl != std::string_view::npos || i == 1) && blank(t.substr(nl == std::string_view::npos ? 0 : nl + 1));
    }
    bool after = i + 1 == out.size();
    if (i + 1 < out.size() && out[i + 1].kind == Token::Kind::text) {
      auto t = out[i + 1].text;
      auto nl = t.find('\n');
      after = (nl != std::string_view::npos || i + 2 == out.size()) && blank(t.substr(0, nl));
    }
    if (!before || !after) continue;
    if (i > 0) {
      auto t = out[i - 1].text;
      auto nl = t.rfind('\n');
      cut_back[i - 1] = t.size() - (nl == std::string_view::npos ? 0 : nl + 1);
    }
    if (i + 1 < out.size()) {
      auto t = out[i + 1].text;
      auto nl = t.find('\n');
      cut_front[i + 1] = nl == std::string_view::npos ? t.size() : nl + 1;
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i].kind != Token::Kind::text) continue;
    auto& t = out[i].text;
    std::size_t front = cut_front[i], back = cut_back[i];
    t = front + back >= t.size() ? std::string_view() : t.substr(front, t.size() - front - back);
  }
  return out;
}

}  // namespace

namespace {

const std::vector<std::string> kCustomerLanguages = [] {
  std::vector<std::string> names;
  for (auto l : kLanguages) names.emplace_back(to_string(l));
  return names;
}();

// A problem of `text` for `kind`, "LINE: what" (lines counted from `first_line`): a placeholder
// or section the kind does not have, a section closed out of order or never closed.
std::optional<std::string> template_problem(const TemplateKind& kind, std::string_view text, int first_line) {
  struct Open {
    std::string_view name, tag;
    int line;
  };
  std::vector<Open> open;
  for (const auto& tok : tokens_of(text)) {
    if (tok.kind == Token::Kind::text) continue;
    std::string line = std::to_string(first_line + tok.line) + ": ";
    std::string tag(tok.tag);
    if (tok.name.empty()) return line + tag + " names no placeholder";
    if (std::find(kind.placeholders.begin(), kind.placeholders.end(), tok.name) == kind.placeholders.end()) {
      std::string known;
      for (const auto& k : kind.placeholders) known += (known.empty() ? "{{" : ", {{") + k + "}}";
      return line + tag + " is no placeholder of " + kind.kind + " (it has " + known + ")";
    }
    if (tok.kind == Token::Kind::open || tok.kind == Token::Kind::open_inverted) {
      open.push_back({tok.name, tok.tag, first_line + tok.line});
    } else if (tok.kind == Token::Kind::close) {
      if (open.empty()) return line + tag + " closes no section";
      if (open.back().name != tok.name)
        return line + tag + " closes no open section: " + std::string(open.back().tag) + " of line " +
               std::to_string(open.back().line) + " is still open (close the inner section first)";
      open.pop_back();
    }
  }
  if (!open.empty())
    return std::to_string(open.back().line) + ": " + std::string(open.back().tag) + " is never closed (add {{/" +
           std::string(open.back().name) + "}})";
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
  if (auto bad = template_problem(kind, t.subject, 1)) return tl::make_unexpected(path + ":" + *bad);
  if (auto bad = template_problem(kind, t.body, 3)) return tl::make_unexpected(path + ":" + *bad);
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
  struct Open {
    std::string_view name;
    bool shown;
  };
  std::vector<Open> open;
  int hidden = 0;  // open sections that are not shown
  for (const auto& tok : tokens_of(text)) {
    switch (tok.kind) {
      case Token::Kind::text:
        if (!hidden) out.append(tok.text);
        break;
      case Token::Kind::value:
        if (!hidden) {
          auto it = values.find(std::string(tok.name));
          out.append(it != values.end() ? std::string_view(it->second) : tok.tag);
        }
        break;
      case Token::Kind::open:
      case Token::Kind::open_inverted: {
        auto it = values.find(std::string(tok.name));
        bool empty = it == values.end() || it->second.empty();
        bool shown = tok.kind == Token::Kind::open ? !empty : empty;
        open.push_back({tok.name, shown});
        if (!shown) ++hidden;
        break;
      }
      case Token::Kind::close:
        if (!open.empty() && open.back().name == tok.name) {
          if (!open.back().shown) --hidden;
          open.pop_back();
        } else if (!hidden) {
          out.append(tok.tag);  // closes nothing: visible, like an unknown placeholder
        }
        break;
    }
  }
  return out;
}

namespace {

bool is_quote(char32_t cp) {
  return cp == '"' || cp == '\'' || cp == '`' || cp == 0x00AB || cp == 0x00BB || (cp >= 0x2018 && cp <= 0x201F) ||
         cp == 0x2039 || cp == 0x203A;
}

bool is_blank(char32_t cp) { return cp == ' ' || cp == '\t' || cp == 0x00A0; }

// `s` without quotes and blanks at either end (UTF-8 aware; invalid bytes stop the trim).
std::string_view trim_quotes(std::string_view s) {
  while (!s.empty()) {
    auto ch = text_detail::decode_utf8(s, 0);
    if (ch.len == 0 || !(is_quote(ch.cp) || is_blank(ch.cp))) break;
    s.remove_prefix(ch.len);
  }
  for (;;) {
    // The last character: step back over continuation bytes.
    std::size_t start = s.size();
    while (start > 0 && (static_cast<unsigned char>(s[start - 1]) & 0xC0) == 0x80 && s.size() - start < 3) --start;
    if (start == 0) break;
    --start;
    auto ch = text_detail::decode_utf8(s, start);
    if (ch.len != s.size() - start || !(is_quote(ch.cp) || is_blank(ch.cp))) break;
    s.remove_suffix(ch.len);
  }
  return s;
}

std::vector<std::string_view> words_of(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0, start = 0;
  while (i < s.size()) {
    auto ch = text_detail::decode_utf8(s, i);
    std::size_t len = ch.len ? ch.len : 1;
    if (ch.len && is_blank(ch.cp)) {
      if (i > start) out.push_back(s.substr(start, i - start));
      start = i + len;
    }
    i += len;
  }
  if (start < s.size()) out.push_back(s.substr(start));
  for (auto& w : out) w = trim_quotes(w);
  std::erase_if(out, [](std::string_view w) { return w.empty(); });
  return out;
}

bool is_title(std::string_view word) {
  static const char* const kTitles[] = {"dr", "prof", "mr", "mrs", "ms", "mx", "miss", "sir", "herr", "fru",
                                        "frk", "fr\xc3\xb6ken", "hr", "fr", "dame"};
  if (!word.empty() && word.back() == '.') word.remove_suffix(1);
  auto w = lower(std::string(word));
  return std::any_of(std::begin(kTitles), std::end(kTitles), [&](const char* t) { return w == t; });
}

// A word a greeting can use: letters, with '-' and apostrophes inside (Anna-Karin, O'Brien),
// more than an initial.
bool reads_as_name(std::string_view word) {
  std::size_t letters = 0;
  for (std::size_t i = 0; i < word.size();) {
    auto ch = text_detail::decode_utf8(word, i);
    if (ch.len == 0) return false;
    i += ch.len;
    if (ch.cp < 0x80) {
      if (std::isalpha(static_cast<unsigned char>(ch.cp))) ++letters;
      else if (ch.cp != '-' && ch.cp != '\'') return false;
    } else if (ch.cp < 0xC0 || ch.cp == 0xD7 || ch.cp == 0xF7 || (ch.cp >= 0x2000 && ch.cp != 0x2019)) {
      return false;  // controls, Latin-1 signs, punctuation and symbols beyond the alphabets
    } else {
      ++letters;
    }
  }
  return letters > 1;
}

}  // namespace

std::string first_name(std::string_view display_name) {
  auto name = trim_quotes(display_name);
  if (name.empty() || name.find('@') != std::string_view::npos) return "";
  bool last_first = false;
  if (auto comma = name.find(','); comma != std::string_view::npos) {
    name = name.substr(comma + 1);
    name = name.substr(0, name.find(','));
    last_first = true;
  }
  auto words = words_of(name);
  std::size_t i = 0;
  while (i < words.size() && is_title(words[i])) ++i;
  // "Dr. Svensson": the one word after a title is a last name.
  if (i == words.size() || (i > 0 && !last_first && words.size() - i < 2)) return "";
  auto word = words[i];
  while (!word.empty() && (word.back() == '.' || word.back() == ',' || word.back() == ';' || word.back() == ':'))
    word.remove_suffix(1);
  return reads_as_name(word) ? std::string(word) : "";
}

namespace {

bool blank_char(char ch) { return ch == ' ' || ch == '\t'; }

// The length of "[PREFIX-n]" at the start of `s`, or 0.
std::size_t tag_at(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size() + 3 || s[0] != '[' || lower(std::string(s.substr(1, prefix.size()))) != lower(std::string(prefix)) ||
      s[prefix.size() + 1] != '-')
    return 0;
  std::size_t i = prefix.size() + 2, digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && digits <= 18) ++i, ++digits;
  return digits > 0 && digits <= 18 && i < s.size() && s[i] == ']' ? i + 1 : 0;
}

// The length of a reply or forward prefix at the start of `s` ("Re: ", "SV:", "Fwd: ",
// "Re[2]: ", with the blanks after it), or 0.
std::size_t reply_prefix_at(std::string_view s) {
  static const std::string_view kPrefixes[] = {"re", "sv", "aw", "vs", "fwd", "fw", "wg", "tr", "antw", "vb"};
  for (auto p : kPrefixes) {
    if (s.size() <= p.size() || lower(std::string(s.substr(0, p.size()))) != p) continue;
    std::size_t i = p.size();
    if (s[i] == '[') {
      auto close = s.find(']', i);
      if (close == std::string_view::npos || close == i + 1 || close > i + 4) continue;
      i = close + 1;
    }
    if (i >= s.size() || s[i] != ':') continue;
    ++i;
    while (i < s.size() && blank_char(s[i])) ++i;
    return i;
  }
  return 0;
}

}  // namespace

std::string subject_without_tags(std::string_view subject, std::string_view ticket_prefix,
                                 const std::vector<std::string>& after_tag) {
  std::string out;
  std::size_t i = 0;
  while (i < subject.size()) {
    std::size_t j = i;
    if (i == 0 || blank_char(subject[i - 1]) || subject[i - 1] == ']')
      while (auto n = reply_prefix_at(subject.substr(j))) j += n;
    if (auto n = tag_at(subject.substr(j), ticket_prefix)) {
      j += n;
      while (j < subject.size() && blank_char(subject[j])) ++j;
      for (const auto& w : after_tag) {
        if (w.empty() || subject.substr(j, w.size()) != w) continue;
        j += w.size();
        while (j < subject.size() && blank_char(subject[j])) ++j;
        break;
      }
      i = j;
      continue;
    }
    out += subject[i++];
  }
  auto b = out.find_first_not_of(" \t");
  return b == std::string::npos ? "" : out.substr(b, out.find_last_not_of(" \t") - b + 1);
}

std::vector<std::string> TemplateSet::subject_words() const {
  std::vector<std::string> words;
  for (const auto& k : template_kinds()) {
    if (!k.customer) continue;
    for (const auto& lang : kCustomerLanguages) {
      auto it = texts_.find(k.kind + "." + lang);
      if (it == texts_.end()) continue;
      std::string_view s = it->second.subject;
      auto at = s.find("{{subject}}");
      if (at == std::string_view::npos) continue;
      s = s.substr(0, at);
      auto tag = s.find("{{ticket}}");
      if (tag == std::string_view::npos) continue;
      s.remove_prefix(tag + 10);
      while (!s.empty() && (s.front() == ']' || blank_char(s.front()))) s.remove_prefix(1);
      while (!s.empty() && blank_char(s.back())) s.remove_suffix(1);
      if (s.empty() || s.find("{{") != std::string_view::npos) continue;
      if (std::find(words.begin(), words.end(), s) == words.end()) words.emplace_back(s);
    }
  }
  // Longest first: of two phrases where one begins the other, the whole one is cut.
  std::stable_sort(words.begin(), words.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return words;
}

std::string status_words(std::string_view status, std::string_view language) {
  struct Words {
    const char *status, *en, *sv, *da;
  };
  static const Words kWords[] = {
      {"new", "open, waiting for an agent", "öppet och väntar på en handläggare", "åben og venter på en medarbejder"},
      {"open", "open and being worked on", "öppet och under arbete", "åben og under behandling"},
      {"pending", "waiting for your answer", "väntar på ditt svar", "venter på dit svar"},
      {"awaiting-approval", "waiting for your approval of an estimate", "väntar på ert godkännande av en uppskattning",
       "venter på jeres godkendelse af et estimat"},
      {"resolved", "resolved", "löst", "løst"},
      {"closed", "closed", "stängt", "lukket"},
  };
  for (const auto& w : kWords)
    if (status == w.status) return language == "sv" ? w.sv : language == "da" ? w.da : w.en;
  return std::string(status);
}

}  // namespace sd::notify
