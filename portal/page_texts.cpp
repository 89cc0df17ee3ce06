// portal/page_texts.cpp: the built-in page texts in English, Swedish and Danish, the
// operators' override files (portal.txt, portal.LANG.txt) and the choice of a page's language.
//
// Diagnostics: load_page_texts() names the file and line of the first mistake ("portal.sv.txt:3:
// no page text 'list.titel'"), so `servicedesk portal` and check-config refuse to start with
// it instead of showing a page with a missing or misspelt text.
//
// Security: an override is plain text (pages.cpp escapes it). Files are read with a size
// bound and must be UTF-8.
#include "portal/page_texts.h"

#include "core/text.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

namespace sd::portal {

namespace {

// One key: its placeholders and its built-in text in each language. One row per key keeps the
// three languages from drifting apart: a key without a Swedish text does not compile.
struct BuiltinText {
  const char* key;
  std::vector<std::string> placeholders;
  const char* en;
  const char* sv;
  const char* da;
};

const std::vector<BuiltinText>& builtin_texts() {
  static const std::vector<BuiltinText> table = {
      // The frame of every page.
      {"site.name", {}, "Service desk", "Servicedesk", "Servicedesk"},
      {"site.skip", {}, "Skip to content", "Hoppa till innehållet", "Spring til indholdet"},
      {"nav.tickets", {}, "Tickets", "Ärenden", "Sager"},
      {"nav.queue", {}, "Queue", "Kö", "Kø"},
      {"nav.new_ticket", {}, "New ticket", "Nytt ärende", "Ny sag"},
      {"nav.incidents", {}, "Major incidents", "Större incidenter", "Større hændelser"},
      {"nav.signed_in_as", {"name"}, "Signed in as {{name}}", "Inloggad som {{name}}", "Logget ind som {{name}}"},
      {"nav.agent", {}, "agent", "handläggare", "medarbejder"},
      {"nav.sign_in", {}, "Sign in", "Logga in", "Log ind"},
      {"nav.sign_out", {}, "Sign out", "Logga ut", "Log ud"},

      // GET /login and POST /login.
      {"login.title", {}, "Sign in", "Logga in", "Log ind"},
      {"login.intro", {},
       "Enter your email address and we will send you a link to sign in. No password is needed.",
       "Ange din e-postadress så skickar vi en länk som du loggar in med. Inget lösenord behövs.",
       "Skriv din e-mailadresse, så sender vi dig et link, som du logger ind med. Du skal ikke bruge en adgangskode."},
      {"login.email", {}, "Email address", "E-postadress", "E-mailadresse"},
      {"login.submit", {}, "Send me a sign-in link", "Skicka en inloggningslänk", "Send mig et login-link"},
      {"login.sent", {"minutes"},
       "If this address is registered, a sign-in link is on its way. It is valid for {{minutes}} minutes and "
       "works once.",
       "Om adressen är registrerad är en inloggningslänk på väg. Den gäller i {{minutes}} minuter och kan "
       "användas en gång.",
       "Hvis adressen er registreret, er et login-link på vej. Det gælder i {{minutes}} minutter og kan bruges "
       "én gang."},
      // GET /login/{token}.
      {"login_link.title", {}, "Sign in", "Logga in", "Log ind"},
      {"login_link.intro", {}, "Press the button to sign in. The link works once.",
       "Tryck på knappen för att logga in. Länken kan användas en gång.",
       "Tryk på knappen for at logge ind. Linket kan bruges én gang."},
      {"login_link.submit", {}, "Sign in", "Logga in", "Log ind"},

      // A sign-in link that is used, expired or unknown (GET or POST /login/{token}).
      {"link.invalid.title", {}, "This sign-in link is no longer valid", "Inloggningslänken gäller inte längre",
       "Login-linket er ikke længere gyldigt"},
      {"link.invalid.text", {},
       "A sign-in link works once and for a short time. Ask for a new one on the sign-in page.",
       "En inloggningslänk fungerar en gång och under en kort tid. Be om en ny på inloggningssidan.",
       "Et login-link virker én gang og i kort tid. Bed om et nyt på login-siden."},

      // Why a posted form was refused (shown above the form).
      {"form.bad", {}, "The form could not be read.", "Formuläret kunde inte läsas.", "Formularen kunne ikke læses."},
      {"form.expired", {}, "The form was too old or sent twice; the ticket shows what was saved.",
       "Formuläret var för gammalt eller skickades två gånger; ärendet visar det som sparades.",
       "Formularen var for gammel eller blev sendt to gange; sagen viser det, der blev gemt."},
      {"text.missing", {}, "Write a text.", "Skriv en text.", "Skriv en tekst."},
      {"subject.missing", {}, "Write a subject.", "Skriv ett ämne.", "Skriv et emne."},

      // GET /tickets.
      // The ticket list's maintenance section (contacts: desk/notices.h).
      {"maintenance.title", {}, "Planned maintenance", "Planerat underhåll", "Planlagt vedligeholdelse"},
      {"maintenance.in_progress", {}, "in progress", "pågår", "i gang"},
      {"maintenance.windows", {}, "Recurring service windows, when the service may be affected:",
       "Återkommande servicefönster, då tjänsten kan påverkas:",
       "Tilbagevendende servicevinduer, hvor tjenesten kan være påvirket:"},
      {"maintenance.window", {"rule", "next"}, "{{rule}}, next {{next}}", "{{rule}}, nästa {{next}}",
       "{{rule}}, næste {{next}}"},
      {"list.title", {}, "Tickets", "Ärenden", "Sager"},
      {"list.title_agent", {}, "Queue", "Kö", "Kø"},
      {"list.filter.legend", {}, "Filter", "Filtrera", "Filtrér"},
      {"list.filter.status", {}, "Status", "Status", "Status"},
      {"list.filter.any_status", {}, "Any status", "Alla statusar", "Alle statusser"},
      {"list.filter.open_statuses", {}, "Still open (new, open, pending, awaiting approval)", "Ej avslutade (ny, öppen, väntar, väntar på godkännande)",
       "Ikke afsluttede (ny, åben, afventer, afventer godkendelse)"},
      {"list.filter.search", {}, "Search", "Sök", "Søg"},
      {"list.filter.organisation", {}, "Organisation", "Organisation", "Organisation"},
      {"list.filter.any_organisation", {}, "Any organisation", "Alla organisationer", "Alle organisationer"},
      {"list.filter.assignee", {}, "Assignee", "Handläggare", "Ansvarlig"},
      {"list.filter.anyone", {}, "Anyone", "Alla", "Alle"},
      {"list.filter.me", {}, "Me", "Jag", "Mig"},
      {"list.filter.mine", {}, "Mine only", "Bara mina", "Kun mine"},
      {"list.filter.breaching", {}, "SLA breached only", "Bara överskridna SLA", "Kun overskredne SLA"},
      {"list.filter.submit", {}, "Filter", "Filtrera", "Filtrér"},
      {"list.filter.clear", {}, "Clear filters", "Rensa filter", "Nulstil filtre"},
      {"list.col.ticket", {}, "Ticket", "Ärende", "Sag"},
      {"list.col.subject", {}, "Subject", "Ämne", "Emne"},
      {"list.col.status", {}, "Status", "Status", "Status"},
      {"list.col.priority", {}, "Priority", "Prioritet", "Prioritet"},
      {"list.col.category", {}, "Category", "Kategori", "Kategori"},
      {"list.col.created", {}, "Created", "Skapat", "Oprettet"},
      {"list.col.sla", {}, "SLA", "SLA", "SLA"},
      {"list.col.resolution", {}, "Resolution", "Lösning", "Løsning"},
      {"list.col.organisation", {}, "Organisation", "Organisation", "Organisation"},
      {"list.col.assignee", {}, "Assignee", "Handläggare", "Ansvarlig"},
      {"list.empty", {}, "No tickets match.", "Inga ärenden matchar.", "Ingen sager matcher."},
      {"list.count", {"total"}, "{{total}} tickets", "{{total}} ärenden", "{{total}} sager"},
      {"list.count_more", {"total"}, "more than {{total}} tickets", "fler än {{total}} ärenden",
       "flere end {{total}} sager"},
      {"list.page_only", {"page"}, "page {{page}}", "sida {{page}}", "side {{page}}"},
      {"list.page", {"page", "pages"}, "page {{page}} of {{pages}}", "sida {{page}} av {{pages}}",
       "side {{page}} af {{pages}}"},
      {"list.pages", {}, "Pages", "Sidor", "Sider"},
      {"list.previous", {}, "Previous", "Föregående", "Forrige"},
      {"list.next", {}, "Next", "Nästa", "Næste"},
      {"list.unassigned", {}, "Unassigned", "Ej tilldelat", "Ikke tildelt"},
      {"list.sla_due", {"due"}, "due {{due}}", "senast {{due}}", "senest {{due}}"},

      // GET /tickets/{REF}.
      {"ticket.back", {}, "Back to the list", "Tillbaka till listan", "Tilbage til listen"},
      {"ticket.details", {}, "Details", "Uppgifter", "Oplysninger"},
      {"ticket.status", {}, "Status", "Status", "Status"},
      {"ticket.priority", {}, "Priority", "Prioritet", "Prioritet"},
      {"ticket.category", {}, "Category", "Kategori", "Kategori"},
      {"ticket.created", {}, "Created", "Skapat", "Oprettet"},
      {"ticket.updated", {}, "Updated", "Uppdaterat", "Opdateret"},
      {"ticket.requester", {}, "Requester", "Anmälare", "Anmelder"},
      {"ticket.organisation", {}, "Organisation", "Organisation", "Organisation"},
      {"ticket.assignee", {}, "Assignee", "Handläggare", "Ansvarlig"},
      {"ticket.sla", {}, "SLA", "SLA", "SLA"},
      {"ticket.resolution", {}, "Resolution", "Lösning", "Løsning"},
      {"ticket.time_spent", {}, "Time spent", "Nedlagd tid", "Brugt tid"},
      // Major incidents (desk/incidents.h): what a contact sees, and the agents' forms.
      {"ticket.incident", {}, "Major incident", "Större incident", "Større hændelse"},
      {"incident.part", {}, "This case is part of a major incident we are working on. We keep you informed here and by mail.",
       "Ärendet ingår i en större incident som vi arbetar med. Vi håller dig informerad här och via mail.",
       "Sagen er en del af en større hændelse, som vi arbejder på. Vi holder dig orienteret her og på mail."},
      {"incident.is_major", {}, "this ticket is a major incident", "detta ärende är en större incident",
       "denne sag er en større hændelse"},
      {"incident.link", {}, "Part of major incident (e.g. SD-100; none unlinks)",
       "Del av större incident (t.ex. SD-100; none tar bort kopplingen)", "Del af større hændelse (f.eks. SD-100; none fjerner koblingen)"},
      {"incident.link.submit", {}, "Link", "Koppla", "Kobl"},
      {"incident.title", {}, "Declare a major incident from this ticket: its title",
       "Utlys en större incident från detta ärende: rubrik", "Erklær en større hændelse ud fra denne sag: titel"},
      {"incident.alert_key", {}, "Alert key (optional)", "Larmnyckel (valfri)", "Alarmnøgle (valgfri)"},
      {"incident.orgs", {}, "Affected organisations beyond linked tickets: all, or A,B (optional)",
       "Berörda organisationer utöver kopplade ärenden: all, eller A,B (valfritt)",
       "Berørte organisationer ud over koblede sager: all, eller A,B (valgfrit)"},
      {"incident.declare.submit", {}, "Declare", "Utlys", "Erklær"},
      // GET /incidents (agents) and the incident report's link.
      {"incidents.title", {}, "Major incidents", "Större incidenter", "Større hændelser"},
      {"incidents.empty", {}, "No major incident has been declared.", "Ingen större incident har utlysts.",
       "Der er ikke erklæret nogen større hændelse."},
      {"incidents.newest", {"count"}, "The {{count}} newest are shown.", "De {{count}} senaste visas.",
       "De {{count}} nyeste vises."},
      {"incidents.col.incident", {}, "Incident", "Incident", "Hændelse"},
      {"incidents.col.title", {}, "Title", "Rubrik", "Titel"},
      {"incidents.col.status", {}, "Status", "Status", "Status"},
      {"incidents.col.declared", {}, "Declared", "Utlyst", "Erklæret"},
      {"incidents.col.linked", {}, "Linked tickets", "Kopplade ärenden", "Koblede sager"},
      {"incidents.col.organisations", {}, "Affected organisations", "Berörda organisationer", "Berørte organisationer"},
      {"incidents.col.report", {}, "Report", "Rapport", "Rapport"},
      {"incidents.report", {}, "Incident report", "Incidentrapport", "Hændelsesrapport"},
      // The organisation's hypercare (seed 003) and account agent on a ticket's page.
      {"ticket.hypercare", {}, "Hypercare", "Hypercare", "Hypercare"},
      {"hypercare.until", {"date"}, "until {{date}}", "till och med {{date}}", "til og med {{date}}"},
      {"hypercare.ended", {"date"}, "ended after {{date}}", "avslutades efter {{date}}", "sluttede efter {{date}}"},
      {"hypercare.ended_early", {"date"}, "ended early on {{date}}", "avslutades i förtid {{date}}",
       "afsluttet før tid {{date}}"},
      {"ticket.account_agent", {}, "Account agent", "Kundansvarig", "Kundeansvarlig"},
      {"ticket.time_value", {"hours", "minutes"}, "{{hours}} h {{minutes}} min", "{{hours}} tim {{minutes}} min",
       "{{hours}} t {{minutes}} min"},
      {"ticket.files", {}, "Files", "Filer", "Filer"},
      {"ticket.file_not_kept", {}, "too large, not kept", "för stor, sparades inte", "for stor, ikke gemt"},
      {"ticket.thread", {}, "Conversation", "Konversation", "Samtale"},
      {"ticket.no_messages", {}, "No messages yet.", "Inga meddelanden än.", "Ingen beskeder endnu."},
      {"ticket.internal_note", {}, "Internal note", "Intern anteckning", "Intern note"},
      {"ticket.history", {}, "History", "Historik", "Historik"},
      {"ticket.history.at", {}, "When", "När", "Hvornår"},
      {"ticket.history.actor", {}, "Who", "Vem", "Hvem"},
      {"ticket.history.kind", {}, "What", "Vad", "Hvad"},
      {"ticket.history.detail", {}, "Detail", "Detalj", "Detalje"},
      {"ticket.errors", {}, "What you sent was not accepted:", "Det du skickade togs inte emot:",
       "Det, du sendte, blev ikke modtaget:"},
      {"ticket.reply", {}, "Reply", "Svara", "Svar"},
      {"ticket.estimate", {}, "Estimate for your approval", "Uppskattning att godkänna", "Estimat til godkendelse"},
      {"ticket.estimate.agent", {}, "Estimate awaiting the customer's approval", "Uppskattning som väntar på kundens godkännande",
       "Estimat, der afventer kundens godkendelse"},
      {"ticket.estimate.charged", {}, "This work is outside what your service agreement includes and is charged by the time spent. We go on only once you approve.",
       "Arbetet ligger utanför vad ert serviceavtal omfattar och debiteras efter nedlagd tid. Vi går vidare först när ni har godkänt.",
       "Arbejdet ligger uden for, hvad jeres serviceaftale omfatter, og faktureres efter forbrugt tid. Vi går først videre, når I har godkendt."},
      {"ticket.estimate.approve", {}, "Approve", "Godkänn", "Godkend"},
      {"ticket.estimate.decline", {}, "Decline", "Avböj", "Afvis"},
      {"ticket.reply.text", {}, "Your message", "Ditt meddelande", "Din besked"},
      {"ticket.reply.files", {}, "Attach files", "Bifoga filer", "Vedhæft filer"},
      {"ticket.reply.submit", {}, "Send reply", "Skicka svar", "Send svar"},
      {"ticket.change", {}, "Changes", "Ändringar", "Ændringer"},
      {"ticket.change.unchanged", {}, "(unchanged)", "(oförändrad)", "(uændret)"},
      {"ticket.change.assign", {}, "Assign to", "Tilldela", "Tildel"},
      {"ticket.change.assign_me", {}, "Me", "Mig", "Mig"},
      {"ticket.change.time", {}, "Time spent now (minutes)", "Nedlagd tid nu (minuter)", "Brugt tid nu (minutter)"},
      {"ticket.change.note", {}, "Internal note: not sent to the customer",
       "Intern anteckning: skickas inte till kunden", "Intern note: sendes ikke til kunden"},
      {"ticket.change.broadcast", {}, "Broadcast: send these words to everyone the incident affects",
       "Utsändning: skicka texten till alla som incidenten berör", "Udsendelse: send teksten til alle, som hændelsen berører"},
      // The agents' estimate form (desk/estimates.h).
      {"estimate.new", {}, "New estimate for the customer's approval", "Ny uppskattning för kundens godkännande",
       "Nyt estimat til kundens godkendelse"},
      {"estimate.duration", {}, "Time (e.g. 3h, 90m, 1h30m)", "Tid (t.ex. 3h, 90m, 1h30m)", "Tid (f.eks. 3h, 90m, 1h30m)"},
      {"estimate.text", {}, "What the work is", "Vad arbetet består av", "Hvad arbejdet består af"},
      {"estimate.submit", {}, "Send for approval", "Skicka för godkännande", "Send til godkendelse"},

      // GET /tickets/new.
      {"new.title", {}, "New ticket", "Nytt ärende", "Ny sag"},
      {"new.intro", {}, "Describe what you need. We answer here and by mail.",
       "Beskriv vad du behöver hjälp med. Vi svarar här och via mail.",
       "Beskriv, hvad du har brug for hjælp til. Vi svarer her og på mail."},
      {"new.subject", {}, "Subject", "Ämne", "Emne"},
      {"new.text", {}, "Description", "Beskrivning", "Beskrivelse"},
      {"new.category", {}, "Category", "Kategori", "Kategori"},
      {"new.category_none", {}, "(let the service desk decide)", "(låt servicedesken välja)",
       "(lad servicedesken vælge)"},
      {"new.files", {}, "Attach files", "Bifoga filer", "Vedhæft filer"},
      {"new.submit", {}, "Open ticket", "Skapa ärende", "Opret sag"},

      // message_page(): errors and notices.
      {"message.200.title", {}, "Signed out", "Utloggad", "Logget ud"},
      {"message.200.text", {}, "You are signed out.", "Du är nu utloggad.", "Du er nu logget ud."},
      {"message.400.title", {}, "Bad request", "Felaktig begäran", "Ugyldig forespørgsel"},
      {"message.400.text", {}, "The request could not be read.", "Begäran kunde inte läsas.",
       "Forespørgslen kunne ikke læses."},
      {"message.403.title", {}, "Not allowed", "Inte tillåtet", "Ikke tilladt"},
      {"message.403.text", {},
       "The form was too old or did not come from this site. Load the page again and retry.",
       "Formuläret var för gammalt eller kom inte från den här webbplatsen. Ladda om sidan och försök igen.",
       "Formularen var for gammel eller kom ikke fra dette websted. Indlæs siden igen, og prøv igen."},
      {"message.404.title", {}, "Not found", "Hittades inte", "Ikke fundet"},
      {"message.404.text", {}, "There is no such page, or you have no access to it.",
       "Sidan finns inte, eller så har du inte tillgång till den.",
       "Siden findes ikke, eller du har ikke adgang til den."},
      {"message.413.title", {}, "Too large", "För stort", "For stort"},
      {"message.413.text", {}, "What you sent is larger than the service desk accepts.",
       "Det du skickade är större än vad servicedesken tar emot.",
       "Det, du sendte, er større end det, servicedesken modtager."},
      {"message.429.title", {}, "Too many attempts", "För många försök", "For mange forsøg"},
      {"message.429.text", {}, "Please wait a moment and try again.", "Vänta en stund och försök igen.",
       "Vent et øjeblik, og prøv igen."},
      {"message.500.title", {}, "Something went wrong", "Något gick fel", "Der skete en fejl"},
      {"message.500.text", {}, "An error occurred on our side. Please try again in a while.",
       "Ett fel uppstod hos oss. Försök igen om en stund.", "Der opstod en fejl hos os. Prøv igen om lidt."},
      {"message.continue", {}, "Continue", "Fortsätt", "Fortsæt"},

      // The desk's words (core/vocabulary.h), as pages show them.
      {"status.new", {}, "New", "Ny", "Ny"},
      {"status.open", {}, "Open", "Öppen", "Åben"},
      {"status.pending", {}, "Pending", "Väntar", "Afventer"},
      {"status.awaiting-approval", {}, "Awaiting your approval", "Väntar på ert godkännande", "Afventer jeres godkendelse"},
      {"status.resolved", {}, "Resolved", "Löst", "Løst"},
      {"status.closed", {}, "Closed", "Stängd", "Lukket"},
      {"priority.highest", {}, "Critical", "Kritisk", "Kritisk"},
      {"priority.high", {}, "High", "Hög", "Høj"},
      {"priority.medium", {}, "Medium", "Normal", "Normal"},
      {"priority.low", {}, "Low", "Låg", "Lav"},
      {"priority.lowest", {}, "Lowest", "Lägsta", "Laveste"},
      {"category.incident", {}, "Incident", "Incident", "Hændelse"},
      {"category.support", {}, "Support", "Support", "Support"},
      {"category.order", {}, "Order", "Beställning", "Bestilling"},
      {"category.feature", {}, "Feature request", "Önskemål", "Ønske"},
      {"sla.ok", {}, "On time", "I tid", "Til tiden"},
      {"sla.warning", {}, "Due soon", "Snart försenad", "Snart forsinket"},
      {"sla.breached", {}, "Overdue", "Försenad", "Forsinket"},
      {"sla.met", {}, "Met", "Uppfyllt", "Overholdt"},
      {"sla.paused", {}, "Paused", "Pausad", "Sat på pause"},
  };
  return table;
}

const std::vector<std::string> kPageLanguages = {"en", "sv", "da"};

// The placeholders a text names: "{{a}} and {{b}}" gives {a, b}; nullopt for a "{{" that is
// never closed.
std::optional<std::vector<std::string>> placeholders_in(std::string_view text) {
  std::vector<std::string> names;
  for (std::size_t at = text.find("{{"); at != std::string_view::npos; at = text.find("{{", at)) {
    auto end = text.find("}}", at + 2);
    if (end == std::string_view::npos) return std::nullopt;
    names.emplace_back(trim(std::string(text.substr(at + 2, end - at - 2))));
    at = end + 2;
  }
  return names;
}


constexpr std::uintmax_t kMaxFileBytes = 1 << 20;  // a page text file is a few kilobytes

// The `key = text` lines of one override file, checked.
tl::expected<std::map<std::string, std::string>, std::string> read_text_file(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return tl::make_unexpected(path + ": " + ec.message());
  if (size > kMaxFileBytes) return tl::make_unexpected(path + ": larger than 1 MiB; a page text file is a few lines");
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::make_unexpected(path + ": cannot be read");
  std::map<std::string, std::string> out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    auto where = path + ":" + std::to_string(number) + ": ";
    if (!valid_utf8(line)) return tl::make_unexpected(where + "not UTF-8");
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    auto eq = t.find('=');
    if (eq == std::string::npos) return tl::make_unexpected(where + "not a line 'key = text'");
    std::string key = trim(t.substr(0, eq)), text = trim(t.substr(eq + 1));
    const PageTextKey* spec = page_text_key(key);
    if (!spec)
      return tl::make_unexpected(where + "no page text '" + key + "' (the keys are listed in docs/portal.md)");
    if (text.empty()) return tl::make_unexpected(where + "'" + key + "' has an empty text");
    if (out.count(key)) return tl::make_unexpected(where + "'" + key + "' is given twice in this file");
    auto names = placeholders_in(text);
    if (!names) return tl::make_unexpected(where + "a '{{' without '}}'");
    for (const auto& n : *names)
      if (std::find(spec->placeholders.begin(), spec->placeholders.end(), n) == spec->placeholders.end()) {
        std::string allowed;
        for (const auto& p : spec->placeholders) allowed += (allowed.empty() ? "" : ", ") + ("{{" + p + "}}");
        return tl::make_unexpected(where + "'" + key + "' has no placeholder {{" + n + "}}" +
                                   (allowed.empty() ? std::string("; it takes none") : "; it takes " + allowed));
      }
    out[key] = text;
  }
  return out;
}

}  // namespace

const std::vector<PageTextKey>& page_text_keys() {
  static const std::vector<PageTextKey> keys = [] {
    std::vector<PageTextKey> out;
    for (const auto& b : builtin_texts()) out.push_back({b.key, b.placeholders});
    return out;
  }();
  return keys;
}

const PageTextKey* page_text_key(std::string_view key) {
  for (const auto& k : page_text_keys())
    if (k.key == key) return &k;
  return nullptr;
}

std::string PageTexts::get(std::string_view key) const {
  auto it = texts_.find(key);
  return it == texts_.end() ? std::string(key) : it->second;
}

std::string PageTexts::format(std::string_view key, const std::map<std::string, std::string>& values) const {
  return render_text(get(key), values);
}

const PageTextSet& PageTextSet::builtin() {
  static const PageTextSet set = [] {
    PageTextSet s;
    for (std::size_t l = 0; l < kPageLanguages.size(); ++l) {
      PageTexts& t = s.languages_[kPageLanguages[l]];
      t.language = kPageLanguages[l];
      for (const auto& b : builtin_texts()) t.texts_[b.key] = l == 0 ? b.en : l == 1 ? b.sv : b.da;
    }
    return s;
  }();
  return set;
}

const PageTexts& PageTextSet::for_language(std::string_view language) const {
  auto it = languages_.find(lower(std::string(language)));
  if (it == languages_.end()) it = languages_.find("en");
  return it->second;
}

const PageTexts& texts_for(const std::string& language) { return PageTextSet::builtin().for_language(language); }

tl::expected<PageTextSet, std::string> load_page_texts(const std::string& templates_dir) {
  PageTextSet set = PageTextSet::builtin();
  if (templates_dir.empty()) return set;
  std::error_code ec;
  if (!std::filesystem::is_directory(templates_dir, ec))
    return tl::make_unexpected(templates_dir + ": not a directory of page texts");
  // Every .txt file must be one of ours: a misspelt name would otherwise be ignored without a
  // word, and the operator would wonder why the page did not change.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(templates_dir, ec))
    if (e.path().extension() == ".txt") names.push_back(e.path().filename().string());
  if (ec) return tl::make_unexpected(templates_dir + ": " + ec.message());
  // portal.txt first (all languages), then portal.LANG.txt over it for its own language.
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return std::make_pair(a != "portal.txt", a) < std::make_pair(b != "portal.txt", b);
  });
  for (const auto& name : names) {
    std::string path = (std::filesystem::path(templates_dir) / name).string();
    std::string lang;
    if (name != "portal.txt") {
      bool ours = name.size() > 11 && name.rfind("portal.", 0) == 0;
      lang = ours ? name.substr(7, name.size() - 11) : "";
      if (!ours || std::find(kPageLanguages.begin(), kPageLanguages.end(), lang) == kPageLanguages.end())
        return tl::make_unexpected(path +
                                   ": not a page text file; they are portal.txt and portal.LANG.txt with LANG "
                                   "one of en, sv, da (docs/portal.md)");
    }
    auto texts = read_text_file(path);
    if (!texts) return tl::make_unexpected(texts.error());
    for (const auto& l : kPageLanguages) {
      if (!lang.empty() && l != lang) continue;
      for (const auto& [key, text] : *texts) set.languages_[l].texts_[key] = text;
    }
  }
  return set;
}

std::string render_text(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t from = 0;
  for (std::size_t at = text.find("{{"); at != std::string_view::npos; at = text.find("{{", from)) {
    auto end = text.find("}}", at + 2);
    if (end == std::string_view::npos) break;
    out.append(text.substr(from, at - from));
    auto it = values.find(trim(std::string(text.substr(at + 2, end - at - 2))));
    if (it != values.end()) out += it->second;
    else out.append(text.substr(at, end + 2 - at));
    from = end + 2;
  }
  out.append(text.substr(from));
  return out;
}

std::string pick_language(const std::string& organisation_language, const std::vector<std::string>& accept_languages,
                          const std::string& service_language) {
  auto have = [](const std::string& tag) -> std::string {
    // "sv-SE", "da_DK" and "SV" all mean Swedish or Danish; "*" and unknown tags mean nothing.
    std::string primary = lower(trim(tag.substr(0, tag.find_first_of("-_;"))));
    return std::find(kPageLanguages.begin(), kPageLanguages.end(), primary) != kPageLanguages.end() ? primary : "";
  };
  if (auto l = have(organisation_language); !l.empty()) return l;
  for (const auto& tag : accept_languages)
    if (auto l = have(tag); !l.empty()) return l;
  if (auto l = have(service_language); !l.empty()) return l;
  return "en";
}

}  // namespace sd::portal
