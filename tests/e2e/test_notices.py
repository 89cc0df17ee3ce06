"""End-to-end: maintenance notices (issue 16, seed 000 4.1) on a real Dovecot and SMTP server.

An emergency notice for two of three organisations reaches each of their contacts at once,
in the organisation's language with the window in its calendar's zone, and nobody else; a
daemon restart sends nothing again; the cancellation goes to exactly those who got the
notice. A notice three weeks ahead mails nobody yet. A ticket opened during a recurring
service window is told in its acknowledgement until when maintenance is in progress.
About 25 s.
"""
import datetime
import os
import signal
import sys
import time
import unittest
import zoneinfo

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import Daemon, MailStack, servicedesk_bin  # noqa: E402

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")


def rfc3339(t: float) -> str:
    return datetime.datetime.fromtimestamp(int(t), STOCKHOLM).isoformat()


def mail(frm, subject, msgid):
    return (f"From: {frm}\r\nTo: servicedesk@example.com\r\nSubject: {subject}\r\nMessage-ID: <{msgid}>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\nInget svarar.\r\n").encode()


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class Notices(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop)
        # A daily service window around now, in Swedish local time, for the acknowledgement.
        now = datetime.datetime.now(STOCKHOLM)
        start, end = now - datetime.timedelta(minutes=30), now + datetime.timedelta(minutes=90)
        self.window_end = end.replace(second=0, microsecond=0)
        self.window = window = (f'\n[[maintenance.windows]]\nkind = "infrastructure"\ncalendar = "se"\ndays = "daily"\n'
                  f'start = "{start:%H:%M}"\nend = "{end:%H:%M}"\n')
        self.config = self.stack.write_config(extra=window)
        self.daemon = Daemon(self.config, stack=self.stack)
        for org, domain, lang in (("Acme", "acme.se", "sv"), ("Beta", "beta.dk", "da"), ("Gamma", "gamma.com", "en")):
            self.cli_ok("org", "add", org, "--domain", domain, "--language", lang)
        for org, address, name in (("Acme", "anna@acme.se", "Anna Berg"), ("Acme", "nils@acme.se", "Nils Holm"),
                                   ("Beta", "bo@beta.dk", "Bo Jensen"), ("Gamma", "gus@gamma.com", "Gus Grey")):
            self.cli_ok("contact", "add", "--org", org, address, "--name", name)

    def cli_ok(self, *args):
        r = self.daemon.cli(*args)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return r.stdout.decode()

    def notice_mails(self, subject_word=""):
        return [m for m in self.stack.smtp_messages()
                if m["X-Servicedesk-Notice"] and subject_word in str(m["Subject"])]

    def by_recipient(self, mails):
        out = {}
        for m in mails:
            out.setdefault(str(m["To"]).split("<")[-1].strip(">"), []).append(m)
        return out

    def test_each_contact_gets_the_notice_once_in_their_language_and_the_cancellation_only_if_told(self):
        en = self.stack.dir / "notice.en.txt"
        en.write_text("The database cluster gets new disks.\n")
        sv = self.stack.dir / "notice.sv.txt"
        sv.write_text("Databasklustret får nya diskar.\n")
        start = time.time() + 2 * 86400
        self.daemon.start()
        later = self.cli_ok("notice", "add", "--kind", "upgrade", "--start", rfc3339(start + 20 * 86400),
                            "--end", rfc3339(start + 20 * 86400 + 3600), "--text-file", str(en)).strip()
        out = self.cli_ok("notice", "add", "--kind", "emergency", "--start", rfc3339(start),
                          "--end", rfc3339(start + 4 * 3600), "--orgs", "Acme,Beta",
                          "--text-file", str(en), "--text-file-sv", str(sv))
        notice_id = out.strip()
        self.assertRegex(notice_id, r"^[0-9]+$")
        self.assertNotEqual(notice_id, later)

        mails = self.daemon.wait_until(lambda: len(self.notice_mails()) >= 3 and self.notice_mails(), 30,
                                       what="the emergency notice at three contacts")
        got = self.by_recipient(mails)
        self.assertEqual(sorted(got), ["anna@acme.se", "bo@beta.dk", "nils@acme.se"])  # not Gamma's gus
        local = datetime.datetime.fromtimestamp(int(start), STOCKHOLM)
        anna = got["anna@acme.se"][0]
        self.assertIn("akut underhåll", str(anna["Subject"]))
        body = anna.get_body().get_content()
        self.assertIn("Hej Anna,", body)
        self.assertIn("Databasklustret får nya diskar.", body)  # the Swedish text
        self.assertIn("Från: ", body)
        self.assertIn(f"{local:%H:%M} {local.tzname()}", body)  # in the organisation's zone (se)
        bo = got["bo@beta.dk"][0].get_body().get_content()
        self.assertIn("Hej Bo,", bo)
        self.assertIn("akut vedligeholdelse", bo)
        self.assertIn("The database cluster gets new disks.", bo)  # no Danish text: the default
        self.assertEqual(str(got["bo@beta.dk"][0]["Auto-Submitted"]), "auto-generated")

        # A restart sends nothing again; the notice three weeks ahead mails nobody yet.
        self.daemon.stop()
        self.daemon.start()
        time.sleep(3)
        self.assertEqual(len(self.notice_mails()), 3)
        listing = self.cli_ok("notice", "list")
        self.assertIn("mailed 3", listing)
        self.assertIn("mails at ", listing)

        out = self.cli_ok("notice", "cancel", notice_id)
        self.assertIn("3 contacts are told", out)
        def cancellations():
            return [m for m in self.notice_mails()
                    if any(str(m["Subject"]).startswith(w) for w in ("Inställt", "Aflyst", "Cancelled"))]
        self.daemon.wait_until(lambda: len(cancellations()) >= 3, 30, what="the cancellations")
        time.sleep(1)
        told = self.by_recipient(cancellations())
        self.assertEqual(sorted(told), ["anna@acme.se", "bo@beta.dk", "nils@acme.se"])  # not gus
        self.assertTrue(all(len(v) == 1 for v in told.values()))
        self.assertIn("Aflyst", str(told["bo@beta.dk"][0]["Subject"]))
        again = self.daemon.cli("notice", "cancel", notice_id)
        self.assertEqual(again.returncode, 65)
        self.assertIn(f"notice {notice_id} is cancelled already", again.stderr.decode())

    def test_the_daemons_clock_mails_a_notice_lead_days_before_its_start(self):
        text = self.stack.dir / "notice.txt"
        text.write_text("Version 9 arrives.\n")
        start = time.time() + 10 * 86400
        self.daemon.start()
        self.cli_ok("notice", "add", "--kind", "upgrade", "--start", rfc3339(start), "--end", rfc3339(start + 3600),
                    "--orgs", "Gamma", "--text-file", str(text))
        time.sleep(2)
        self.assertEqual(self.notice_mails(), [])  # ten days ahead: not yet
        # The daemon's clock moved past start - lead_days (7): it mails then, once.
        offset = int(start - 7 * 86400 - time.time()) + 60
        self.stack.write_config(extra=self.window, test={"fault": "", "clock_offset_s": offset})
        self.daemon.proc.send_signal(signal.SIGHUP)
        mails = self.daemon.wait_until(lambda: self.notice_mails(), 30, what="the notice at Gamma's contact")
        time.sleep(2)
        self.assertEqual([str(m["To"]) for m in self.notice_mails()], ["Gus Grey <gus@gamma.com>"])
        self.assertIn("Version 9 arrives.", mails[0].get_body().get_content())
        self.assertTrue(str(mails[0]["Subject"]).startswith("Maintenance notice: upgrade work from "))

    def test_a_ticket_opened_during_a_service_window_is_told_until_when(self):
        self.daemon.start()
        self.stack.deliver(mail("Anna Berg <anna@acme.se>", "Inget fungerar", "w1@acme.se"))
        acks = self.daemon.wait_until(
            lambda: [m for m in self.stack.smtp_messages() if "anna@acme.se" in str(m["To"])], 30,
            what="the acknowledgement")
        body = acks[0].get_body().get_content()
        self.assertIn("Underhåll pågår till ", body)
        self.assertIn(f"{self.window_end:%H:%M} {self.window_end.tzname()}", body)
        # check-config shows the window as the daemon reads it, with its line and next occurrence.
        r = self.daemon.cli("check-config")
        out = r.stdout.decode()
        line = next((l for l in out.splitlines() if "maintenance window" in l), "")
        self.assertRegex(line, r"^ok +maintenance window .+:[0-9]+ \(infrastructure\): daily ")
        self.assertIn("(Europe/Stockholm)", line)
        self.assertIn(f"to {self.window_end:%Y-%m-%dT%H:%M}", line)

    def test_a_wrong_time_or_text_is_refused_with_the_reason(self):
        text = self.stack.dir / "bad.txt"
        text.write_bytes(b"Planerat \xe5tg\xe4rd\n")
        r = self.daemon.cli("notice", "add", "--kind", "upgrade", "--start", "2026-12-05 09:00",
                            "--end", "2026-12-05T10:00:00+01:00", "--text-file", str(text))
        self.assertEqual(r.returncode, 64)
        self.assertIn("--start '2026-12-05 09:00' is not an RFC 3339 time with an offset", r.stderr.decode())
        soon = time.time() + 86400
        r = self.daemon.cli("notice", "add", "--kind", "upgrade", "--start", rfc3339(soon),
                            "--end", rfc3339(soon + 3600), "--text-file", str(text))
        self.assertEqual(r.returncode, 65)
        self.assertIn("not UTF-8 text", r.stderr.decode())
        self.assertEqual(self.cli_ok("notice", "list"), "no notices\n")


if __name__ == "__main__":
    unittest.main()
