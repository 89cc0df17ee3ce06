// tests/cli/test_cli_notices.cpp: `servicedesk notice add|list|cancel` as an operator runs
// them: the id printed, what is refused with which exit status and message, and what a
// contact then finds in the outbox.
//
// Security notes: test code; the config, store and text files are in a private temporary
// directory.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "store/store.h"
#include "tests/cli/cli_run.h"
#include "tests/support/tempdir.h"

#include <string>

using namespace sd;

namespace {

struct NoticeCli {
  NoticeCli() : config_path(test::write_config(dir)) {
    ok("org add Acme --domain acme.se --language sv");
    ok("org add Beta --domain beta.dk --language da");
    ok("contact add --org Acme anna@acme.se --name 'Anna Berg'");
    ok("contact add --org Beta bo@beta.dk --name 'Bo Jensen'");
    text = dir.write("text.txt", "New disks.\n");
  }
  test::Run run(const std::string& args) const { return test::servicedesk(config_path, args); }
  void ok(const std::string& args) const {
    auto r = run(args);
    INFO(args << ": " << r.err);
    REQUIRE(r.status == 0);
  }
  std::vector<std::string> outbox_lines() const {
    std::vector<std::string> out;
    auto r = run("outbox list");
    std::size_t from = 0;
    for (auto nl = r.out.find('\n'); nl != std::string::npos; nl = r.out.find('\n', from)) {
      out.push_back(r.out.substr(from, nl - from));
      from = nl + 1;
    }
    return out;
  }

  test::TempDir dir;
  std::string config_path;
  std::string text;
};

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("notice add prints the id, mails an emergency at once, and list and cancel say what happened") {
  NoticeCli cli;
  auto r = cli.run("notice add --kind emergency --start 2030-01-10T09:00:00+01:00 --end 2030-01-10T12:00:00+01:00 "
                   "--orgs Acme --text-file '" + cli.text + "'");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out == "1\n");
  auto later = cli.run("notice add --kind upgrade --start 2030-06-10T09:00:00Z --end 2030-06-10T10:00:00Z --text-file '" +
                       cli.text + "'");
  CHECK(later.out == "2\n");
  auto queued = cli.outbox_lines();
  REQUIRE(queued.size() == 1);  // the emergency to Acme's Anna; Beta's Bo and the June upgrade: nothing yet
  CHECK(contains(queued[0], "notice"));
  CHECK(contains(queued[0], "anna@acme.se"));
  auto list = cli.run("notice list");
  CHECK(contains(list.out, "1    emergency       2030-01-10T08:00:00Z - 2030-01-10T11:00:00Z  orgs Acme  announced  mailed 1\n"));
  CHECK(contains(list.out, "2    upgrade         2030-06-10T09:00:00Z - 2030-06-10T10:00:00Z  orgs all  mails at "
                           "2030-06-03T09:00:00Z  mailed 0\n"));
  auto cancel = cli.run("notice cancel 1");
  CHECK(cancel.status == 0);
  CHECK(cancel.out == "notice 1 cancelled; 1 contact is told\n");
  CHECK(cli.outbox_lines().size() == 2);
  auto twice = cli.run("notice cancel 1");
  CHECK(twice.status == 65);
  CHECK(contains(twice.err, "servicedesk: notice 1 is cancelled already\n"));
  CHECK(cli.run("notice cancel 9").status == 65);
}

TEST_CASE("notice add refuses a time without an offset, an end before the start, an unknown organisation or a bad file") {
  NoticeCli cli;
  auto add = [&](const std::string& args) { return cli.run("notice add --kind upgrade " + args); };
  const std::string text = " --text-file '" + cli.text + "'";
  auto no_offset = add("--start 2030-01-10T09:00:00 --end 2030-01-10T12:00:00+01:00" + text);
  CHECK(no_offset.status == 64);
  CHECK(contains(no_offset.err, "--start '2030-01-10T09:00:00' is not an RFC 3339 time with an offset"));
  CHECK(add("--start 2030-01-10 --end 2030-01-10T12:00:00+01:00" + text).status == 64);
  auto backwards = add("--start 2030-01-10T09:00:00Z --end 2030-01-10T08:00:00Z" + text);
  CHECK(backwards.status == 64);
  CHECK(contains(backwards.err, "--end must be after --start"));
  auto nobody = add("--start 2030-01-10T09:00:00Z --end 2030-01-10T10:00:00Z --orgs Acme,Nobody" + text);
  CHECK(nobody.status == 65);
  CHECK(contains(nobody.err, "no organisation 'Nobody'"));
  CHECK(add("--start 2030-01-10T09:00:00Z --end 2030-01-10T10:00:00Z --text-file '" + cli.dir.file("missing.txt") + "'")
            .status == 66);
  auto huge = cli.dir.write("huge.txt", std::string(40000, 'x'));
  auto big = add("--start 2030-01-10T09:00:00Z --end 2030-01-10T10:00:00Z --text-file '" + huge + "'");
  CHECK(big.status == 65);
  CHECK(contains(big.err, "larger than the 32768 bytes a notice's text may have"));
  auto esc = cli.dir.write("esc.txt", "ok\n\x1b]0;pwned\x07\n");
  auto control = add("--start 2030-01-10T09:00:00Z --end 2030-01-10T10:00:00Z --text-file '" + esc + "'");
  CHECK(control.status == 65);
  CHECK(contains(control.err, "line 2: a control character (U+001B)"));
  CHECK(contains(add("--start 2030-01-10T09:00:00Z --end 2030-01-10T10:00:00Z").err, "--text-file"));  // required
  CHECK(add("--kind cosmic --start 2030-01-10T09:00:00Z --end 2030-01-10T10:00:00Z" + text).status == 64);
  // Nothing of the refused ones is stored.
  CHECK(cli.run("notice list").out == "no notices\n");
}
