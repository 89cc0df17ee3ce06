// store/sql_estimates.h: store/estimates.h in the SQL both backends run, over a backend's
// connection (see store/sql_transaction.h for what `Db` offers). Internal to store/.
//
// Contract: answer_estimate() and the notices are one conditional write each (WHERE state =
// 'awaiting'; ON CONFLICT DO NOTHING on the primary key), so of two transactions racing only
// one changes a row, and the other sees changes() == 0.
#pragma once

#include "store/estimates.h"

#include <fmt/format.h>

#include <string>
#include <vector>

namespace sd::store::sql {

template <class Db>
class SqlEstimates final : public Estimates {
  using Stmt = typename Db::Statement;

 public:
  explicit SqlEstimates(Db& c) : c_(c) {}

  std::int64_t add_estimate(const Estimate& e) override {
    if (auto open = awaiting_estimate(e.ticket_id))
      throw StoreError(fmt::format("ticket {} has estimate {} awaiting an answer already", e.ticket_id, open->id), false,
                       true);
    Stmt s(c_,
           "INSERT INTO estimates(ticket_id, seconds, text, agent, requester, organisation, created_at, state) "
           "VALUES (?,?,?,?,?,?,?,'awaiting') RETURNING id",
           "record an estimate");
    s.bind(1, e.ticket_id).bind(2, e.seconds).bind(3, e.text).bind(4, e.agent).bind(5, e.requester);
    s.bind(6, e.organisation).bind(7, e.created_at);
    if (!s.step()) throw StoreError("store: recording an estimate returned no id", false);
    return s.i64(0);
  }

  std::optional<Estimate> estimate(std::int64_t id) override {
    Stmt s(c_, std::string(kSelect) + " WHERE id = ?", "read an estimate");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read(s);
  }

  std::optional<Estimate> awaiting_estimate(std::int64_t ticket_id) override {
    Stmt s(c_, std::string(kSelect) + " WHERE ticket_id = ? AND state = 'awaiting'", "read a ticket's awaiting estimate");
    s.bind(1, ticket_id);
    if (!s.step()) return std::nullopt;
    return read(s);
  }

  std::vector<Estimate> estimates_of(std::int64_t ticket_id) override {
    Stmt s(c_, std::string(kSelect) + " WHERE ticket_id = ? ORDER BY id", "read a ticket's estimates");
    s.bind(1, ticket_id);
    return read_all(s);
  }

  std::vector<Estimate> awaiting_estimates() override {
    Stmt s(c_, std::string(kSelect) + " WHERE state = 'awaiting' ORDER BY id", "read awaiting estimates");
    return read_all(s);
  }

  std::vector<Estimate> estimates_answered(const std::string& state, Time from, Time to) override {
    Stmt s(c_, std::string(kSelect) + " WHERE state = ? AND answered_at >= ? AND answered_at < ? ORDER BY answered_at, id",
           "read answered estimates");
    s.bind(1, state).bind(2, from).bind(3, to);
    return read_all(s);
  }

  bool answer_estimate(std::int64_t id, const std::string& state, const std::string& by, Time at,
                       const std::string& via, const std::string& detail) override {
    Stmt s(c_,
           "UPDATE estimates SET state = ?, answered_by = ?, answered_at = ?, answered_via = ?, answer_detail = ? "
           "WHERE id = ? AND state = 'awaiting'",
           "answer an estimate");
    s.bind(1, state).bind(2, by).bind(3, at).bind(4, via).bind(5, detail).bind(6, id).run();
    return s.changes() > 0;
  }

  bool record_estimate_notice(std::int64_t estimate_id, const std::string& kind, Time at) override {
    Stmt s(c_, "INSERT INTO estimate_notices(estimate_id, kind, at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
           "record an estimate's reminder");
    s.bind(1, estimate_id).bind(2, kind).bind(3, at).run();
    return s.changes() > 0;
  }

  std::vector<std::string> estimate_notices(std::int64_t estimate_id) override {
    Stmt s(c_, "SELECT kind FROM estimate_notices WHERE estimate_id = ? ORDER BY at, kind", "read an estimate's reminders");
    s.bind(1, estimate_id);
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
  }

  bool record_allowance_notice(const std::string& organisation, const std::string& month, std::int64_t ticket_id,
                               const std::string& agent, Time at) override {
    Stmt s(c_,
           "INSERT INTO allowance_notices(organisation, month, ticket_id, agent, at) VALUES (?,?,?,?,?) "
           "ON CONFLICT DO NOTHING",
           "record an included-minutes notice");
    s.bind(1, organisation).bind(2, month).bind(3, ticket_id).bind(4, agent).bind(5, at).run();
    return s.changes() > 0;
  }

 private:
  static constexpr const char* kSelect =
      "SELECT id, ticket_id, seconds, text, agent, requester, organisation, created_at, state, answered_by, "
      "answered_at, answered_via, answer_detail FROM estimates";

  static Estimate read(const Stmt& s) {
    Estimate e;
    e.id = s.i64(0);
    e.ticket_id = s.i64(1);
    e.seconds = s.i64(2);
    e.text = s.text(3);
    e.agent = s.text(4);
    e.requester = s.text(5);
    e.organisation = s.text(6);
    e.created_at = s.i64(7);
    e.state = s.text(8);
    e.answered_by = s.text(9);
    e.answered_at = s.opt_i64(10);
    e.answered_via = s.text(11);
    e.answer_detail = s.text(12);
    return e;
  }
  static std::vector<Estimate> read_all(Stmt& s) {
    std::vector<Estimate> out;
    while (s.step()) out.push_back(read(s));
    return out;
  }

  Db& c_;
};

}  // namespace sd::store::sql
