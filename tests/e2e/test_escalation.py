"""End-to-end: escalations reach someone (issue 13), on a real Dovecot and SMTP server.

With the example config's [sla] (no agents' or escalation address) an SLA warning of an
unassigned ticket reaches every registered agent, each with the ticket's Reply-To and a
token of their own, and the agent acts by answering it. check-config says who would hear
SLA mails and warns when nobody would, warns about an organisation whose language and SLA
calendar disagree, and tells a server that is down (69) from a configuration to fix (78).
`org add` picks the SLA by the organisation's language and `org list` shows SLA and calendar.

The daemon's clock is moved as in test_sla.py: `[test] clock_offset_s` rewritten, then SIGHUP.
"""
import datetime
import json
import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import Daemon, MailStack, servicedesk_bin  # noqa: E402

EVA = "eva@example.com"
BO = "bo@example.com"
CUSTOMER = "kund1@kund.dk"
REPLY_TO = re.compile(r"servicedesk\+SD-1\.[0-9]+\.[0-9a-f]+@example\.com")


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def mail(frm, to, subject, body, msgid):
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{msgid}>\r\n"
            f"Date: Mon, 23 Nov 2026 09:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}").encode()


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class Escalations(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop)
        self.secret = self.stack.token_secret()
        self.offset = 0
        self.config = self.write_config()
        self.daemon = Daemon(self.config, stack=self.stack)

    def write_config(self, **overrides):
        # As the example config ships it: [sla] without agents_address, no team address,
        # no escalation address.
        return self.stack.write_config(agents={"token_secret_file": str(self.secret)},
                                       test={"fault": "", "clock_offset_s": self.offset}, **overrides)

    def cli_ok(self, *args):
        r = self.daemon.cli(*args)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return r.stdout.decode()

    def check_config(self):
        r = self.daemon.cli("check-config")
        return r.returncode, r.stdout.decode()

    def move_clock_to(self, instant):
        self.offset = int(instant - time.time())
        self.write_config()
        self.daemon.proc.send_signal(signal.SIGHUP)

    def sla_mails(self, kind="SLA warning"):
        return [m for m in self.stack.smtp_messages() if kind in str(m["Subject"])]

    def show_or_none(self, ref):
        r = self.daemon.cli("show", ref, "--json")
        return json.loads(r.stdout) if r.returncode == 0 else None

    def test_an_sla_warning_reaches_every_agent_who_acts_by_answering_it(self):
        self.cli_ok("agent", "add", EVA, "--name", "Eva Ek")
        self.cli_ok("agent", "add", BO, "--name", "Bo Berg")
        self.daemon.start()
        self.stack.deliver(mail(f"Kund <{CUSTOMER}>", "servicedesk@example.com", "Skrivaren är trasig",
                                "Den skriver inte ut.\r\n", "esc1@kund.dk"))
        t = self.daemon.wait_until(lambda: self.show_or_none("SD-1"), 30, what="ticket SD-1")
        self.cli_ok("ticket", "set", "SD-1", "--priority", "highest", "--operator", "e2e")
        warn = parse_time(self.daemon.cli_json("sla", "due", "--calendar", "dk", "--start", t["created_at"],
                                               "--hours", "0.75")["due"])
        self.move_clock_to(warn + 5)
        warnings = self.daemon.wait_until(lambda: len(self.sla_mails()) >= 2 and self.sla_mails(), 30,
                                          what="SLA warnings to both agents")
        self.assertEqual(sorted(str(m["To"]).split("<")[-1].strip(">") for m in warnings), [BO, EVA])
        tokens = {}
        for m in warnings:
            reply_to = REPLY_TO.search(str(m["Reply-To"]))
            self.assertIsNotNone(reply_to, f"no tokened Reply-To: {m['Reply-To']}")
            tokens[str(m["To"])] = reply_to.group(0)
        self.assertEqual(len(set(tokens.values())), 2, "each agent has a token of their own")

        # Eva answers her warning with a command: the desk applies it and tells the customer.
        eva_reply_to = next(v for k, v in tokens.items() if EVA in k)
        self.stack.deliver(mail(f"Eva Ek <{EVA}>", eva_reply_to, "Re: [SD-1] SLA warning",
                                "#resolve\r\nSkrivaren fungerar igen.\r\n", "esc2@example.com"))
        self.daemon.wait_until(lambda: self.daemon.show("SD-1")["status"] == "resolved", 30,
                               what="SD-1 resolved by the answer to the warning")
        to_customer = self.daemon.wait_until(
            lambda: [m for m in self.stack.smtp_messages()
                     if CUSTOMER in str(m["To"]) and "fungerar igen" in m.get_body().get_content()],
            30, what="the resolution at the customer")
        self.assertEqual(len(to_customer), 1)

    def test_check_config_says_who_hears_sla_mails_and_warns_when_nobody_would(self):
        code, out = self.check_config()
        self.assertEqual(code, 0, out)
        self.assertIn("WARN  SLA warnings and reminders: nobody would hear them: no agent is registered", out)
        self.assertIn("WARN  SLA breaches: of hypercare, hypercare-se, standard, standard-se: nobody would hear", out)
        self.assertIn("fix: register the agents (servicedesk agent add ADDR) or set sla.agents_address", out)
        self.assertIn("all checks passed (2 warning(s))", out)

        self.cli_ok("agent", "add", EVA)
        code, out = self.check_config()
        self.assertEqual(code, 0, out)
        self.assertIn(f"ok    SLA warnings and reminders: to the ticket's agent, else {EVA}", out)
        self.assertIn("ok    SLA breaches: as warnings (no escalation_address)", out)
        self.assertNotIn("WARN", out)

        self.config = self.write_config(
            extra='\n[sla]\nagents_address = "agents@example.com"\n\n'
                  '[slas.standard]\nescalation_address = "boss@example.com"\n')
        code, out = self.check_config()
        self.assertIn("ok    SLA warnings and reminders: to the ticket's agent, else agents@example.com", out)
        # standard-se follows the operator's standard: its breaches escalate too.
        self.assertIn("ok    SLA breaches: standard to boss@example.com, standard-se to boss@example.com; "
                      "the others as warnings", out)

    def test_check_config_with_the_smtp_server_down_says_unreachable_and_exits_69(self):
        self.cli_ok("agent", "add", EVA)
        self.stack.stop_smtp()  # its port is closed now
        code, out = self.check_config()
        self.assertEqual(code, 69, out)
        self.assertIn("ok    IMAP", out)
        self.assertIn(f"FAIL  SMTP smtp://127.0.0.1:{self.stack.smtp_port}: the server is unreachable", out)
        self.assertIn("fix: start the SMTP server, or check the host and port in smtp.url and the firewall", out)
        self.assertNotIn("smtp.username", out)
        self.assertIn("1 problem(s) found", out)

        # A configuration problem besides it is the one to fix first: 78.
        (self.stack.dir / "imap.pass").write_text("wrong\n")
        code, out = self.check_config()
        self.assertEqual(code, 78, out)
        self.assertIn("fix: check imap.username and the password file", out)

    def test_check_config_with_a_server_that_refuses_our_login_is_a_config_problem(self):
        # aiosmtpd offers neither STARTTLS nor AUTH: a login over it is refused, the server
        # answered, so the configuration is what to check (78), not the server's reachability.
        password = self.stack.dir / "smtp.pass"
        password.write_text("secret\n")
        os.chmod(password, 0o600)
        self.write_config(smtp={"username": "desk", "password_file": str(password)})
        code, out = self.check_config()
        self.assertEqual(code, 78, out)
        self.assertIn("FAIL  SMTP", out)
        self.assertIn("fix: check smtp.url, smtp.username and the password file", out)
        self.assertNotIn("unreachable", out)

    def test_org_add_picks_the_sla_by_language_and_check_config_warns_about_a_mismatch(self):
        self.cli_ok("agent", "add", EVA)
        self.assertIn("(SLA standard-se, calendar se)",
                      self.cli_ok("org", "add", "Acme AB", "--domain", "acme.se", "--language", "sv"))
        self.assertIn("(SLA standard, calendar dk)",
                      self.cli_ok("org", "add", "Dansk", "--domain", "dansk.dk", "--language", "da"))
        # --sla wins over the language: an existing Swedish organisation on the Danish calendar.
        self.assertIn("(SLA standard, calendar dk)",
                      self.cli_ok("org", "add", "Gammal", "--domain", "gammal.se", "--language", "sv",
                                  "--sla", "standard"))
        listed = self.cli_ok("org", "list")
        self.assertRegex(listed, r"Acme AB .* sla standard-se  calendar se\n")
        self.assertRegex(listed, r"Dansk .* sla standard  calendar dk\n")
        orgs = {o["name"]: o for o in self.daemon.cli_json("org", "list")}
        self.assertEqual((orgs["Acme AB"]["sla"], orgs["Acme AB"]["calendar"]), ("standard-se", "se"))
        self.assertEqual((orgs["Gammal"]["sla"], orgs["Gammal"]["calendar"]), ("standard", "dk"))
        self.assertIn("sla: standard-se (calendar se)", self.cli_ok("org", "show", "Acme AB"))

        code, out = self.check_config()
        self.assertEqual(code, 0, out)
        self.assertIn("WARN  organisation Gammal: language sv but SLA standard runs on calendar dk (DK holidays)", out)
        self.assertIn("fix: servicedesk org set 'Gammal' --sla standard-se", out)
        self.assertNotIn("organisation Acme AB", out)
        self.assertNotIn("organisation Dansk", out)

        self.cli_ok("org", "set", "Gammal", "--sla", "standard-se")
        code, out = self.check_config()
        self.assertIn("ok    organisations: 3, each on a calendar of its language", out)
        self.assertNotIn("WARN", out)


if __name__ == "__main__":
    unittest.main()
