// tests/store/sqlite_shell.h: what the store tests need to look at a store file behind the
// store's back: the sqlite3 shell's output for some SQL, and the SQL that takes a store of
// this version back to version 10, 9 or 8 (migration tests start from an older schema that way).
#pragma once

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

namespace sd::test {

// What `PRAGMA user_version` prints for a store of the newest schema (store/sqlite_store.cpp:
// kSchemaVersion); the migration tests check that a store migrates all the way.
inline const std::string kNewestVersion = "13\n";

// SQL that takes a version-13 store back to version 12: one line per section of migration 13.
inline const std::string kUndo13 = std::string() +
    // incidents
    "DROP TABLE incident_links; DROP TABLE incident_alert_keys; DROP TABLE incident_orgs; DROP TABLE incidents; " +
    // notices
    "DROP TABLE notice_mails; DROP TABLE notice_orgs; DROP TABLE notices; " +
    // estimates
    "DROP TABLE allowance_notices; DROP TABLE estimate_notices; DROP TABLE estimates; " +
    // keep informed
    "DROP INDEX tickets_organisation_resolved; DROP TABLE customer_words; DROP TABLE org_mailings; "
    "DROP INDEX org_events_org; DROP TABLE org_events; DROP TABLE org_account_agents; " +
    // performance
    "DROP TABLE ack_recipients; ";

// SQL that takes a version-13 store back to version 11.
inline const std::string kUndo12 = kUndo13 +
    "DROP TABLE leases; DROP TABLE daemons; ALTER TABLE outbox DROP COLUMN claimed_by; "
    "ALTER TABLE outbox DROP COLUMN claimed_until; ";

// SQL that takes a version-13 store back to version 10.
inline const std::string kUndo11 = kUndo12 +
    "DROP INDEX org_domains_org; DROP INDEX tickets_requester; "
    "CREATE INDEX tickets_requester ON tickets(requester, created_at); ";

// SQL that takes a version-13 store back to version 9.
inline const std::string kUndo10 = kUndo11 +
    "DROP INDEX ticket_cc_address; DROP INDEX tickets_status_created; DROP INDEX tickets_organisation_due; "
    "DROP INDEX tickets_assignee_due; DROP INDEX outbox_kind_created_status; "
    "CREATE INDEX outbox_kind_created ON outbox(kind, created_at); DROP TABLE portal_form_keys; "
    "DROP TABLE portal_rates; DROP TABLE portal_sessions; DROP TABLE portal_login_tokens; "
    "ALTER TABLE contacts DROP COLUMN visibility; ALTER TABLE organisations DROP COLUMN visibility; ";

// SQL that takes a version-13 store back to version 8.
inline const std::string kUndo9 = kUndo10 +
    "DROP TRIGGER message_search_insert; DROP TRIGGER message_search_update; DROP TRIGGER message_search_delete; "
    "DROP TRIGGER subject_search_insert; DROP TRIGGER subject_search_update; DROP TRIGGER subject_search_delete; "
    "DROP TABLE message_search; DROP TABLE subject_search; DROP INDEX tickets_organisation; "
    "DROP INDEX tickets_assignee; DROP INDEX tickets_requester; DROP INDEX tickets_due_order; "
    "DROP INDEX messages_outbox; DROP TABLE ticket_cc; DROP TABLE outbox_attachments; DROP INDEX attachments_number; "
    "ALTER TABLE tickets DROP COLUMN attachments_numbered; ALTER TABLE attachments DROP COLUMN ticket_id; "
    "ALTER TABLE attachments DROP COLUMN number; ALTER TABLE attachments DROP COLUMN content_id; "
    "ALTER TABLE attachments DROP COLUMN is_inline; ALTER TABLE attachments DROP COLUMN kept; ";

// What the sqlite3 shell prints for `sql` run on the store at `path` (`sql` holds no double quote).
inline std::string sqlite_output(const std::string& path, const std::string& sql) {
  std::string cmd = "sqlite3 " + path + " \"" + sql + "\"";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[512];
  while (auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  REQUIRE(::pclose(p) == 0);
  return out;
}

}  // namespace sd::test
