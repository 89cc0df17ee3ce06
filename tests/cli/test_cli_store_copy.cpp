// tests/cli/test_cli_store_copy.cpp: `servicedesk store copy` as an operator runs it, on
// SQLite stores: what it prints, that the copy is a desk the other commands work on, and the
// exit status of each refusal (cli/exit_status.h). The PostgreSQL case is in
// tests/store/test_store_copy_pg.cpp (one cluster for all of them).
#include <catch2/catch.hpp>

#include "tests/cli/cli_run.h"
#include "tests/support/tempdir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

using namespace sd::test;

namespace {

// A desk with an organisation, an agent and one ticket from a mail, made by the commands.
struct Desk {
  Desk() : config(write_config(dir)), store(dir.file("sd.db")) {
    ok("org add 'Kund AB' --domain kund.se");
    ok("agent add agnes@example.com --name Agnes");
    auto mail = dir.write("m.eml",
                          "From: Anna <anna@kund.se>\r\nTo: servicedesk@example.com\r\nSubject: Skrivaren fungerar inte\r\n"
                          "Message-ID: <1@kund.se>\r\nDate: Mon, 4 May 2026 09:00:00 +0200\r\n\r\nDen skriver tomma sidor.\r\n");
    ok("ingest '" + mail + "'");
  }
  Run run(const std::string& args) const { return servicedesk(config, args); }
  void ok(const std::string& args) const {
    auto r = run(args);
    INFO(args << ": " << r.err);
    REQUIRE(r.status == 0);
  }
  TempDir dir;
  std::string config, store;
};

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (auto nl = s.find('\n'); nl != std::string::npos; nl = s.find('\n', from)) {
    out.push_back(s.substr(from, nl - from));
    from = nl + 1;
  }
  return out;
}

// The refusal's one line on standard error, nothing on standard output.
void refused(const Run& r, int status, const std::string& why) {
  INFO(r.err);
  CHECK(r.status == status);
  CHECK(r.out.empty());
  CHECK(lines_in(r.err) == 1);
  CHECK(r.err.rfind("servicedesk: store copy refused: ", 0) == 0);
  CHECK(contains(r.err, why));
}

}  // namespace

TEST_CASE("store copy moves a desk into a new SQLite store, says what it copied, and the desk works there") {
  Desk desk;
  TempDir there;
  auto config = write_config(there);  // its store is there/sd.db: the copy's target
  auto r = desk.run("store copy --from 'sqlite://" + desk.store + "' --to 'sqlite://" + there.file("sd.db") + "'");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  auto ls = lines(r.out);
  REQUIRE(ls.size() == 1 + 29 + 2);
  CHECK(ls[0] == "copied sqlite store " + desk.store + " to sqlite store " + there.file("sd.db") + ":");
  CHECK(ls[1].rfind("  organisations ", 0) == 0);
  CHECK(ls[1].substr(ls[1].size() - 6) == " 1 row");
  CHECK(ls[5].rfind("  tickets ", 0) == 0);
  CHECK(ls[5].substr(ls[5].size() - 6) == " 1 row");
  CHECK(ls[30] == "verified: 29 tables, row counts and content hashes match");
  CHECK(ls[31] == "new tickets continue at SD-2");

  auto show = servicedesk(config, "show SD-1");
  CHECK(show.status == 0);
  CHECK(contains(show.out, "Skrivaren fungerar inte"));
  auto search = servicedesk(config, "tickets --search tomma");
  CHECK(search.status == 0);
  CHECK(contains(search.out, "SD-1"));
  CHECK(servicedesk(config, "agent list").out == desk.run("agent list").out);
}

TEST_CASE("store copy's refusals exit with the table's statuses and write nothing") {
  Desk desk;
  TempDir there;
  auto to = "'sqlite://" + there.file("new.db") + "'";
  auto from = "'sqlite://" + desk.store + "'";

  refused(desk.run("store copy --from " + from + " --to " + from), 64, "--from and --to name the same store");
  refused(desk.run("store copy --from 'sqlite://" + there.file("none.db") + "' --to " + to), 66, "does not exist");
  CHECK_FALSE(std::filesystem::exists(there.file("none.db")));
  {
    // A daemon on the source holds its lock file.
    int fd = ::open((desk.store + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
    refused(desk.run("store copy --from " + from + " --to " + to), 75, "is running on the source (--from)");
    ::close(fd);
  }
  CHECK_FALSE(std::filesystem::exists(there.file("new.db")));
  REQUIRE(desk.run("store copy --from " + from + " --to " + to).status == 0);
  refused(desk.run("store copy --from " + from + " --to " + to), 65, "the target (--to) holds data");

  auto usage = desk.run("store copy --from " + from);
  CHECK(usage.status == 64);
  CHECK(contains(usage.err, "--to is required"));
}

TEST_CASE("store copy needs no configuration file") {
  Desk desk;
  if (std::filesystem::exists("/etc/servicedesk/servicedesk.toml")) SUCCEED("a default config exists here: not tried");
  else {
    TempDir io;
    std::string cmd = "env -u SERVICEDESK_CONFIG '" SERVICEDESK_BIN "' store copy --from 'sqlite://" + desk.store +
                      "' --to 'sqlite://" + io.file("new.db") + "' >'" + io.file("out") + "' 2>&1";
    CHECK(std::system(cmd.c_str()) == 0);
    CHECK(contains(read_whole(io.file("out")), "verified: 29 tables"));
  }
}
