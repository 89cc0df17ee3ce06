"""End-to-end: a major incident on a real Dovecot and SMTP server, as each person sees it.

Three reports come in by mail (Anna of Acme, Swedish; Bo of Beta, Danish; a monitoring
system's automatic alert). The operator declares a major incident from Anna's ticket and
links the other two; the incident manager gets its notification with a tokened Reply-To and
answers it: `#broadcast` reaches Anna and Bo once each, on their own threads and in their
language, and nobody else (not the monitoring system, not Gus of an unaffected organisation);
`#resolve` resolves every linked ticket with one resolution mail per person. The incident
report shows the timeline and the root cause. About 10-20 s.
"""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import Daemon, MailStack, plain_mail, servicedesk_bin  # noqa: E402

AGENT = "eva@example.com"
ANNA = "anna@acme.se"
BO = "bo@beta.dk"
GUS = "gus@gamma.example"
NAGIOS = "nagios@monitoring.example.net"
WAIT = 30


def mail(frm, to, subject, body, msgid, extra=""):
    return plain_mail(frm, to, subject, body, msgid, extra, date="Thu, 03 Dec 2026 09:00:00 +0100")


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class MajorIncident(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop)
        secret = self.stack.token_secret()
        self.config = self.stack.write_config(
            agents={"token_secret_file": str(secret)}, intake={"unknown_sender": "accept"})
        self.daemon = Daemon(self.config, stack=self.stack)
        for args in (["org", "add", "Acme", "--domain", "acme.se", "--language", "sv"],
                     ["org", "add", "Beta", "--domain", "beta.dk", "--language", "da"],
                     ["org", "add", "Gamma", "--domain", "gamma.example"],
                     ["contact", "add", "--org", "Acme", ANNA, "--name", "Anna Berg"],
                     ["contact", "add", "--org", "Beta", BO, "--name", "Bo"],
                     ["contact", "add", "--org", "Gamma", GUS, "--name", "Gus"],
                     ["agent", "add", AGENT, "--name", "Eva Agent"]):
            r = self.daemon.cli(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.daemon.start()

    def mails_to(self, addr):
        return [m for m in self.stack.smtp_messages() if addr in str(m["To"]) or addr in str(m.get("Cc", ""))]

    def kinds_to(self, addr, word):
        return [m for m in self.mails_to(addr) if word in str(m["Subject"])]

    def cli(self, *args):
        r = self.daemon.cli(*args)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return r.stdout.decode()

    def test_each_person_receives_what_the_incident_says_once(self):
        self.stack.deliver(mail(f"Anna Berg <{ANNA}>", "servicedesk@example.com", "Kan inte logga in",
                                "Inloggningen svarar inte.\r\n", "a1@acme.se"))
        self.stack.deliver(mail(f"Bo <{BO}>", "servicedesk@example.com", "Login virker ikke",
                                "Vi kan ikke logge ind.\r\n", "b1@beta.dk"))
        self.stack.deliver(mail(f"Nagios <{NAGIOS}>", "servicedesk@example.com", "PROBLEM: login is CRITICAL",
                                "login CRITICAL\r\n", "n1@monitoring.example.net",
                                extra="Auto-Submitted: auto-generated\r\n"))
        self.daemon.wait_until(lambda: len(self.daemon.tickets()) >= 3, WAIT, what="three tickets")
        self.daemon.wait_until(lambda: self.mails_to(ANNA) and self.mails_to(BO), WAIT, what="acknowledgements")

        incident = self.cli("incident", "new", "--title", "Inloggningen ligger nere", "--agent", AGENT,
                            "--from", "SD-1").strip()
        self.assertEqual(incident, "SD-4")
        self.cli("ticket", "set", "SD-2", "--incident", "SD-4")
        self.cli("ticket", "set", "SD-3", "--incident", "SD-4")
        # show --json: the link on a linked ticket, the incident's record on the incident.
        linked = self.daemon.show("SD-2")
        self.assertEqual((linked["incident"], linked["part_of_major_incident"], linked["major_incident"]),
                         ("SD-4", True, None))
        major = self.daemon.show("SD-4")["major_incident"]
        self.assertEqual((major["title"], major["linked"]), ("Inloggningen ligger nere", ["SD-1", "SD-2", "SD-3"]))

        # The manager's notification, with the incident's own tokened Reply-To.
        note = self.daemon.wait_until(lambda: [m for m in self.mails_to(AGENT) if "[SD-4]" in str(m["Subject"])],
                                      WAIT, what="the incident's notification")[0]
        address = re.search(r"servicedesk\+SD-4\.[0-9]+\.[0-9a-f]+@example\.com", str(note["Reply-To"]))
        self.assertIsNotNone(address, str(note["Reply-To"]))
        address = address.group(0)

        # #broadcast: Anna and Bo, once each, on their own threads, in their language.
        self.stack.deliver(mail(f"Eva Agent <{AGENT}>", address, "Re: [SD-4] Inloggningen ligger nere",
                                "#broadcast\r\n\r\nVi har hittat felet i inloggningen och arbetar med det.\r\n",
                                "e1@example.com"))
        self.daemon.wait_until(lambda: self.kinds_to(ANNA, "Driftstörning") and self.kinds_to(BO, "Driftsforstyrrelse"),
                               WAIT, what="the broadcast")
        anna_update = self.kinds_to(ANNA, "Driftstörning")
        bo_update = self.kinds_to(BO, "Driftsforstyrrelse")
        self.assertEqual(len(anna_update), 1)
        self.assertEqual(len(bo_update), 1)
        self.assertIn("[SD-1]", str(anna_update[0]["Subject"]))
        self.assertIn("[SD-2]", str(bo_update[0]["Subject"]))
        self.assertIn("Vi har hittat felet", anna_update[0].get_content())
        self.assertIn("større hændelse", bo_update[0].get_content())
        self.assertNotIn("#broadcast", anna_update[0].get_content())

        # #resolve: every linked ticket resolved, one resolution mail per person.
        self.stack.deliver(mail(f"Eva Agent <{AGENT}>", address, "Re: [SD-4] Inloggningen ligger nere",
                                "#resolve\r\n#rca Ett utgånget certifikat\r\n\r\nCertifikatet är förnyat.\r\n",
                                "e2@example.com"))
        self.daemon.wait_until(lambda: all(self.daemon.show(f"SD-{n}")["status"] == "resolved" for n in (1, 2, 3, 4)),
                               WAIT, what="the linked tickets resolved")
        self.daemon.wait_until(lambda: self.kinds_to(ANNA, "Löst") and self.kinds_to(BO, "Løst"), WAIT,
                               what="the resolution mails")
        self.assertIn("Certifikatet är förnyat", self.kinds_to(ANNA, "Löst")[0].get_content())
        self.daemon.wait_until(lambda: not self.daemon.cli_json("outbox", "list"), WAIT, what="the outbox empty")

        # What each person received, all told.
        self.assertEqual(len(self.mails_to(ANNA)), 3, [str(m["Subject"]) for m in self.mails_to(ANNA)])  # ack, update, resolved
        self.assertEqual(len(self.mails_to(BO)), 3, [str(m["Subject"]) for m in self.mails_to(BO)])
        self.assertEqual(self.mails_to(NAGIOS), [])  # a monitoring system gets nothing
        self.assertEqual(self.mails_to(GUS), [])     # an organisation the incident does not affect

        report = json.loads(self.cli("report", "incident", "SD-4", "--format", "json"))
        whats = [e["what"] for e in report["timeline"]]
        self.assertEqual(whats.count("linked report"), 3)
        for what in ("declared", "broadcast", "resolved"):
            self.assertIn(what, whats)
        self.assertEqual(report["root_cause"], "Ett utgånget certifikat")
        self.assertEqual(sorted(report["organisations"]), ["Acme", "Beta"])
        self.assertEqual(sorted(c["address"] for c in report["contacts"]), [ANNA, BO])


if __name__ == "__main__":
    unittest.main()
