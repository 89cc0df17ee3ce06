"""End-to-end: delivery is per recipient, on a real Dovecot and a real SMTP server that
refuses chosen recipients (tests/e2e/smtp_faults.py: 550 for reject_rcpt, 450 for
tempfail_rcpt).

A ticket's answer goes to the requester and the colleagues on its Cc list. One colleague's
address that the server refuses for good (550) must not cost the others their mail: they
get it once, and the ticket records the refusal for that address alone. An address the
server cannot take just now (450) gets the same mail later, alone: the others do not get it
twice. What each person received is read from the SMTP server's Maildir and journal; what
the ticket says from `show --json`, what waits from `outbox list --json`.

Run: cd tests/e2e && SERVICEDESK_BIN=../../build/cli/servicedesk \
     /usr/bin/python3 -m unittest -v test_delivery
"""
import email.utils
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import Daemon, MailStack, servicedesk_bin  # noqa: E402

CUSTOMER = "anna@acme.se"
COLLEAGUE = "carl@acme.se"
MOVED = "dora@acme.se"  # a contact whose mailbox is gone: 550
WAIT = 60 if os.environ.get("CI") == "true" else 30


def customer_mail(msgid, cc):
    return (f"From: Anna Berg <{CUSTOMER}>\r\nTo: servicedesk@example.com\r\nCc: {cc}\r\n"
            f"Subject: Skrivaren skriver tomma sidor\r\nMessage-ID: <{msgid}>\r\n"
            "Date: Wed, 02 Dec 2026 09:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "Hej,\r\n\r\nskrivaren på plan 3 skriver bara tomma sidor.\r\n\r\nAnna\r\n").encode()


def envelope(msg):
    return [a.lower() for _, a in email.utils.getaddresses([str(msg["X-RcptTo"] or "")])]


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class PerRecipientDelivery(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop)
        self.stack.start_smtp(faulty=True)
        self.config = self.stack.write_config(smtp={"retry_initial_s": 1, "retry_max_s": 2})
        self.daemon = Daemon(self.config, stack=self.stack)
        for args in (["org", "add", "Acme", "--domain", "acme.se", "--language", "sv"],
                     ["contact", "add", "--org", "Acme", CUSTOMER, "--name", "Anna Berg"],
                     ["contact", "add", "--org", "Acme", COLLEAGUE, "--name", "Carl Ek"],
                     ["contact", "add", "--org", "Acme", MOVED, "--name", "Dora Lund"]):
            r = self.daemon.cli(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.daemon.start()
        self.stack.deliver(customer_mail("c1@acme.se", f"Carl Ek <{COLLEAGUE}>, Dora Lund <{MOVED}>"))
        self.daemon.wait_until(lambda: self.daemon.tickets(), WAIT, what="SD-1")
        # Whatever the acknowledgement went to, it is out before the server starts refusing.
        self.daemon.wait_until(lambda: self.received_by(CUSTOMER), WAIT, what="the acknowledgement")
        self.daemon.wait_until(lambda: not self.pending(), WAIT, what="an empty outbox")

    def received_by(self, address):
        return [m for m in self.stack.smtp_messages() if address in envelope(m)]

    def resolutions_to(self, address):
        return [m for m in self.received_by(address) if "Fixat" in m.get_body(("plain",)).get_content()]

    def pending(self):
        return [o for o in self.daemon.cli_json("outbox", "list") if o["status"] == "pending"]

    def delivery_failures(self):
        return [e for e in self.daemon.show("SD-1")["events"] if e["kind"] == "delivery-failed"]

    def resolve(self):
        r = self.daemon.cli("ticket", "set", "SD-1", "--status", "resolved", "--text", "Fixat: tonern var slut.")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_a_recipient_refused_with_550_does_not_cost_the_others_their_mail(self):
        self.stack.smtp_control(reject_rcpt=[MOVED])
        self.resolve()
        self.daemon.wait_until(lambda: self.resolutions_to(CUSTOMER) and self.resolutions_to(COLLEAGUE), WAIT,
                               what="the resolution at the requester and the colleague")
        self.daemon.wait_until(self.delivery_failures, WAIT, what="the refusal on the ticket")
        [mail] = self.resolutions_to(CUSTOMER)
        self.assertEqual(sorted(envelope(mail)), sorted([CUSTOMER, COLLEAGUE]), "one mail to both")
        self.assertIn(COLLEAGUE, str(mail["Cc"]))
        self.assertEqual(self.resolutions_to(MOVED), [])
        failures = self.delivery_failures()
        self.assertEqual(len(failures), 1, failures)
        self.assertIn(MOVED, failures[0]["detail"])
        self.assertIn("550", failures[0]["detail"])
        self.assertNotIn(CUSTOMER, failures[0]["detail"])
        self.assertNotIn(COLLEAGUE, failures[0]["detail"])
        self.assertEqual(self.pending(), [], "nothing waits: the refused address is not tried again")
        rcpts = [e for e in self.stack.smtp_journal() if e["stage"] == "rcpt" and MOVED in e["rcpt"]]
        self.assertEqual([e["code"] for e in rcpts][-1:], [550])
        self.assertEqual(len(self.resolutions_to(CUSTOMER)), 1)
        self.assertEqual(len(self.resolutions_to(COLLEAGUE)), 1)

    def test_a_recipient_refused_with_450_gets_the_same_mail_later_alone(self):
        self.stack.smtp_control(tempfail_rcpt=[COLLEAGUE])
        self.resolve()
        self.daemon.wait_until(lambda: self.resolutions_to(CUSTOMER), WAIT, what="the resolution at the requester")
        [waiting] = self.daemon.wait_until(self.pending, WAIT, what="the row waiting for the colleague")
        self.assertEqual(waiting["recipients"], [COLLEAGUE])
        self.assertEqual(self.resolutions_to(COLLEAGUE), [])
        self.stack.smtp_control()  # the colleague's server takes mail again
        self.daemon.wait_until(lambda: self.resolutions_to(COLLEAGUE), WAIT, what="the resolution at the colleague")
        self.daemon.wait_until(lambda: not self.pending(), WAIT, what="an empty outbox")
        [first] = self.resolutions_to(CUSTOMER)
        [later] = self.resolutions_to(COLLEAGUE)
        self.assertEqual(envelope(later), [COLLEAGUE], "the retry went to the colleague alone")
        self.assertEqual(first["Message-ID"], later["Message-ID"])
        self.assertEqual(len(self.resolutions_to(CUSTOMER)), 1, "the requester got it twice")
        self.assertEqual(len(self.resolutions_to(MOVED)), 1)
        self.assertEqual(self.delivery_failures(), [])


if __name__ == "__main__":
    unittest.main()
