// Benchmark aid: fills a SQLite store, through the store API (store/store.h), with a desk of
// the size the portal's benchmark asks for: organisations with a mail domain each, their
// contacts, agents, and N tickets with one or two messages each (the customer's mail, and for
// most an agent's answer) and a "created" event; M of them open (new, open or pending, with
// sla_next_due set as the SLA clock would, some already past), the rest resolved or closed.
// Deterministic (a fixed seed), in a few big transactions, so 100,000 tickets take seconds.
//
//   portal_seed --store PATH [--tickets 100000] [--open 10000] [--orgs 200]
//               [--contacts-per-org 5] [--agents 20] [--now EPOCH]
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
    if (!parse_long(v, n)) return usage(("not a number: " + a + " " + v).c_str());
    if (a == "--tickets") o.tickets = n;
    else if (a == "--open") o.open = n;
    else if (a == "--orgs") o.orgs = n;
    else if (a == "--contacts-per-org") o.contacts_per_org = n;
    else if (a == "--agents") o.agents = n;
    else if (a == "--now") o.now = n;
    else return usage(("unknown option " + a).c_str());
  }
  if (o.store.empty()) return usage("--store PATH is required");
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
