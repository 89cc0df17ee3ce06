"""End-to-end: working by mail as agents and customers expect, on a real Dovecot and SMTP server.

What each person receives is read from the SMTP server's capture, as their mail client would
show it: files travel both ways (the customer's invoice reaches the agent attached, the
agent's guide reaches the customer), an answer reads as one mail (one greeting, one
sign-off), a colleague in Cc stays on the thread and a stranger does not, a reply after a
ticket closed carries one tag and says what it continues, an agent who writes to the plain
desk address hears at once why nothing applied, and a ticket opened for a customer on the
command line is acknowledged in the customer's language.
"""
import email.utils
import os
import re
import sys
import unittest
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import Daemon, MailStack, servicedesk_bin  # noqa: E402

AGENT = "eva@example.com"
CUSTOMER = "anna@acme.se"
COLLEAGUE = "carl@acme.se"
STRANGER = "stranger@elsewhere.example"
INVOICE = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
GUIDE = b"%PDF-1.4 guide\n" + bytes(reversed(range(256))) * 8


def text_mail(frm, to, subject, body, msgid, extra=""):
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{msgid}>\r\n{extra}"
            f"Date: Wed, 02 Dec 2026 09:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}").encode()


def mail_with_file(frm, to, subject, body, msgid, filename, data, cc=None, more=()):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = frm, to, subject, f"<{msgid}>"
    m["Date"] = "Wed, 02 Dec 2026 09:00:00 +0100"
    if cc:
        m["Cc"] = cc
    m.set_content(body)
    for name, content in ((filename, data), *more):
        m.add_attachment(content, maintype="application", subtype="pdf", filename=name)
    return m.as_bytes()


def envelope(msg):
    return [a for _, a in email.utils.getaddresses([str(msg["X-RcptTo"] or "")])]


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class WorkingByMail(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop)
        secret = self.stack.token_secret()
        self.config = self.stack.write_config(
            agents={"token_secret_file": str(secret), "trusted_authserv_ids": ["mx.example.com"]},
            intake={"unknown_sender": "accept"}, notify={"attach_max_bytes": 20000})
        self.daemon = Daemon(self.config, stack=self.stack)
        for args in (["org", "add", "Acme", "--domain", "acme.se", "--language", "sv"],
                     ["contact", "add", "--org", "Acme", CUSTOMER, "--name", "Anna Berg"],
                     ["contact", "add", "--org", "Acme", COLLEAGUE, "--name", "Carl Ek"],
                     ["agent", "add", AGENT, "--name", "Eva Agent"]):
            r = self.daemon.cli(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.daemon.start()

    def received_by(self, addr):
        return [m for m in self.stack.smtp_messages() if addr in envelope(m)]

    def wait_for(self, addr, pick, what, timeout=30):
        return self.daemon.wait_until(lambda: [m for m in self.received_by(addr) if pick(m)], timeout, what=what)[0]

    def agent_address(self, note, ref):
        m = re.search(r"servicedesk\+" + ref + r"\.[0-9]+\.[0-9a-f]+@example\.com", str(note["Reply-To"]))
        self.assertIsNotNone(m, note["Reply-To"])
        return m.group(0)

    def test_files_travel_both_ways_and_the_answer_is_one_mail_to_the_thread(self):
        self.stack.deliver(mail_with_file("Anna Berg <anna@acme.se>", "servicedesk@example.com", "Fakturan stämmer inte",
                                          "Hej!\n\nSe bifogad faktura.\n\nAnna", "c1@acme.se", "faktura-4711.pdf",
                                          INVOICE, cc=f"Carl Ek <{COLLEAGUE}>, {STRANGER}"))
        note = self.wait_for(AGENT, lambda m: "[SD-1]" in str(m["Subject"]), "the agents' notification")
        files = {p.get_filename(): p.get_content() for p in note.iter_attachments()}
        self.assertEqual(files.get("faktura-4711.pdf"), INVOICE, "the invoice did not reach the agent intact")
        self.assertIn("faktura-4711.pdf", note.get_body(("plain",)).get_content())

        answer = mail_with_file(f"Eva Agent <{AGENT}>", self.agent_address(note, "SD-1"),
                                "Re: [SD-1] Fakturan stämmer inte",
                                "Hej Anna,\n\nvi har rättat fakturan; här är en guide till nya portalen.\n\nEva",
                                "a1@example.com", "guide.pdf", GUIDE)
        self.stack.deliver(answer)
        got = self.wait_for(CUSTOMER, lambda m: any(True for _ in m.iter_attachments()), "the agent's answer")
        self.assertEqual({p.get_filename(): p.get_content() for p in got.iter_attachments()}, {"guide.pdf": GUIDE})
        text = got.get_body(("plain",)).get_content()
        self.assertIn("vi har rättat fakturan", text)
        self.assertEqual(text.count("Hej"), 1, f"two greetings:\n{text}")
        self.assertLessEqual(text.count("Med vänliga hälsningar"), 1, text)
        self.assertNotIn("har börjat arbeta", text.split("vi har rättat")[0], "a template greeting came first")
        self.assertEqual(str(got["Subject"]).count("[SD-"), 1)
        # The colleague in Cc receives the same mail; the stranger in Cc does not.
        self.assertIn(COLLEAGUE, envelope(got))
        self.assertIn(COLLEAGUE, str(got["Cc"]))
        self.assertEqual([m for m in self.received_by(STRANGER)], [])

    def test_a_reply_after_close_has_one_tag_and_says_what_it_continues(self):
        self.stack.deliver(text_mail("Anna Berg <anna@acme.se>", "servicedesk@example.com", "Skrivaren",
                                     "Skrivaren är trasig.\r\n", "c1@acme.se"))
        self.daemon.wait_until(lambda: self.daemon.tickets(), 30, what="SD-1")
        r = self.daemon.cli("ticket", "set", "SD-1", "--status", "closed")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.stack.deliver(text_mail("anna@acme.se", "servicedesk@example.com", "Re: [SD-1] Löst: Skrivaren",
                                     "Den är trasig igen.\r\n", "c2@acme.se"))
        ack = self.wait_for(CUSTOMER, lambda m: "[SD-2]" in str(m["Subject"]), "SD-2's acknowledgement")
        self.assertEqual(re.findall(r"\[SD-\d+\]", str(ack["Subject"])), ["[SD-2]"], ack["Subject"])
        self.assertIn("SD-1", ack.get_content())
        note = self.wait_for(AGENT, lambda m: "[SD-2]" in str(m["Subject"]), "SD-2's notification")
        self.assertEqual(re.findall(r"\[SD-\d+\]", str(note["Subject"])), ["[SD-2]"], note["Subject"])
        self.assertIn("SD-1", note.get_content())

    def test_an_agent_on_the_plain_address_hears_why_and_a_phoned_in_ticket_is_acknowledged(self):
        self.stack.deliver(text_mail("Anna Berg <anna@acme.se>", "servicedesk@example.com", "Skrivaren",
                                     "Skrivaren är trasig.\r\n", "c1@acme.se"))
        self.wait_for(AGENT, lambda m: "[SD-1]" in str(m["Subject"]), "the agents' notification")
        self.stack.deliver(text_mail(AGENT, "servicedesk@example.com", "Re: [SD-1] Skrivaren",
                                     "#resolve\r\n\r\nTonern är bytt.\r\n", "p1@example.com"))
        told = self.wait_for(AGENT, lambda m: "not applied" in str(m["Subject"]).lower(), "the not-applied answer")
        self.assertIn("plain address", told.get_content())
        self.assertEqual(self.daemon.show("SD-1")["status"], "new")

        # Olle phones: he is no contact, but of Acme's domain. The CLI opens his ticket.
        r = self.daemon.cli("ticket", "new", "--requester", "olle@acme.se", "--subject", "Skärmen är svart",
                            "--agent", AGENT, "--text", "Olle ringde: skärmen är svart.")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("SD-2", r.stdout.decode())
        ack = self.wait_for("olle@acme.se", lambda m: "[SD-2]" in str(m["Subject"]), "Olle's acknowledgement", 10)
        body = ack.get_content()
        self.assertIn("Tack för ditt meddelande", body)
        self.assertIn("registrerade kontaktpersoner", body)
        t = self.daemon.show("SD-2")
        self.assertEqual((t["organisation"], t["assignee"]), ("Acme", AGENT))

    def test_an_unregistered_colleague_files_on_request_and_a_ticket_by_mail_for_a_customer(self):
        # Olle writes from Acme's domain but is no contact; his two files are over the limit together.
        first, second = b"%PDF-1 " + os.urandom(15000), b"%PDF-2 " + os.urandom(15000)
        self.stack.deliver(mail_with_file("Olle Ek <olle@acme.se>", "servicedesk@example.com", "Loggar",
                                          "Hej, här är loggarna.", "o1@acme.se", "logg-1.pdf", first,
                                          more=[("logg-2.pdf", second)]))
        ack = self.wait_for("olle@acme.se", lambda m: "[SD-1]" in str(m["Subject"]), "Olle's acknowledgement")
        self.assertIn("Hej Olle,", ack.get_content())
        self.assertIn("registrerade kontaktpersoner hanteras först", ack.get_content())
        note = self.wait_for(AGENT, lambda m: "[SD-1]" in str(m["Subject"]), "the agents' notification")
        self.assertEqual([p.get_filename() for p in note.iter_attachments()], ["logg-1.pdf"])
        text = note.get_body(("plain",)).get_content()
        self.assertIn("logg-2.pdf", text)
        self.assertIn("#attachments", text)
        self.assertEqual(self.daemon.show("SD-1")["organisation"], "Acme")

        # The agent asks for the files: one mail each, under the limit, bytes intact.
        self.stack.deliver(text_mail(AGENT, self.agent_address(note, "SD-1"), "Re: [SD-1] Loggar", "#attachments\r\n",
                                     "a1@example.com"))
        self.daemon.wait_until(lambda: len([m for m in self.received_by(AGENT) if "Attachments" in str(m["Subject"])]) >= 2,
                               30, what="the attachments mails")
        parts = [m for m in self.received_by(AGENT) if "Attachments" in str(m["Subject"])]
        got = {p.get_filename(): p.get_content() for m in parts for p in m.iter_attachments()}
        self.assertEqual(got, {"logg-1.pdf": first, "logg-2.pdf": second})

        # Anna phoned; the agent opens her ticket by mail, signed by the agent's domain (DMARC).
        self.stack.deliver(text_mail(f"Eva Agent <{AGENT}>", "servicedesk@example.com", "Skrivaren på plan 2",
                                     "#requester anna@acme.se\r\n\r\nAnna ringde: skrivaren på plan 2 är trasig.\r\n",
                                     "r1@example.com",
                                     extra="Authentication-Results: mx.example.com; dkim=pass header.d=example.com; "
                                           "dmarc=pass header.from=example.com\r\n"))
        anna = self.wait_for(CUSTOMER, lambda m: "[SD-2]" in str(m["Subject"]), "Anna's acknowledgement")
        self.assertIn("Hej Anna,", anna.get_content())
        self.assertEqual(self.daemon.show("SD-2")["assignee"], AGENT)


if __name__ == "__main__":
    unittest.main()
