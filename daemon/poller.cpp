// daemon/poller.cpp: see poller.h.
//
// Security: the server's listing and literals are not trusted with our memory (ImapLimits,
// imap_limits()); a mail too large to keep is quarantined by its header, and one that kills
// the process is quarantined raw by the crash breaker, so neither can stop the mailbox.
#include "daemon/poller.h"

#include "core/log.h"
#include "daemon/metrics.h"
#include "desk/desk.h"
#include "desk/ingest.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <future>
#include <mutex>
#include <optional>

namespace sd {
namespace {

// Applies after_ingest to committed mails, then records it done up to `through_uid`
// (MailboxState::done_uid), which may lie past `uids`: a mail too large to fetch has nothing
// to be done. A failure is logged, not thrown: the mails are safely stored, and the next pass
// finds them between done_uid and the watermark (seen) or still in the mailbox (move,
// delete) and tries again. `also` (may be empty) writes more in the same transaction, which is
// committed only when the actions went through.
void after_ingest(Mailbox& imap, store::Store& st, const Config& c, const std::vector<std::int64_t>& uids,
                  std::int64_t through_uid, const std::function<void(store::Transaction&)>& also = {}) {
  // In pieces, so that a long backlog of unfinished actions does not make one command line
  // longer than servers accept.
  constexpr std::size_t piece = 1000;
  for (std::size_t i = 0; i < uids.size(); i += piece) {
    std::vector<std::int64_t> some(uids.begin() + static_cast<std::ptrdiff_t>(i),
                                   uids.begin() + static_cast<std::ptrdiff_t>(std::min(uids.size(), i + piece)));
    try {
      if (c.imap.after_ingest == "delete") imap.remove(some);
      else if (auto folder = c.move_target(); !folder.empty()) imap.move(some, folder);
      else imap.mark_seen(some);
    } catch (const ImapError& e) {
      log::warning("IMAP: {} of UID {} failed (will retry next pass): {}", c.imap.after_ingest, uid_set(some), e.what());
      count_imap_error("after_ingest");
      return;
    }
  }
  if (through_uid <= 0 && !also) return;
  auto tx = st.begin(store::Store::Mode::write);
  bool changed = false;
  if (auto box = tx->mailbox(imap.mailbox()); box && through_uid > 0 && box->done_uid < through_uid) {
    box->done_uid = std::min(through_uid, box->last_uid);
    tx->set_mailbox(*box);
    changed = true;
  }
  if (also) {
    also(*tx);
    changed = true;
  }
  if (changed) tx->commit();
}

void log_result(const Config& c, std::int64_t uid, const IngestResult& res, PollResult& r) {
  std::string ref = res.ticket_id ? ticket_ref(c, res.ticket_id) : "-";
  const std::string sep = res.note.empty() ? "" : "; ";
  switch (res.kind) {
    case IngestResult::Kind::created:
      ++r.created;
      log::info("ticket {} opened from UID {} <{}>{}{}", ref, uid, res.message_id, sep, res.note);
      break;
    case IngestResult::Kind::joined:
      ++r.joined;
      log::info("ticket {} got a message from UID {} <{}>{}{}", ref, uid, res.message_id, sep, res.note);
      break;
    case IngestResult::Kind::rejected:
      log::notice("UID {} <{}> stored without a ticket: {}", uid, res.message_id, res.note);
      break;
    case IngestResult::Kind::duplicate:
      ++r.duplicates;
      log::info("UID {} <{}> is already stored (ticket {}): not stored again", uid, res.message_id, ref);
      break;
  }
  r.mail_queued = r.mail_queued || res.mail_queued;
}

// One id per process (a forked child gets its own): a record of mails in hand that another id
// left behind above the watermark is one whose process died with them.
std::string process_run_id() {
  static std::mutex m;
  static pid_t pid = 0;
  static std::string id;
  std::lock_guard lock(m);
  if (pid != ::getpid()) {
    pid = ::getpid();
    id = fmt::format("{}-{}", pid, std::chrono::system_clock::now().time_since_epoch().count());
  }
  return id;
}

// Test aid ([test] fault = "crash_on_subject:TEXT"): a Subject header line holding TEXT.
bool subject_holds(std::string_view raw, std::string_view text) {
  auto end = std::min(raw.find("\r\n\r\n"), raw.find("\n\n"));
  std::string_view head = raw.substr(0, end);
  for (std::size_t p = 0; p < head.size();) {
    auto eol = head.find('\n', p);
    std::string_view line = head.substr(p, eol == std::string_view::npos ? std::string_view::npos : eol - p);
    if (line.size() >= 8 && (line.substr(0, 8) == "Subject:" || line.substr(0, 8) == "subject:") &&
        line.find(text) != std::string_view::npos)
      return true;
    if (eol == std::string_view::npos) break;
    p = eol + 1;
  }
  return false;
}

// The crash breaker (poller.h) for one pass. Each ingest is preceded by a record of the mails
// in hand; `suspects` are the mails the process before this one died with, `deaths` how many
// processes did.
class CrashBreaker {
 public:
  CrashBreaker(store::Store& st, const Desk& desk, std::string mailbox, std::int64_t uidvalidity)
      : st_(st), desk_(desk), c_(desk.config()), mailbox_(std::move(mailbox)), uidvalidity_(uidvalidity), run_(process_run_id()) {}

  // Reads the record in the pass's first transaction, after the watermark is known.
  void read(store::Transaction& tx, const store::MailboxState& box) {
    auto f = tx.in_flight(mailbox_);
    if (!f || f->run == run_ || f->uidvalidity != uidvalidity_) return;
    for (auto uid : f->uids)
      if (uid > box.last_uid) suspects_.push_back(uid);
    if (suspects_.empty()) return;
    deaths_ = f->deaths + 1;
    log::error("crash breaker: the daemon died {} time{} with UID {} of {} in hand{}", deaths_, deaths_ == 1 ? "" : "s",
               uid_set(suspects_), mailbox_,
               deaths_ >= 2 ? (suspects_.size() == 1 ? ": it is stored raw and quarantined" : ": they are taken one by one")
                            : ": trying again");
  }

  // Keeps only the suspects still on the server; forgets the record when none is.
  void keep_listed(const std::vector<ListedMail>& listed) {
    if (suspects_.empty()) return;
    std::erase_if(suspects_, [&](std::int64_t uid) {
      return !std::binary_search(listed.begin(), listed.end(), ListedMail{uid, 0},
                                 [](const ListedMail& a, const ListedMail& b) { return a.uid < b.uid; });
    });
    if (suspects_.empty()) record({}, 0);
  }

  // Writes the record for `mails`, the batch to be ingested next, into the caller's
  // transaction (the one that records the batch before it done), so that a batch costs no
  // commit of its own. Nothing when the batch is to be taken one by one: that writes its own.
  void record_next(store::Transaction& tx, const std::vector<IncomingMail>& mails) {
    bool with_suspects = std::any_of(mails.begin(), mails.end(), [&](const auto& m) { return suspect(m); });
    if (mails.empty() || (deaths_ >= 2 && with_suspects)) return;
    auto f = in_flight(mails, with_suspects ? deaths_ : 0);
    tx.set_in_flight(f);
    pending_ = f;  // in force once the caller commits; ingest() checks it against the batch
  }

  // Ingests one fetched batch (UID order); results in the same order.
  std::vector<IngestResult> ingest(std::vector<IncomingMail>& mails, store::Time now) {
    std::vector<IngestResult> out;
    std::vector<IncomingMail> group;
    auto flush = [&] {
      if (group.empty()) return;
      bool with_suspects = std::any_of(group.begin(), group.end(), [&](const auto& m) { return suspect(m); });
      auto res = guarded(group, with_suspects ? deaths_ : 0, now);
      out.insert(out.end(), res.begin(), res.end());
      group.clear();
    };
    for (auto& mail : mails) {
      if (deaths_ < 2 || !suspect(mail)) {
        group.push_back(std::move(mail));
        continue;
      }
      flush();
      if (suspects_.size() == 1) {
        // It has now killed the process alone: it is not parsed again.
        std::string why = fmt::format("the daemon died {} times while handling this mail", deaths_);
        log::error("crash breaker: UID {} of {}: {}: stored raw and quarantined, without a ticket; the mailbox moves on",
                   mail.origin->uid, mailbox_, why);
        out.push_back(quarantine_unhandled(st_, mail.raw, mail.origin, now, why));
        continue;
      }
      group.push_back(std::move(mail));
      flush();  // alone
    }
    flush();
    mails.clear();
    return out;
  }

 private:
  bool suspect(const IncomingMail& m) const {
    return m.origin && std::binary_search(suspects_.begin(), suspects_.end(), m.origin->uid);
  }

  store::InFlight in_flight(const std::vector<IncomingMail>& mails, std::int64_t deaths) const {
    store::InFlight f{mailbox_, uidvalidity_, {}, deaths, run_};
    for (const auto& m : mails)
      if (m.origin) f.uids.push_back(m.origin->uid);
    return f;
  }

  void record(const std::vector<IncomingMail>& mails, std::int64_t deaths) {
    auto f = in_flight(mails, deaths);
    auto tx = st_.begin(store::Store::Mode::write);
    tx->set_in_flight(f);
    tx->commit();
  }

  std::vector<IngestResult> guarded(const std::vector<IncomingMail>& mails, std::int64_t deaths, store::Time now) {
    // The record may be in the store already, committed with the batch before (record_next).
    auto f = in_flight(mails, deaths);
    bool recorded = pending_ && pending_->uids == f.uids && pending_->deaths == f.deaths;
    pending_.reset();
    if (!recorded) record(mails, deaths);
    const std::string prefix = "crash_on_subject:";
    if (c_.test.fault.rfind(prefix, 0) == 0) {
      for (const auto& m : mails) {
        if (!subject_holds(m.raw, std::string_view(c_.test.fault).substr(prefix.size()))) continue;
        log::warning("test fault {}: killing the daemon before parsing UID {}", c_.test.fault, m.origin ? m.origin->uid : 0);
        std::raise(SIGKILL);
      }
    }
    try {
      return ingest_batch(st_, desk_, mails, now);
    } catch (...) {
      // Nothing of the batch is stored and the process lives on: its mails are not in hand of
      // a process that died. (If the store is failing, this may fail too; then a stop before
      // the store mends counts once.)
      try {
        record({}, 0);
      } catch (const store::StoreError&) {
      }
      throw;
    }
  }

  store::Store& st_;
  const Desk& desk_;
  const Config& c_;  // desk_.config()
  std::string mailbox_;
  std::int64_t uidvalidity_;
  std::string run_;
  std::vector<std::int64_t> suspects_;  // ascending
  std::int64_t deaths_ = 0;
  std::optional<store::InFlight> pending_;  // written by record_next, committed by the caller (if it got that far)
};

// A batch to fetch: mails to fetch whole, and those the listing says are too large.
struct Batch {
  std::vector<std::int64_t> whole;
  std::vector<ListedMail> too_large;
  std::int64_t last_uid = 0;
};

}  // namespace

ImapLimits imap_limits(const Config& c) {
  ImapLimits l;
  l.max_literal = c.limits.max_message_bytes;
  l.max_answer_bytes = c.imap.batch_max_bytes + c.limits.max_message_bytes + (std::size_t(1) << 20);
  return l;
}

PollResult poll_mailbox(Mailbox& imap, store::Store& st, const Desk& desk, const std::function<store::Time()>& now,
                        const std::atomic<bool>& stopping, const std::function<void(const PollResult&)>& committed) {
  const auto& c = desk.config();
  PollResult r;
  auto status = imap.status();
  const std::string mailbox = imap.mailbox();
  CrashBreaker breaker(st, desk, mailbox, status.uidvalidity);
  store::MailboxState box;
  {
    auto tx = st.begin(store::Store::Mode::write);
    box = tx->mailbox(mailbox).value_or(store::MailboxState{mailbox, status.uidvalidity, 0, {}});
    if (box.uidvalidity != status.uidvalidity) {
      log::warning("IMAP: UIDVALIDITY of {} changed from {} to {}: rescanning the mailbox; mails already stored are "
                   "recognised by their content",
                   mailbox, box.uidvalidity, status.uidvalidity);
      box.uidvalidity = status.uidvalidity;
      box.last_uid = box.done_uid = 0;
    }
    box.last_poll_at = now();
    tx->set_mailbox(box);
    breaker.read(*tx, box);
    tx->commit();
  }
  auto too_large = [&c](const ListedMail& m) { return static_cast<std::uint64_t>(m.size) > c.limits.max_message_bytes; };

  // A mail at or below the watermark but above done_uid is one whose action was cut short (a
  // crash after COMMIT, a failed STORE or MOVE): it is finished first. (Range fetches use
  // BODY.PEEK[], so only our STORE sets \Seen.) One too large to fetch stays untouched.
  auto listed = imap.list_from(std::min(box.done_uid, box.last_uid) + 1);
  log::debug("IMAP: {} mails listed above UID {}{}", listed.size(), std::min(box.done_uid, box.last_uid),
             listed.empty() ? "" : fmt::format(" (UID {} to {})", listed.front().uid, listed.back().uid));
  breaker.keep_listed(listed);
  std::vector<std::int64_t> unfinished;
  std::int64_t unfinished_through = 0;
  std::size_t next = 0;
  for (; next < listed.size() && listed[next].uid <= box.last_uid; ++next) {
    if (!too_large(listed[next])) unfinished.push_back(listed[next].uid);
    unfinished_through = listed[next].uid;
  }
  if (unfinished_through > 0) {
    if (!unfinished.empty()) log::info("IMAP: UID {} stored before; finishing '{}'", uid_set(unfinished), c.imap.after_ingest);
    after_ingest(imap, st, c, unfinished, unfinished_through);
  }

  // Batches bound both the memory held (the raw mails of two batches: the one being stored
  // and the next, being fetched meanwhile) and the work a crash can undo (one uncommitted
  // batch, fetched again next time). A mail too large to fetch counts as one mail, with no bytes.
  std::size_t max_mails = c.imap.fetch == "per_uid" ? 1 : static_cast<std::size_t>(c.imap.batch_max_mails);
  auto next_batch = [&] {
    Batch b;
    std::size_t bytes = 0;
    for (; next < listed.size() && b.whole.size() + b.too_large.size() < max_mails; ++next) {
      if (too_large(listed[next])) {
        b.too_large.push_back(listed[next]);
      } else {
        auto size = static_cast<std::size_t>(listed[next].size);
        if (!b.whole.empty() && bytes + size > c.imap.batch_max_bytes) break;
        b.whole.push_back(listed[next].uid);
        bytes += size;
      }
      b.last_uid = listed[next].uid;
    }
    return b;
  };
  auto fetch = [&imap, &mailbox, &c, uidvalidity = status.uidvalidity](const Batch& b) {
    std::vector<IncomingMail> mails;
    mails.reserve(b.whole.size() + b.too_large.size());
    auto big = b.too_large;
    imap.fetch(
        uidvalidity, b.whole,
        [&](std::int64_t uid, std::string&& raw) {
          mails.push_back({std::move(raw), store::MailOrigin{mailbox, uidvalidity, uid}});
        },
        [&](std::int64_t uid, std::int64_t bytes) { big.push_back({uid, bytes}); });
    if (!big.empty()) {
      std::sort(big.begin(), big.end(), [](const auto& x, const auto& y) { return x.uid < y.uid; });
      std::vector<std::int64_t> uids;
      for (const auto& m : big) {
        uids.push_back(m.uid);
        log::warning("IMAP: UID {} of {} is {} bytes, above limits.max_message_bytes ({}): only its header is fetched, "
                     "for a quarantined ticket; the mail stays on the server untouched",
                     m.uid, mailbox, m.size, c.limits.max_message_bytes);
      }
      const std::size_t headers = mails.size();  // where the headers start
      imap.fetch_headers(uidvalidity, uids, [&](std::int64_t uid, std::string&& header) {
        auto at = std::lower_bound(big.begin(), big.end(), uid, [](const ListedMail& m, std::int64_t u) { return m.uid < u; });
        std::int64_t size = at != big.end() && at->uid == uid ? at->size : 0;
        mails.push_back({std::move(header), store::MailOrigin{mailbox, uidvalidity, uid}, std::max<std::int64_t>(size, 1)});
      });
      // Merged into UID order (the whole mails came in it, and so did the headers).
      std::vector<IncomingMail> merged;
      merged.reserve(mails.size());
      std::size_t w = 0, h = headers;
      while (w < headers || h < mails.size()) {
        bool take_whole = h == mails.size() || (w < headers && mails[w].origin->uid < mails[h].origin->uid);
        merged.push_back(std::move(mails[take_whole ? w++ : h++]));
      }
      mails = std::move(merged);
    }
    return std::make_pair(std::move(mails), b.last_uid);
  };

  std::pair<std::vector<IncomingMail>, std::int64_t> batch;
  if (next < listed.size() && !stopping) batch = fetch(next_batch());
  while (batch.second > 0) {
    auto& [mails, through_uid] = batch;
    // The next batch comes over the IMAP connection while this one is parsed and stored: the
    // server and the store each get a core. The connection is used by one thread at a time:
    // the action on this batch waits until the next one is in.
    std::future<std::pair<std::vector<IncomingMail>, std::int64_t>> coming;
    if (next < listed.size() && !stopping) coming = std::async(std::launch::async, fetch, next_batch());
    r.fetched += static_cast<int>(mails.size());
    std::vector<std::int64_t> uids, stored;
    for (const auto& m : mails) {
      uids.push_back(m.origin->uid);
      if (m.too_large_bytes == 0) stored.push_back(m.origin->uid);  // a too-large mail stays untouched
    }
    auto results = breaker.ingest(mails, now());  // the batch's memory goes with it
    for (std::size_t i = 0; i < results.size(); ++i) log_result(c, uids[i], results[i], r);
    if (c.test.fault == "crash_after_commit") {
      log::warning("test fault crash_after_commit: killing the daemon after the COMMIT of UID {}", uid_set(uids));
      std::raise(SIGKILL);
    }
    if (committed) committed(r);
    auto done_through = through_uid;
    batch = {};
    if (coming.valid()) batch = coming.get();  // a failed fetch throws here, after this batch's COMMIT
    std::function<void(store::Transaction&)> record_next;
    if (!batch.first.empty()) record_next = [&](store::Transaction& tx) { breaker.record_next(tx, batch.first); };
    after_ingest(imap, st, c, stored, done_through, record_next);
  }
  return r;
}

PollResult poll_mailbox(Mailbox& imap, store::Store& st, const Config& config, const std::function<store::Time()>& now,
                        const std::atomic<bool>& stopping, const std::function<void(const PollResult&)>& committed) {
  Desk desk(config);
  return poll_mailbox(imap, st, desk, now, stopping, committed);
}

}  // namespace sd
