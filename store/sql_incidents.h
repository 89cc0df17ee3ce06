// store/sql_incidents.h: store/incidents.h in the SQL both backends run, over a backend's
// connection (the `Db` of store/sql_transaction.h, whose Statement contract it uses as is).
// Internal to store/: only sql_transaction.h includes it.
//
// Diagnostics: each statement names its purpose, which the backends put in their StoreErrors;
// a link to a ticket or incident that does not exist is refused (StoreError, refused).
#pragma once

#include "core/vocabulary.h"
#include "store/incidents.h"
#include "store/sql_text.h"
#include "store/store.h"

#include <fmt/format.h>

#include <string>
#include <vector>

namespace sd::store::sql {

template <class Db>
class SqlIncidents final : public Incidents {
  using Stmt = typename Db::Statement;

 public:
  explicit SqlIncidents(Db& c) : c_(c) {}

  void declare(const Incident& i) override {
    {
      Stmt t(c_, "SELECT 1 FROM tickets WHERE id = ?", "look up incident's ticket");
      t.bind(1, i.ticket_id);
      if (!t.step()) throw StoreError(fmt::format("store: no ticket {}", i.ticket_id), false, true);
    }
    if (incident(i.ticket_id))
      throw StoreError(fmt::format("SD-{} is a major incident already", i.ticket_id), false, true);
    Stmt s(c_,
           "INSERT INTO incidents(ticket_id, title, declared_by, declared_at, all_orgs, root_cause, follow_up) "
           "VALUES (?,?,?,?,?,?,?)",
           "declare incident");
    s.bind(1, i.ticket_id).bind(2, i.title).bind(3, i.declared_by).bind(4, i.declared_at);
    s.bind(5, i.all_organisations ? 1 : 0).bind(6, i.root_cause).bind(7, i.follow_up).run();
    for (const auto& o : i.organisations) add_organisation(i.ticket_id, o);
    for (const auto& k : i.alert_keys) add_alert_key(i.ticket_id, k);
  }

  std::optional<Incident> incident(std::int64_t id) override {
    Stmt s(c_, std::string(kIncidentSql) + " WHERE ticket_id = ?", "read incident");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    Incident i = row(s);
    s.reset();
    fill(i);
    return i;
  }

  std::vector<Incident> incidents_declared(Time from, Time to) override {
    std::vector<Incident> out;
    {
      Stmt s(c_, std::string(kIncidentSql) + " WHERE declared_at >= ? AND declared_at < ? ORDER BY declared_at, ticket_id",
             "list incidents");
      s.bind(1, from).bind(2, to);
      while (s.step()) out.push_back(row(s));
    }
    for (auto& i : out) fill(i);
    return out;
  }

  bool add_alert_key(std::int64_t id, const std::string& key) override {
    Stmt s(c_, "INSERT INTO incident_alert_keys(incident_id, alert_key) VALUES (?,?) ON CONFLICT DO NOTHING",
           "add incident alert key");
    s.bind(1, id).bind(2, key).run();
    return s.changes() > 0;
  }

  bool add_organisation(std::int64_t id, const std::string& organisation) override {
    Stmt s(c_, "INSERT INTO incident_orgs(incident_id, organisation) VALUES (?,?) ON CONFLICT DO NOTHING",
           "add incident organisation");
    s.bind(1, id).bind(2, organisation).run();
    return s.changes() > 0;
  }

  void set_all_organisations(std::int64_t id, bool all) override {
    Stmt s(c_, "UPDATE incidents SET all_orgs = ? WHERE ticket_id = ?", "write incident's organisations");
    s.bind(1, all ? 1 : 0).bind(2, id).run();
  }

  void set_root_cause(std::int64_t id, const std::string& text) override {
    Stmt s(c_, "UPDATE incidents SET root_cause = ? WHERE ticket_id = ?", "write incident's root cause");
    s.bind(1, text).bind(2, id).run();
  }

  void set_follow_up(std::int64_t id, const std::string& text) override {
    Stmt s(c_, "UPDATE incidents SET follow_up = ? WHERE ticket_id = ?", "write incident's follow-up");
    s.bind(1, text).bind(2, id).run();
  }

  std::optional<std::int64_t> open_incident_with_alert_key(const std::string& key) override {
    Stmt s(c_,
           "SELECT k.incident_id FROM incident_alert_keys k JOIN tickets t ON t.id = k.incident_id "
           "WHERE k.alert_key = ? AND t.status IN " + open_statuses() + " ORDER BY k.incident_id DESC LIMIT 1",
           "find incident by alert key");
    s.bind(1, key);
    if (!s.step()) return std::nullopt;
    return s.i64(0);
  }

  void link(const IncidentLink& l) override {
    {
      Stmt t(c_, "SELECT 1 FROM tickets WHERE id = ?", "look up linked ticket");
      t.bind(1, l.ticket_id);
      if (!t.step()) throw StoreError(fmt::format("store: no ticket {}", l.ticket_id), false, true);
    }
    if (!incident(l.incident_id))
      throw StoreError(fmt::format("SD-{} is no major incident", l.incident_id), false, true);
    Stmt s(c_,
           "INSERT INTO incident_links(ticket_id, incident_id, linked_by, linked_at, how, unlinked_by, unlinked_at) "
           "VALUES (?,?,?,?,?,'',NULL) ON CONFLICT(ticket_id) DO UPDATE SET incident_id = excluded.incident_id, "
           "linked_by = excluded.linked_by, linked_at = excluded.linked_at, how = excluded.how, unlinked_by = '', "
           "unlinked_at = NULL",
           "link ticket to incident");
    s.bind(1, l.ticket_id).bind(2, l.incident_id).bind(3, l.linked_by).bind(4, l.linked_at).bind(5, l.how).run();
  }

  bool unlink(std::int64_t ticket_id, const std::string& by, Time at) override {
    Stmt s(c_,
           "UPDATE incident_links SET unlinked_by = ?, unlinked_at = ? WHERE ticket_id = ? AND unlinked_at IS NULL",
           "unlink ticket from incident");
    s.bind(1, by).bind(2, at).bind(3, ticket_id).run();
    return s.changes() > 0;
  }

  std::optional<IncidentLink> link_of(std::int64_t ticket_id) override {
    Stmt s(c_, std::string(kLinkSql) + " WHERE ticket_id = ?", "read ticket's incident link");
    s.bind(1, ticket_id);
    if (!s.step()) return std::nullopt;
    return link_row(s);
  }

  std::vector<IncidentLink> links(std::int64_t incident_id, bool include_unlinked) override {
    Stmt s(c_,
           std::string(kLinkSql) + " WHERE incident_id = ?" + (include_unlinked ? "" : " AND unlinked_at IS NULL") +
               " ORDER BY linked_at, ticket_id",
           include_unlinked ? "read incident's links, unlinked too" : "read incident's links");
    s.bind(1, incident_id);
    std::vector<IncidentLink> out;
    while (s.step()) out.push_back(link_row(s));
    return out;
  }

 private:
  static constexpr const char* kIncidentSql =
      "SELECT ticket_id, title, declared_by, declared_at, all_orgs, root_cause, follow_up FROM incidents";
  static constexpr const char* kLinkSql =
      "SELECT ticket_id, incident_id, linked_by, linked_at, how, unlinked_by, unlinked_at FROM incident_links";

  static Incident row(Stmt& s) {
    Incident i;
    i.ticket_id = s.i64(0);
    i.title = s.text(1);
    i.declared_by = s.text(2);
    i.declared_at = s.i64(3);
    i.all_organisations = s.i64(4) != 0;
    i.root_cause = s.text(5);
    i.follow_up = s.text(6);
    return i;
  }

  static IncidentLink link_row(Stmt& s) {
    IncidentLink l;
    l.ticket_id = s.i64(0);
    l.incident_id = s.i64(1);
    l.linked_by = s.text(2);
    l.linked_at = s.i64(3);
    l.how = s.text(4);
    l.unlinked_by = s.text(5);
    l.unlinked_at = s.opt_i64(6);
    return l;
  }

  void fill(Incident& i) {
    Stmt o(c_, "SELECT organisation FROM incident_orgs WHERE incident_id = ? ORDER BY organisation",
           "read incident's organisations");
    o.bind(1, i.ticket_id);
    while (o.step()) i.organisations.push_back(o.text(0));
    Stmt k(c_, "SELECT alert_key FROM incident_alert_keys WHERE incident_id = ? ORDER BY alert_key",
           "read incident's alert keys");
    k.bind(1, i.ticket_id);
    while (k.step()) i.alert_keys.push_back(k.text(0));
  }

  Db& c_;
};

}  // namespace sd::store::sql
