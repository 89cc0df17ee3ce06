// config/config.cpp: TOML configuration (toml++), see config.h.
//
// Diagnostics: every refusal reads "FILE:LINE: key 'section.key': what is wrong".
// Security: credential files must be mode 0600 or stricter; group read (0640, 0440) is
// allowed only for a file whose real path is inside systemd's $CREDENTIALS_DIRECTORY.
// [test] keys away from their defaults need SERVICEDESK_TEST_KEYS=1 in the environment.
#include "config/config.h"

#include "core/file.h"
#include "core/vocabulary.h"

#include <fcntl.h>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <toml++/toml.h>

namespace sd {
namespace {

using namespace std::string_view_literals;

// While known_config_keys() runs the loader, every key a Section reads is noted here.
thread_local std::set<std::string>* key_recorder = nullptr;

std::string where(const Config& c, const toml::source_region& src) {
  return fmt::format("{}:{}", c.path, src.begin.line);
}

// Reads the keys of one table into the fields registered for it; refuses unknown keys.
class Section {
 public:
  Section(Config& c, const toml::table& root, std::string name) : Section(c, root.get(name), name) {}
  // A table found elsewhere (e.g. calendars.dk); `node` may be null (all defaults).
  Section(Config& c, const toml::node* node, std::string name) : c_(c), name_(std::move(name)) {
    if (node) {
      table_ = node->as_table();
      if (!table_) throw ConfigError(fmt::format("{}: key '{}': must be a table", where(c_, node->source()), name_));
    }
  }
  bool present() const { return table_ != nullptr; }

  void str(std::string_view key, std::string& out, bool required = false) {
    note(key);
    if (auto* n = get(key, required)) {
      auto v = n->value<std::string>();
      if (!n->is_string()) fail(*n, key, "must be a string");
      out = *v;
    }
  }
  void integer(std::string_view key, int& out, long min, long max) {
    note(key);
    if (auto* n = get(key, false)) {
      if (!n->is_integer()) fail(*n, key, "must be an integer");
      auto v = n->value<int64_t>().value();
      if (v < min || v > max) fail(*n, key, fmt::format("must be between {} and {}", min, max));
      out = static_cast<int>(v);
    }
  }
  void boolean(std::string_view key, bool& out) {
    note(key);
    if (auto* n = get(key, false)) {
      if (!n->is_boolean()) fail(*n, key, "must be true or false");
      out = n->value<bool>().value();
    }
  }
  void size(std::string_view key, std::size_t& out) {
    note(key);
    if (auto* n = get(key, false)) {
      if (!n->is_integer()) fail(*n, key, "must be an integer");
      auto v = n->value<int64_t>().value();
      if (v <= 0) fail(*n, key, "must be positive");
      out = static_cast<std::size_t>(v);
    }
  }
  void number(std::string_view key, double& out, double min, double max) {
    note(key);
    if (auto* n = get(key, false)) {
      if (!n->is_number()) fail(*n, key, "must be a number");
      double v = n->value<double>().value();
      if (v < min || v > max) fail(*n, key, fmt::format("must be between {} and {}", min, max));
      out = v;
    }
  }
  void strings(std::string_view key, std::vector<std::string>& out) {
    note(key);
    if (auto* n = get(key, false)) {
      auto* arr = n->as_array();
      if (!arr) fail(*n, key, "must be an array of strings");
      out.clear();
      for (auto& e : *arr) {
        if (!e.is_string()) fail(e, key, "must be an array of strings");
        out.push_back(*e.value<std::string>());
      }
    }
  }
  void known(std::string_view key) { note(key); }
  // A sub-table such as `first_response_hours = { high = 4 }`; null when absent.
  Section sub(std::string_view key) {
    note(key);
    return Section(c_, get(key, false), name_ + "." + std::string(key));
  }
  const toml::node* node(std::string_view key) const { return table_ ? table_->get(key) : nullptr; }
  [[noreturn]] void fail(const toml::node& n, std::string_view key, std::string_view what) {
    throw ConfigError(fmt::format("{}: key '{}.{}': {}", where(c_, n.source()), name_, key, what));
  }

  void one_of(std::string_view key, std::string& out, std::function<bool(const std::string&)> ok,
              std::string_view expected) {
    str(key, out);
    if (table_ && table_->get(key) && !ok(out)) fail(*table_->get(key), key, fmt::format("must be {}", expected));
  }
  void finish() {
    if (!table_) return;
    for (auto&& [k, v] : *table_)
      if (!known_.count(std::string(k.str())))
        throw ConfigError(fmt::format("{}: unknown key '{}.{}'", where(c_, v.source()), name_, k.str()));
  }

 private:
  // A key this table may hold. For known_config_keys() a rule's index becomes "[]".
  void note(std::string_view key) {
    known_.insert(std::string(key));
    if (!key_recorder) return;
    std::string table = name_;
    if (auto open = table.find('['); open != std::string::npos) table.replace(open, table.find(']') - open + 1, "[]");
    key_recorder->insert(table + "." + std::string(key));
  }
  const toml::node* get(std::string_view key, bool required) {
    const toml::node* n = table_ ? table_->get(key) : nullptr;
    if (!n && required) throw ConfigError(fmt::format("{}: required key '{}.{}' is missing", c_.path, name_, key));
    return n;
  }
  Config& c_;
  std::string name_;
  const toml::table* table_ = nullptr;
  std::set<std::string> known_;
};

// "08:00-16:00" -> minutes after midnight; nullopt when malformed.
std::optional<sla::OpeningInterval> parse_interval(const std::string& s) {
  int h1, m1, h2, m2;
  char tail;
  if (std::sscanf(s.c_str(), "%d:%d-%d:%d%c", &h1, &m1, &h2, &m2, &tail) != 4) return std::nullopt;
  if (h1 < 0 || m1 < 0 || m1 > 59 || h2 < 0 || m2 < 0 || m2 > 59) return std::nullopt;
  sla::OpeningInterval iv{std::chrono::minutes(h1 * 60 + m1), std::chrono::minutes(h2 * 60 + m2)};
  if (iv.from >= iv.to || iv.to > std::chrono::hours(24)) return std::nullopt;
  return iv;
}

std::optional<date::year_month_day> parse_date(const std::string& s) {
  int y, m, d;
  char tail;
  if (std::sscanf(s.c_str(), "%d-%d-%d%c", &y, &m, &d, &tail) != 3) return std::nullopt;
  date::year_month_day ymd{date::year(y), date::month(static_cast<unsigned>(m)), date::day(static_cast<unsigned>(d))};
  return ymd.ok() ? std::optional(ymd) : std::nullopt;
}

void load_calendar(Config& c, Section& sec, const std::string& name, sla::CalendarSpec& spec) {
  spec.name = name;
  sec.str("time_zone", spec.time_zone);
  sec.str("holidays", spec.holiday_rules);
  if (!spec.holiday_rules.empty() && !sla::known_holiday_rules(spec.holiday_rules))
    sec.fail(*sec.node("holidays"), "holidays", "must be \"DK\", \"SE\" or \"\"");
  static constexpr std::array<std::string_view, 7> days = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  auto read_day = [&](std::string_view key, std::initializer_list<int> indexes) {
    std::vector<std::string> text;
    sec.strings(key, text);
    if (!sec.node(key)) return;
    std::vector<sla::OpeningInterval> ivs;
    for (const auto& t : text) {
      auto iv = parse_interval(t);
      if (!iv) sec.fail(*sec.node(key), key, fmt::format("\"{}\" is not an interval like \"08:00-16:00\"", t));
      ivs.push_back(*iv);
    }
    for (int i : indexes) spec.week[static_cast<std::size_t>(i)] = ivs;
  };
  read_day("weekdays", {0, 1, 2, 3, 4});
  for (int i = 0; i < 7; ++i) read_day(days[static_cast<std::size_t>(i)], {i});
  auto read_dates = [&](std::string_view key, std::vector<date::year_month_day>& out) {
    std::vector<std::string> text;
    sec.strings(key, text);
    if (!sec.node(key)) return;
    out.clear();
    for (const auto& t : text) {
      auto d = parse_date(t);
      if (!d) sec.fail(*sec.node(key), key, fmt::format("\"{}\" is not a date like \"2026-12-28\"", t));
      out.push_back(*d);
    }
  };
  read_dates("extra_closed", spec.extra_closed);
  read_dates("extra_open", spec.extra_open);
  sec.finish();
  try {
    sla::Calendar check(spec);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(fmt::format("{}: calendar '{}': {}", c.path, name, e.what()));
  }
}

// `zero_is_off`: 0 hours turns the priority's target off (a reminder after no silence at
// all means nothing); elsewhere 0 is a target due at once.
void load_targets(Section sec, std::array<std::optional<sla::Seconds>, 5>& out, bool zero_is_off = false) {
  for (int p = 0; p < 5; ++p) {
    auto key = sla::to_string(static_cast<sla::Priority>(p));
    double hours = -1;
    sec.number(key, hours, 0, 100000);
    if (hours >= 0) out[static_cast<std::size_t>(p)] = sla::Seconds(static_cast<std::int64_t>(hours * 3600 + 0.5));
    if (zero_is_off && hours == 0) out[static_cast<std::size_t>(p)].reset();
  }
  sec.finish();
}

// A config is a page of text; anything this big is the wrong file.
constexpr std::size_t kMaxConfigBytes = 16 << 20;

// The scheme of a server's URL ("imaps" of "imaps://host/INBOX") when it is one of
// `schemes`, else what to say about the URL. Only the scheme is judged here: imap/ and
// notify/ (libcurl) read the rest when they connect.
tl::expected<std::string_view, std::string> url_scheme(std::string_view url,
                                                       std::initializer_list<std::string_view> schemes) {
  auto sep = url.find("://");
  for (auto s : schemes)
    if (sep == s.size() && url.substr(0, sep) == s) return s;
  std::string expected;
  for (auto s : schemes) expected += fmt::format("{}{}://", expected.empty() ? "" : " or ", s);
  return tl::make_unexpected("must start with " + expected);
}

// "127.0.0.1:8080", "[::1]:8080", "localhost:8080": a host and a port 1-65535.
bool valid_listen(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= s.size()) return false;
  std::string_view host(s.data(), colon);
  if (host.front() == '[' && host.back() != ']') return false;
  if (host.find_first_of(" \t/") != std::string_view::npos) return false;
  int port = 0;
  for (char ch : std::string_view(s).substr(colon + 1)) {
    if (ch < '0' || ch > '9') return false;
    port = port * 10 + (ch - '0');
    if (port > 65535) return false;
  }
  return port > 0;
}

// A trusted proxy: an IPv4 or IPv6 address, or a CIDR range of one ("10.0.0.0/8", "fd00::/8").
bool valid_proxy(const std::string& entry) {
  auto slash = entry.find('/');
  std::string addr = entry.substr(0, slash);
  unsigned char buf[16];
  int bits = 128;
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1)
    bits = 32;
  else if (inet_pton(AF_INET6, addr.c_str(), buf) != 1)
    return false;
  if (slash == std::string::npos) return true;
  auto prefix = std::string_view(entry).substr(slash + 1);
  if (prefix.empty() || prefix.size() > 3) return false;
  int n = 0;
  for (char ch : prefix) {
    if (ch < '0' || ch > '9') return false;
    n = n * 10 + (ch - '0');
  }
  return n <= bits;
}

bool valid_address(const std::string& a) {
  auto at = a.find('@');
  return at != std::string::npos && at > 0 && at + 1 < a.size() && a.find_first_of(" <>\r\n") == std::string::npos;
}

}  // namespace

std::string Config::move_target() const {
  return imap.after_ingest.rfind("move:", 0) == 0 ? imap.after_ingest.substr(5) : std::string();
}

// [service]: the desk's name, address, ticket prefix, language, log level and templates.
static void load_service(Config& c, toml::table& root) {
  const std::string& path = c.path;
  Section service(c, root, "service");
  service.str("name", c.service.name);
  service.str("address", c.service.address, true);
  service.str("ticket_prefix", c.service.ticket_prefix);
  service.one_of("language", c.service.language, [](auto& v) { return is_named(kLanguages, v); },
                 "\"en\", \"sv\" or \"da\"");
  service.one_of(
      "log_level", c.service.log_level,
      [](auto& v) { return v == "error" || v == "warning" || v == "notice" || v == "info" || v == "debug"; },
      "one of error, warning, notice, info, debug");
  service.str("templates_dir", c.service.templates_dir);
  service.str("metrics_listen", c.service.metrics_listen);
  if (!c.service.metrics_listen.empty() && !valid_listen(c.service.metrics_listen))
    service.fail(*service.node("metrics_listen"), "metrics_listen",
                 fmt::format("\"{}\" is not HOST:PORT like \"127.0.0.1:9101\"", c.service.metrics_listen));
  service.finish();
  if (!valid_address(c.service.address))
    throw ConfigError(fmt::format("{}: key 'service.address': \"{}\" is not a mail address", path, c.service.address));
  for (char ch : c.service.ticket_prefix)
    if (!std::isalnum(static_cast<unsigned char>(ch)) || c.service.ticket_prefix.size() > 16)
      throw ConfigError(fmt::format("{}: key 'service.ticket_prefix': letters and digits only, at most 16", path));
  if (c.service.ticket_prefix.empty())
    throw ConfigError(fmt::format("{}: key 'service.ticket_prefix': must not be empty", path));
}

// [imap]: the mailbox the desk reads.
static void load_imap(Config& c, toml::table& root) {
  const std::string& path = c.path;
  Section imap(c, root, "imap");
  imap.str("url", c.imap.url, true);
  imap.str("username", c.imap.username, true);
  imap.str("password_file", c.imap.password_file, true);
  imap.integer("poll_interval_s", c.imap.poll_interval_s, 1, 86400);
  imap.integer("timeout_s", c.imap.timeout_s, 1, 3600);
  imap.one_of("fetch", c.imap.fetch, [](auto& v) { return v == "range" || v == "per_uid"; }, "\"range\" or \"per_uid\"");
  imap.boolean("idle", c.imap.idle);
  imap.integer("idle_renew_s", c.imap.idle_renew_s, 10, 1740);
  imap.integer("lease_s", c.imap.lease_s, 2, 600);  // RFC 2177: the server may drop an IDLE after 29 minutes
  imap.integer("batch_max_mails", c.imap.batch_max_mails, 1, 100000);
  imap.size("batch_max_bytes", c.imap.batch_max_bytes);
  imap.one_of(
      "after_ingest", c.imap.after_ingest,
      [](auto& v) { return v == "seen" || v == "delete" || (v.rfind("move:", 0) == 0 && v.size() > 5); },
      "\"seen\", \"delete\" or \"move:FOLDER\"");
  imap.finish();
  if (auto scheme = url_scheme(c.imap.url, {"imap", "imaps"}); !scheme)
    throw ConfigError(fmt::format("{}: key 'imap.url': {}", path, scheme.error()));
}

// [notify]: what outgoing mail may carry.
static void load_notify(Config& c, toml::table& root) {
  Section notify(c, root, "notify");
  notify.size("attach_max_bytes", c.notify.attach_max_bytes);
  notify.finish();
}

// [portal]: the web portal's listener, links, sessions and limits.
static void load_portal(Config& c, toml::table& root) {
  const std::string& path = c.path;
  Section portal(c, root, "portal");
  auto& p = c.portal;
  portal.str("listen", p.listen);
  portal.str("base_url", p.base_url);
  portal.strings("trusted_proxies", p.trusted_proxies);
  portal.str("tls_certificate_file", p.tls_certificate_file);
  portal.str("tls_key_file", p.tls_key_file);
  portal.integer("session_idle_minutes", p.session_idle_minutes, 1, 7 * 24 * 60);
  portal.integer("session_max_hours", p.session_max_hours, 1, 24 * 90);
  portal.integer("login_link_minutes", p.login_link_minutes, 1, 24 * 60);
  portal.integer("login_mails_per_address_per_hour", p.login_mails_per_address_per_hour, 1, 1000);
  portal.integer("login_requests_per_client_per_minute", p.login_requests_per_client_per_minute, 1, 100000);
  portal.str("metrics_listen", p.metrics_listen);
  portal.str("templates_dir", p.templates_dir);
  for (const auto& proxy : p.trusted_proxies)
    if (!valid_proxy(proxy))
      portal.fail(*portal.node("trusted_proxies"), "trusted_proxies",
                  fmt::format("\"{}\" is not an IP address or a CIDR range like \"10.0.0.0/8\"", proxy));
  for (auto [key, value] : {std::pair<std::string_view, const std::string*>{"listen", &p.listen},
                            {"metrics_listen", &p.metrics_listen}})
    if (!value->empty() && !valid_listen(*value))
      portal.fail(*portal.node(key), key, fmt::format("\"{}\" is not HOST:PORT like \"127.0.0.1:8080\"", *value));
  if (!p.base_url.empty()) {
    auto scheme = url_scheme(p.base_url, {"http", "https"});
    auto rest = std::string_view(p.base_url).substr(p.base_url.find("://") == std::string::npos ? 0 : p.base_url.find("://") + 3);
    if (!scheme) portal.fail(*portal.node("base_url"), "base_url", scheme.error());
    if (rest.empty() || rest.find_first_of(" \t\r\n\"'<>?#") != std::string_view::npos)
      portal.fail(*portal.node("base_url"), "base_url",
                  fmt::format("\"{}\" is not an address like \"https://desk.example.com\"", p.base_url));
    while (!p.base_url.empty() && p.base_url.back() == '/') p.base_url.pop_back();
  }
  portal.finish();
  if (p.tls_certificate_file.empty() != p.tls_key_file.empty())
    throw ConfigError(fmt::format("{}: section [portal]: set both tls_certificate_file and tls_key_file, or neither", path));
}

static void load_smtp(Config& c, toml::table& root) {
  const std::string& path = c.path;
  Section smtp(c, root, "smtp");
  smtp.str("url", c.smtp.url, true);
  smtp.str("username", c.smtp.username);
  smtp.str("password_file", c.smtp.password_file);
  smtp.integer("timeout_s", c.smtp.timeout_s, 1, 3600);
  smtp.integer("retry_initial_s", c.smtp.retry_initial_s, 1, 86400);
  smtp.integer("retry_max_s", c.smtp.retry_max_s, 1, 7 * 86400);
  smtp.finish();
  if (auto scheme = url_scheme(c.smtp.url, {"smtp", "smtps"}); !scheme)
    throw ConfigError(fmt::format("{}: key 'smtp.url': {}", path, scheme.error()));
}

// [store]
static void load_store(Config& c, toml::table& root) {
  const std::string& path = c.path;
  // store.path is the shorthand of store.url = "sqlite://" + path. Only that prefix is known
  // here (config/ does not use store/); whether a URL can be opened is store/'s to say.
  Section store(c, root, "store");
  store.str("url", c.store.url);
  store.str("path", c.store.path);
  store.str("password_file", c.store.password_file);
  store.finish();
  constexpr std::string_view kSqlite = "sqlite://";
  if (store.node("url") && store.node("path"))
    store.fail(*store.node("url"), "url", "give store.url or its shorthand store.path, not both");
  if (store.node("path")) {
    c.store.url = std::string(kSqlite) + c.store.path;
  } else if (store.node("url")) {
    c.store.path = c.store.url.rfind(kSqlite, 0) == 0 ? c.store.url.substr(kSqlite.size()) : "";
  } else {
    throw ConfigError(fmt::format("{}: required key 'store.url' (or its shorthand 'store.path') is missing", path));
  }
}

// [intake] with its [[intake.rules]].
static void load_intake(Config& c, toml::table& root) {
  Section intake(c, root, "intake");
  intake.integer("acks_per_address_per_hour", c.intake.acks_per_address_per_hour, 0, 10000);
  intake.integer("acks_per_domain_per_hour", c.intake.acks_per_domain_per_hour, 0, 100000);
  intake.integer("acks_per_hour", c.intake.acks_per_hour, 0, 1000000);
  intake.one_of("unknown_sender", c.intake.unknown_sender, [](auto& v) { return v == "accept" || v == "reject"; },
                "\"accept\" or \"reject\"");
  intake.integer("auto_close_days", c.intake.auto_close_days, 0, 3650);
  intake.known("rules");
  if (auto* node = intake.node("rules")) {
    auto* arr = node->as_array();
    if (!arr) intake.fail(*node, "rules", "must be an array of tables ([[intake.rules]])");
    int n = 0;
    for (auto& item : *arr) {
      ++n;
      Section r(c, &item, fmt::format("intake.rules[{}]", n));
      Config::Rule rule;
      rule.line = static_cast<int>(item.source().begin.line);
      r.str("name", rule.name);
      if (rule.name.empty()) rule.name = fmt::format("rule {}", n);
      // Each pattern is compiled here, once: a pattern RE2 refuses (lookaround and
      // backreferences, which std::regex accepted) stops the load at its own line.
      auto pattern = [&](std::string_view key, auto& out) {
        std::string text;
        r.str(key, text);
        out = text;
        if (!out.error().empty())
          throw ConfigError(fmt::format(
              "{}: intake.rules[{}]: key '{}': RE2 refuses the regular expression '{}': {} (RE2 syntax: no lookaround, "
              "no backreferences)",
              where(c, r.node(key)->source()), n, key, text.rfind("re:", 0) == 0 ? text.substr(3) : text, out.error()));
      };
      pattern("from", rule.from);
      pattern("to", rule.to);
      pattern("subject", rule.subject);
      r.one_of("category", rule.category,
               [](auto& v) { return v.empty() || is_named(kCategories, v); },
               "incident, support, order or feature");
      r.one_of("priority", rule.priority, [](auto& v) { return v.empty() || sla::parse_priority(v).has_value(); },
               "highest, high, medium, low or lowest");
      r.str("organisation", rule.organisation);
      r.str("assignee", rule.assignee);
      pattern("alert_key", rule.alert_key);
      r.finish();
      c.intake.rules.push_back(rule);
    }
  }
  intake.finish();
}

// [agents]: tokens and whose Authentication-Results count.
static void load_agents(Config& c, toml::table& root) {
  const std::string& path = c.path;
  Section agents(c, root, "agents");
  agents.str("team_address", c.agents.team_address);
  agents.str("token_secret_file", c.agents.token_secret_file);
  agents.strings("trusted_authserv_ids", c.agents.trusted_authserv_ids);
  agents.integer("token_days", c.agents.token_days, 1, 3650);
  agents.finish();
  // RFC 5321 allows 64 octets of local part: the longest Reply-To we hand out must fit.
  if (auto longest = longest_reply_local_part(c); longest > 64)
    throw ConfigError(fmt::format("{}: keys 'service.address' and 'service.ticket_prefix': agents' Reply-To addresses "
                                  "would have local parts of up to {} octets, over the 64 that mail servers accept; "
                                  "shorten the address's local part or the prefix by {}",
                                  path, longest, longest - 64));
}

// [limits]: the parser's.
static void load_limits(Config& c, toml::table& root) {
  Section limits(c, root, "limits");
  limits.size("max_message_bytes", c.limits.max_message_bytes);
  limits.size("max_header_bytes", c.limits.max_header_bytes);
  limits.size("max_parts", c.limits.max_parts);
  limits.size("max_depth", c.limits.max_depth);
  limits.size("max_attachment_bytes", c.limits.max_attachment_bytes);
  limits.finish();
}

// [calendars.NAME], [slas.NAME] and [sla], over the built-in ones.
static void load_slas(Config& c, toml::table& root) {
  const std::string& path = c.path;
  auto defaults = builtin_config();
  c.calendars = defaults.calendars;
  c.slas = defaults.slas;
  if (auto* node = root.get("calendars")) {
    auto* cals = node->as_table();
    if (!cals) throw ConfigError(fmt::format("{}: key 'calendars': must be a table", where(c, node->source())));
    for (auto&& [k, v] : *cals) {
      std::string name(k.str());
      Section sec(c, &v, "calendars." + name);
      auto& spec = c.calendars[name];
      load_calendar(c, sec, name, spec);
    }
  }

  const Config::Sla standard = c.slas.at("standard");
  std::set<std::string> defined;  // SLAs the operator's [slas.NAME] tables name
  if (auto* node = root.get("slas")) {
    auto* slas = node->as_table();
    if (!slas) throw ConfigError(fmt::format("{}: key 'slas': must be a table", where(c, node->source())));
    for (auto&& [k, v] : *slas) {
      std::string name(k.str());
      defined.insert(name);
      Section sec(c, &v, "slas." + name);
      auto& s = c.slas.emplace(name, standard).first->second;
      sec.str("calendar", s.calendar);
      if (!c.calendars.count(s.calendar))
        sec.fail(*sec.node("calendar"), "calendar", fmt::format("no calendar named '{}'", s.calendar));
      load_targets(sec.sub("first_response_hours"), s.first_response);
      load_targets(sec.sub("resolution_hours"), s.resolution);
      load_targets(sec.sub("update_hours"), s.update, true);
      load_targets(sec.sub("customer_update_hours"), s.customer_update, true);
      sec.number("warning_share", s.warning_share, 0.01, 1.0);
      sec.str("escalation_address", s.escalation_address);
      sec.integer("included_minutes_per_month", s.included_minutes_per_month, 0, 100000);
      sec.finish();
    }
  }
  // A Swedish built-in SLA not defined itself is its Danish twin as configured, on the se
  // calendar: an operator who set [slas.standard]'s targets or escalation_address has set
  // them for Swedish organisations too.
  for (const auto& [danish, swedish] : kSwedishSlas)
    if (!defined.count(std::string(swedish))) {
      Config::Sla s = c.slas.at(std::string(danish));
      s.calendar = "se";
      c.slas[std::string(swedish)] = s;
    }
  Section slasec(c, root, "sla");
  slasec.str("default", c.sla.default_sla);
  slasec.str("agents_address", c.sla.agents_address);
  slasec.finish();
  if (!c.slas.count(c.sla.default_sla))
    throw ConfigError(fmt::format("{}: key 'sla.default': no SLA named '{}'", path, c.sla.default_sla));
}

// "04:00" -> minutes after midnight; nullopt when malformed.
static std::optional<int> parse_clock_time(const std::string& s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  for (std::size_t i : {0u, 1u, 3u, 4u})
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return h * 60 + m;
}

// "daily", "saturday", "first-saturday" ... "last-sunday" into the window's weekday and
// ordinal; false when it is none of them.
static bool parse_window_days(const std::string& s, Config::MaintenanceWindow& w) {
  static constexpr std::array<std::string_view, 7> names = {"monday", "tuesday",  "wednesday", "thursday",
                                                             "friday", "saturday", "sunday"};
  static constexpr std::array<std::pair<std::string_view, int>, 5> ordinals = {
      {{"first-", 1}, {"second-", 2}, {"third-", 3}, {"fourth-", 4}, {"last-", -1}}};
  if (s == "daily") {
    w.weekday = -1;
    w.ordinal = 0;
    return true;
  }
  std::string_view day = s;
  int ordinal = 0;
  for (auto [prefix, n] : ordinals)
    if (day.substr(0, prefix.size()) == prefix) {
      day.remove_prefix(prefix.size());
      ordinal = n;
      break;
    }
  for (std::size_t i = 0; i < names.size(); ++i)
    if (day == names[i]) {
      w.weekday = static_cast<int>(i);
      w.ordinal = ordinal;
      return true;
    }
  return false;
}

// [notices] and [[maintenance.windows]] (after the calendars, which windows name).
static void load_maintenance(Config& c, toml::table& root) {
  Section notices(c, root, "notices");
  notices.integer("lead_days", c.notices.lead_days, 0, 365);
  notices.finish();

  Section maintenance(c, root, "maintenance");
  maintenance.known("windows");
  if (auto* node = maintenance.node("windows")) {
    auto* arr = node->as_array();
    if (!arr) maintenance.fail(*node, "windows", "must be an array of tables ([[maintenance.windows]])");
    int n = 0;
    for (auto& item : *arr) {
      ++n;
      Section w(c, &item, fmt::format("maintenance.windows[{}]", n));
      Config::MaintenanceWindow win;
      win.line = static_cast<int>(item.source().begin.line);
      w.one_of("kind", win.kind, [](auto& v) { return v == "infrastructure" || v == "integrations" || v == "upgrade"; },
               "\"infrastructure\", \"integrations\" or \"upgrade\"");
      w.str("calendar", win.calendar, true);
      w.str("days", win.days, true);
      std::string start, end;
      w.str("start", start, true);
      w.str("end", end, true);
      w.finish();
      if (win.kind.empty())
        throw ConfigError(fmt::format("{}: required key 'maintenance.windows[{}].kind' is missing", where(c, item.source()), n));
      if (!c.calendars.count(win.calendar))
        w.fail(*w.node("calendar"), "calendar", fmt::format("no calendar named '{}'", win.calendar));
      if (!parse_window_days(win.days, win))
        w.fail(*w.node("days"), "days",
               fmt::format("\"{}\" is not \"daily\", a weekday like \"saturday\" or one like \"first-saturday\" "
                           "(first, second, third, fourth or last)",
                           win.days));
      auto from = parse_clock_time(start), to = parse_clock_time(end);
      if (!from) w.fail(*w.node("start"), "start", fmt::format("\"{}\" is not a time like \"04:00\"", start));
      if (!to) w.fail(*w.node("end"), "end", fmt::format("\"{}\" is not a time like \"05:00\"", end));
      if (*from == *to) w.fail(*w.node("end"), "end", "must differ from start (an end before the start is on the next day)");
      win.start_minute = *from;
      win.end_minute = *to;
      c.maintenance.windows.push_back(win);
    }
  }
  maintenance.finish();
}

// [test]: test aids, refused unless a test asked for them.
static void load_test(Config& c, toml::table& root) {
  Section test(c, root, "test");
  test.one_of("fault", c.test.fault,
              [](auto& v) { return v.empty() || v == "crash_after_commit" || (v.rfind("crash_on_subject:", 0) == 0 && v.size() > 17); },
              "\"\", \"crash_after_commit\" or \"crash_on_subject:TEXT\"");
  double offset = 0;
  test.number("clock_offset_s", offset, -1e10, 1e10);
  c.test.clock_offset_s = static_cast<long long>(offset);
  test.finish();
  // A fault or a moved clock in production would kill the daemon or break every SLA: the
  // keys work only where a test asked for them. At their defaults they load anywhere, so
  // the example config (which lists them) stays valid.
  const char* test_keys = std::getenv("SERVICEDESK_TEST_KEYS");
  if (!test_keys || std::string_view(test_keys) != "1") {
    constexpr auto refused = "a test aid, refused outside tests: {} (a test sets SERVICEDESK_TEST_KEYS=1)";
    if (!c.test.fault.empty()) test.fail(*test.node("fault"), "fault", fmt::format(refused, "set it to \"\""));
    if (c.test.clock_offset_s != 0)
      test.fail(*test.node("clock_offset_s"), "clock_offset_s", fmt::format(refused, "set it to 0"));
  }
}

// The loader proper, on the text of the config file `path` (named in every message).
static Config parse_config(const std::string& text, const std::string& path) {
  Config c;
  c.path = path;

  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(path));
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}: {}", path, e.source().begin.line, e.description()));
  }

  const std::set<std::string> sections = {"service", "imap", "smtp",      "notify", "store", "intake",
                                          "limits",  "test", "sla",       "slas",   "calendars", "agents", "portal",
                                          "notices", "maintenance"};
  for (auto&& [k, v] : root)
    if (!sections.count(std::string(k.str())))
      throw ConfigError(fmt::format("{}: unknown key '{}'", where(c, v.source()), k.str()));

  load_service(c, root);
  load_imap(c, root);
  load_smtp(c, root);
  load_notify(c, root);
  load_portal(c, root);
  load_store(c, root);
  load_intake(c, root);
  load_agents(c, root);
  load_limits(c, root);
  load_slas(c, root);
  load_maintenance(c, root);
  load_test(c, root);
  return c;
}

Config load_config(const std::string& path) {
  auto file = read_file(path, kMaxConfigBytes);
  if (!file) throw ConfigError(fmt::format("{}: cannot read config file ({})", path, file.error().reason()));
  return parse_config(*file, path);
}

std::vector<std::string> known_config_keys() {
  // The loader names the keys itself: run on the required keys and one of each repeated
  // table (the operator's name replaced by "*"), every key a Section reads is noted.
  static const std::string text = R"(
[service]
address = "desk@example.com"
[imap]
url = "imaps://mail.example.com/INBOX"
username = "desk"
password_file = "/dev/null"
[smtp]
url = "smtps://mail.example.com"
[store]
path = "/dev/null"
[[intake.rules]]
[calendars."*"]
time_zone = "Europe/Copenhagen"
weekdays = ["08:00-16:00"]
[slas."*"]
[[maintenance.windows]]
kind = "infrastructure"
calendar = "se"
days = "daily"
start = "04:00"
end = "05:00"
)";
  std::set<std::string> keys;
  key_recorder = &keys;
  struct Reset {
    ~Reset() { key_recorder = nullptr; }
  } reset;
  parse_config(text, "(known keys)");
  return {keys.begin(), keys.end()};
}

Config builtin_config() {
  Config c;
  c.path = "(built-in defaults)";
  for (auto name : {"dk", "se"}) c.calendars[name] = sla::default_calendar_spec(name);
  Config::Sla standard;
  for (int p = 0; p < 5; ++p)
    standard.first_response[static_cast<std::size_t>(p)] = sla::default_first_response_target(static_cast<sla::Priority>(p));
  // Agents are reminded to update the customer after this many business hours of silence.
  const double update_hours[5] = {4, 8, 16, 24, 40};
  for (std::size_t p = 0; p < 5; ++p)
    standard.update[p] = sla::Seconds(static_cast<std::int64_t>(update_hours[p] * 3600));
  c.slas["standard"] = standard;
  // Hypercare: the first-response targets of the next priority up.
  Config::Sla hypercare = standard;
  for (int p = 1; p < 5; ++p) hypercare.first_response[static_cast<std::size_t>(p)] = standard.first_response[static_cast<std::size_t>(p - 1)];
  c.slas["hypercare"] = hypercare;
  // The same two on the Swedish calendar, for Swedish organisations (org add picks by language).
  for (const auto& [danish, swedish] : kSwedishSlas) {
    Config::Sla s = c.slas.at(std::string(danish));
    s.calendar = "se";
    c.slas[std::string(swedish)] = s;
  }
  return c;
}

namespace {

// Whether `path` resolves to a file inside systemd's credentials directory of this process
// ($CREDENTIALS_DIRECTORY, set by LoadCredential=). Both sides are resolved, so a symlink
// from elsewhere into it, or out of it, counts where it really points.
bool in_credentials_directory(const std::string& path) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (!dir || !*dir) return false;
  std::error_code ec1, ec2;
  auto real_dir = std::filesystem::canonical(dir, ec1);
  auto real_file = std::filesystem::canonical(path, ec2);
  if (ec1 || ec2) return false;
  auto rel = real_file.lexically_relative(real_dir);
  return !rel.empty() && *rel.begin() != ".." && *rel.begin() != ".";
}

}  // namespace

tl::expected<std::string, std::string> try_read_secret(const std::string& given, const std::string& what) {
  // "%d/NAME": NAME in this unit's credentials directory, so the daemon's and the portal's
  // units share one config line although systemd gives each a directory of its own.
  std::string path = given;
  if (given.rfind("%d/", 0) == 0) {
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (!dir || !*dir)
      return tl::make_unexpected(fmt::format(
          "{}: {} is in the unit's credentials directory (%d), but $CREDENTIALS_DIRECTORY is not set: run it under "
          "systemd with LoadCredential=, or outside it as CREDENTIALS_DIRECTORY=/etc/servicedesk servicedesk ...",
          given, what));
    path = std::string(dir) + given.substr(2);
  }
  // Checked on the open descriptor, so the mode judged is that of the file read.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);  // a FIFO must not hang us
  if (fd < 0) {
    int err = errno;
    return tl::make_unexpected(fmt::format("{}: cannot read {} ({})", path, what,
                                           err == ENOENT   ? "file missing?"
                                           : err == EACCES ? "permission?"
                                                           : std::strerror(err)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return tl::make_unexpected(
        fmt::format("{}: {} is not a regular file; put the secret on the first line of a file", path, what));
  unsigned mode = st.st_mode & 0777;
  if (st.st_mode & S_IRWXO)
    return tl::make_unexpected(
        fmt::format("{}: {} is readable by others (mode {:o}); run: chmod 600 {}", path, what, mode, path));
  if (st.st_mode & (S_IWGRP | S_IXGRP))
    return tl::make_unexpected(
        fmt::format("{}: {} is writable by its group (mode {:o}); run: chmod 600 {}", path, what, mode, path));
  // Group read only where systemd put the file: it may grant a service's credentials by
  // group (mode 0440) there. Anywhere else a group member could read the password.
  if ((st.st_mode & S_IRGRP) && !in_credentials_directory(path))
    return tl::make_unexpected(fmt::format("{}: {} is readable by its group (mode {:o}); run: chmod 600 {} (group read "
                                           "is allowed only inside systemd's $CREDENTIALS_DIRECTORY)",
                                           path, what, mode, path));
  // The first line is all we use; a secret longer than this is no password file.
  std::string text;
  char buf[4096];
  while (text.size() < 65536) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::make_unexpected(fmt::format("{}: cannot read {}: {}", path, what, std::strerror(errno)));
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.find('\n') != std::string::npos) break;
  }
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string read_secret(const std::string& path, const std::string& what) {
  auto secret = try_read_secret(path, what);
  if (!secret) throw ConfigError(secret.error());
  return std::move(*secret);
}

void check_config_file_mode(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)))
    throw ConfigError(fmt::format("{}: the config file may be read or changed by others (mode {:o}); run: chmod 640 {}",
                                  path, st.st_mode & 0777, path));
}

std::string token_secret(const Config& c) {
  return c.agents.token_secret_file.empty() ? "" : read_secret(c.agents.token_secret_file, "agents' token secret");
}

std::string checked_token_secret(const Config& c) {
  auto secret = token_secret(c);
  // Empty: tokens are off (the unit's default credential). Short: tokens anyone could forge.
  if (!secret.empty() && secret.size() < kMinTokenSecretBytes)
    throw ConfigError(fmt::format("{}: agents' token secret is {} bytes, shorter than {}; run: head -c 32 /dev/urandom "
                                  "| base64 > {} (or leave the file empty to turn tokens off)",
                                  c.agents.token_secret_file, secret.size(), kMinTokenSecretBytes,
                                  c.agents.token_secret_file));
  return secret;
}

void check_files_for_run(const Config& c) {
  check_config_file_mode(c.path);
  read_secret(c.imap.password_file, "IMAP password file");
  if (!c.smtp.password_file.empty()) read_secret(c.smtp.password_file, "SMTP password file");
  if (!c.store.password_file.empty()) read_secret(c.store.password_file, "store password file");
  checked_token_secret(c);
}

std::size_t longest_reply_local_part(const Config& c) {
  auto at = c.service.address.find('@');
  return at + 1 + c.service.ticket_prefix.size() + 1 + kTokenTicketDigits + 1 + kTokenDayDigits + 1 + kTokenMacHex;
}

}  // namespace sd
