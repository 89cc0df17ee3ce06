// store/sql_keep_informed.h: KeepInformed (store/keep_informed.h) in the SQL both backends
// run, over a backend's connection as store/sql_transaction.h describes it. Internal to store/.
#pragma once

#include "store/keep_informed.h"

#include <fmt/format.h>

namespace sd::store::sql {

template <class Db>
class SqlKeepInformed final : public KeepInformed {
  using Stmt = typename Db::Statement;

 public:
  explicit SqlKeepInformed(Db& c) : c_(c) {}

  std::string account_agent(const std::string& organisation) override {
    Stmt s(c_,
           "SELECT a.agent FROM org_account_agents a JOIN organisations o ON o.id = a.org_id WHERE o.name = ?",
           "read account agent");
    s.bind(1, organisation);
    return s.step() ? s.text(0) : std::string();
  }

  void set_account_agent(const std::string& organisation, const std::string& agent) override {
    auto id = org_id(organisation);
    if (agent.empty()) {
      Stmt d(c_, "DELETE FROM org_account_agents WHERE org_id = ?", "remove account agent");
      d.bind(1, id).run();
      return;
    }
    Stmt s(c_,
           "INSERT INTO org_account_agents(org_id, agent) VALUES (?, ?) "
           "ON CONFLICT(org_id) DO UPDATE SET agent = excluded.agent",
           "set account agent");
    s.bind(1, id).bind(2, agent).run();
  }

  void add_org_event(const OrgEvent& e) override {
    auto id = org_id(e.organisation);
    Stmt s(c_, "INSERT INTO org_events(org_id, at, actor, kind, detail) VALUES (?,?,?,?,?)", "add organisation event");
    s.bind(1, id).bind(2, e.at).bind(3, e.actor).bind(4, e.kind).bind(5, e.detail).run();
  }

  std::vector<OrgEvent> org_events(const std::string& organisation) override {
    Stmt s(c_,
           "SELECT e.at, e.actor, e.kind, e.detail FROM org_events e JOIN organisations o ON o.id = e.org_id "
           "WHERE o.name = ? ORDER BY e.at, e.id",
           "list organisation events");
    s.bind(1, organisation);
    std::vector<OrgEvent> out;
    while (s.step()) out.push_back({organisation, s.i64(0), s.text(1), s.text(2), s.text(3)});
    return out;
  }

  bool record_org_mailing(const std::string& organisation, const std::string& mailing, Time at) override {
    auto id = org_id(organisation);
    Stmt s(c_, "INSERT INTO org_mailings(org_id, mailing, sent_at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
           "record organisation mailing");
    s.bind(1, id).bind(2, mailing).bind(3, at).run();
    return s.changes() > 0;
  }

  void set_customer_words(std::int64_t ticket_id, const CustomerWords& w) override {
    Stmt s(c_,
           "INSERT INTO customer_words(ticket_id, at, agent, words) VALUES (?,?,?,?) "
           "ON CONFLICT(ticket_id) DO UPDATE SET at = excluded.at, agent = excluded.agent, words = excluded.words",
           "keep the agents' last words to the customer");
    s.bind(1, ticket_id).bind(2, w.at).bind(3, w.agent).bind(4, w.words).run();
  }

  std::optional<CustomerWords> customer_words(std::int64_t ticket_id) override {
    Stmt s(c_, "SELECT at, agent, words FROM customer_words WHERE ticket_id = ?", "read the agents' last words");
    s.bind(1, ticket_id);
    if (!s.step()) return std::nullopt;
    return CustomerWords{s.i64(0), s.text(1), s.text(2)};
  }

  std::optional<Time> last_customer_update(std::int64_t ticket_id) override {
    Stmt s(c_,
           "SELECT max(created_at) FROM messages WHERE ticket_id = ? AND direction = 'out' AND automatic = '' "
           "AND internal = 0",
           "read the last update to the customer");
    s.bind(1, ticket_id);
    return s.step() ? s.opt_i64(0) : std::nullopt;
  }

  std::vector<std::int64_t> tickets_resolved(const std::string& organisation, Time from, Time to) override {
    Stmt s(c_,
           "SELECT id FROM tickets WHERE organisation = ? AND resolved_at >= ? AND resolved_at < ? "
           "ORDER BY resolved_at, id",
           "list an organisation's resolved tickets");
    s.bind(1, organisation).bind(2, from).bind(3, to);
    std::vector<std::int64_t> out;
    while (s.step()) out.push_back(s.i64(0));
    return out;
  }

 private:
  std::int64_t org_id(const std::string& organisation) {
    Stmt s(c_, "SELECT id FROM organisations WHERE name = ?", "find organisation");
    s.bind(1, organisation);
    if (!s.step()) throw StoreError(fmt::format("no organisation '{}'", organisation), false, true);
    return s.i64(0);
  }

  Db& c_;
};

}  // namespace sd::store::sql
