// config/config.h: the servicedesk configuration (TOML), read and checked in one place.
//
// Contract: load_config() either returns a complete Config with every default filled in,
// or throws ConfigError whose message names the file, the line and the key that is wrong
// (unknown keys and wrong types are refused, not ignored). Secrets are not part of
// Config: read_secret() reads a credential file when a component needs it.
#pragma once

#include "config/rule_pattern.h"
#include "parser/parse.h"
#include "sla/calendar.h"

#include <tl/expected.hpp>

#include <array>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace sd {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Config {
  std::string path;  // the file this came from

  struct Service {
    std::string name = "Servicedesk";
    std::string address;             // our own address: never auto-reply to it
    std::string ticket_prefix = "SD";
    std::string language = "en";     // language of mails to customers: en, sv, da
    std::string log_level = "info";  // error, warning, notice, info, debug
    std::string templates_dir;       // operators' templates (KIND.LANG.txt); empty: built-in texts
    std::string metrics_listen;      // "127.0.0.1:9101": the daemon's /metrics and /healthz; empty: off
  } service;

  struct Imap {
    std::string url;  // imap[s]://host[:port]/MAILBOX
    std::string username;
    std::string password_file;
    int poll_interval_s = 30;
    std::string after_ingest = "seen";  // "seen", "move:FOLDER" or "delete"
    int timeout_s = 60;
    // "range": our own IMAP session (libcurl CONNECT_ONLY) fetches a batch of mails with one
    // UID FETCH ... BODY.PEEK[]; "per_uid": libcurl's URL form, one request per mail.
    std::string fetch = "range";
    bool idle = true;           // IMAP IDLE wakes the poll the moment mail arrives (polling stays)
    int idle_renew_s = 1500;    // IDLE is re-issued this often, before the server's 29-minute limit
    int batch_max_mails = 500;  // mails per store transaction and per UID FETCH
    // Several daemons on one PostgreSQL store: one polls the mailbox, holding a lease it
    // renews; another takes over within this long after the holder died or froze.
    int lease_s = 15;
    std::size_t batch_max_bytes = 8 << 20;  // and their bytes (one bigger mail is a batch alone)
  } imap;

  struct Smtp {
    std::string url;
    std::string username;
    std::string password_file;
    int timeout_s = 60;
    int retry_initial_s = 30;  // first retry after a transient failure; doubles each time
    int retry_max_s = 3600;
  } smtp;

  // What outgoing mail may carry.
  struct Notify {
    // Attachments' decoded bytes per mail (agents' notifications, replies to customers);
    // above it they are listed with their sizes instead, and #attachments sends them in parts.
    std::size_t attach_max_bytes = 10 << 20;
  } notify;

  // [portal]: the web portal (`servicedesk portal`, portal/). Off unless `listen` is set.
  struct Portal {
    std::string listen;    // "127.0.0.1:8080"; empty: `servicedesk portal` refuses to start
    std::string base_url;  // "https://desk.example.com": what customers see, in mailed links; empty: no links
    // Addresses (or CIDR ranges) of reverse proxies whose X-Forwarded-For is believed.
    std::vector<std::string> trusted_proxies;
    std::string tls_certificate_file, tls_key_file;  // both or neither; neither: plain HTTP behind a proxy
    int session_idle_minutes = 60;
    int session_max_hours = 12;
    int login_link_minutes = 15;
    int login_mails_per_address_per_hour = 5;
    int login_requests_per_client_per_minute = 10;
    std::string metrics_listen;  // the portal's own /metrics and /healthz; empty: off
    std::string templates_dir;   // operators' page texts (portal.txt, portal.LANG.txt: key = text); empty: built-in
  } portal;

  struct Store {
    // Which store (store/url.h), always set after load: store.url, or sqlite:// + store.path.
    std::string url;
    // The SQLite file (the daemon's lock file STORE.lock goes beside it); empty for a URL of
    // another scheme.
    std::string path;
    // PostgreSQL: the password (a file of mode 0600, or a systemd credential); empty: libpq's
    // own ways (PGPASSFILE, ~/.pgpass, a password in the URL).
    std::string password_file;
  } store;

  // [[intake.rules]]: the first rule whose patterns all match a new mail sets its ticket's fields.
  // A pattern is a glob (*, ?) or, prefixed "re:", an RE2 regular expression, compiled when
  // the rule is read (config/rule_pattern.h); matching ignores case. Empty patterns match
  // everything.
  struct Rule {
    std::string name;  // for logs and events; "rule N" when not given
    RulePattern from, to, subject;
    std::string category, priority, organisation, assignee;
    AlertKeyPattern alert_key;  // regex whose first group taken from the subject is the alert key
    int line = 0;               // where it was defined, for messages
  };

  struct Intake {
    // Acknowledgements per hour, at most: to one address (lower case, +detail dropped), to one
    // domain, and in all. Past a cap, mail still becomes tickets, without acknowledgement or
    // per-mail agent notification; agents get one notice an hour.
    int acks_per_address_per_hour = 3;
    int acks_per_domain_per_hour = 20;
    int acks_per_hour = 200;
    std::string unknown_sender = "accept";  // "accept" (ticket marked unverified) or "reject"
    int auto_close_days = 7;                // resolved tickets close by themselves after this many days
    std::vector<Rule> rules;
  } intake;

  struct Agents {
    std::string team_address;       // optional: agents' notifications go here instead of to each agent
    std::string token_secret_file;  // secret for the Reply-To tokens (HMAC-SHA256); empty: tokens disabled
    // Authentication-Results from these servers (authserv-id) are trusted: an agent's mail
    // whose topmost such header says dmarc=pass with header.from equal to the From domain (or
    // dkim=pass with header.d equal to it) counts as authenticated. See docs/security.md.
    std::vector<std::string> trusted_authserv_ids;
    int token_days = 90;  // a Reply-To token expires this many days after it was issued
  } agents;

  parser::Limits limits;  // [limits]

  // [calendars.NAME]: "dk" and "se" (the seeds' calendars) exist unless redefined.
  std::map<std::string, sla::CalendarSpec> calendars;

  // [slas.NAME]: targets per priority, in business hours of the SLA's calendar.
  struct Sla {
    std::string calendar = "dk";
    std::array<std::optional<sla::Seconds>, 5> first_response;  // index = sla::Priority
    std::array<std::optional<sla::Seconds>, 5> resolution;      // none by default
    // Remind the agent to update the customer after this much silence (built in: 4, 8, 16,
    // 24, 40 business hours for highest ... lowest; 0 in the config: off).
    std::array<std::optional<sla::Seconds>, 5> update;
    // Mail the customer their ticket's status after this much silence towards them (none by
    // default; desk/keep_informed.h).
    std::array<std::optional<sla::Seconds>, 5> customer_update;
    double warning_share = 0.75;                                // warn at this share of a target
    std::string escalation_address;                             // breach mails; empty: as warnings (sla_recipients)
    int included_minutes_per_month = 15;                        // agents' time included per organisation and month
  };
  // Built in unless redefined: "standard" and "hypercare" on the dk calendar, and
  // "standard-se" and "hypercare-se" (kSwedishSlas): the same targets on the se calendar.
  std::map<std::string, Sla> slas;

  struct SlaSettings {
    std::string default_sla = "standard";  // for mail from senders of no organisation
    // Warnings and reminders of unassigned tickets (and breaches without an escalation
    // address); empty: agents.team_address, else every registered agent (desk/sla_clock.h).
    std::string agents_address;
  } sla;

  // [notices]: maintenance notices (desk/notices.h, `servicedesk notice add`).
  struct Notices {
    int lead_days = 7;  // each affected contact is mailed this many days before the start
  } notices;

  // [[maintenance.windows]]: the recurring service windows (seed 000, 4.1.3), in wall-clock
  // time of a calendar's zone; shown on the portal and in the acknowledgement of a ticket
  // opened during one (desk/notices.h).
  struct MaintenanceWindow {
    std::string kind;      // "infrastructure", "integrations" or "upgrade"
    std::string calendar;  // a [calendars.NAME]: whose time zone start and end are in
    std::string days;      // as written: "daily", "saturday", "first-saturday", "last-sunday" ...
    int weekday = -1;      // 0 = Monday ... 6 = Sunday; -1: every day
    int ordinal = 0;       // 1-4: the first ... fourth such weekday of its month, -1: the last, 0: each
    int start_minute = 0;  // after local midnight
    int end_minute = 0;    // after local midnight; not after start_minute: on the next day
    int line = 0;          // where it was defined, for messages
  };
  struct Maintenance {
    std::vector<MaintenanceWindow> windows;
  } maintenance;

  struct Test {
    // Test aids, never for production: load_config refuses them away from their defaults
    // unless the environment has SERVICEDESK_TEST_KEYS=1. "crash_after_commit" kills the daemon (SIGKILL)
    // right after the first ingest COMMIT, before the server-side flag or move;
    // "crash_on_subject:TEXT" kills it when a mail whose Subject holds TEXT is about to be
    // parsed (the poller's crash breaker, daemon/poller.h).
    std::string fault;
    // Added to the system clock wherever the daemon and the commands tell the time, so a
    // test can move the SLA clock forward (e.g. with SIGHUP after changing it).
    long long clock_offset_s = 0;
  } test;

  // "move:Processed" -> "Processed"; empty for the other actions.
  std::string move_target() const;
};

// The built-in SLAs on the Swedish calendar and their Danish twins: a twin the config does
// not define itself is the Danish one as configured (targets, escalation) on calendar "se".
inline constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kSwedishSlas = {
    {{"standard", "standard-se"}, {"hypercare", "hypercare-se"}}};

Config load_config(const std::string& path);

// The defaults alone (built-in calendars and SLA), for commands that need no config file.
Config builtin_config();

// Every key load_config() reads, as "section.key" ("imap.url"), sorted; in the tables that
// repeat under the operator's names "*" stands for the name ("calendars.*.time_zone",
// "slas.*.first_response_hours.high") and "[]" for a rule ("intake.rules[].from"). Taken
// from the loader itself, so a key is listed from the day it is read.
std::vector<std::string> known_config_keys();

// Reads a credential file (first line, trailing newline removed): the I/O boundary. A path
// "%d/NAME" is NAME in systemd's $CREDENTIALS_DIRECTORY (the unit's LoadCredential=). The
// error, when it cannot be read, is not a regular file, gives others any access or its
// group write access, or is group-readable outside systemd's $CREDENTIALS_DIRECTORY, is
// the message to show: it names the file, `what` it is, and the chmod that fixes it.
tl::expected<std::string, std::string> try_read_secret(const std::string& path, const std::string& what);
// try_read_secret(), throwing ConfigError with that message.
std::string read_secret(const std::string& path, const std::string& what);

// Refuses (ConfigError) a config file that others may read or write: it names the
// credential files and the store. Used when the daemon starts.
void check_config_file_mode(const std::string& path);

// A non-empty agents' token secret shorter than this is refused by `run`.
inline constexpr std::size_t kMinTokenSecretBytes = 16;
// The agents' token secret, read by read_secret()'s rules; empty when tokens are not configured.
std::string token_secret(const Config& c);
// token_secret(), refusing (ConfigError, with the fix) a non-empty one under kMinTokenSecretBytes.
std::string checked_token_secret(const Config& c);

// What `run` refuses before the daemon starts (ConfigError, naming the file and the fix):
// the config's mode (check_config_file_mode), each credential file's (read_secret), and a
// non-empty token secret under kMinTokenSecretBytes. Empty means tokens are off.
void check_files_for_run(const Config& c);

// Reply-To tokens (desk/agent_mail.h): their parts' lengths, which bound the plus-address.
inline constexpr std::size_t kTokenMacHex = 20;     // 80 bits: ample against guessing
inline constexpr std::size_t kTokenTicketDigits = 12;  // a desk's ticket numbers stay below 10^12
inline constexpr std::size_t kTokenDayDigits = 5;      // days since 1970 have five digits until 2243
// The longest plus-address local part the configured address and prefix can give (RFC 5321: 64).
std::size_t longest_reply_local_part(const Config& c);

}  // namespace sd
