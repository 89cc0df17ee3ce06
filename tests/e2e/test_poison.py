"""End-to-end: no single mail can stop the mailbox (issue 11, finding 2).

Each poison mail below once killed the daemon (SIGSEGV in std::regex, which recurses per
character) before its COMMIT; under systemd it restarted, fetched the same mail first and
died again, forever, with every mail behind it waiting. Here every poison mail is delivered
before the daemon starts, each first in a batch of two (imap.batch_max_mails = 2) with a
normal customer mail behind it. The test asserts what an operator would check: the daemon
is the same process and still answers, each poison mail is stored (on a ticket or in the
quarantine list), and each normal mail behind it became its ticket.

Rows: the issue's three mails (a 50,000-character alert subject from the example config's
monitoring rule sender, a 100 KB Authentication-Results header, an agent's reply to its
tokened Reply-To with `#time` and 200,000 digits), each with a variant of our own, plus
mail-structure poisons (deep MIME nesting, deeply nested HTML, a 1 MB header line).

The Authentication-Results rows prove the hand-written parser (parser/auth_results.cpp) that
replaced the regex; against the code before it they died like the others. On the code
before RE2, the first row kills the daemon (SIGSEGV) and the test fails there.

Security notes: the mails are hostile by design; the stack is loopback-only and throwaway.
Sizes are the issue's and do not scale down under CI=true (they are the point); the waits
are bounded by completion, not by sleeps.
"""
import os
import re
import sys
import tomllib
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import REPO, Daemon, MailStack, servicedesk_bin, toml_value  # noqa: E402

AGENT = "eva@example.com"
CUSTOMER = "anna@acme.se"
MONITOR = "nagios@monitoring.example.com"  # matches the example config's monitoring rule


def mail(frm, to, subject, body, msgid, extra="", content_type="text/plain; charset=utf-8"):
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{msgid}>\r\n"
            f"Date: Sun, 22 Nov 2026 09:00:00 +0100\r\n{extra}"
            f"Content-Type: {content_type}\r\n\r\n{body}").encode()


def example_rules_toml():
    """The example config's [[intake.rules]], verbatim in meaning, as TOML to append."""
    with open(REPO / "config" / "servicedesk.example.toml", "rb") as f:
        rules = tomllib.load(f)["intake"]["rules"]
    out = []
    for rule in rules:
        out.append("\n[[intake.rules]]")
        out.extend(f"{k} = {toml_value(v)}" for k, v in rule.items())
    return "\n".join(out) + "\n"


def deep_mime(levels):
    head, tail = "", ""
    for i in range(levels):
        head += f"--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{i + 1}\"\r\n\r\n"
        tail = f"\r\n--b{i + 1}--\r\n" + tail
    return head + f"--b{levels}\r\nContent-Type: text/plain\r\n\r\ndeep inside\r\n" + tail + "--b0--\r\n"


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class PoisonMail(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop)
        secret = self.stack.token_secret()
        rules = example_rules_toml()
        self.assertIn("re:^PROBLEM", rules)
        self.config = self.stack.write_config(
            agents={"token_secret_file": str(secret), "trusted_authserv_ids": ["mx.example.com"]},
            imap={"batch_max_mails": 2},
            extra=rules)
        self.daemon = Daemon(self.config, stack=self.stack)
        for args in (["org", "add", "Acme", "--domain", "acme.se"],
                     ["contact", "add", "--org", "Acme", CUSTOMER, "--name", "Anna Berg"],
                     ["agent", "add", AGENT, "--name", "Eva Agent"]):
            r = self.daemon.cli(*args)
            self.assertEqual(r.returncode, 0, r.stderr)

    def message_ids(self):
        """Message-ID -> ticket of every stored message, and the quarantine list's."""
        found = {}
        for t in self.daemon.tickets():
            for m in self.daemon.show(t["id"])["messages"]:
                found[m["message_id"].strip("<>")] = t["id"]
        for q in self.daemon.cli_json("quarantine", "list"):
            found.setdefault(q["message_id"].strip("<>"), q["ticket"])
        return found

    def test_every_poison_mail_is_stored_and_the_mail_behind_it_too_by_the_same_daemon(self):
        # A ticket and the agents' notification, for its tokened Reply-To.
        self.daemon.start()
        self.stack.deliver(mail(f"Anna Berg <{CUSTOMER}>", "servicedesk@example.com", "Printer broken",
                                "It does not print.\r\n", "c1@acme.se"))
        note = self.daemon.wait_until(
            lambda: [m for m in self.stack.smtp_messages() if AGENT in str(m["To"])], 30,
            what="the agents' notification")[0]
        tokened = re.search(r"servicedesk\+SD-1\.[0-9a-z.]+@example\.com", str(note["Reply-To"])).group(0)
        self.assertEqual(self.daemon.stop(), 0)

        ar = "Authentication-Results: mx.example.com; "
        poison = [
            ("alert subject of 50,000 characters",
             mail(MONITOR, "servicedesk@example.com", "PROBLEM: " + "A" * 50000, "Alarm\r\n", "p-subject@m")),
            ("alert subject of 100,000 parentheses",
             mail(MONITOR, "servicedesk@example.com", "PROBLEM: " + "(" * 100000, "Alarm\r\n", "p-parens@m")),
            ("Authentication-Results header of 100 KB",
             mail(f"Eva Agent <{AGENT}>", "servicedesk+SD-1.garbage@example.com", "Re: [SD-1] Printer broken",
                  "#status resolved\r\n\r\nDone\r\n", "p-ar@example.com",
                  extra=ar + "dkim=pass " + "x" * 100000 + " header.d=example.com\r\n")),
            ("Authentication-Results with 50,000 nested comments",
             mail(f"Eva Agent <{AGENT}>", "servicedesk+SD-1.garbage@example.com", "Re: [SD-1] Printer broken",
                  "#status resolved\r\n\r\nDone\r\n", "p-ar-nested@example.com",
                  extra=ar + "(" * 50000 + "dmarc=pass" + ")" * 50000 + " header.from=example.com\r\n")),
            ("#time with 200,000 digits to the tokened Reply-To",
             mail(f"Eva Agent <{AGENT}>", tokened, "Re: [SD-1] Printer broken",
                  "#time " + "9" * 200000 + "\r\n\r\nLooking at it\r\n", "p-time@example.com")),
            ("#time with a number past 64 bits to the tokened Reply-To",
             mail(f"Eva Agent <{AGENT}>", tokened, "Re: [SD-1] Printer broken",
                  "#time 99999999999999999999h\r\n\r\nStill looking\r\n", "p-time64@example.com")),
            ("MIME nested 5,000 deep",
             mail("mime@kund.example", "servicedesk@example.com", "Deep MIME", deep_mime(5000), "p-mime@k",
                  extra="MIME-Version: 1.0\r\n", content_type="multipart/mixed; boundary=\"b0\"")),
            ("HTML nested 100,000 deep",
             mail("html@kund.example", "servicedesk@example.com", "Deep HTML",
                  "<html><body>" + "<div><blockquote>" * 50000 + "deep" + "</blockquote></div>" * 50000 + "\r\n",
                  "p-html@k", content_type="text/html; charset=utf-8")),
            ("a header line of 1 MB",
             mail("long@kund.example", "servicedesk@example.com", "Long header", "Hello\r\n", "p-header@k",
                  extra="X-Long: " + "a" * (1 << 20) + "\r\n")),
        ]
        raws = []
        for i, (_, raw) in enumerate(poison):
            raws.append(raw)
            raws.append(mail(f"normal{i}@kund.example", "servicedesk@example.com", f"Normal mail {i}",
                             "Behind a poison mail\r\n", f"normal{i}@kund.example"))
        # One `doveadm save` each, so UIDs follow this order and each poison mail is first
        # in its batch of two (deliver_many's Maildir names sort Q10 before Q2).
        for raw in raws:
            self.stack.deliver(raw)

        self.daemon.start()
        pid = self.daemon.pid
        wanted = {f"normal{i}@kund.example" for i in range(len(poison))}
        self.daemon.wait_until(lambda: wanted <= set(self.message_ids()), 120,
                               what="every normal mail behind a poison mail")
        stored = self.message_ids()
        for (what, raw) in poison:
            msgid = re.search(rb"Message-ID: <([^>]+)>", raw).group(1).decode()
            self.assertIn(msgid, stored, f"poison mail not stored: {what}")
        self.assertTrue(self.daemon.running(), "the daemon died")
        self.assertEqual(self.daemon.pid, pid, "the daemon was restarted")

        # What the mails did: the alert became the monitoring rule's incident; nothing in
        # the #time mails was counted.
        alert = self.daemon.show(stored["p-subject@m"])
        self.assertEqual((alert["category"], alert["priority"]), ("incident", "high"))
        self.assertEqual(self.daemon.show("SD-1")["time_spent_s"], 0)

        # Still answering: a mail delivered now becomes a ticket.
        self.stack.deliver(mail("late@kund.example", "servicedesk@example.com", "After all that", "Hi\r\n",
                                "late@kund.example"))
        self.daemon.wait_until(lambda: "late@kund.example" in self.message_ids(), 30, what="a mail after the poison")
        self.assertEqual(self.daemon.pid, pid)


if __name__ == "__main__":
    unittest.main()
