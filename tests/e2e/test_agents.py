"""End-to-end: agents work tickets by mail on a real Dovecot and SMTP server.

A customer's mail reaches the agents with a Reply-To that carries the ticket and a token;
the agent's reply to it, with commands on its first lines, changes the ticket and goes to
the customer. Forged agent mail and foreign ticket tags change nothing of the ticket.
"""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import Daemon, MailStack, plain_mail, servicedesk_bin  # noqa: E402

AGENT = "eva@example.com"
CUSTOMER = "anna@acme.se"


mail = plain_mail


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class AgentsByMail(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop)
        secret = self.stack.token_secret()
        self.config = self.stack.write_config(
            agents={"token_secret_file": str(secret), "trusted_authserv_ids": ["mx.example.com"]},
            intake={"unknown_sender": "accept"})
        self.daemon = Daemon(self.config, stack=self.stack)
        for args in (["org", "add", "Acme", "--domain", "acme.se"],
                     ["org", "add", "Beta", "--domain", "beta.dk", "--language", "da"],
                     ["contact", "add", "--org", "Acme", CUSTOMER, "--name", "Anna Berg"],
                     ["contact", "add", "--org", "Beta", "bo@beta.dk", "--name", "Bo"],
                     ["agent", "add", AGENT, "--name", "Eva Agent"]):
            r = self.daemon.cli(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.daemon.start()

    # --- helpers ---------------------------------------------------------------
    def mails_to(self, addr):
        return [m for m in self.stack.smtp_messages() if addr in str(m["To"])]

    def wait_mails_to(self, addr, n, what):
        return self.daemon.wait_until(lambda: len(self.mails_to(addr)) >= n and self.mails_to(addr), 30, what=what)

    def ticket(self, ref="SD-1"):
        return self.daemon.show(ref)

    def deliver_and_wait(self, raw, ref, count):
        self.stack.deliver(raw)
        self.daemon.wait_until(lambda: self.ticket(ref)["message_count"] >= count, 30,
                               what=f"{ref} to have {count} messages")

    # --- tests -----------------------------------------------------------------
    def test_agent_works_ticket_by_replying_to_the_notification(self):
        self.stack.deliver(mail(f"Anna Berg <{CUSTOMER}>", "servicedesk@example.com", "Skrivaren är trasig",
                                "Skrivaren på plan 3 skriver inte ut.\r\n#priority highest\r\n", "c1@acme.se"))
        note = self.wait_mails_to(AGENT, 1, "agent notification")[0]
        self.assertIn("[SD-1]", str(note["Subject"]))
        body = note.get_content()
        self.assertIn(CUSTOMER, body)
        self.assertIn("Acme", body)
        self.assertIn("Skrivaren på plan 3", body)
        reply_to = str(note["Reply-To"])
        m = re.search(r"servicedesk\+SD-1\.([0-9]+\.[0-9a-f]+)@example\.com", reply_to)
        self.assertIsNotNone(m, reply_to)
        agent_address = m.group(0)
        t = self.ticket()
        self.assertEqual(t["priority"], "medium", "a customer's mail set the priority")
        self.assertEqual(t["organisation"], "Acme")

        # The agent answers with commands: the text goes to the customer.
        self.deliver_and_wait(mail(f"Eva Agent <{AGENT}>", agent_address, "Re: [SD-1] Skrivaren är trasig",
                                   "#priority high\r\n#category incident\r\n#time 1h30m\r\n\r\n"
                                   "Vi byter tonern i eftermiddag.\r\n\r\nEva\r\n", "a1@example.com"),
                              "SD-1", 4)
        to_customer = self.daemon.wait_until(
            lambda: [x for x in self.mails_to(CUSTOMER) if "arbeta" in str(x["Subject"]).lower()
                     or "working" in str(x["Subject"]).lower()], 30, what="started mail to the customer")
        started = to_customer[0]
        self.assertIn("Vi byter tonern", started.get_content())
        self.assertIn("Eva Agent", str(started["From"]))
        self.assertNotIn("#priority", started.get_content())
        t = self.ticket()
        self.assertEqual((t["status"], t["priority"], t["category"], t["time_spent_s"]),
                         ("open", "high", "incident", 5400))
        self.assertIsNotNone(t["first_response_at"])

        # Pending: the customer is asked, the clock stops.
        self.deliver_and_wait(mail(AGENT, agent_address, "Re: [SD-1]", "#status pending\r\nVilken modell är det?\r\n",
                                   "a2@example.com"), "SD-1", 6)
        waiting = self.daemon.wait_until(
            lambda: [x for x in self.mails_to(CUSTOMER) if "väntar" in str(x["Subject"]).lower()
                     or "waiting" in str(x["Subject"]).lower()], 30, what="waiting mail")[0]
        self.assertIn("Vilken modell", waiting.get_content())
        t = self.ticket()
        self.assertEqual((t["status"], t["sla"]), ("pending", "paused"))

        # The customer's answer opens it again and reaches the agent.
        notes_before = len(self.mails_to(AGENT))
        self.deliver_and_wait(mail(CUSTOMER, "servicedesk@example.com", "Re: [SD-1] Skrivaren är trasig",
                                   "Det är en HP 4250.\r\n", "c2@acme.se",
                                   extra=f"In-Reply-To: <{waiting['Message-ID'].strip('<>')}>\r\n"), "SD-1", 7)
        self.assertEqual(self.ticket()["status"], "open")
        self.wait_mails_to(AGENT, notes_before + 1, "customer-reply notification")

        # Resolved, with the resolution.
        self.deliver_and_wait(mail(AGENT, agent_address, "Re: [SD-1]", "#resolve\r\nTonern är bytt.\r\n",
                                   "a3@example.com"), "SD-1", 8)
        resolved = self.daemon.wait_until(
            lambda: [x for x in self.mails_to(CUSTOMER) if "löst" in str(x["Subject"]).lower()
                     or "resolved" in str(x["Subject"]).lower()], 30, what="resolved mail")[0]
        self.assertIn("Tonern är bytt", resolved.get_content())
        t = self.ticket()
        self.assertEqual(t["status"], "resolved")
        self.assertIsNotNone(t["resolved_at"])
        kinds = [e["kind"] for e in t["events"]]
        for k in ("priority", "category", "time", "status", "reply"):
            self.assertIn(k, kinds)

    def test_unknown_command_applies_nothing_and_tells_the_agent(self):
        self.stack.deliver(mail(CUSTOMER, "servicedesk@example.com", "Help", "Hjälp\r\n", "c1@acme.se"))
        note = self.wait_mails_to(AGENT, 1, "agent notification")[0]
        agent_address = re.search(r"servicedesk\+SD-1\.[0-9]+\.[0-9a-f]+@example\.com", str(note["Reply-To"])).group(0)
        customer_mails = len(self.mails_to(CUSTOMER))
        self.deliver_and_wait(mail(AGENT, agent_address, "Re: [SD-1] Help",
                                   "#priority high\r\n#stauts pending\r\nHello\r\n", "a1@example.com"), "SD-1", 3)
        error = self.daemon.wait_until(
            lambda: [x for x in self.mails_to(AGENT) if "Not applied" in str(x["Subject"])], 30,
            what="command error mail")[0]
        self.assertIn("#stauts pending", error.get_content())
        t = self.ticket()
        self.assertEqual((t["priority"], t["status"]), ("medium", "new"))
        time.sleep(2)
        self.assertEqual(len(self.mails_to(CUSTOMER)), customer_mails)

    def test_forged_agent_mail_changes_nothing(self):
        self.stack.deliver(mail(CUSTOMER, "servicedesk@example.com", "Help", "Hjälp\r\n", "c1@acme.se"))
        self.wait_mails_to(AGENT, 1, "agent notification")
        customer_mails = len(self.mails_to(CUSTOMER))
        # Right From, no token: to the plain address with the tag, and to a plus-address with a made-up token.
        self.deliver_and_wait(mail(AGENT, "servicedesk@example.com", "Re: [SD-1] Help",
                                   "#status closed\r\n#priority lowest\r\n", "f1@example.com"), "SD-1", 3)
        self.deliver_and_wait(mail(AGENT, "servicedesk+SD-1.00000000000000000000@example.com", "Re: [SD-1] Help",
                                   "#status closed\r\n#priority lowest\r\nForged answer\r\n", "f2@example.com"),
                              "SD-1", 4)
        t = self.ticket()
        self.assertEqual((t["status"], t["priority"]), ("new", "medium"))
        self.assertIn("security", [e["kind"] for e in t["events"]])
        time.sleep(2)
        self.assertEqual(len(self.mails_to(CUSTOMER)), customer_mails, "forged mail reached the customer")

    def test_forged_authentication_results_make_nobody_an_agent(self):
        self.stack.deliver(mail(CUSTOMER, "servicedesk@example.com", "Help", "Hjälp\r\n", "c1@acme.se"))
        self.wait_mails_to(AGENT, 1, "agent notification")
        customer_mails = len(self.mails_to(CUSTOMER))
        forged = [
            # The MTA's real verdict on top, the sender's forgery below it.
            "Authentication-Results: mx.example.com; dmarc=fail header.from=example.com\r\n"
            "Authentication-Results: mx.example.com; dmarc=pass header.from=example.com\r\n",
            "Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=dmarc=pass@evil.example\r\n",
            "Authentication-Results: mx.example.com; dkim=pass header.d=example.com_x.evil.example\r\n",
            "Authentication-Results: mx.example.com; dkim=pass header.i=example.com@evil.example\r\n",
        ]
        for i, headers in enumerate(forged):
            self.deliver_and_wait(mail(f"Eva Agent <{AGENT}>", "servicedesk+SD-1.garbage@example.com",
                                       "Re: [SD-1] Help", "#status resolved\r\n#priority lowest\r\n#assign me\r\n\r\n"
                                       "Forged answer\r\n", f"forged{i}@example.com", extra=headers), "SD-1", 3 + i)
        t = self.ticket()
        self.assertEqual((t["status"], t["priority"], t["assignee"]), ("new", "medium", None))
        # The agent hears of it at the registered address (at most 3 an hour).
        self.daemon.wait_until(lambda: [x for x in self.mails_to(AGENT) if "not applied" in str(x["Subject"])], 30,
                               what="the agent told of the forged mail")
        time.sleep(2)
        self.assertEqual(len(self.mails_to(CUSTOMER)), customer_mails, "forged mail reached the customer")

    def test_outsider_on_a_plus_address_joins_no_foreign_ticket(self):
        self.stack.deliver(mail(CUSTOMER, "servicedesk@example.com", "Acme secret", "Privat\r\n", "c1@acme.se"))
        self.daemon.wait_until(lambda: len(self.daemon.tickets()) == 1, 30, what="SD-1")
        # Bo of Beta Cc's SD-1's plus-address, then answers with its tag.
        self.stack.deliver(mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Hello", "Let me in\r\n", "b1@beta.dk",
                                extra="Cc: servicedesk+SD-1.0000@example.com\r\n"))
        self.daemon.wait_until(lambda: len(self.daemon.tickets()) == 2, 30, what="Bo's own ticket")
        self.stack.deliver(mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Re: [SD-1] Acme secret",
                                "Now I am on the thread\r\n", "b2@beta.dk"))
        self.daemon.wait_until(lambda: len(self.daemon.tickets()) == 3, 30, what="a third ticket")
        t = self.ticket("SD-1")
        self.assertEqual(t["message_count"], 2, "Bo's mail joined Acme's ticket")
        self.assertEqual(t["status"], "new")
        self.assertIn("security", [e["kind"] for e in self.ticket("SD-2")["events"]])
        on_sd1 = [x for x in self.mails_to(AGENT) if str(x["Subject"]).startswith("[SD-1]")]
        self.assertEqual([x for x in on_sd1 if "Let me in" in x.get_content() or "Now I am" in x.get_content()], [],
                         "agents were told Bo's words on SD-1")

    def test_foreign_ticket_tag_opens_a_new_ticket(self):
        self.stack.deliver(mail(CUSTOMER, "servicedesk@example.com", "Acme secret", "Privat\r\n", "c1@acme.se"))
        self.daemon.wait_until(lambda: len(self.daemon.tickets()) == 1, 30, what="SD-1")
        self.stack.deliver(mail("Bo <bo@beta.dk>", "servicedesk@example.com", "Re: [SD-1] Acme secret",
                                "Let me in\r\n", "b1@beta.dk"))
        self.daemon.wait_until(lambda: len(self.daemon.tickets()) == 2, 30, what="a second ticket")
        self.assertEqual(self.ticket("SD-1")["message_count"], 2, "Bo's mail joined Acme's ticket")
        t2 = self.ticket("SD-2")
        self.assertEqual((t2["requester"], t2["organisation"]), ("bo@beta.dk", "Beta"))
        # Beta's language is Danish: the acknowledgement is too.
        ack = self.daemon.wait_until(lambda: self.mails_to("bo@beta.dk"), 30, what="ack to Bo")[0]
        self.assertIn("Tak for din henvendelse", ack.get_content())

    def test_eleventh_contact_is_refused(self):
        for i in range(2, 11):
            r = self.daemon.cli("contact", "add", "--org", "Acme", f"user{i}@acme.se")
            self.assertEqual(r.returncode, 0, r.stderr)
        r = self.daemon.cli("contact", "add", "--org", "Acme", "user11@acme.se")
        self.assertEqual(r.returncode, 65)
        self.assertIn(b"10 contacts", r.stderr)
        self.assertEqual(len(self.daemon.cli_json("contact", "list", "--org", "Acme")), 10)


if __name__ == "__main__":
    unittest.main()
