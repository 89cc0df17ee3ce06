// tests/cli/test_cli_tickets.cpp: the command line an agent or operator reaches for (issue
// 13), through the built binary as they run it: `tickets` with its header, filters and
// pages; `show` with organisation, assignee, SLA, due times in the ticket's calendar's zone,
// time spent, the ticket it refers to, events and numbered attachments; `attachment list`
// and `attachment get` (bytes exactly as stored; -o only onto a new name; a mail's file name
// never used as a path); the argument errors of `ticket new/reply/note`; `--version`; an
// unknown command; every list saying so when it is empty; and `status` naming the store's
// backend and every daemon with what it holds (issue 15).
//
// Security notes: each test has its own directory and store. The hostile file names are
// stored as a mail would bring them (directly, so the test does not rely on the parser
// having cleaned them), and the test checks no file appears where they point.
#include <catch2/catch.hpp>

#include "cli/exit_status.h"
#include "cli/tickets.h"
#include "config/config.h"
#include "desk/ingest.h"
#include "sla/calendar.h"
#include "store/store.h"
#include "tests/cli/cli_run.h"
#include "tests/support/tempdir.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

using namespace sd;
using test::contains;
using test::lines_in;
using test::servicedesk;

namespace {

store::Time at(const char* rfc3339) {
  auto t = sla::parse_rfc3339(rfc3339);
  if (!t) throw std::invalid_argument(rfc3339);
  return t->time_since_epoch().count();
}

// 2 November 2026 is a Monday; 07:00Z is 08:00 in Copenhagen, the "dk" calendar's opening.
const store::Time kMonday = at("2026-11-02T07:00:00Z");

std::string mail(const std::string& from, const std::string& subject, const std::string& body, int n,
                 const std::string& attachment = "") {
  std::string m = fmt::format("From: {}\r\nTo: servicedesk@example.com\r\nSubject: {}\r\nMessage-ID: <m{}@kund.se>\r\n"
                              "MIME-Version: 1.0\r\n",
                              from, subject, n);
  if (attachment.empty()) return m + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n";
  return m + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
         body + "\r\n" + attachment + "--b--\r\n";
}

const std::string kPdfPart =
    "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n";
const std::string kLogPart =
    "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"printer.log\"\r\n\r\n"
    "paper jam\r\n";

// A desk in its own directory: the config the binary reads, and the same store and config
// for what a test sets up through the library (mail at a fixed time, a breach fired).
struct CliDesk {
  CliDesk() : config_path(test::write_config(dir)), config(load_config(config_path)) {}

  std::int64_t ingest_at(const std::string& raw, store::Time when) {
    auto st = store::open_store(config.store.url);
    auto r = ingest(*st, config, raw, std::nullopt, when);
    REQUIRE(r.ticket_id != 0);
    return r.ticket_id;
  }
  std::unique_ptr<store::Store> store() const { return store::open_store(config.store.url); }
  test::Run run(const std::string& args, const test::RunOptions& o = {}) const { return servicedesk(config_path, args, o); }
  void ok(const std::string& args) const {
    auto r = run(args);
    INFO(args << ": " << r.err);
    REQUIRE(r.status == 0);
  }

  test::TempDir dir;
  std::string config_path;
  Config config;
};

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (auto nl = s.find('\n'); nl != std::string::npos; nl = s.find('\n', from)) {
    out.push_back(s.substr(from, nl - from));
    from = nl + 1;
  }
  if (from < s.size()) out.push_back(s.substr(from));
  return out;
}

// The ticket ids of a `tickets` listing, in the order shown (the header and footer skipped).
std::vector<std::string> listed(const std::string& out) {
  std::vector<std::string> ids;
  for (const auto& l : lines(out))
    if (l.rfind("SD-", 0) == 0) ids.push_back(l.substr(0, l.find(' ')));
  return ids;
}

std::vector<std::string> json_ids(const std::string& out) {
  std::vector<std::string> ids;
  for (const auto& t : nlohmann::json::parse(out)) ids.push_back(t.at("id").get<std::string>());
  return ids;
}

// An attachment as a mail would bring it, stored on ticket `id` without the parser.
void store_attachment(store::Store& st, std::int64_t id, const std::string& name, const std::string& data,
                      store::Time when) {
  auto tx = st.begin(store::Store::Mode::write);
  store::MessageRecord m;
  m.ticket_id = id;
  m.direction = "in";
  m.message_id = fmt::format("att-{}-{}@kund.se", id, when);
  m.from_addr = "anna@kund.se";
  m.subject = "files";
  m.body_text = "see attached";
  m.created_at = when;
  store::AttachmentRecord a;
  a.filename = name;
  a.content_type = "application/octet-stream";
  a.data = data;
  a.size = static_cast<std::int64_t>(data.size());
  m.attachments.push_back(a);
  tx->add_message(m);
  tx->commit();
}

// The names in `dir`, sorted; the store's own files (sd.db, its -wal and -shm) left out.
std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().rfind("sd.db", 0) != 0) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

// --- tickets ---------------------------------------------------------------------------

TEST_CASE("tickets prints a header over its rows and says so when there are none or none match") {
  CliDesk desk;
  auto empty = desk.run("tickets");
  CHECK(empty.status == 0);
  CHECK(empty.out == "no tickets yet\n");
  CHECK(desk.run("tickets --json").out == "[]\n");

  desk.ingest_at(mail("Anna Berg <anna@kund.se>", "Printer on floor 2", "It prints blank pages.", 1), kMonday);
  auto r = desk.run("tickets");
  REQUIRE(r.status == 0);
  auto ls = lines(r.out);
  REQUIRE(ls.size() == 2);
  for (const char* column : {"TICKET", "STATUS", "PRIORITY", "SLA", "NEXT DUE", "UPDATED", "ASSIGNEE", "REQUESTER", "SUBJECT"})
    CHECK(contains(ls[0], column));
  CHECK(ls[1].rfind("SD-1 ", 0) == 0);
  CHECK(contains(ls[1], "anna@kund.se"));
  CHECK(contains(ls[1], "Printer on floor 2"));

  auto none = desk.run("tickets --status pending");
  CHECK(none.status == 0);
  CHECK(none.out == "no tickets match\n");
  CHECK(desk.run("tickets --status pending --json").out == "[]\n");
}

TEST_CASE("tickets --status takes repeats and comma lists, and refuses a word that is no status with 64") {
  CliDesk desk;
  for (int i = 1; i <= 3; ++i) desk.ingest_at(mail("anna@kund.se", fmt::format("Case {}", i), "help", i), kMonday + i);
  desk.ok("ticket set SD-1 --status open");
  desk.ok("ticket set SD-2 --status pending");
  using V = std::vector<std::string>;
  CHECK(listed(desk.run("tickets --status open,pending").out) == V{"SD-2", "SD-1"});
  CHECK(listed(desk.run("tickets --status open --status Pending").out) == V{"SD-2", "SD-1"});
  CHECK(listed(desk.run("tickets --status new").out) == V{"SD-3"});
  CHECK(json_ids(desk.run("tickets --status pending --json").out) == V{"SD-2"});

  auto bad = desk.run("tickets --status open,sleeping");
  CHECK(bad.status == 64);
  CHECK(bad.out.empty());
  CHECK(bad.err == "servicedesk: --status 'sleeping' is not a status (new, open, pending, awaiting-approval, resolved, closed)\n");
}

TEST_CASE("tickets filters by organisation, assignee, requester, words and breach, the same with --json") {
  CliDesk desk;
  desk.ok("org add Kund --domain kund.se");
  desk.ok("contact add --org Kund anna@kund.se");
  desk.ok("agent add eva@example.com --name 'Eva Lund'");
  desk.ingest_at(mail("anna@kund.se", "Printer jams", "The printer on floor 2 jams.", 1), kMonday);
  desk.ingest_at(mail("bo@annan.example", "VPN down", "No VPN since this morning.", 2), kMonday + 60);
  desk.ingest_at(mail("anna@kund.se", "New laptop", "Please order a laptop.", 3), kMonday + 120);
  desk.ok("ticket set SD-2 --assign eva@example.com");
  {
    // A breach that has fired on SD-3, as the SLA clock records it.
    auto st = desk.store();
    auto tx = st->begin(store::Store::Mode::write);
    tx->record_sla_event({3, "first_response", "breach", kMonday + 3600, kMonday + 3600});
    tx->commit();
  }
  using V = std::vector<std::string>;
  auto ids = [&](const std::string& args) {
    auto text = desk.run("tickets " + args);
    auto json = desk.run("tickets --json " + args);
    INFO(args << ": " << text.err);
    CHECK(text.status == 0);
    CHECK(json.status == 0);
    CHECK(listed(text.out) == json_ids(json.out));  // --json takes the same filters
    return listed(text.out);
  };
  CHECK(ids("") == V{"SD-3", "SD-2", "SD-1"});  // newest first
  CHECK(ids("--org Kund") == V{"SD-3", "SD-1"});
  CHECK(ids("--assignee Eva@Example.com") == V{"SD-2"});
  CHECK(ids("--requester anna@kund.se") == V{"SD-3", "SD-1"});
  CHECK(ids("--search 'printer floor'") == V{"SD-1"});
  CHECK(ids("--search laptop --org Kund") == V{"SD-3"});
  CHECK(ids("--breaching") == V{"SD-3"});
  CHECK(desk.run("tickets --search nothing-like-this").out == "no tickets match\n");

  auto org = desk.run("tickets --org Nobody");
  CHECK(org.status == 65);
  CHECK(org.err == "servicedesk: no organisation 'Nobody'\n");
  auto who = desk.run("tickets --assignee eva");
  CHECK(who.status == 64);
  CHECK(who.err == "servicedesk: --assignee 'eva' is not a mail address\n");
}

TEST_CASE("tickets --sort due puts the earliest next due time first, and pages say where they are") {
  CliDesk desk;
  for (int i = 1; i <= 3; ++i) desk.ingest_at(mail("anna@kund.se", fmt::format("Case {}", i), "help", i), kMonday + i);
  desk.ok("ticket set SD-2 --priority highest");  // one business hour: due first
  desk.ok("ticket set SD-3 --priority lowest");
  using V = std::vector<std::string>;
  CHECK(listed(desk.run("tickets --sort due").out) == V{"SD-2", "SD-1", "SD-3"});
  CHECK(listed(desk.run("tickets --sort newest").out) == V{"SD-3", "SD-2", "SD-1"});
  CHECK(desk.run("tickets --sort oldest").status == 64);

  auto first = desk.run("tickets --limit 2");
  CHECK(listed(first.out) == V{"SD-3", "SD-2"});
  CHECK(lines(first.out).back() == "tickets 1-2 of 3 (--offset 2 for the next)");
  auto second = desk.run("tickets --limit 2 --offset 2");
  CHECK(listed(second.out) == V{"SD-1"});
  CHECK(lines(second.out).back() == "tickets 3-3 of 3");
  CHECK(desk.run("tickets --offset 5").out == "no tickets match at --offset 5: 3 match in all\n");
  CHECK(json_ids(desk.run("tickets --json --limit 1 --offset 1").out) == V{"SD-2"});
  CHECK(desk.run("tickets --limit -1").status == 64);
}

TEST_CASE("ticket_query turns the options into the store's query and refuses what has the wrong shape") {
  TicketListArgs a;
  a.statuses = {"Open, pending", "open", ""};
  a.assignee = " Eva@Example.COM ";
  a.search = "  printer  ";
  a.sort = "due";
  a.limit = 20;
  a.offset = 40;
  auto q = ticket_query(a);
  CHECK(q.statuses == std::vector<std::string>{"open", "pending"});
  CHECK(q.assignee == "eva@example.com");
  CHECK(q.search == "printer");
  CHECK(q.sort == store::TicketQuery::Sort::due);
  CHECK(q.limit == 20);
  CHECK(q.offset == 40);
  CHECK(ticket_query({}).sort == store::TicketQuery::Sort::newest);

  auto failure = [](TicketListArgs bad) {
    try {
      ticket_query(bad);
    } catch (const CommandError& e) {
      return e.failure;
    }
    return Failure::internal;
  };
  TicketListArgs bad_status;
  bad_status.statuses = {"done"};
  CHECK(failure(bad_status) == Failure::usage);
  TicketListArgs bad_sort;
  bad_sort.sort = "oldest";
  CHECK(failure(bad_sort) == Failure::usage);
  TicketListArgs bad_offset;
  bad_offset.offset = -1;
  CHECK(failure(bad_offset) == Failure::usage);
  TicketListArgs bad_requester;
  bad_requester.requester = "anna at kund.se";
  CHECK(failure(bad_requester) == Failure::usage);
}

// --- show ------------------------------------------------------------------------------

TEST_CASE("show gives organisation, assignee, SLA, due times in the calendar's zone, time, the ticket referred to, events and attachments") {
  CliDesk desk;
  desk.ok("org add Kund --domain kund.se");
  desk.ok("contact add --org Kund anna@kund.se");
  desk.ok("agent add eva@example.com --name 'Eva Lund'");
  desk.ingest_at(mail("Anna Berg <anna@kund.se>", "Printer on floor 2", "It prints blank pages.", 1, kPdfPart + kLogPart),
                 kMonday);
  desk.ok("ticket set SD-1 --assign eva@example.com");
  {
    auto st = desk.store();
    auto tx = st->begin(store::Store::Mode::write);
    store::TimeEntry te;
    te.ticket_id = 1;
    te.at = kMonday + 600;
    te.agent = "eva@example.com";
    te.seconds = 5400;
    tx->add_time(te);
    store::NewTicket later;
    later.subject = "Printer again";
    later.requester = "anna@kund.se";
    later.created_at = kMonday + 3600;
    later.sla = "standard";
    later.organisation = "Kund";
    later.refers_to = 1;
    tx->create_ticket(later);
    tx->commit();
  }
  auto r = desk.run("show SD-1");
  REQUIRE(r.status == 0);
  const auto& out = r.out;
  CHECK(out.rfind("SD-1  Printer on floor 2\n", 0) == 0);
  CHECK(contains(out, "\nrequester: Anna Berg <anna@kund.se>\n"));
  CHECK(contains(out, "\norganisation: Kund\n"));
  CHECK(contains(out, "\nassignee: eva@example.com\n"));
  CHECK(contains(out, "\nSLA: standard ("));
  CHECK(contains(out, "), calendar dk\n"));
  // Medium: 8 business hours from Monday 08:00 Copenhagen, said in Copenhagen's time.
  CHECK(contains(out, "\nfirst response: due Monday 2 November 2026, 16:00 CET\n"));
  CHECK(contains(out, "\nresolution: no target\n"));
  CHECK(contains(out, "\ntime spent: 1h 30m\n"));
  CHECK(contains(out, "\ncreated: 2026-11-02T08:00:00+01:00"));
  CHECK(contains(out, "\nattachments:\n    1  invoice.pdf (application/pdf, 5 bytes)\n"
                      "    2  printer.log (text/plain, 9 bytes)\n"));
  CHECK(contains(out, "[attachment 1: invoice.pdf (application/pdf, 5 bytes)]\n"));
  CHECK(contains(out, "\nevents:\n  2026-11-02T08:00:00+01:00  anna@kund.se  created"));
  CHECK(contains(out, "  assign  "));

  auto later = desk.run("show SD-2");
  REQUIRE(later.status == 0);
  CHECK(contains(later.out, "\nrefers to SD-1\n"));
  CHECK(contains(later.out, "\nno attachments\n"));
  CHECK_FALSE(contains(out, "refers to"));
}

TEST_CASE("show marks an unregistered sender and an attachment whose bytes were not kept") {
  CliDesk desk;
  auto id = desk.ingest_at(mail("bo@annan.example", "Big file", "attached", 1), kMonday);
  {
    auto st = desk.store();
    auto tx = st->begin(store::Store::Mode::write);
    store::MessageRecord m;
    m.ticket_id = id;
    m.direction = "in";
    m.message_id = "big@annan.example";
    m.from_addr = "bo@annan.example";
    m.created_at = kMonday + 60;
    store::AttachmentRecord a;  // over max_attachment_bytes: name and size only
    a.filename = "disk.img";
    a.content_type = "application/octet-stream";
    a.size = 40'000'000;
    m.attachments.push_back(a);
    tx->add_message(m);
    tx->commit();
  }
  auto out = desk.run("show SD-1").out;
  CHECK(contains(out, "\norganisation: none (not a registered contact)\n"));
  CHECK(contains(out, "\nassignee: nobody\n"));
  CHECK(contains(out, "    1  disk.img (application/octet-stream, 40000000 bytes) (not kept)\n"));

  auto get = desk.run("attachment get SD-1 1");
  CHECK(get.status == 65);
  CHECK(get.out.empty());
  CHECK(get.err ==
        "servicedesk: attachment 1 of SD-1 (disk.img, 40000000 bytes) was not kept: a size limit kept only its name and size\n");
}

// --- attachments -----------------------------------------------------------------------

TEST_CASE("attachment list gives each attachment's number, name, type, size and the mail it came with") {
  CliDesk desk;
  desk.ingest_at(mail("anna@kund.se", "Printer", "see the invoice", 1, kPdfPart), kMonday);
  desk.ingest_at(mail("anna@kund.se", "Re: [SD-1] Printer", "and the log", 2, kLogPart), kMonday + 600);
  auto r = desk.run("attachment list SD-1");
  REQUIRE(r.status == 0);
  auto ls = lines(r.out);
  REQUIRE(ls.size() == 3);
  for (const char* column : {"N", "NAME", "TYPE", "BYTES", "CAME WITH"}) CHECK(contains(ls[0], column));
  CHECK(ls[1].rfind("  1  invoice.pdf ", 0) == 0);
  CHECK(contains(ls[1], "application/pdf"));
  CHECK(contains(ls[1], " 5  mail from anna@kund.se at 2026-11-02T08:00:00+01:00"));
  CHECK(ls[2].rfind("  2  printer.log ", 0) == 0);
  CHECK(contains(ls[2], " 9  mail from anna@kund.se at 2026-11-02T08:10:00+01:00"));

  auto j = nlohmann::json::parse(desk.run("attachment list SD-1 --json").out);
  REQUIRE(j.size() == 2);
  CHECK(j[0].at("number") == 1);
  CHECK(j[0].at("filename") == "invoice.pdf");
  CHECK(j[0].at("content_type") == "application/pdf");
  CHECK(j[0].at("size") == 5);
  CHECK(j[0].at("kept") == true);
  CHECK(j[1].at("number") == 2);
  // show --json numbers them the same way, on the messages they came with.
  auto detail = nlohmann::json::parse(desk.run("show SD-1 --json").out);
  std::vector<std::pair<std::int64_t, std::string>> numbered;
  for (const auto& m : detail.at("messages"))
    for (const auto& a : m.at("attachments")) numbered.emplace_back(a.at("number"), a.at("filename"));
  CHECK(numbered == std::vector<std::pair<std::int64_t, std::string>>{{1, "invoice.pdf"}, {2, "printer.log"}});

  desk.ingest_at(mail("bo@kund.se", "No files", "none here", 3), kMonday);
  auto none = desk.run("attachment list SD-2");
  CHECK(none.status == 0);
  CHECK(none.out == "no attachments on SD-2\n");
  CHECK(desk.run("attachment list SD-2 --json").out == "[]\n");
}

TEST_CASE("attachment get writes the bytes exactly as stored to standard output") {
  CliDesk desk;
  auto id = desk.ingest_at(mail("anna@kund.se", "Files", "see attached", 1), kMonday);
  std::string bytes("\x00\x01\r\n\xff\xfe PDF \x1b[2J\n", 17);
  bytes += std::string(100'000, 'x') + "\r\n.\r\n";
  auto st = desk.store();
  store_attachment(*st, id, "data.bin", bytes, kMonday + 60);
  auto r = desk.run("attachment get SD-1 1");
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out.size() == bytes.size());
  CHECK(r.out == bytes);
}

TEST_CASE("attachment get -o creates a new file 0600 with the bytes, and refuses a name that exists or a symlink with 73") {
  CliDesk desk;
  desk.ingest_at(mail("anna@kund.se", "Printer", "see the invoice", 1, kPdfPart), kMonday);
  auto out = desk.dir.file("invoice-copy.pdf");
  auto r = desk.run(fmt::format("attachment get SD-1 1 -o '{}'", out));
  REQUIRE(r.status == 0);
  CHECK(r.out == fmt::format("attachment 1 of SD-1 (invoice.pdf, 5 bytes) written to {}\n", out));
  CHECK(test::read_whole(out) == "%PDF-");
  struct stat sb{};
  REQUIRE(::lstat(out.c_str(), &sb) == 0);
  CHECK((sb.st_mode & 07777) == 0600);

  // The same name again: refused, the file as it was.
  auto again = desk.run(fmt::format("attachment get SD-1 1 --output '{}'", out));
  CHECK(again.status == 73);
  CHECK(again.err == fmt::format("servicedesk: {} exists; give a new file name\n", out));

  // A symbolic link, to a file and dangling: never followed, nothing written where it points.
  auto target = desk.dir.write("precious.txt", "keep me\n");
  auto link = desk.dir.file("link");
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  auto dangling = desk.dir.file("dangling");
  auto nowhere = desk.dir.file("nowhere");
  REQUIRE(::symlink(nowhere.c_str(), dangling.c_str()) == 0);
  for (const auto& l : {link, dangling}) {
    CAPTURE(l);
    auto refused = desk.run(fmt::format("attachment get SD-1 1 -o '{}'", l));
    CHECK(refused.status == 73);
    CHECK(refused.err ==
          fmt::format("servicedesk: {} exists (a symbolic link: refused, not followed); give a new file name\n", l));
  }
  CHECK(test::read_whole(target) == "keep me\n");
  CHECK_FALSE(std::filesystem::exists(nowhere));

  auto no_dir = desk.run(fmt::format("attachment get SD-1 1 -o '{}'", desk.dir.file("no/such/dir/f")));
  CHECK(no_dir.status == 73);
  CHECK(contains(no_dir.err, "cannot create (No such file or directory)"));
}

TEST_CASE("A hostile attachment file name is never used as a path: attachment get without -o creates no file") {
  CliDesk desk;
  auto id = desk.ingest_at(mail("eve@kund.se", "Files", "see attached", 1), kMonday);
  auto absolute = fmt::format("/tmp/sd-cli-hostile-{}", ::getpid());
  std::filesystem::remove(absolute);
  auto st = desk.store();
  store_attachment(*st, id, "../../escaped.txt", "climbed out\n", kMonday + 60);
  store_attachment(*st, id, absolute, "absolute\n", kMonday + 120);
  store_attachment(*st, id, "name\x1b]0;pwned\x07.txt", "escapes\n", kMonday + 180);
  auto deep = desk.dir.file("a/b");
  std::filesystem::create_directories(deep);
  auto before = entries_of(desk.dir.file(""));

  for (int n = 1; n <= 3; ++n) {
    CAPTURE(n);
    test::RunOptions in_deep;
    in_deep.cwd = deep;
    auto r = desk.run(fmt::format("attachment get SD-1 {}", n), in_deep);
    CHECK(r.status == 0);
    CHECK_FALSE(r.out.empty());  // the bytes went to standard output, nowhere else
  }
  CHECK(entries_of(deep).empty());
  CHECK(entries_of(desk.dir.file("")) == before);
  CHECK_FALSE(std::filesystem::exists(desk.dir.file("escaped.txt")));
  CHECK_FALSE(std::filesystem::exists(absolute));

  // The names are shown as text, with the escape made harmless.
  auto list = desk.run("attachment list SD-1").out;
  CHECK(contains(list, "../../escaped.txt"));
  CHECK(contains(list, absolute));
  CHECK_FALSE(contains(list, "\x1b"));
  CHECK_FALSE(contains(list, "\x07"));
}

TEST_CASE("attachment get refuses to write a customer's bytes to a terminal, with 64, and writes nothing there") {
  CliDesk desk;
  auto id = desk.ingest_at(mail("eve@kund.se", "Files", "see attached", 1), kMonday);
  auto st = desk.store();
  store_attachment(*st, id, "clear.txt", "\x1b[2J\x1b]0;pwned\x07", kMonday + 60);
  int master = -1, slave = -1;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
  auto err = desk.dir.file("stderr.txt");
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child: standard output is the terminal, as when an operator runs it by hand.
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(slave, 1);
    ::dup2(e, 2);
    ::execl(SERVICEDESK_BIN, SERVICEDESK_BIN, "--config", desk.config_path.c_str(), "attachment", "get", "SD-1", "1",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(slave);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 64);
  CHECK(test::read_whole(err) == "servicedesk: standard output is a terminal: give -o FILE, or redirect it (> FILE, | less)\n");
  // Nothing reached the terminal.
  pollfd p{master, POLLIN, 0};
  std::string shown;
  while (::poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
    char buf[256];
    auto n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;
    shown.append(buf, static_cast<std::size_t>(n));
  }
  ::close(master);
  CHECK(shown.empty());
}

TEST_CASE("attachment get of a ticket or number that is not there exits 65, an id or number of the wrong shape 64") {
  CliDesk desk;
  desk.ingest_at(mail("anna@kund.se", "Printer", "see the invoice", 1, kPdfPart), kMonday);
  struct Case {
    std::string args;
    int status;
    std::string err;
  };
  const std::vector<Case> cases = {
      {"attachment get SD-9 1", 65, "servicedesk: no ticket SD-9\n"},
      {"attachment get SD-1 2", 65, "servicedesk: SD-1 has no attachment 2 (servicedesk attachment list SD-1 shows them)\n"},
      {"attachment get SD-1 0", 64, "servicedesk: '0' is not an attachment number (1, 2, ...: attachment list SD-1)\n"},
      {"attachment get 1x 1", 64, "servicedesk: '1x' is not a ticket id (expected e.g. SD-1)\n"},
      {"attachment list SD-9", 65, "servicedesk: no ticket SD-9\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args);
    auto r = desk.run(c.args);
    CHECK(r.status == c.status);
    CHECK(r.out.empty());
    CHECK(r.err == c.err);
  }
  auto word = desk.run("attachment get SD-1 first");
  CHECK(word.status == 64);
  CHECK(lines_in(word.err) >= 1);
}

// --- ticket new, reply, note: the command line's own refusals ------------------------

TEST_CASE("ticket new, reply and note refuse arguments of the wrong shape with 64 and change nothing") {
  CliDesk desk;
  desk.ok("agent add eva@example.com --name 'Eva Lund'");
  desk.ingest_at(mail("anna@kund.se", "Printer", "help", 1), kMonday);
  auto words = desk.dir.write("words.txt", "Try turning it off and on.\n");
  auto events_before = desk.store()->begin(store::Store::Mode::read)->events(1).size();
  struct Case {
    std::string args;
    int status;
    std::string err;  // the whole of stderr; empty: only that it is one servicedesk: line or CLI11's
  };
  const std::string both = "servicedesk: give --text or --text-file, not both\n";
  const std::vector<Case> cases = {
      // No agent: the command line says so before anything is read.
      {"ticket new --requester bo@kund.se --subject Phone", 64, ""},
      {"ticket reply SD-1 --text hello", 64, ""},
      {"ticket note SD-1 --text hello", 64, ""},
      // --text and --text-file together, --text "" included.
      {fmt::format("ticket new --requester bo@kund.se --subject Phone --agent eva@example.com --text x --text-file '{}'",
                   words),
       64, both},
      {fmt::format("ticket reply SD-1 --agent eva@example.com --text '' --text-file '{}'", words), 64, both},
      {fmt::format("ticket note SD-1 --agent eva@example.com --text x --text-file '{}'", words), 64, both},
      // No words for the customer or the note.
      {"ticket reply SD-1 --agent eva@example.com", 64,
       "servicedesk: the words are missing: give --text TEXT or --text-file FILE\n"},
      {"ticket note SD-1 --agent eva@example.com --text '   '", 64,
       "servicedesk: the words are missing: give --text TEXT or --text-file FILE\n"},
      // Values of the wrong shape.
      {"ticket new --requester 'bo at kund.se' --subject Phone --agent eva@example.com", 64,
       "servicedesk: --requester 'bo at kund.se' is not a mail address\n"},
      {"ticket new --requester bo@kund.se --subject Phone --agent eva", 64,
       "servicedesk: --agent 'eva' is not a mail address\n"},
      {"ticket new --requester bo@kund.se --subject '  ' --agent eva@example.com", 64,
       "servicedesk: --subject must not be empty\n"},
      {"ticket new --requester bo@kund.se --subject Phone --agent eva@example.com --priority urgent", 64,
       "servicedesk: --priority 'urgent': highest, high, medium, low, lowest\n"},
      {"ticket new --requester bo@kund.se --subject Phone --agent eva@example.com --category chat", 64,
       "servicedesk: --category 'chat': incident, support, order, feature\n"},
      {"ticket reply 1x --agent eva@example.com --text hi", 64, "servicedesk: '1x' is not a ticket id (expected e.g. SD-1)\n"},
      // A --text-file that is not there is no input (66), like a mail file.
      {"ticket reply SD-1 --agent eva@example.com --text-file '" + desk.dir.file("gone.txt") + "'", 66,
       "servicedesk: " + desk.dir.file("gone.txt") + ": cannot read (No such file or directory)\n"},
      // Well formed, naming what is not there (65).
      {"ticket reply SD-9 --agent eva@example.com --text hi", 65, "servicedesk: no ticket SD-9\n"},
      {"ticket note SD-9 --agent eva@example.com --text hi", 65, "servicedesk: no ticket SD-9\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args);
    auto r = desk.run(c.args);
    CHECK(r.status == c.status);
    CHECK(r.out.empty());
    if (!c.err.empty()) CHECK(r.err == c.err);
    else CHECK_FALSE(r.err.empty());
  }
  // A --text-file that is not UTF-8 text is refused as bad input.
  auto binary = desk.dir.write("binary.txt", std::string("caf\xe9\0", 5));
  auto r = desk.run(fmt::format("ticket note SD-1 --agent eva@example.com --text-file '{}'", binary));
  CHECK(r.status == 65);
  CHECK(r.err == fmt::format("servicedesk: --text-file {} is not UTF-8 text\n", binary));

  // Nothing changed: still the one ticket, with the events it had.
  CHECK(listed(desk.run("tickets").out) == std::vector<std::string>{"SD-1"});
  CHECK(desk.store()->begin(store::Store::Mode::read)->events(1).size() == events_before);
}

TEST_CASE("ticket new prints the new ticket's id, and the desk's refusal of an unregistered agent exits 65") {
  CliDesk desk;
  desk.ok("agent add eva@example.com --name 'Eva Lund'");
  auto stranger = desk.run("ticket new --requester bo@kund.se --subject Phone --agent nobody@example.com");
  CHECK(stranger.status == 65);
  CHECK(stranger.out.empty());
  CHECK(desk.run("tickets").out == "no tickets yet\n");

  auto words = desk.dir.write("words.txt", "The printer on floor 2 jams.\n");
  auto r = desk.run(fmt::format(
      "ticket new --requester Bo@Kund.se --subject 'Printer jams' --agent eva@example.com --text-file '{}'", words));
  CHECK(r.status == 0);
  CHECK(r.out == "SD-1\n");
  test::RunOptions from_stdin;
  from_stdin.stdin_file = words;
  auto note = desk.run("ticket note SD-1 --agent eva@example.com --text-file -", from_stdin);
  CHECK(note.status == 0);
  CHECK(note.out == "SD-1: internal note added\n");
}

// --- the command itself ------------------------------------------------------------------

TEST_CASE("servicedesk --version prints the project's version") {
  CliDesk desk;
  auto r = desk.run("--version");
  CHECK(r.status == 0);
  CHECK(r.out == std::string("servicedesk ") + SD_VERSION + "\n");
  CHECK(r.err.empty());
}

TEST_CASE("An unknown command names itself and lists the commands, exit 64") {
  CliDesk desk;
  auto r = desk.run("frob");
  CHECK(r.status == 64);
  CHECK(r.out.empty());
  CHECK(lines_in(r.err) == 1);
  CHECK(r.err.rfind("servicedesk: unknown command 'frob'; commands: run, portal, ingest, tickets, show, parse, sla, ticket, "
                    "attachment, ",
                    0) == 0);
  CHECK(contains(r.err, ", backup (servicedesk --help explains them)\n"));

  auto sub = desk.run("ticket frob");
  CHECK(sub.status == 64);
  CHECK(sub.err ==
        "servicedesk: unknown command 'ticket frob'; ticket commands: set, new, reply, note, estimate, estimates (servicedesk ticket --help "
        "explains them)\n");
  auto none = desk.run("");
  CHECK(none.status == 64);
  CHECK(none.err.rfind("servicedesk: no command given; commands: run, portal, ingest, ", 0) == 0);
  auto attachment = desk.run("attachment");
  CHECK(attachment.status == 64);
  CHECK(attachment.err ==
        "servicedesk: no attachment command given; attachment commands: list, get (servicedesk attachment --help "
        "explains them)\n");
}

TEST_CASE("Every list says so when it is empty, and its JSON is an empty array") {
  CliDesk desk;
  desk.ingest_at(mail("anna@kund.se", "Printer", "help", 1), kMonday);
  {
    // The acknowledgement sent, so that the outbox is empty too.
    auto st = desk.store();
    auto tx = st->begin(store::Store::Mode::write);
    for (const auto& o : tx->outbox("pending")) tx->mark_sent(o.id, kMonday + 1);
    tx->commit();
  }
  struct Case {
    std::string args, says;
  };
  const std::vector<Case> cases = {
      {"org list", "no organisations\n"},
      {"contact list", "no contacts registered\n"},
      {"agent list", "no agents registered\n"},
      {"outbox list", "no mail waiting or failed: the outbox is empty\n"},
      {"quarantine list", "no mails in quarantine\n"},
      {"attachment list SD-1", "no attachments on SD-1\n"},
      {"tickets --status closed", "no tickets match\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args);
    auto text = desk.run(c.args);
    CHECK(text.status == 0);
    CHECK(text.out == c.says);
    auto json = desk.run(c.args + " --json");
    CHECK(json.status == 0);
    CHECK(nlohmann::json::parse(json.out) == nlohmann::json::array());
  }
  desk.ok("org add Kund --domain kund.se");
  CHECK(desk.run("contact list --org Kund").out == "no contacts of Kund\n");
}

TEST_CASE("status names the store's backend and every daemon with its host, pid, leases, outbox claims and heartbeat, "
          "keeping every field it had") {
  CliDesk d;
  d.ingest_at(mail("anna@kund.se", "Skrivaren", "Den skriver inte ut.", 1), kMonday);
  {
    // Two daemons as they record themselves: one polls (the mailbox lease) and is sending a
    // mail (a claim on the acknowledgement); the other stands by.
    auto st = store::open_store(d.config.store.url);
    auto tx = st->begin(store::Store::Mode::write);
    tx->heartbeat({"desk-a:4242:1795000000", "desk-a", 4242, 1795000000, 0, {}, 0});
    tx->heartbeat({"desk-b:77:1795000100", "desk-b", 77, 1795000100, 0, {}, 0});
    REQUIRE(tx->take_lease("mailbox:INBOX", "desk-a:4242:1795000000", 60).holder == "desk-a:4242:1795000000");
    REQUIRE(tx->claim_outbox(kMonday + 3600, 1, "desk-a:4242:1795000000", 600).size() == 1);
    tx->set_mailbox({"INBOX", 9, 1, kMonday, 1});
    tx->commit();
  }
  auto r = servicedesk(d.config_path, "status --json");
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"mailboxes", "outbox", "quarantine", "open_tickets", "store", "daemons"}) {
    INFO(key);
    CHECK(j.contains(key));
  }
  CHECK(j["store"]["backend"] == "sqlite");
  CHECK(j["store"]["shared"] == false);
  CHECK(j["outbox"]["pending"] == 1);
  REQUIRE(j["mailboxes"].size() == 1);
  CHECK(j["mailboxes"][0]["last_uid"] == 1);
  CHECK(j["mailboxes"][0]["lease"]["holder"] == "desk-a:4242:1795000000");
  CHECK(j["mailboxes"][0]["lease"]["epoch"] == 1);
  CHECK(j["mailboxes"][0]["lease"]["live"] == true);
  REQUIRE(j["daemons"].size() == 2);
  const auto& a = j["daemons"][0];
  CHECK(a["id"] == "desk-a:4242:1795000000");
  CHECK(a["host"] == "desk-a");
  CHECK(a["pid"] == 4242);
  CHECK(a["started_at"] == "2026-11-18T11:06:40Z");
  CHECK(a["heartbeat_at"].is_string());
  CHECK(a["heartbeat_age_s"].get<std::int64_t>() <= 5);
  CHECK(a["leases"] == nlohmann::json::array({"mailbox:INBOX"}));
  CHECK(a["outbox_claims"] == 1);
  const auto& b = j["daemons"][1];
  CHECK(b["host"] == "desk-b");
  CHECK(b["pid"] == 77);
  CHECK(b["leases"].empty());
  CHECK(b["outbox_claims"] == 0);

  auto text = servicedesk(d.config_path, "status");
  REQUIRE(text.status == 0);
  INFO(text.out);
  CHECK(contains(text.out, "store: sqlite\n"));
  CHECK(contains(text.out, "mailbox lease: desk-a pid 4242, epoch 1, expires in "));
  CHECK(contains(text.out, "daemons: 2\n"));
  CHECK(contains(text.out, "  desk-a pid 4242: holds mailbox:INBOX, 1 outbox claim, last heartbeat "));
  CHECK(contains(text.out, "  desk-b pid 77: holds no lease, 0 outbox claims, last heartbeat "));
  CHECK(contains(text.out, "outbox: 1 pending, 0 failed"));
}

TEST_CASE("status with no daemon running says so") {
  CliDesk d;
  auto r = servicedesk(d.config_path, "status");
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "daemons: 0 (none running, or none for a day)\n"));
  auto j = nlohmann::json::parse(servicedesk(d.config_path, "status --json").out);
  CHECK(j["daemons"].empty());
  CHECK(j["store"]["backend"] == "sqlite");
}
