"""End-to-end: how mail is fetched. IMAP IDLE wakes the fetch the moment Dovecot reports new
mail (the poll interval is set to a minute, so only IDLE can explain a quick ticket);
polling is the fallback; batches of a range fetch and the per-UID fallback store every mail
once and flag it only after the store has it.

Run: cd tests/e2e && SERVICEDESK_BIN=../../build/cli/servicedesk \\
     /usr/bin/python3 -m unittest -v test_idle
"""

from __future__ import annotations

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mailstack import IMAP_USER  # noqa: E402
from test_ingest import EndToEnd, addr, make_mail  # noqa: E402

SLOW_POLL = 60  # seconds: far longer than any wait below
QUICK = 5.0     # a mail must be a ticket this soon when IDLE works


class Idle(EndToEnd):
    def mail(self, n: int) -> bytes:
        return make_mail(f"kund{n}@kund.example", f"Ärende {n}", f"idle-{n}@kund.example")

    def start_and_take_first(self, **imap):
        """Starts the daemon with a slow poll and waits for the start's own pass to ticket a
        first mail, so that later mail can only come in through IDLE."""
        self.write_config(imap={"poll_interval_s": SLOW_POLL, **imap})
        self.stack.deliver(self.mail(0))
        self.daemon.start()
        self.wait_for_ticket_count(1)
        self.wait_for(lambda: "IMAP IDLE: watching" in self.daemon.log.read_text() or not imap.get("idle", True),
                      "the IDLE watcher to start")

    def seconds_to_ticket(self, n: int, timeout: float = QUICK) -> float:
        before = len(self.tickets())
        t0 = time.monotonic()
        self.stack.deliver(self.mail(n))
        self.wait_for(lambda: len(self.tickets()) > before, f"mail {n} to become a ticket", timeout)
        return time.monotonic() - t0

    def test_new_mail_becomes_a_ticket_at_once_although_the_poll_is_a_minute_away(self):
        self.start_and_take_first(idle=True)
        waits = [self.seconds_to_ticket(n) for n in range(1, 6)]
        self.assertLess(max(waits), QUICK, f"seconds from delivery to ticket: {waits}")
        # Each got its acknowledgement, once.
        self.wait_for(lambda: len(self.stack.smtp_messages()) == 6, "six acknowledgements")
        self.assertEqual(sorted(addr(m["X-RcptTo"]) for m in self.stack.smtp_messages()),
                         sorted(f"kund{n}@kund.example" for n in range(6)))
        self.stop_daemon()

    def test_without_idle_new_mail_waits_for_the_poll(self):
        self.start_and_take_first(idle=False)
        self.stack.deliver(self.mail(1))
        self.assertTrue(self.stays(lambda: len(self.tickets()) == 1, seconds=QUICK),
                        "a mail was fetched before the poll interval without IDLE")
        self.assertNotIn("IMAP IDLE: watching", self.daemon.log.read_text())
        self.stop_daemon()

    def test_idle_is_renewed_and_comes_back_after_the_imap_server_restarts(self):
        self.start_and_take_first(idle=True, idle_renew_s=10)
        time.sleep(12)  # past one renewal
        self.assertLess(self.seconds_to_ticket(1), QUICK, "no quick pickup after IDLE was renewed")
        # The server ends the session (as on its shutdown or an operator's kick), then goes away
        # for a while: the watcher reconnects with backoff (1, 2, 4 s ...) and fetches at once after.
        self.stack.doveadm("kick", IMAP_USER)
        self.stack.stop_imap()
        time.sleep(3)
        self.assertTrue(self.daemon.running(), "the daemon died with the IMAP server")
        self.stack.start_imap()
        self.wait_for(lambda: "IMAP IDLE: working again" in self.daemon.log.read_text(), "IDLE to reconnect", 20)
        self.assertLess(self.seconds_to_ticket(2), QUICK, "no quick pickup after IDLE reconnected")
        self.assertEqual(len(self.tickets()), 3)
        self.stop_daemon()


class Batches(EndToEnd):
    def deliver_and_check(self, count: int, **imap):
        self.write_config(imap=imap)
        mails = [make_mail(f"kund{n}@kund.example", f"Ärende {n}", f"batch-{n}@kund.example",
                           body=f"Hej,\n\nfel nummer {n}.\n" + "x" * (n * 97 % 4000)) for n in range(count)]
        self.stack.deliver_many(mails)
        self.daemon.start()
        self.wait_for(lambda: len(self.tickets()) >= count, f"{count} tickets")
        self.wait_for(lambda: len(self.stack.smtp_messages()) >= count, f"{count} acknowledgements")
        self.assertTrue(self.stays(lambda: len(self.tickets()) == count and len(self.stack.smtp_messages()) == count),
                        f"{len(self.tickets())} tickets and {len(self.stack.smtp_messages())} acknowledgements "
                        f"for {count} mails")
        where = self.stored_in()
        self.assertEqual(sorted(where), sorted(f"batch-{n}@kund.example" for n in range(count)))
        self.assertTrue(all(len(v) == 1 for v in where.values()), f"stored twice: {where}")
        flags = self.stack.imap_uids_and_flags()
        self.assertEqual(len(flags), count)
        self.assertTrue(all("\\Seen" in f for _, f in flags), "a stored mail was left unseen")
        self.stop_daemon()

    def test_a_backlog_in_several_range_batches_is_stored_once_each(self):
        self.deliver_and_check(40, fetch="range", batch_max_mails=7)

    def test_a_byte_limit_smaller_than_a_mail_fetches_one_mail_per_batch(self):
        self.deliver_and_check(12, fetch="range", batch_max_bytes=100)

    def test_the_per_uid_fallback_stores_every_mail_once(self):
        self.deliver_and_check(12, fetch="per_uid")


class LongBacklog(EndToEnd):
    def test_the_per_uid_fallback_takes_a_backlog_longer_than_one_answer_line(self):
        # libcurl cuts a response line at 16 KB: a one-line `* SEARCH` of 4,000 UIDs would lose
        # the rest silently, and the watermark would pass over them.
        count = 4000  # "* SEARCH 1 2 ... 4000" is about 19 KB
        self.write_config(imap={"fetch": "per_uid"}, smtp={"url": "smtp://127.0.0.1:1"})  # acks stay queued
        self.stack.deliver_many(make_mail(f"kund{n}@kund.example", f"Ärende {n}", f"long-{n}@kund.example")
                                for n in range(count))
        self.daemon.start()
        self.wait_for(lambda: len(self.tickets()) >= count, f"{count} tickets", 120)
        self.assertTrue(self.stays(lambda: len(self.tickets()) == count))
        flags = self.stack.imap_uids_and_flags()
        self.assertEqual(len(flags), count)
        self.assertTrue(all("\\Seen" in f for _, f in flags))
        status = self.daemon.cli_json("status")
        self.assertEqual(status["mailboxes"][0]["last_uid"], count, status["mailboxes"])
        self.stop_daemon()


class RangeFetchLeavesSeenAlone(EndToEnd):
    def test_a_mail_fetched_but_not_committed_stays_unseen(self):
        # crash_after_commit kills the daemon after the first batch's COMMIT, before the
        # \Seen flags: BODY.PEEK[] must not have set them on the fetch.
        self.write_config(test={"fault": "crash_after_commit"}, imap={"batch_max_mails": 2})
        self.stack.deliver_many([make_mail(f"kund{n}@kund.example", f"Ärende {n}", f"peek-{n}@kund.example")
                                 for n in range(4)])
        self.daemon.start()
        self.assertNotEqual(self.daemon.wait_exit(30), 0)
        flags = self.stack.imap_uids_and_flags()
        self.assertEqual(len(flags), 4)
        self.assertFalse(any("\\Seen" in f for _, f in flags), f"flags after a crash before flagging: {flags}")
        self.assertEqual(len(self.tickets()), 2, "the first batch of two was committed")
        self.write_config(imap={"batch_max_mails": 2})
        self.daemon.start()
        self.wait_for(lambda: len(self.tickets()) == 4, "the other two")
        # The store knows how far flagging got (done_uid): the two committed before the crash
        # are flagged on the next pass, the other two after their own COMMIT.
        self.wait_for(lambda: all("\\Seen" in f for _, f in self.stack.imap_uids_and_flags()), "all four \\Seen")
        self.assertTrue(self.stays(lambda: len(self.tickets()) == 4))
        self.stop_daemon()


if __name__ == "__main__":
    unittest.main()
