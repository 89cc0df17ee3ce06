"""End-to-end fault tests: the real servicedesk binary while its IMAP server, its SMTP
server, its disk or a second writer misbehave. Each test asserts what an operator would
check afterwards: every mail a ticket exactly once, every customer acknowledged exactly
once, nothing left unseen on the server, no busy loop while something is down.

The faulty SMTP server is tests/e2e/smtp_faults.py (MailStack.start_smtp(faulty=True));
the rest are real outages: Dovecot stopped and started on the same port, aiosmtpd
stopped, the store's file system (a small tmpfs) filled up, `servicedesk ingest` piped
concurrently with the daemon, a second `run` on the same store.

Checks read the CLI's JSON (`tickets`, `show`, `outbox list`), the SMTP server's Maildir
and journal, the IMAP flags (doveadm) and the daemon's log. The store is read behind the
daemon's back only for what no command shows: sent outbox rows (their attempts, through
MailStack.store_rows on either backend) and SQLite's PRAGMA integrity_check.

With SD_E2E_STORE=postgresql (CTest's e2e_faults_postgresql) the same tests run on a
PostgreSQL database; the full disk (SQLite's file on a tmpfs) and the second daemon (the
one-daemon rule is SQLite's: on PostgreSQL several share the store) are skipped there.

Run: cd tests/e2e && SERVICEDESK_BIN=../../build/cli/servicedesk \
     /usr/bin/python3 -m unittest -v test_faults
The whole module takes about two minutes; the long variants are in test_long_faults.
"""

from __future__ import annotations

import collections
import datetime
import errno
import os
import pathlib
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mailstack import Daemon, store_is_postgresql, wait_until  # noqa: E402
from test_ingest import EX_OK, EX_TEMPFAIL, WAIT, EndToEnd, addr, bare, make_mail  # noqa: E402

# A mail body of about 8 KB, a mail with a log excerpt: 300 of them take the daemon a
# second or so in batches of 10, so an outage started at the first ticket in the log
# lands mid-ingest.
BODY_8K = ("Skrivaren skriver ut tomma sidor sedan i morse, se loggen nedan.\n" * 125)


def customer_mails(n: int, tag: str, body: str = "Hej,\n\nDet fungerar inte.\n") -> dict[str, bytes]:
    """n mails from n different customers (user{i}@kund.example): Message-ID -> raw."""
    return {f"{tag}-{i}@kund.example": make_mail(f"user{i}@kund.example", f"Ärende {tag} {i}",
                                                 f"{tag}-{i}@kund.example", body=body)
            for i in range(1, n + 1)}


def senders_of(n: int) -> list[str]:
    return [f"user{i}@kund.example" for i in range(1, n + 1)]


def attempts_within(seconds: float, initial: float, maximum: float) -> int:
    """How many times a mail is tried within `seconds` of its first try when the wait
    doubles from `initial` up to `maximum` after each temporary failure."""
    t, n, wait = 0.0, 1, float(initial)
    while t + wait <= seconds:
        t += wait
        n += 1
        wait = min(wait * 2, maximum)
    return n


def cpu_allowance(seconds: float) -> float:
    """CPU seconds an idle daemon may use in `seconds` of wall time while a server is
    down: polling and retrying cost milliseconds; a busy loop costs a core."""
    return max(2.0, 0.02 * seconds)


def parse_time(rfc3339: str) -> float:
    return datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


class FaultTest(EndToEnd):
    """EndToEnd plus what the fault tests read."""

    def ack_counts(self) -> collections.Counter:
        """Recipient -> how many acknowledgements the SMTP server accepted for it."""
        return collections.Counter(addr(m["X-RcptTo"]) for m in self.stack.smtp_messages()
                                   if "[SD-" in str(m["Subject"]))

    def outbox(self) -> list[dict]:
        """`outbox list --json`: the pending and failed rows."""
        return self.daemon.cli_json("outbox", "list")

    def store_ro(self, path: pathlib.Path | None = None) -> sqlite3.Connection:
        """The SQLite store opened read-only, for what only SQLite has (integrity_check);
        store_rows() reads either backend."""
        path = path or self.stack.dir / "servicedesk.db"
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        self.addCleanup(db.close)
        return db

    def assert_stored_once(self, message_ids) -> None:
        where = self.stored_in()
        missing = sorted(set(message_ids) - where.keys())
        twice = {k: v for k, v in where.items() if len(v) != 1}
        extra = sorted(where.keys() - set(message_ids))
        self.assertEqual((missing, twice, extra), ([], {}, []),
                         "(not stored, stored more than once, stored but not delivered by the test)")

    def assert_acknowledged_once(self, senders) -> None:
        counts = self.ack_counts()
        self.assertEqual({a: n for a, n in counts.items() if n != 1}, {},
                         "customers acknowledged more than once")
        self.assertEqual(sorted(set(senders) - counts.keys()), [], "customers never acknowledged")
        self.assertEqual(sorted(counts.keys() - set(senders)), [], "acknowledgements to strangers")

    def assert_all_seen(self, timeout: float = 15) -> None:
        def unseen():
            return [u for u, flags in self.stack.imap_uids_and_flags() if "\\Seen" not in flags]
        try:
            self.wait_for(lambda: not unseen(), "every mail \\Seen on the server", timeout)
        except TimeoutError:
            left = unseen()
            self.fail(f"{len(left)} mail(s) stored but left unseen on the IMAP server: UIDs {left[:20]}"
                      f"{' ...' if len(left) > 20 else ''} (with after_ingest = \"seen\" the flag "
                      "must follow every COMMIT, also when the connection broke in between)")

    def wait_all_acknowledged(self, senders, timeout: float = WAIT) -> None:
        want = set(senders)
        self.wait_for(lambda: want <= self.ack_counts().keys(),
                      f"an acknowledgement to each of {len(want)} customers", timeout)


class ImapOutage(FaultTest):
    def test_dovecot_stopped_and_started_during_ingest_loses_and_doubles_nothing(self):
        n = 300
        mails = customer_mails(n, "imap", BODY_8K)
        # Small batches, so that "some but not all" is a state the mailbox passes through
        # whichever way the daemon fetches (one UID per request or ranges).
        self.write_config(imap={"batch_max_mails": 10})
        self.stack.deliver_many(mails.values())
        mark = self.daemon.log_mark()
        self.daemon.start()
        # The log names the first ticket the moment it is committed; the CLI would be late.
        wait_until(lambda: "ticket SD-" in self.daemon.log_since(mark) or not self.daemon.running(),
                   60, interval=0.005, what="the first ticket in the log")
        mark = self.daemon.log_mark()
        self.stack.stop_imap(abrupt=True)  # a crash: the daemon's session drops mid-fetch
        at_stop = len(self.tickets())
        sys.stderr.write(f"\n  Dovecot crashed with {at_stop} of {n} mails ticketed\n")
        self.assertLess(at_stop, n, "test setup: all mails were tickets before Dovecot stopped; "
                                    "the outage did not fall during ingest")
        time.sleep(5)
        self.assertTrue(self.daemon.running(), "the daemon died while the IMAP server was down")
        during = self.daemon.log_since(mark)
        self.assertRegex(during, r"(?m)^<[34]>.*IMAP", "no IMAP failure logged while Dovecot was down")
        self.stack.start_imap()

        self.wait_for(lambda: len(self.tickets()) >= n, f"{n} tickets after Dovecot came back "
                                                        f"({at_stop} were in at the stop)", 120)
        self.wait_all_acknowledged(senders_of(n), 60)
        self.assertTrue(self.stays(lambda: len(self.tickets()) == n and len(self.stack.smtp_messages()) == n),
                        f"{len(self.tickets())} tickets and {len(self.stack.smtp_messages())} "
                        f"acknowledgements for {n} mails")
        self.assert_stored_once(mails)
        self.assert_acknowledged_once(senders_of(n))
        self.assert_all_seen()
        self.stop_daemon()


class SmtpOutage(FaultTest):
    def test_smtp_down_mail_is_ticketed_retried_with_backoff_without_busy_loop_and_sent_once(self):
        # CI=true (CI's time budget): half the outage and half the cap, so that the backoff
        # still reaches its cap and retries at it (1, 2, 4, 4 s).
        initial, maximum, outage = (1, 4, 12.0) if os.environ.get("CI") == "true" else (1, 8, 24.0)
        self.write_config(smtp={"retry_initial_s": initial, "retry_max_s": maximum})
        self.stack.stop_smtp()
        first, second = customer_mails(8, "smtp-down"), {}
        for k in list(first)[4:]:
            second[k] = first.pop(k)
        self.daemon.start()
        self.stack.deliver_many(first.values())
        self.wait_for(lambda: len(self.tickets()) >= 4, "4 tickets while SMTP is down")
        cpu_before, t0 = self.daemon.cpu_seconds(), time.monotonic()
        time.sleep(outage / 2)
        self.stack.deliver_many(second.values())
        self.wait_for(lambda: len(self.tickets()) >= 8, "the later mails ticketed while SMTP is down")
        time.sleep(max(0.0, outage - (time.monotonic() - t0)))
        self.assertTrue(self.daemon.running(), "the daemon died while SMTP was down")
        cpu, elapsed = self.daemon.cpu_seconds() - cpu_before, time.monotonic() - t0

        rows = [o for o in self.outbox() if o["kind"] == "acknowledgement"]
        self.assertEqual(sorted(addr(r["recipients"][0]) for r in rows), senders_of(8),
                         "not every acknowledgement is waiting in the outbox")
        self.assertEqual({r["status"] for r in rows}, {"pending"})
        self.assertTrue(all(r["last_error"] for r in rows), f"a waiting row names no error: {rows}")
        most = max(r["attempts"] for r in rows)
        # The oldest rows were first tried up to a second before t0.
        bound = attempts_within(elapsed + 2, initial, maximum) + 1
        self.assertLessEqual(most, bound,
                             f"{most} attempts in {elapsed:.0f} s; backoff from {initial} s to {maximum} s "
                             f"allows at most {bound}")
        self.assertGreaterEqual(most, 3, f"only {most} attempt(s) in {elapsed:.0f} s: is it retrying at all?")
        now = time.time()
        late = [r for r in rows if parse_time(r["next_attempt_at"]) > now + maximum + 1]
        self.assertEqual(late, [], f"retries scheduled beyond retry_max_s = {maximum}")
        smtp_errors = [line for line in self.daemon.log_since(0).splitlines()
                       if line.startswith(("<3>", "<4>")) and "SMTP" in line]
        self.assertLessEqual(len(smtp_errors), bound * len(rows),
                             f"{len(smtp_errors)} SMTP error lines in {elapsed:.0f} s")
        self.assertLess(cpu, cpu_allowance(elapsed),
                        f"the daemon used {cpu:.2f} s of CPU in {elapsed:.0f} s of SMTP outage (a busy loop?)")
        sys.stderr.write(f"\n  smtp outage {elapsed:.0f} s: CPU {cpu:.2f} s, at most {most} attempts "
                         f"(bound {bound}), {len(smtp_errors)} SMTP error lines\n")

        self.stack.start_smtp()
        self.wait_all_acknowledged(senders_of(8), maximum + WAIT)
        self.assertTrue(self.stays(lambda: len(self.stack.smtp_messages()) == 8),
                        f"{len(self.stack.smtp_messages())} acknowledgements for 8 tickets")
        self.assert_acknowledged_once(senders_of(8))
        self.assertEqual(self.outbox(), [], "rows left in the outbox after SMTP came back")
        self.assertEqual(len(self.tickets()), 8)
        self.stop_daemon()


class SmtpTempfail(FaultTest):
    def setUp(self):
        super().setUp()
        self.stack.start_smtp(faulty=True)
        self.write_config(smtp={"retry_initial_s": 1, "retry_max_s": 2})

    def check_retried_then_sent_once(self, stage: str, tempfails: int):
        self.stack.smtp_control(tempfail_first=tempfails, tempfail_stage=stage)
        self.daemon.start()
        self.stack.deliver(make_mail("anna@kund.example", "Kan inte skriva ut", f"tf-{stage}@kund.example"))
        self.wait_for_ticket_count(1)
        self.wait_for(lambda: self.acks_to("anna@kund.example"), f"the acknowledgement after {tempfails} 451s")
        self.assertTrue(self.stays(lambda: len(self.stack.smtp_messages()) == 1),
                        f"{len(self.stack.smtp_messages())} mails accepted for one acknowledgement")
        self.assertEqual(self.stack.smtp_control_state().get("tempfail_first"), 0)
        answers = [(e["stage"], e["code"]) for e in self.stack.smtp_journal() if e["stage"] == stage]
        self.assertEqual(answers, [(stage, 451)] * tempfails + [(stage, 250)],
                         f"the server's answers at {stage}")

        ack_id = bare(str(self.acks_to("anna@kund.example")[0]["Message-ID"]))
        self.assertEqual(self.outbox(), [], "the acknowledgement is still listed as unsent")
        row = self.stack.store_rows("SELECT status, attempts, sent_at FROM outbox WHERE kind = 'acknowledgement'")
        self.assertEqual(len(row), 1)
        status, attempts, sent_at = row[0]
        self.assertEqual((status, attempts), ("sent", str(tempfails + 1)), "the outbox row: (status, attempts)")
        self.assertIsNotNone(sent_at)
        shown = self.daemon.show("SD-1")
        outs = [m for m in shown["messages"] if m["direction"] == "out"]
        self.assertEqual([bare(m["message_id"]) for m in outs], [ack_id],
                         "the ticket's outgoing message is not the one the server accepted")
        self.assertIn("acknowledgement-sent", [e["kind"] for e in shown["events"]])
        self.assertNotIn("delivery-failed", [e["kind"] for e in shown["events"]])
        self.stop_daemon()

    def test_451_to_data_twice_then_250_sends_the_acknowledgement_once(self):
        self.check_retried_then_sent_once("data", 2)

    def test_451_to_rcpt_twice_then_250_sends_the_acknowledgement_once(self):
        self.check_retried_then_sent_once("rcpt", 2)


class SmtpReject(FaultTest):
    def test_550_for_one_recipient_fails_that_row_once_and_others_are_delivered_once(self):
        bad = "bad@kund.example"
        self.stack.start_smtp(faulty=True)
        self.stack.smtp_control(reject_rcpt=[bad])
        self.write_config(smtp={"retry_initial_s": 1, "retry_max_s": 2})
        good = customer_mails(3, "rej")
        self.stack.deliver_many([make_mail(bad, "Fel adress", "rej-bad@kund.example"), *good.values()])
        self.daemon.start()
        self.wait_for_ticket_count(4)

        def failed_row():
            return [o for o in self.outbox() if o["status"] == "failed" and bad in o["recipients"]]
        row = self.wait_for(failed_row, "the refused acknowledgement to be marked failed")[0]
        self.assertIn("550", row["last_error"], f"the failure does not name the server's reply: {row}")
        ticket = row["ticket"]
        events = [e for e in self.daemon.show(ticket)["events"] if e["kind"] == "delivery-failed"]
        self.assertEqual(len(events), 1, f"delivery-failed events on {ticket}: {events}")

        # More customers in the same period; the failed row is not retried meanwhile.
        later = {f"rej-late-{i}@kund.example": make_mail(f"late{i}@kund.example", "Senare", f"rej-late-{i}@kund.example")
                 for i in (1, 2)}
        self.stack.deliver_many(later.values())
        customers = senders_of(3) + ["late1@kund.example", "late2@kund.example"]
        self.wait_all_acknowledged(customers)

        def bad_rcpts():
            return sum(1 for e in self.stack.smtp_journal() if e["stage"] == "rcpt" and bad in e["rcpt"])
        self.assertTrue(self.stays(lambda: bad_rcpts() == 1 and failed_row() and failed_row()[0]["attempts"] == row["attempts"],
                                   seconds=8),
                        f"the refused mail was tried again: {bad_rcpts()} RCPT TO <{bad}>, row now {failed_row()}")
        self.assertEqual(self.acks_to(bad), [])
        self.assert_acknowledged_once(customers)
        self.assertEqual([o for o in self.outbox() if o["status"] == "pending"], [])
        self.assertEqual(len([e for e in self.daemon.show(ticket)["events"] if e["kind"] == "delivery-failed"]), 1)
        self.stop_daemon()


class DiskFullScenario(FaultTest):
    """The store on a small tmpfs that a test fills up; no test of its own (the short
    one is DiskFull, a long one is in test_long_faults)."""

    def mount_small_store(self) -> pathlib.Path:
        mnt = self.stack.dir / "store-fs"
        mnt.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", str(mnt)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs for the store (needs root with CAP_SYS_ADMIN): "
                          f"{r.stderr.strip() or r.returncode}")
        self.addCleanup(self.unmount, mnt)
        return mnt

    def unmount(self, mnt: pathlib.Path) -> None:
        self.daemon.kill()  # the store's files must be closed
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)

    @staticmethod
    def fill(path: pathlib.Path) -> None:
        """Writes `path` until the file system has no block left."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            size = 1 << 20
            while size >= 512:
                try:
                    if os.write(fd, b"\0" * size) == 0:
                        break
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    size //= 2
        finally:
            os.close(fd)

    def check_full_disk(self, full_for: float, recover_within: float) -> None:
        """Ingests a few mails, fills the disk, delivers five more and keeps the disk full
        for `full_for` seconds: nothing may be stored, flagged or sent meanwhile. Then
        frees it: the five must be tickets within `recover_within` seconds, without a
        restart, each stored and acknowledged once."""
        mnt = self.mount_small_store()
        db = mnt / "servicedesk.db"
        self.write_config(store={"path": str(db)})
        early = customer_mails(3, "df-early")
        self.stack.deliver_many(early.values())
        self.daemon.start()
        self.wait_all_acknowledged(senders_of(3))
        self.wait_for(lambda: self.outbox() == [], "the acknowledgements recorded as sent")

        filler = mnt / "filler"
        self.fill(filler)
        filled_at = time.monotonic()
        st = os.statvfs(mnt)
        self.assertEqual(st.f_bavail, 0, "test setup: the tmpfs is not full")
        mark = self.daemon.log_mark()
        late = {f"df-late-{i}@kund.example": make_mail(f"late{i}@kund.example", f"Full disk {i}", f"df-late-{i}@kund.example")
                for i in range(1, 6)}
        self.stack.deliver_many(late.values())
        self.wait_for(lambda: "database or disk is full" in self.daemon.log_since(mark),
                      "the daemon to log why it takes no mail (SQLite: database or disk is full)")
        self.assertTrue(self.stays(lambda: self.daemon.running() and len(self.tickets()) == 3, seconds=5),
                        f"with the disk full: running {self.daemon.running()}, {len(self.tickets())} tickets (want 3)")
        flags = dict(self.stack.imap_uids_and_flags())
        self.assertEqual([u for u in range(4, 9) if "\\Seen" in flags.get(u, set())], [],
                         "mails not stored were flagged \\Seen on the server")
        self.assertEqual(sorted(flags), list(range(1, 9)))
        self.assertEqual(len(self.stack.smtp_messages()), 3, "mail sent while the store could not record it")
        time.sleep(max(0.0, full_for - (time.monotonic() - filled_at)))
        self.assertTrue(self.daemon.running(), "the daemon died with the disk full")
        self.assertEqual(os.statvfs(mnt).f_bavail, 0, "test setup: space came free on the full disk")
        self.assertEqual(len(self.tickets()), 3, "mail stored while the disk was full")

        filler.unlink()
        freed_at = time.monotonic()
        try:
            self.wait_for(lambda: len(self.tickets()) >= 8, "the mails to be stored once the disk has space again",
                          recover_within)
        except TimeoutError as exc:
            self.fail(f"after {freed_at - filled_at:.0f} s of full disk, not stored within {recover_within:.0f} s "
                      f"of space coming back (the daemon must look again at least every 30 s): {exc}")
        sys.stderr.write(f"\n  disk full for {freed_at - filled_at:.0f} s: mail stored "
                         f"{time.monotonic() - freed_at:.0f} s after space came back\n")
        customers = senders_of(3) + [f"late{i}@kund.example" for i in range(1, 6)]
        self.wait_all_acknowledged(customers)
        self.assertTrue(self.stays(lambda: len(self.tickets()) == 8 and len(self.stack.smtp_messages()) == 8),
                        f"{len(self.tickets())} tickets and {len(self.stack.smtp_messages())} acknowledgements for 8 mails")
        self.assert_stored_once(list(early) + list(late))
        self.assert_acknowledged_once(customers)
        self.assert_all_seen()
        self.stop_daemon()


@unittest.skipIf(store_is_postgresql(), "the full disk is SQLite's file on a tmpfs; a PostgreSQL server's disk "
                                        "is the operator's (its full disk is a transient error, store/pg_store.cpp)")
class DiskFull(DiskFullScenario):
    def test_store_on_a_full_disk_takes_no_mail_and_takes_it_all_once_space_is_back(self):
        # Long enough for a few failed passes: the daemon backs off, it does not give up.
        self.check_full_disk(full_for=15, recover_within=60)


class IngestRace(FaultTest):
    def test_same_mails_over_imap_and_piped_to_ingest_at_once_are_stored_once(self):
        n, threads = 200, 6
        mails = customer_mails(n, "race")
        self.stack.deliver_many(mails.values())
        # The MTA pipes them newest first, so pipe and poller meet in the middle.
        queue = list(mails.items())
        lock = threading.Lock()
        exits: collections.Counter = collections.Counter()
        printed: dict[str, str] = {}
        problems: list[str] = []

        def mta():
            while True:
                with lock:
                    if not queue:
                        return
                    mid, raw = queue.pop()
                for attempt in range(40):  # an MTA retries a 75 later; here soon
                    r = self.daemon.ingest(input=raw)
                    with lock:
                        exits[r.returncode] += 1
                    if r.returncode != EX_TEMPFAIL:
                        break
                    time.sleep(0.1 + 0.05 * attempt)
                with lock:
                    if r.returncode != EX_OK:
                        problems.append(f"{mid}: exit {r.returncode}: {r.stderr.decode(errors='replace').strip()}")
                    else:
                        printed[mid] = r.stdout.decode().strip()

        self.daemon.start()
        workers = [threading.Thread(target=mta, name=f"mta-{i}") for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(300)
        self.assertEqual(problems, [], "ingest failed")
        self.assertEqual(set(exits) - {EX_OK, EX_TEMPFAIL}, set(), f"ingest exit codes: {dict(exits)}")
        sys.stderr.write(f"\n  ingest exits: {dict(exits)}\n")

        self.wait_for(lambda: len(self.tickets()) >= n, f"{n} tickets")
        self.wait_all_acknowledged(senders_of(n), 60)
        self.assertTrue(self.stays(lambda: len(self.tickets()) == n and len(self.stack.smtp_messages()) == n),
                        f"{len(self.tickets())} tickets and {len(self.stack.smtp_messages())} acknowledgements "
                        f"for {n} mails")
        self.assert_stored_once(mails)
        where = self.stored_in()
        wrong = {mid: (printed.get(mid), where[mid]) for mid in mails if [printed.get(mid)] != where[mid]}
        self.assertEqual(wrong, {}, "ingest printed a ticket other than the one holding the mail")
        self.assert_acknowledged_once(senders_of(n))
        self.assert_all_seen()
        self.stop_daemon()
        if self.stack.store == "sqlite":
            self.assertEqual(self.store_ro().execute("PRAGMA integrity_check").fetchall(), [("ok",)])

    def test_same_mail_piped_with_lf_and_fetched_with_crlf_is_stored_once(self):
        # An MTA's pipe (Postfix pipe(8), procmail) hands over lines ending in LF; IMAP
        # serves the same mail with CRLF. Both are the same mail.
        n = 10
        mails = customer_mails(n, "eol")
        self.stack.deliver_many(mails.values())
        for mid, raw in mails.items():
            r = self.daemon.ingest(input=raw.replace(b"\r\n", b"\n"))
            self.assertEqual(r.returncode, EX_OK, f"{mid}: {r.stderr.decode(errors='replace')}")
        self.daemon.start()
        self.wait_all_acknowledged(senders_of(n))
        self.wait_for(lambda: all("\\Seen" in f for _, f in self.stack.imap_uids_and_flags()),
                      "the daemon's pass over the mailbox")
        self.assertTrue(self.stays(lambda: len(self.tickets()) == n),
                        f"{len(self.tickets())} tickets for {n} mails, each piped with LF and fetched over IMAP "
                        "with CRLF (does the content hash tell CRLF from LF?)")
        self.assert_stored_once(mails)
        self.assert_acknowledged_once(senders_of(n))
        self.stop_daemon()


@unittest.skipIf(store_is_postgresql(), "one daemon per store is SQLite's rule (a file lock); on PostgreSQL "
                                        "several daemons share the store under a mailbox lease")
class SecondDaemon(FaultTest):
    def test_second_run_on_the_same_store_exits_75_and_the_lock_dies_with_kill_9(self):
        store = self.stack.dir / "servicedesk.db"
        self.daemon.start()
        self.stack.deliver(make_mail("anna@kund.example", "Första", "two-1@kund.example"))
        self.wait_for(lambda: self.acks_to("anna@kund.example"), "the first daemon at work")

        second = Daemon(self.config, binary=self.daemon.binary, stack=self.stack,
                        log=self.stack.dir / "second-daemon.log")
        second.start()
        try:
            code = second.wait_exit(10)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            second.kill()
            self.fail("a second `servicedesk run` on the same store is still running after 10 s "
                      f"(it must refuse with exit 75):\n{second.log_tail()}")
        said = second.log_since(0)
        self.assertEqual(code, EX_TEMPFAIL, f"exit code of the second daemon:\n{said}")
        self.assertIn("already running", said)
        self.assertIn(str(store), said, "the refusal does not name the store")
        self.assertRegex(said, rf"\b{self.daemon.pid}\b", "the refusal does not name the running daemon's PID")

        self.assertTrue(self.daemon.running(), "the first daemon stopped when the second was refused")
        self.stack.deliver(make_mail("bo@kund.example", "Andra", "two-2@kund.example"))
        self.wait_for(lambda: self.acks_to("bo@kund.example"), "the first daemon still at work")

        self.daemon.kill()  # no chance to unlock: the kernel releases the flock
        third = Daemon(self.config, binary=self.daemon.binary, stack=self.stack,
                       log=self.stack.dir / "third-daemon.log")
        third.start()
        self.stack.deliver(make_mail("cecilia@kund.example", "Tredje", "two-3@kund.example"))
        third.wait_until(lambda: self.acks_to("cecilia@kund.example"),
                         what="a new daemon at work after kill -9 of the first")
        self.assertTrue(self.stays(lambda: third.running() and len(self.stack.smtp_messages()) == 3))
        self.assert_stored_once(["two-1@kund.example", "two-2@kund.example", "two-3@kund.example"])
        self.assertEqual(third.stop(), 0)


if __name__ == "__main__":
    unittest.main()
