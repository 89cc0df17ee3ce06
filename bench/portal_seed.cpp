// Benchmark aid: fills a SQLite store, through the store API (store/store.h), with a desk of
// the size the portal's benchmark asks for: organisations with a mail domain each, their
// contacts, agents, and N tickets with one or two messages each (the customer's mail, and for
// most an agent's answer) and a "created" event; M of them open (new, open or pending, with
// sla_next_due set as the SLA clock would, some already past), the rest resolved or closed.
// Deterministic (a fixed seed), in a few big transactions, so 100,000 tickets take seconds.
//
//   portal_seed --store PATH [--tickets 100000] [--open 10000] [--orgs 200]
//               [--contacts-per-org 5] [--agents 20] [--now EPOCH]
//   portal_seed --store PATH --query-times N [--org NAME] [--ticket ID]
//
// --query-times: on an existing (seeded) store, times the store calls the portal's pages make,
// N times each on one connection: the agent queue (find_tickets: open, due order, 50; its
// count_tickets; open_tickets_by_sla_due(50)), an organisation's list (newest first, 50, and
// its count) and a ticket page (ticket, messages, events, attachments, Cc list). Prints the
// mean, p50 and p99 per call in microseconds: the store's part of each page, without HTTP.
//
// Contract: PATH must not exist yet (the seed makes a new store, never adds to a real one).
// Names follow one pattern, so the benchmark can pick its visitors: organisation "Org N"
// (domain orgN.example), contacts cK@orgN.example, agents agentK@example.com. On success it
// prints one JSON object on stdout: the counts, a contact and the organisation of the largest
// list, an agent, and an open ticket of that organisation with two messages (for the ticket
// page), plus the seconds it took.
// Diagnostics: a StoreError or a bad argument: a message on stderr, exit status 1 or 2.
// Security: a benchmark tool for a throwaway store; the data is synthetic.
#include "store/store.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

using sd::store::Time;

struct Options {
  std::string store;
  long tickets = 100'000;
  long open = 10'000;
  long orgs = 200;
  long contacts_per_org = 5;
  long agents = 20;
  Time now = 0;
  long query_times = 0;
  std::string org = "Org 1";
  long ticket = 0;
};

constexpr const char* kWords[] = {
    "printer", "vpn",     "password", "reset",  "laptop",  "screen",  "invoice", "please",  "thanks",
    "urgent",  "meeting", "office",   "network", "access", "account", "mailbox", "license", "update",
    "server",  "backup",  "restore",  "login",  "error",   "again",   "today",   "monitor", "docking",
    "station", "skrivare", "kontor",  "fejl",   "adgang",  "tack",    "hilsen",  "slow",    "crash"};

std::string words(std::mt19937_64& rng, int n) {
  std::uniform_int_distribution<std::size_t> pick(0, std::size(kWords) - 1);
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i) out += ' ';
    out += kWords[pick(rng)];
  }
  return out;
}

bool parse_long(const char* s, long& out) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 0) return false;
  out = v;
  return true;
}

// Runs `call` n times in read transactions of its own (as a page would) and prints the
// mean, p50 and p99 in microseconds.
template <class F>
void time_call(sd::store::Store& store, const char* what, long n, F call) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(n));
  std::size_t rows = 0;
  for (long i = 0; i < n; ++i) {
    const auto t = std::chrono::steady_clock::now();
    auto tx = store.begin(sd::store::Store::Mode::read);
    rows = call(*tx);
    tx->commit();
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count());
  }
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double x : us) sum += x;
  auto pct = [&](double p) { return us[std::min(us.size() - 1, static_cast<std::size_t>(p / 100.0 * static_cast<double>(us.size())))]; };
  std::printf("%-58s rows %6zu  mean %9.1f us  p50 %9.1f us  p99 %9.1f us\n", what, rows, sum / static_cast<double>(n), pct(50), pct(99));
}

int time_queries(const Options& o) {
  if (!std::filesystem::exists(o.store)) {
    std::fprintf(stderr, "portal_seed: no store at %s\n", o.store.c_str());
    return 2;
  }
  try {
    sd::store::StoreOptions so;
    so.path = o.store;
    auto store = sd::store::open_sqlite_store(so);
    const long n = o.query_times;
    sd::store::TicketQuery queue;
    queue.statuses = {"new", "open", "pending"};
    queue.sort = sd::store::TicketQuery::Sort::due;
    queue.limit = 50;
    time_call(*store, "queue: find_tickets(open, due, 50)", n, [&](sd::store::Transaction& tx) { return tx.find_tickets(queue).size(); });
    time_call(*store, "queue: count_tickets(open)", n, [&](sd::store::Transaction& tx) { return static_cast<std::size_t>(tx.count_tickets(queue)); });
    time_call(*store, "queue: open_tickets_by_sla_due(50)", n, [&](sd::store::Transaction& tx) { return tx.open_tickets_by_sla_due(50).size(); });
    sd::store::TicketQuery org_queue = queue;
    org_queue.organisation = o.org;
    time_call(*store, "queue of one organisation: find_tickets(open, org, due, 50)", n,
              [&](sd::store::Transaction& tx) { return tx.find_tickets(org_queue).size(); });
    sd::store::TicketQuery list;
    list.organisation = o.org;
    list.limit = 50;
    time_call(*store, "organisation's list: find_tickets(org, newest, 50)", n, [&](sd::store::Transaction& tx) { return tx.find_tickets(list).size(); });
    time_call(*store, "organisation's list: count_tickets(org)", n, [&](sd::store::Transaction& tx) { return static_cast<std::size_t>(tx.count_tickets(list)); });
    std::int64_t id = o.ticket;
    if (id == 0) {
      auto tx = store->begin(sd::store::Store::Mode::read);
      auto first = tx->find_tickets(list);
      id = first.empty() ? 1 : first.front().id;
    }
    time_call(*store, "ticket page: ticket, messages, events, attachments, Cc", n, [&](sd::store::Transaction& tx) {
      auto t = tx.ticket(id);
      auto m = tx.messages(id);
      auto e = tx.events(id, false);
      auto a = tx.attachments(id);
      auto c = tx.cc_entries(id);
      return (t ? 1u : 0u) + m.size() + e.size() + a.size() + c.size();
    });
  } catch (const sd::store::StoreError& e) {
    std::fprintf(stderr, "portal_seed: %s\n", e.what());
    return 1;
  }
  return 0;
}

int usage(const char* why) {
  std::fprintf(stderr,
               "portal_seed: %s\nusage: portal_seed --store PATH [--tickets N] [--open M] [--orgs K] "
               "[--contacts-per-org C] [--agents A] [--now EPOCH]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + a).c_str());
    const char* v = argv[++i];
    long n = 0;
    if (a == "--store") {
      o.store = v;
      continue;
    }
    if (a == "--org") {
      o.org = v;
      continue;
    }
    if (!parse_long(v, n)) return usage(("not a number: " + a + " " + v).c_str());
    if (a == "--tickets") o.tickets = n;
    else if (a == "--open") o.open = n;
    else if (a == "--orgs") o.orgs = n;
    else if (a == "--contacts-per-org") o.contacts_per_org = n;
    else if (a == "--agents") o.agents = n;
    else if (a == "--now") o.now = n;
    else if (a == "--query-times") o.query_times = n;
    else if (a == "--ticket") o.ticket = n;
    else return usage(("unknown option " + a).c_str());
  }
  if (o.store.empty()) return usage("--store PATH is required");
  if (o.query_times > 0) return time_queries(o);
  if (o.open > o.tickets || o.orgs < 1 || o.contacts_per_org < 1 || o.agents < 1) return usage("inconsistent counts");
  if (std::filesystem::exists(o.store)) return usage("the store exists already: the seed only makes new ones");
  if (o.now == 0) o.now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();

  const auto t0 = std::chrono::steady_clock::now();
  try {
    sd::store::StoreOptions so;
    so.path = o.store;
    auto store = sd::store::open_sqlite_store(so);
    auto org_name = [](long n) { return "Org " + std::to_string(n); };
    auto contact_of = [](long org, long k) { return "c" + std::to_string(k) + "@org" + std::to_string(org) + ".example"; };
    auto agent_of = [](long k) { return "agent" + std::to_string(k) + "@example.com"; };
    {
      auto tx = store->begin(sd::store::Store::Mode::write);
      for (long g = 1; g <= o.orgs; ++g) {
        sd::store::Organisation org;
        org.name = org_name(g);
        org.domains = {"org" + std::to_string(g) + ".example"};
        org.language = g % 3 == 0 ? "sv" : g % 3 == 1 ? "en" : "da";
        tx->add_organisation(org);
        for (long k = 1; k <= o.contacts_per_org; ++k)
          tx->add_contact({contact_of(g, k), "Contact " + std::to_string(k) + " of " + org.name, org.name});
      }
      for (long k = 1; k <= o.agents; ++k) tx->add_agent({agent_of(k), "Agent " + std::to_string(k)});
      tx->commit();
    }

    // Organisation 1 is the big customer (a tenth of all tickets, so its list is the longest
    // one a contact pages through); the rest share the others evenly. Ticket i is open when
    // it is among the newest `open` ones, as on a real desk: old tickets are done.
    std::mt19937_64 rng(20261202);
    const long first_open = o.tickets - o.open;
    const Time span = 2L * 365 * 86400;  // two years of history
    const char* priorities[] = {"low", "medium", "medium", "medium", "high", "critical"};
    const char* categories[] = {"", "hardware", "software", "access", "network"};
    const char* open_statuses[] = {"new", "open", "open", "open", "pending"};
    constexpr long kBatch = 20'000;
    long open_ticket_of_org1 = 0;
    std::string org1_contact = contact_of(1, 1);
    for (long start = 0; start < o.tickets; start += kBatch) {
      auto tx = store->begin(sd::store::Store::Mode::write);
      for (long i = start; i < std::min(o.tickets, start + kBatch); ++i) {
        const bool is_open = i >= first_open;
        const long org = (i % 10 == 0 || o.orgs == 1) ? 1 : 2 + static_cast<long>(rng() % static_cast<std::uint64_t>(o.orgs - 1));
        const long k = 1 + static_cast<long>(rng() % static_cast<std::uint64_t>(o.contacts_per_org));
        sd::store::NewTicket t;
        t.subject = words(rng, 3 + static_cast<int>(rng() % 5));
        t.requester = contact_of(org, k);
        t.requester_name = "Contact " + std::to_string(k);
        // Created in order over the span: ids and created_at grow together, as on a desk.
        t.created_at = o.now - span + static_cast<Time>(static_cast<double>(i) / static_cast<double>(o.tickets) * static_cast<double>(span));
        t.sla = "standard";
        t.priority = priorities[rng() % std::size(priorities)];
        t.category = categories[rng() % std::size(categories)];
        t.organisation = org_name(org);
        if (rng() % 4 != 0) t.assignee = agent_of(1 + static_cast<long>(rng() % static_cast<std::uint64_t>(o.agents)));
        const auto id = tx->create_ticket(t);

        sd::store::MessageRecord in;
        in.ticket_id = id;
        in.direction = "in";
        in.message_id = "seed-" + std::to_string(i) + "-1@org" + std::to_string(org) + ".example";
        in.from_addr = t.requester;
        in.from_name = t.requester_name;
        in.to = {"servicedesk@example.com"};
        in.subject = t.subject;
        in.date = t.created_at;
        in.body_text = "Hello,\n\n" + words(rng, 40) + ".\n\n" + words(rng, 25) + ".\n\nRegards,\n" + t.requester_name + "\n";
        in.new_text = in.body_text;
        in.created_at = t.created_at;
        tx->add_message(in);
        tx->add_event({id, t.created_at, "system", "created", "", false});
        const bool answered = !is_open || rng() % 2 == 0 || org == 1;
        if (answered) {
          sd::store::MessageRecord out;
          out.ticket_id = id;
          out.direction = "out";
          out.message_id = "seed-" + std::to_string(i) + "-2@example.com";
          out.from_addr = "servicedesk@example.com";
          out.from_name = "Example Servicedesk";
          out.to = {t.requester};
          out.subject = "Re: " + t.subject;
          out.date = t.created_at + 3600;
          out.body_text = "Hi,\n\n" + words(rng, 30) + ".\n\nBest regards,\nThe service desk\n";
          out.new_text = out.body_text;
          out.created_at = t.created_at + 3600;
          tx->add_message(out);
          tx->set_first_response(id, t.created_at + 3600);
        }
        if (is_open) {
          const std::string status = open_statuses[rng() % std::size(open_statuses)];
          if (status != "new") tx->write_status(id, status, t.created_at + 3600);
          if (status == "pending") tx->start_pause(id, t.created_at + 3600);
          // The next warning or breach: from four hours ago (breaching) to two days ahead.
          tx->set_sla_next_due(id, o.now - 4 * 3600 + static_cast<Time>(rng() % (52 * 3600)));
          if (org == 1 && answered && open_ticket_of_org1 == 0) {
            open_ticket_of_org1 = id;
            org1_contact = t.requester;
          }
        } else {
          const bool closed = rng() % 3 != 0;
          const Time resolved = t.created_at + 86400;
          tx->write_status(id, "resolved", resolved);
          tx->set_resolved_at(id, resolved);
          tx->set_resolution(id, "Fixed: " + words(rng, 6) + ".");
          if (closed) tx->write_status(id, "closed", resolved + 7 * 86400);
        }
      }
      tx->commit();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf(
        "{\"tickets\": %ld, \"open\": %ld, \"organisations\": %ld, \"contacts\": %ld, \"agents\": %ld, "
        "\"big_organisation\": \"%s\", \"contact\": \"%s\", \"agent\": \"%s\", \"ticket\": %ld, \"now\": %lld, "
        "\"seconds\": %.2f}\n",
        o.tickets, o.open, o.orgs, o.orgs * o.contacts_per_org, o.agents, org_name(1).c_str(), org1_contact.c_str(),
        agent_of(1).c_str(), open_ticket_of_org1, static_cast<long long>(o.now), seconds);
  } catch (const sd::store::StoreError& e) {
    std::fprintf(stderr, "portal_seed: %s\n", e.what());
    return 1;
  }
  return 0;
}
