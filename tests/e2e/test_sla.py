"""End-to-end: the SLA clock on a real mail stack, with a clock the test controls.

The daemon's clock is the system clock plus `[test] clock_offset_s` (a documented test
aid); the test moves it forward by rewriting the config and sending SIGHUP, which also
re-arms the SLA timer. Business-time points are asked of `servicedesk sla due`, so the
test holds whatever day it runs on.
"""
import datetime
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import Daemon, MailStack, servicedesk_bin  # noqa: E402

AGENTS = "agents@example.com"
ESCALATION = "escalation@example.com"


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def mail(n, subject):
    return (f"From: Kund {n} <kund{n}@kund.dk>\r\nTo: servicedesk@example.com\r\n"
            f"Subject: {subject}\r\nMessage-ID: <sla{n}@kund.dk>\r\n"
            f"Date: Sun, 22 Nov 2026 07:00:00 +0100\r\n\r\nAlt er nede.\r\n").encode()


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class SlaClockEndToEnd(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop)
        self.offset = 0
        self.config = self.write_config()
        self.daemon = Daemon(self.config, stack=self.stack).start()

    def write_config(self):
        return self.stack.write_config(
            test={"fault": "", "clock_offset_s": self.offset},
            extra=f'\n[sla]\nagents_address = "{AGENTS}"\n\n'
                  f'[slas.standard]\ncalendar = "dk"\nescalation_address = "{ESCALATION}"\n')

    def move_clock_to(self, instant):
        """Sets the daemon's clock so that it now reads `instant` (epoch seconds)."""
        self.offset = int(instant - time.time())
        self.write_config()
        self.daemon.proc.send_signal(signal.SIGHUP)

    def sla_mails(self, ticket):
        return [m for m in self.stack.smtp_messages()
                if m["X-Servicedesk-Ticket"] == ticket and "SLA" in str(m["Subject"])]

    def business_point(self, start, hours):
        r = self.daemon.cli_json("sla", "due", "--calendar", "dk", "--start", start, "--hours", str(hours))
        return parse_time(r["due"])

    def open_ticket(self, n):
        self.stack.deliver(mail(n, f"System nede {n}"))
        ref = f"SD-{n}"
        self.daemon.wait_until(lambda: any(t["id"] == ref for t in self.daemon.tickets()), 30,
                               what=f"ticket {ref}")
        r = self.daemon.cli("ticket", "set", ref, "--priority", "highest", "--operator", "e2e")
        self.assertEqual(r.returncode, 0, r.stderr)
        return ref, self.daemon.show(ref)

    def test_highest_ticket_gets_warning_and_breach_once_each(self):
        ref, t = self.open_ticket(1)
        warn = self.business_point(t["created_at"], 0.75)
        due = self.business_point(t["created_at"], 1)
        self.assertEqual(parse_time(t["first_response_due"]), due)
        self.assertEqual(t["priority"], "highest")

        self.move_clock_to(warn - 120)
        time.sleep(3)
        self.assertEqual(self.sla_mails(ref), [], "warned before 75% of the target")
        self.assertEqual(self.daemon.show(ref)["sla"], "ok")

        self.move_clock_to(warn + 5)
        warnings = self.daemon.wait_until(lambda: self.sla_mails(ref), 20, what="SLA warning mail")
        self.assertEqual(len(warnings), 1)
        self.assertIn("SLA warning", str(warnings[0]["Subject"]))
        self.assertEqual(str(warnings[0]["To"]).strip("<>"), AGENTS)
        self.assertEqual(self.daemon.show(ref)["sla"], "warning")

        self.move_clock_to(due + 5)
        self.daemon.wait_until(lambda: len(self.sla_mails(ref)) == 2, 20, what="SLA breach mail")
        breach = self.sla_mails(ref)[1]
        self.assertIn("SLA breached", str(breach["Subject"]))
        self.assertEqual(str(breach["To"]).strip("<>"), ESCALATION)
        self.assertEqual(self.daemon.show(ref)["sla"], "breached")

        # A restart fires nothing twice.
        self.assertEqual(self.daemon.stop(), 0)
        self.daemon.start()
        time.sleep(4)
        self.assertEqual(len(self.sla_mails(ref)), 2)
        kinds = [e["kind"] for e in self.daemon.show(ref)["events"]]
        self.assertEqual(kinds.count("sla-warning"), 1)
        self.assertEqual(kinds.count("sla-breach"), 1)

    def test_pending_stops_the_clock(self):
        ref, t = self.open_ticket(1)
        due = self.business_point(t["created_at"], 1)
        r = self.daemon.cli("ticket", "set", ref, "--status", "pending", "--operator", "e2e")
        self.assertEqual(r.returncode, 0, r.stderr)
        paused = self.daemon.show(ref)
        self.assertEqual(paused["sla"], "paused")
        self.assertIsNone(paused["first_response_due"])

        # Well past the original due: no warning, no breach while the customer is awaited.
        self.move_clock_to(due + 3600)
        time.sleep(4)
        self.assertEqual(self.sla_mails(ref), [])
        self.assertEqual(self.daemon.show(ref)["sla"], "paused")

        # Back to open: the due moves out by the business time spent waiting.
        r = self.daemon.cli("ticket", "set", ref, "--status", "open", "--operator", "e2e")
        self.assertEqual(r.returncode, 0, r.stderr)
        resumed = self.daemon.show(ref)
        self.assertGreater(parse_time(resumed["first_response_due"]), due)
        self.assertIn(resumed["sla"], ("ok", "warning"))


if __name__ == "__main__":
    unittest.main()
