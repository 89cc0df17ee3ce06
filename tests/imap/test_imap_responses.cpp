// tests/imap/test_imap_responses.cpp: what the IMAP clients read out of a server's responses
// (imap/response.h: UIDVALIDITY and UIDNEXT of SELECT and STATUS, UID and RFC822.SIZE of a
// FETCH, EXISTS, capabilities, the tagged status that ends a command) and the UID sets they
// send (uid_set in imap/imap.h).
//
// Security notes: test code; the response texts play a hostile server.
#include <catch2/catch.hpp>

#include "imap/imap.h"
#include "imap/response.h"

#include <charconv>
#include <set>
#include <string>
#include <vector>

using namespace sd;
using Catch::Matchers::Contains;

namespace {

// The UIDs an IMAP sequence set of numbers names ("1:3,7" -> 1 2 3 7), as a server reads it.
std::multiset<std::int64_t> uids_named(const std::string& set) {
  std::multiset<std::int64_t> out;
  std::size_t p = 0;
  while (p < set.size()) {
    auto comma = set.find(',', p);
    std::string item = set.substr(p, comma == std::string::npos ? std::string::npos : comma - p);
    auto colon = item.find(':');
    std::int64_t a = std::stoll(item.substr(0, colon)), b = colon == std::string::npos ? a : std::stoll(item.substr(colon + 1));
    for (auto u = std::min(a, b); u <= std::max(a, b); ++u) out.insert(u);
    p = comma == std::string::npos ? set.size() : comma + 1;
  }
  return out;
}

ImapResponse response(std::string text) { return {std::move(text), {}, 0}; }

}  // namespace

TEST_CASE("uid_set writes runs of consecutive UIDs as ranges and lone UIDs alone") {
  CHECK(uid_set({1, 2, 3, 7, 9, 10}) == "1:3,7,9:10");
  CHECK(uid_set({4}) == "4");
  CHECK(uid_set({1, 3, 5}) == "1,3,5");
  CHECK(uid_set({41, 42}) == "41:42");
  CHECK(uid_set({}).empty());
  CHECK(uid_set({4294967294, 4294967295}) == "4294967294:4294967295");  // the largest UIDs RFC 3501 allows
}

TEST_CASE("uid_set of unsorted or repeated UIDs still names exactly those UIDs") {
  // Callers pass ascending UIDs; a set that is not must still not fetch or flag a mail not asked for.
  for (std::vector<std::int64_t> uids : {std::vector<std::int64_t>{3, 1, 2}, {5, 5, 6}, {9, 2, 3, 4, 1}, {7, 7, 7}}) {
    auto set = uid_set(uids);
    INFO(set);
    CHECK(uids_named(set) == std::multiset<std::int64_t>(uids.begin(), uids.end()));
  }
  CHECK(uid_set({3, 1, 2}) == "3,1:2");
}

TEST_CASE("uid_set of a long backlog is one range when it has no gaps and one item per UID when every other one "
          "is missing") {
  std::vector<std::int64_t> run, gaps;
  for (std::int64_t u = 1; u <= 100'000; ++u) run.push_back(u);
  for (std::int64_t u = 1; u <= 2000; u += 2) gaps.push_back(u);
  CHECK(uid_set(run) == "1:100000");
  auto set = uid_set(gaps);
  CHECK(std::count(set.begin(), set.end(), ',') == 999);
  CHECK(uids_named(set) == std::multiset<std::int64_t>(gaps.begin(), gaps.end()));
}

TEST_CASE("UIDVALIDITY and UIDNEXT are read from SELECT's response codes and from STATUS") {
  CHECK(item_number("* OK [UIDVALIDITY 1700000000] UIDs valid", "UIDVALIDITY") == 1700000000);
  CHECK(item_number("* OK [UIDNEXT 42] Predicted next UID", "UIDNEXT") == 42);
  CHECK(item_number("* STATUS \"INBOX\" (UIDVALIDITY 7 UIDNEXT 9)", "UIDVALIDITY") == 7);
  CHECK(item_number("* STATUS \"INBOX\" (UIDVALIDITY 7 UIDNEXT 9)", "UIDNEXT") == 9);
  CHECK(item_number("* OK [UIDNEXT 42] Predicted next UID", "UIDVALIDITY") == -1);
}

TEST_CASE("UID and RFC822.SIZE are read from a FETCH response in either order") {
  CHECK(item_number("* 3 FETCH (UID 17 RFC822.SIZE 2048)", "UID") == 17);
  CHECK(item_number("* 3 FETCH (UID 17 RFC822.SIZE 2048)", "RFC822.SIZE") == 2048);
  CHECK(item_number("* 3 FETCH (RFC822.SIZE 10 UID 12)", "UID") == 12);
  CHECK(item_number("* 3 FETCH (FLAGS (\\Seen) UID 5 BODY[] {3})", "UID") == 5);
}

TEST_CASE("A number is read only after the whole item name: a longer name or a missing number counts as none") {
  CHECK(item_number("* 3 FETCH (XUID 5)", "UID") == -1);
  CHECK(item_number("* 3 FETCH (X-UID 5 UID 6)", "UID") == 6);
  CHECK(item_number("* 3 FETCH (UIDX 5)", "UID") == -1);
  CHECK(item_number("* 3 FETCH (UID abc)", "UID") == -1);
  CHECK(item_number("* 3 FETCH (UID)", "UID") == -1);
  CHECK(item_number("* 3 FETCH (UID 99999999999999999999)", "UID") == -1);  // beyond int64: no UID, not a wrong one
  CHECK(item_number("", "UID") == -1);
}

TEST_CASE("EXISTS counts are read from '* n EXISTS' only") {
  CHECK(exists_count("* 12 EXISTS") == 12);
  CHECK(exists_count("* 0 exists") == 0);
  CHECK(exists_count("* 12 RECENT") == -1);
  CHECK(exists_count("* 12 EXISTS extra") == -1);
  CHECK(exists_count("* OK EXISTS") == -1);
  CHECK(exists_count("sd1 OK") == -1);
}

TEST_CASE("A FETCH response is told from other untagged responses") {
  CHECK(is_fetch_response("* 1 FETCH (UID 1)"));
  CHECK(is_fetch_response("* 1 fetch (UID 1)"));
  CHECK_FALSE(is_fetch_response("* 1 EXPUNGE"));
  CHECK_FALSE(is_fetch_response("sd3 OK FETCH completed"));
  CHECK_FALSE(is_fetch_response("* 1 FETCH"));
}

TEST_CASE("Capabilities are read in upper case from a CAPABILITY response and from nothing else") {
  std::set<std::string> caps;
  CHECK(read_capabilities("* CAPABILITY IMAP4rev1 idle MOVE UIDPLUS", caps));
  CHECK(caps == std::set<std::string>{"IMAP4REV1", "IDLE", "MOVE", "UIDPLUS"});
  CHECK_FALSE(read_capabilities("* OK [CAPABILITY IMAP4rev1 IDLE] ready", caps));
  CHECK(caps.size() == 4);
}

TEST_CASE("The tagged OK of our command ends it, its NO or BAD is a protocol error naming the command and the "
          "server's words; a BYE is a connection error") {
  CHECK(completes(response("sd4 OK Fetch completed"), "sd4", "UID FETCH"));
  CHECK(completes(response("sd4 ok done"), "sd4", "UID FETCH"));
  CHECK_FALSE(completes(response("* 3 EXISTS"), "sd4", "UID FETCH"));
  CHECK_FALSE(completes(response("sd41 OK other command"), "sd4", "UID FETCH"));
  CHECK_FALSE(completes(response("sd3 OK earlier command"), "sd4", "UID FETCH"));
  try {
    completes(response("sd4 NO [NONEXISTENT] Mailbox doesn't exist: Tickets"), "sd4", "SELECT");
    FAIL("a NO was taken for OK");
  } catch (const ImapError& e) {
    CHECK(e.kind == ImapError::Kind::protocol);
    CHECK(std::string(e.what()) == "SELECT refused: NO [NONEXISTENT] Mailbox doesn't exist: Tickets");
  }
  REQUIRE_THROWS_WITH(completes(response("sd4 BAD Error in IMAP command"), "sd4", "UID STORE"),
                      "UID STORE refused: BAD Error in IMAP command");
  try {
    completes(response("* BYE Server shutting down"), "sd4", "IDLE");
    FAIL("a BYE was passed over");
  } catch (const ImapError& e) {
    CHECK(e.kind == ImapError::Kind::connect);
    CHECK(std::string(e.what()) == "the server ended the session: BYE Server shutting down");
  }
}

TEST_CASE("A command's errors name its verb: the command word, or two words for a UID command") {
  CHECK(command_verb("SELECT \"INBOX\"") == "SELECT");
  CHECK(command_verb("UID FETCH 1:* (UID RFC822.SIZE)") == "UID FETCH");
  CHECK(command_verb("CAPABILITY") == "CAPABILITY");
  CHECK(command_verb("UID EXPUNGE 4") == "UID EXPUNGE");
}
