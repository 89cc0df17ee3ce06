"""End-to-end: mail queued by another process goes out at once. A mail piped through
`servicedesk ingest` (as an MTA delivers it) while `servicedesk run` is running gets its
acknowledgement accepted by the real SMTP server (aiosmtpd) within a few seconds, although
the daemon looks at its outbox by itself only once a minute: the ingest's commit wakes the
daemon's outbox through the socket beside the store (Store::listen_for_outbox).

The daemon's own outbox scan is 60 s and nothing else here makes it look: no mail comes in
over IMAP (that would wake the outbox itself), and each mail is piped well after the
daemon's first scan, so without the wake-up every acknowledgement would wait up to a minute
and the test fails. Also after a kill -9, whose socket file stays behind: the next daemon
replaces it.

Run: cd tests/e2e && SERVICEDESK_BIN=../../build/cli/servicedesk \\
     /usr/bin/python3 -m unittest -v test_outbox_wakeup
CI=true pipes fewer mails.
"""

from __future__ import annotations

import os
import pathlib
import stat
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mailstack import Daemon, MailStack, servicedesk_bin  # noqa: E402
from test_ingest import bare, make_mail  # noqa: E402

BIN = servicedesk_bin()
REQUIRE_BIN = os.environ.get("SERVICEDESK_REQUIRE_BIN") == "1"
CI = os.environ.get("CI") == "true"
MAILS = 2 if CI else 5
# Far below the daemon's own outbox scan (60 s), with room for a loaded machine.
PROMPT_S = 5.0
# After the daemon's start: its first outbox scan (at once) is over, the next is a minute away.
SETTLE_S = 2.0


@unittest.skipUnless(BIN.exists() or REQUIRE_BIN, f"servicedesk binary not built ({BIN})")
class OutboxWakeup(unittest.TestCase):
    def setUp(self):
        if not BIN.exists():
            self.fail(f"SERVICEDESK_REQUIRE_BIN=1 but {BIN} does not exist")
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop, wait=False)
        self.config = self.stack.write_config(self.stack.dir / "servicedesk.toml")
        self.store = self.stack.dir / "servicedesk.db"
        self.socket = pathlib.Path(str(self.store) + ".wake")
        self.daemon = Daemon(self.config, binary=BIN, stack=self.stack)

    def start_daemon(self):
        mark = self.daemon.log_mark()
        self.daemon.start()
        self.daemon.wait_until(lambda: "servicedesk starting" in self.daemon.log_since(mark), 30,
                               what="the daemon's start")
        self.daemon.wait_until(lambda: self.socket.is_socket(), 30, what="the wake-up socket")
        time.sleep(SETTLE_S)

    def ack_of(self, message_id: str):
        for m in self.stack.smtp_messages():
            if bare(str(m["In-Reply-To"] or "")) == message_id:
                return m
        return None

    def pipe_and_time(self, i: int) -> float:
        """Pipes one customer mail; seconds from the ingest's exit to the acknowledgement
        accepted by the SMTP server (fails after PROMPT_S)."""
        msgid = f"wake.{i}.{time.time_ns()}@kund.example"
        raw = make_mail(f"kund{i}@kund.example", f"Skrivaren {i} skriver inte", msgid)
        r = self.daemon.ingest(input=raw)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        piped = time.monotonic()
        deadline = piped + PROMPT_S
        while time.monotonic() < deadline:
            if self.ack_of(msgid) is not None:
                return time.monotonic() - piped
            time.sleep(0.02)
        self.fail(f"mail {i}: no acknowledgement within {PROMPT_S} s of the ingest (the outbox was not woken)\n"
                  f"--- daemon log:\n{self.daemon.log_tail()}")

    def test_a_piped_mail_is_acknowledged_within_seconds_not_at_the_next_scan(self):
        self.start_daemon()
        mode = stat.S_IMODE(self.socket.lstat().st_mode)
        self.assertEqual(mode, 0o660, f"the wake-up socket is mode {mode:o}")
        delays = []
        for i in range(MAILS):
            delays.append(self.pipe_and_time(i))
            time.sleep(SETTLE_S)  # each one on its own: no other mail's wake-up helps it along
        self.assertEqual(len(self.stack.smtp_messages()), MAILS)
        self.assertNotIn("goes out at the next scan", self.daemon.log_tail(200))
        self.assertEqual(self.daemon.stop(), 0)
        self.assertFalse(os.path.lexists(self.socket), "the daemon left its wake-up socket behind")
        sys.stderr.write(f"\n  ingest to acknowledgement: {', '.join(f'{d:.3f}' for d in delays)} s\n")

    def test_after_a_kill_9_the_next_daemon_replaces_the_stale_socket_and_is_woken(self):
        self.start_daemon()
        self.pipe_and_time(0)
        self.daemon.kill()
        self.assertTrue(self.socket.is_socket(), "kill -9 should leave the socket file behind")
        # Queued while no daemon runs: the commit does not wait for one.
        started = time.monotonic()
        msgid = f"while-down.{time.time_ns()}@kund.example"
        r = self.daemon.ingest(input=make_mail("nere@kund.example", "Medan ingen lyssnar", msgid))
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        self.assertLess(time.monotonic() - started, 10)
        self.start_daemon()  # its first scan sends the one queued meanwhile
        self.daemon.wait_until(lambda: self.ack_of(msgid), 30, what="the mail queued while no daemon ran")
        self.pipe_and_time(1)
        self.assertEqual(self.daemon.stop(), 0)


if __name__ == "__main__":
    unittest.main()
