"""End-to-end: no single mail blocks the mailbox (issue 11, findings 7 and 2), with the real
servicedesk binary and a real Dovecot.

- A mail above limits.max_message_bytes is not fetched whole: its header becomes a
  quarantined ticket saying it is too large, it stays unseen in the INBOX, and the mail
  behind it is a ticket.
- A mail that kills the daemon while it is handled ([test] fault = "crash_on_subject:...",
  a SIGKILL before parsing, as a crash nobody foresaw would) is taken one by one after two
  deaths, and stored raw and quarantined after it kills the daemon alone; the daemon is
  restarted after each death as systemd's Restart= would, and the mail behind it is stored.

The hostile-server cases (huge literals, millions of `{0}`) need a server that misbehaves,
which Dovecot cannot be made to: they are unit tests with a scripted server
(tests/daemon/test_daemon_imap_session.cpp).

Run: cd tests/e2e && SERVICEDESK_BIN=../../build/cli/servicedesk \
     /usr/bin/python3 -m unittest -v test_imap_limits
The module takes about 15 s.
"""

from __future__ import annotations

import os
import pathlib
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mailstack import wait_until  # noqa: E402
from test_ingest import WAIT, EndToEnd, make_mail  # noqa: E402

CI = os.environ.get("CI") == "true"
QUIET = 1.5 if CI else 3.0  # how long "nothing more happens" is watched
MAX_MESSAGE_BYTES = 100_000


def peak_rss_mib(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


class TooLargeMail(EndToEnd):
    def write_config(self, **overrides):
        return super().write_config(limits={"max_message_bytes": MAX_MESSAGE_BYTES}, **overrides)

    def test_a_mail_above_max_message_bytes_is_a_quarantined_ticket_stays_unseen_on_the_server_and_the_mail_behind_it_is_stored(self):
        self.stack.deliver(make_mail("anna@kund.example", "Skrivaren", "big-1@kund.example"))
        self.stack.deliver(make_mail("carl@kund.example", "Loggar bifogade", "big-2@kund.example",
                                     body="loggrad\n" * 40_000))  # about 360 KB
        self.stack.deliver(make_mail("bo@kund.example", "VPN", "big-3@kund.example"))
        self.daemon.start()
        self.daemon.wait_until(lambda: len(self.tickets()) == 3, WAIT, what="three tickets")
        self.daemon.wait_until(lambda: "\\Seen" in dict(self.stack.imap_uids_and_flags())[3], WAIT,
                               what="the mail behind it flagged")

        by_subject = {t["subject"]: t for t in self.tickets()}
        self.assertEqual(set(by_subject), {"Skrivaren", "Loggar bifogade", "VPN"})
        big = self.daemon.show(by_subject["Loggar bifogade"]["id"])
        body = big["messages"][0]["body_text"]
        self.assertIn("more than limits.max_message_bytes (100000)", body)
        self.assertIn("stays on the IMAP server untouched", body)
        q = self.daemon.cli_json("quarantine", "list")
        self.assertEqual([e["ticket"] for e in q], [by_subject["Loggar bifogade"]["id"]], q)
        self.assertIn("too large to fetch", q[0]["problems"])
        raw = self.daemon.cli("quarantine", "show", str(q[0]["id"])).stdout
        self.assertIn(b"Subject: Loggar bifogade", raw)
        self.assertLess(len(raw), 4096, "only the header was fetched")
        self.assertIn("UID 2 of INBOX is", self.daemon.log_since())

        # On the server: still there, unseen; the mails around it seen.
        flags = dict(self.stack.imap_uids_and_flags())
        self.assertEqual(sorted(flags), [1, 2, 3])
        self.assertIn("\\Seen", flags[1])
        self.assertNotIn("\\Seen", flags[2])
        self.assertIn("\\Seen", flags[3])

        # Later passes and a restart leave it alone: no second ticket, still unseen.
        self.daemon.stop()
        self.daemon.start()
        time.sleep(QUIET)
        self.assertTrue(self.daemon.running())
        self.assertEqual(len(self.tickets()), 3)
        self.assertNotIn("\\Seen", dict(self.stack.imap_uids_and_flags())[2])
        self.assertLess(peak_rss_mib(self.daemon.pid), 200)


class CrashBreaker(EndToEnd):
    def write_config(self, **overrides):
        return super().write_config(test={"fault": "crash_on_subject:POISON"}, **overrides)

    def test_a_mail_that_kills_the_daemon_is_quarantined_raw_after_three_deaths_and_the_mails_around_it_are_stored(self):
        self.stack.deliver(make_mail("anna@kund.example", "Skrivaren", "crash-1@kund.example"))
        self.stack.deliver(make_mail("dora@kund.example", "POISON here", "crash-2@kund.example"))
        self.stack.deliver(make_mail("bo@kund.example", "VPN", "crash-3@kund.example"))
        # Restarted after each death, as Restart=on-failure would (without its 10 s wait),
        # until a start lives to store the mails.
        deaths = 0
        for _ in range(6):
            self.daemon.start()
            wait_until(lambda: not self.daemon.running() or len(self.tickets()) == 2, WAIT,
                       what="the daemon to die or store the mails")
            if self.daemon.running():
                break
            self.assertEqual(self.daemon.wait_exit(5), -9, self.daemon.log_tail())
            deaths += 1
        self.assertEqual(deaths, 3, self.daemon.log_tail())
        self.assertEqual({t["subject"] for t in self.tickets()}, {"Skrivaren", "VPN"})
        q = self.daemon.cli_json("quarantine", "list")
        self.assertEqual(len(q), 1, q)
        self.assertIsNone(q[0]["ticket"])
        self.assertIn("the daemon died 3 times while handling this mail", q[0]["problems"])
        self.assertIn(b"Subject: POISON here", self.daemon.cli("quarantine", "show", str(q[0]["id"])).stdout)
        log = self.daemon.log_since()
        self.assertIn("crash breaker: UID 2 of INBOX: the daemon died 3 times", log)
        self.daemon.wait_until(lambda: all("\\Seen" in f for _, f in self.stack.imap_uids_and_flags()), WAIT,
                               what="all three mails passed")
        time.sleep(QUIET)
        self.assertTrue(self.daemon.running())


if __name__ == "__main__":
    unittest.main()
