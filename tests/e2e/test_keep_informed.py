"""End-to-end: keeping customers informed on long cases (issue 16), on a real Dovecot and
SMTP server, checking what each person receives.

A ticket that had no mail from a person at the desk for its SLA's `customer_update_hours`
(one business hour here): its requester gets its status with the agent's last words to them,
never the agent's internal note, once, also across a restart. An organisation in hypercare
(begun eight days ago, two weeks long): its account agent is asked to confirm or extend a
week before the end, and its contact gets the first week's summary, each once.

The daemon's clock is moved as in test_sla.py: `[test] clock_offset_s` rewritten, then SIGHUP;
business-time points are asked of `servicedesk sla due`, so the test holds whatever day it
runs on. About 15 s.
"""
import datetime
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import Daemon, MailStack, servicedesk_bin  # noqa: E402

EVA = "eva@example.com"
CUSTOMER = "kund1@kund.dk"


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def utc(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class KeepingCustomersInformed(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop)
        self.offset = 0
        self.config = self.write_config()
        self.daemon = Daemon(self.config, stack=self.stack)

    def write_config(self):
        return self.stack.write_config(
            test={"fault": "", "clock_offset_s": self.offset},
            extra='\n[slas.standard]\ncalendar = "dk"\ncustomer_update_hours = { medium = 1 }\n')

    def move_clock_to(self, instant):
        self.offset = int(instant - time.time())
        self.write_config()
        self.daemon.proc.send_signal(signal.SIGHUP)

    def cli_ok(self, *args):
        r = self.daemon.cli(*args)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return r.stdout.decode()

    def received(self, to, subject_part):
        return [m for m in self.stack.smtp_messages()
                if to in str(m["To"]) and subject_part in str(m["Subject"])]

    def test_the_customer_hears_of_a_silent_case_and_hypercare_asks_and_summarises(self):
        start = datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=8)
        self.cli_ok("agent", "add", EVA, "--name", "Eva Ek")
        self.cli_ok("org", "add", "Kund AB", "--domain", "kund.dk", "--language", "en",
                    "--hypercare-start", start.isoformat(), "--hypercare-weeks", "2")
        self.cli_ok("contact", "add", "--org", "Kund AB", CUSTOMER, "--name", "Kim Kund")
        self.cli_ok("org", "set", "Kund AB", "--account-agent", EVA)
        self.daemon.start()

        # Hypercare: the end is six days away, so the account agent is asked at once; the
        # first week is over, so the contact has its summary.
        asked = self.daemon.wait_until(lambda: self.received(EVA, "Hypercare of Kund AB ends"), 20,
                                       what="the account agent asked to confirm or extend")
        body = asked[0].get_body().get_content()
        self.assertIn("servicedesk org hypercare extend 'Kund AB' --weeks N", body)
        self.assertIn("servicedesk org hypercare end 'Kund AB'", body)
        summary = self.daemon.wait_until(lambda: self.received(CUSTOMER, "Hypercare: Kund AB's cases"), 20,
                                         what="the weekly summary")
        self.assertIn("Hello Kim,", summary[0].get_body().get_content())

        # A case, answered once, then an internal note: the silence starts with the answer.
        self.stack.deliver(
            (f"From: Kim Kund <{CUSTOMER}>\r\nTo: servicedesk@example.com\r\nSubject: Exporten är tom\r\n"
             f"Message-ID: <ki1@kund.dk>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0100\r\n\r\n"
             f"Exporten ger en tom fil.\r\n").encode())
        self.daemon.wait_until(lambda: any(t["id"] == "SD-1" for t in self.daemon.tickets()), 30, what="SD-1")
        self.cli_ok("ticket", "reply", "SD-1", "--agent", EVA, "--text", "We have found the cause in the export job.")
        answered = time.time()
        self.cli_ok("ticket", "note", "SD-1", "--agent", EVA, "--text", "INTERNAL: customer is on a trial licence")
        due = parse_time(self.daemon.cli_json("sla", "due", "--calendar", "dk", "--start", utc(answered),
                                              "--hours", "1")["due"])
        self.assertEqual(self.received(CUSTOMER, "Status of your case"), [], "told before the silence was over")

        self.move_clock_to(due + 5)
        update = self.daemon.wait_until(lambda: self.received(CUSTOMER, "Status of your case"), 20,
                                        what="the customer update")
        self.assertEqual(len(update), 1)
        text = update[0].get_body().get_content()
        self.assertIn("[SD-1]", str(update[0]["Subject"]))
        self.assertIn("is open and being worked on", text)
        self.assertIn("> We have found the cause in the export job.", text)
        self.assertIn("Eva Ek", text)
        self.assertNotIn("INTERNAL", text)
        self.assertNotIn("trial licence", text)
        self.assertEqual(str(update[0]["Auto-Submitted"]), "auto-generated")

        # A restart fires nothing twice.
        self.assertEqual(self.daemon.stop(), 0)
        self.daemon.start()
        time.sleep(3)
        self.assertEqual(len(self.received(CUSTOMER, "Status of your case")), 1)
        self.assertEqual(len(self.received(EVA, "Hypercare of Kund AB ends")), 1)
        self.assertEqual(len(self.received(CUSTOMER, "Hypercare: Kund AB's cases")), 1)
        events = [e for e in self.daemon.show("SD-1")["events"] if e["kind"] == "customer-notified"]
        self.assertEqual([e["detail"] for e in events].count("customer-update"), 1)


if __name__ == "__main__":
    unittest.main()
