// store/sql_notices.h: maintenance notices (store/notices.h) in the SQL both backends run,
// over a backend's connection as store/sql_transaction.h describes it. Internal to store/.
#pragma once

#include "store/notices.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

namespace sd::store::sql {

template <class Db>
class SqlNotices final : public Notices {
  using Stmt = typename Db::Statement;

 public:
  explicit SqlNotices(Db& c) : c_(c) {}

  std::int64_t add_notice(const Notice& n) override {
    std::vector<std::int64_t> orgs;
    if (!n.all_organisations)
      for (const auto& name : n.organisations) {
        Stmt s(c_, "SELECT id FROM organisations WHERE name = ?", "find a notice's organisation");
        s.bind(1, name);
        if (!s.step()) throw StoreError(fmt::format("no organisation named '{}'", name), false, true);
        orgs.push_back(s.i64(0));
      }
    Stmt s(c_,
           "INSERT INTO notices(kind, starts_at, ends_at, all_orgs, text, text_sv, text_da, created_at, created_by) "
           "VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
           "add a maintenance notice");
    s.bind(1, n.kind).bind(2, n.starts_at).bind(3, n.ends_at).bind(4, n.all_organisations ? 1 : 0).bind(5, n.text);
    s.bind(6, n.text_sv).bind(7, n.text_da).bind(8, n.created_at).bind(9, n.created_by);
    if (!s.step()) throw StoreError("add a maintenance notice: no id returned", false);
    std::int64_t id = s.i64(0);
    s.run();  // finishes the statement, as SqlTransaction::inserted_id does
    std::sort(orgs.begin(), orgs.end());
    orgs.erase(std::unique(orgs.begin(), orgs.end()), orgs.end());
    for (auto org : orgs) {
      Stmt o(c_, "INSERT INTO notice_orgs(notice_id, org_id) VALUES (?,?)", "name a notice's organisation");
      o.bind(1, id).bind(2, org).run();
    }
    return id;
  }

  std::optional<Notice> notice(std::int64_t id) override {
    Stmt s(c_, std::string(kColumns) + " WHERE id = ?", "read a maintenance notice");
    s.bind(1, id);
    auto out = read(s);
    if (out.empty()) return std::nullopt;
    return out.front();
  }

  std::vector<Notice> notices() override {
    Stmt s(c_, std::string(kColumns) + " ORDER BY starts_at, id", "list maintenance notices");
    return read(s);
  }

  std::vector<Notice> coming_notices(Time now) override {
    Stmt s(c_, std::string(kColumns) + " WHERE ends_at > ? AND cancelled_at IS NULL ORDER BY starts_at, id",
           "list coming maintenance notices");
    s.bind(1, now);
    return read(s);
  }

  bool cancel_notice(std::int64_t id, Time at) override {
    Stmt s(c_, "UPDATE notices SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL", "cancel a maintenance notice");
    s.bind(1, at).bind(2, id).run();
    return s.changes() > 0;
  }

  bool record_notice_mail(const NoticeMail& m) override {
    Stmt s(c_,
           "INSERT INTO notice_mails(notice_id, recipient, what, organisation, at) VALUES (?,?,?,?,?) "
           "ON CONFLICT DO NOTHING",
           "record a notice's mail");
    s.bind(1, m.notice_id).bind(2, m.recipient).bind(3, m.what).bind(4, m.organisation).bind(5, m.at).run();
    return s.changes() > 0;
  }

  std::vector<NoticeMail> notice_mails(std::int64_t notice_id) override {
    Stmt s(c_,
           "SELECT recipient, what, organisation, at FROM notice_mails WHERE notice_id = ? ORDER BY at, recipient, what",
           "read a notice's mails");
    s.bind(1, notice_id);
    std::vector<NoticeMail> out;
    while (s.step()) out.push_back({notice_id, s.text(0), s.text(1), s.text(2), s.i64(3)});
    return out;
  }

 private:
  static constexpr const char* kColumns =
      "SELECT id, kind, starts_at, ends_at, all_orgs, text, text_sv, text_da, created_at, created_by, cancelled_at "
      "FROM notices";

  std::vector<Notice> read(Stmt& s) {
    std::vector<Notice> out;
    while (s.step()) {
      Notice n;
      n.id = s.i64(0);
      n.kind = s.text(1);
      n.starts_at = s.i64(2);
      n.ends_at = s.i64(3);
      n.all_organisations = s.i64(4) != 0;
      n.text = s.text(5);
      n.text_sv = s.text(6);
      n.text_da = s.text(7);
      n.created_at = s.i64(8);
      n.created_by = s.text(9);
      n.cancelled_at = s.opt_i64(10);
      out.push_back(std::move(n));
    }
    for (auto& n : out) {
      if (n.all_organisations) continue;
      Stmt o(c_,
             "SELECT o.name FROM notice_orgs n JOIN organisations o ON o.id = n.org_id WHERE n.notice_id = ? "
             "ORDER BY o.name",
             "read a notice's organisations");
      o.bind(1, n.id);
      while (o.step()) n.organisations.push_back(o.text(0));
    }
    return out;
  }

  Db& c_;
};

}  // namespace sd::store::sql
