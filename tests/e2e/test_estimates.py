"""End-to-end: an estimate the customer approves, on a real Dovecot and SMTP server.

The agent's `#estimate 2h TEXT` reaches the customer as the estimate mail, in their
organisation's language, with a Reply-To that carries the approval token; a forged "approve"
to the plain address changes nothing; the customer's "godkänn" on the first line of a reply
to that Reply-To approves it, and the agent gets a mail saying so.
"""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import Daemon, MailStack, plain_mail, servicedesk_bin  # noqa: E402

AGENT = "eva@example.com"
CUSTOMER = "anna@acme.se"


mail = plain_mail


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class EstimatesByMail(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop)
        secret = self.stack.token_secret()
        self.config = self.stack.write_config(
            agents={"token_secret_file": str(secret), "trusted_authserv_ids": ["mx.example.com"]})
        self.daemon = Daemon(self.config, stack=self.stack)
        for args in (["org", "add", "Acme", "--domain", "acme.se", "--language", "sv"],
                     ["contact", "add", "--org", "Acme", CUSTOMER, "--name", "Anna Berg"],
                     ["agent", "add", AGENT, "--name", "Eva Agent"]):
            r = self.daemon.cli(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.daemon.start()

    def mails_to(self, addr):
        return [m for m in self.stack.smtp_messages() if addr in str(m["To"])]

    def wait_for(self, addr, pick, what):
        return self.daemon.wait_until(lambda: [m for m in self.mails_to(addr) if pick(m)], 30, what=what)[0]

    def deliver_and_wait(self, raw, count):
        self.stack.deliver(raw)
        self.daemon.wait_until(lambda: self.daemon.show("SD-1")["message_count"] >= count, 30,
                               what=f"SD-1 to have {count} messages")

    def test_customer_approves_the_agents_estimate_by_reply(self):
        self.stack.deliver(mail(f"Anna Berg <{CUSTOMER}>", "servicedesk@example.com", "Nytt CRM-flöde",
                                "Kan ni bygga ett nytt flöde åt oss?\r\n", "c1@acme.se"))
        note = self.wait_for(AGENT, lambda m: "[SD-1]" in str(m["Subject"]), "agent notification")
        agent_address = re.search(r"servicedesk\+SD-1\.[0-9]+\.[0-9a-f]+@example\.com", str(note["Reply-To"])).group(0)

        self.deliver_and_wait(mail(f"Eva Agent <{AGENT}>", agent_address, "Re: [SD-1] Nytt CRM-flöde",
                                   "#estimate 2h Bygga flödet och testa det med er\r\n\r\nHej Anna,\r\n"
                                   "det är konsulttjänst.\r\n", "a1@example.com"), 4)
        estimate = self.wait_for(CUSTOMER, lambda m: "godkänna" in str(m["Subject"]), "estimate mail")
        body = estimate.get_content()
        self.assertIn("2h arbete: Bygga flödet och testa det med er", body)
        self.assertIn("det är konsulttjänst", body)
        self.assertIn("godkänn", body)
        self.assertIn("avböj", body)
        self.assertNotIn("#estimate", body)
        approve_address = re.search(r"servicedesk\+approve\.SD-1\.[0-9]+\.[0-9]+\.[0-9a-f]+@example\.com",
                                    str(estimate["Reply-To"]))
        self.assertIsNotNone(approve_address, str(estimate["Reply-To"]))
        t = self.daemon.show("SD-1")
        self.assertEqual((t["status"], t["sla"]), ("awaiting-approval", "paused"))

        # A forged approval to the plain address: kept as a reply, nothing approved.
        self.deliver_and_wait(mail(f"Anna Berg <{CUSTOMER}>", "servicedesk@example.com",
                                   "Re: [SD-1] Uppskattning att godkänna: Nytt CRM-flöde", "godkänn\r\n",
                                   "forged@acme.se"), 5)
        self.assertEqual(self.daemon.show("SD-1")["status"], "awaiting-approval")

        # The customer's answer to the estimate's Reply-To.
        self.deliver_and_wait(mail(f"Anna Berg <{CUSTOMER}>", approve_address.group(0),
                                   "Re: [SD-1] Uppskattning att godkänna: Nytt CRM-flöde",
                                   "Godkänn\r\n\r\nKör på!\r\n", "c2@acme.se",
                                   extra=f"In-Reply-To: {estimate['Message-ID']}\r\n"), 6)
        told = self.wait_for(AGENT, lambda m: "Estimate approved" in str(m["Subject"]), "approved mail to the agent")
        self.assertIn(CUSTOMER, str(told["Subject"]))
        self.assertIn("Kör på", told.get_content())
        self.assertRegex(str(told["Reply-To"]), r"servicedesk\+SD-1\.[0-9]+\.[0-9a-f]+@example\.com")
        self.assertEqual(self.daemon.show("SD-1")["status"], "open")
        estimates = self.daemon.cli_json("ticket", "estimates", "SD-1")
        self.assertEqual([(e["state"], e["answered_by"], e["answered_via"], e["minutes"]) for e in estimates],
                         [("approved", CUSTOMER, "mail", 120)])
        # show --json carries the same estimates.
        self.assertEqual([(e["state"], e["answered_by"], e["minutes"]) for e in self.daemon.show("SD-1")["estimates"]],
                         [("approved", CUSTOMER, 120)])
        # Only the one approval mail reached the agent (the forged one none).
        self.assertEqual(len([m for m in self.mails_to(AGENT) if "Estimate" in str(m["Subject"])]), 1)


if __name__ == "__main__":
    unittest.main()
