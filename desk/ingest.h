// desk/ingest.h: one raw mail in, one committed change out: the mail, the ticket it
// opens or joins, the acknowledgement it earns and the mailbox watermark, in a single
// store transaction.
//
// Contract: ingest() returns only after COMMIT (or after recognising a repeat); only then
// may the caller flag, move or delete the mail on the server. A repeat (same mailbox
// position, or same Message-ID and content) changes nothing but the watermark. A mail
// that will not parse is stored raw, flagged, and still becomes a ticket. Transient store
// failures propagate as store::StoreError (try again later); see ingest_batch for the rest.
#pragma once

#include "config/config.h"
#include "parser/parse.h"
#include "store/store.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sd {

class Desk;  // desk/desk.h

struct IngestResult {
  enum class Kind { created, joined, duplicate, rejected } kind = Kind::created;
  std::int64_t ticket_id = 0;  // 0 when a repeat had no ticket
  bool acknowledgement_queued = false;  // the customer's acknowledgement
  bool mail_queued = false;             // any mail at all (acknowledgement, notifications): wake the outbox
  std::string message_id;
  std::string note;  // why no acknowledgement, what the parser could not read
};

IngestResult ingest(store::Store& store, const Desk& desk, std::string_view raw,
                    const std::optional<store::MailOrigin>& origin, store::Time now);
// The same with a Desk built from `config` for this call (commands and tests; throws ConfigError).
IngestResult ingest(store::Store& store, const Config& config, std::string_view raw,
                    const std::optional<store::MailOrigin>& origin, store::Time now);

struct IncomingMail {
  std::string raw;
  std::optional<store::MailOrigin> origin;
  // > 0: the mail on the server is this many bytes, above limits.max_message_bytes, and was not
  // fetched whole: `raw` holds only its header (BODY.PEEK[HEADER]). It becomes a quarantined
  // ticket saying so, and the mail stays on the server untouched.
  std::int64_t too_large_bytes = 0;
};
// Several mails in one transaction (one COMMIT, one fsync), each handled exactly as ingest()
// would, in order; results in the same order. A transient store failure stores none of them
// and propagates. Any other failure is contained: the mails are taken one by one, and one that
// fails alone is stored raw and quarantined without a ticket (Kind::rejected), so a single bad
// mail can never block the mailbox.
std::vector<IngestResult> ingest_batch(store::Store& store, const Desk& desk, const std::vector<IncomingMail>& mails,
                                       store::Time now);
std::vector<IngestResult> ingest_batch(store::Store& store, const Config& config, const std::vector<IncomingMail>& mails,
                                       store::Time now);

// Stores a mail raw and quarantined, without a ticket or parsing, and passes the watermark over
// it: for a mail whose handling fails for good (a bug, a row the store refuses, a mail that
// killed the process while it was being handled). `servicedesk quarantine list` shows it with `why`.
IngestResult quarantine_unhandled(store::Store& store, std::string_view raw,
                                  const std::optional<store::MailOrigin>& origin, store::Time now,
                                  const std::string& why);

// A stored mail that has no ticket (it was set aside by quarantine_unhandled()), handled now as
// ingest() handles a new mail, in one transaction: `quarantine retry` on it. A mail that has a
// ticket is left as it is (Kind::duplicate).
IngestResult reingest(store::Store& store, const Desk& desk, std::int64_t raw_id, store::Time now);

// A parsed mail as the store keeps it (addresses lower case; the attachments' bytes move out
// of `m`, so a big attachment is held once). The caller sets ticket, direction and the rest.
store::MessageRecord message_record(parser::ParsedMail& m);

std::string ticket_ref(const Config& config, std::int64_t id);                     // 42 -> "SD-42"
std::optional<std::int64_t> parse_ticket_ref(const Config& config, std::string_view ref);  // "SD-42"/"42" -> 42
// The ticket number tagged in a subject ("[SD-42]"), if any.
std::optional<std::int64_t> ticket_tag_in(const Config& config, std::string_view subject);
// SHA-256 (hex) of the mail without the trace fields that differ between deliveries, its
// line ends read as LF (IMAP serves CRLF, an MTA's pipe hands over LF: the same mail).
std::string content_hash(std::string_view raw);
// The hash stores up to schema version 4 recorded: CRLF and LF told apart. Repeats of mails
// stored then are still recognised by it.
std::string content_hash_v4(std::string_view raw);

}  // namespace sd
