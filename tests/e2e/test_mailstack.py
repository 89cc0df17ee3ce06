"""Self-test of the end-to-end mail stack (mailstack.py), without the servicedesk binary:
Dovecot takes a delivery and serves it over IMAP to curl (as libcurl in the daemon will
fetch it), aiosmtpd accepts mail and hands it back, and the knobs the ingest tests turn
(UIDVALIDITY, SMTP down/up, config writing) really do what they say.

Run: cd tests/e2e && /usr/bin/python3 -m unittest -v test_mailstack
"""

import os
import pathlib
import smtplib
import stat
import subprocess
import tomllib
import unittest

from mailstack import IMAP_USER, MailStack, port_accepts

SAMPLES = pathlib.Path(__file__).resolve().parent / "samples"


class MailStackTest(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.__enter__()
        self.addCleanup(self.stack.stop, wait=False)

    def curl_imap(self, path: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["curl", "-s", "--max-time", "10", "--user",
             f"{IMAP_USER}:{self.stack.imap_password}",
             f"imap://127.0.0.1:{self.stack.imap_port}/{path}"],
            capture_output=True, timeout=20)

    def test_delivered_mail_is_unseen_and_curl_fetches_it_whole(self):
        raw = (SAMPLES / "customer.eml").read_bytes()
        self.stack.deliver(raw)
        self.assertEqual(self.stack.imap_uids_and_flags(), [(1, {"\\Recent"})])
        r = self.curl_imap("INBOX;UID=1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.replace(b"\r\n", b"\n"), raw.replace(b"\r\n", b"\n"))
        # The URL form sends BODY[], which sets \Seen (see mail-stack-notes.md).
        uid, flags = self.stack.imap_uids_and_flags()[0]
        self.assertIn("\\Seen", flags)

    def test_wrong_password_is_refused(self):
        self.stack.deliver(b"Subject: x\r\n\r\ny\r\n")
        r = subprocess.run(
            ["curl", "-s", "--max-time", "10", "--user", f"{IMAP_USER}:wrong",
             f"imap://127.0.0.1:{self.stack.imap_port}/INBOX;UID=1"],
            capture_output=True, timeout=20)
        self.assertEqual(r.returncode, 67, r)  # CURLE_LOGIN_DENIED

    def test_uidvalidity_can_be_set_and_renumbering_changes_it(self):
        self.stack.deliver(b"Message-ID: <a@x>\r\nSubject: a\r\n\r\na\r\n")
        self.stack.deliver(b"Message-ID: <b@x>\r\nSubject: b\r\n\r\nb\r\n")
        before = self.stack.uidvalidity()
        self.stack.set_uidvalidity(before + 1000)
        self.assertEqual(self.stack.uidvalidity(), before + 1000)
        # IMAP clients see the new value too.
        r = self.curl_imap(f"INBOX;UIDVALIDITY={before + 1000}/;UID=1")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.curl_imap(f"INBOX;UIDVALIDITY={before}/;UID=1")
        self.assertNotEqual(r.returncode, 0)
        after = self.stack.renumber_mailbox()
        self.assertNotIn(after, (before, before + 1000))
        self.assertEqual([uid for uid, _ in self.stack.imap_uids_and_flags()], [1, 2])
        self.assertEqual(self.stack.message_ids_in(), ["<a@x>", "<b@x>"])

    def test_mailboxes_can_be_created_for_move(self):
        self.stack.create_mailbox("Processed")
        self.assertIn("Processed", self.stack.mailboxes())
        self.stack.deliver(b"Subject: p\r\n\r\np\r\n", mailbox="Processed")
        self.assertEqual(len(self.stack.imap_uids_and_flags("Processed")), 1)

    def test_smtp_accepts_mail_and_can_go_down_and_up_on_the_same_port(self):
        def send(subject):
            with smtplib.SMTP("127.0.0.1", self.stack.smtp_port, timeout=10) as c:
                c.sendmail("servicedesk@example.com", ["kund@example.org"],
                           f"Subject: {subject}\r\nTo: kund@example.org\r\n\r\nhej\r\n".encode())
        send("first")
        self.stack.stop_smtp()
        self.assertFalse(port_accepts(self.stack.smtp_port))
        with self.assertRaises(OSError):
            send("while down")
        self.stack.start_smtp()
        send("second")
        msgs = self.stack.smtp_messages()
        self.assertEqual([m["Subject"] for m in msgs], ["first", "second"])
        self.assertEqual(msgs[0]["X-RcptTo"], "kund@example.org")
        self.assertIn("hej", msgs[1].get_content())

    def test_config_is_valid_toml_with_a_private_password_file(self):
        path = self.stack.write_config(imap={"after_ingest": "delete"},
                                       test={"fault": "crash_after_commit"})
        cfg = tomllib.loads(path.read_text())
        self.assertEqual(cfg["imap"]["after_ingest"], "delete")
        self.assertEqual(cfg["test"]["fault"], "crash_after_commit")
        self.assertEqual(cfg["imap"]["url"], f"imap://127.0.0.1:{self.stack.imap_port}/INBOX")
        self.assertEqual(cfg["smtp"]["url"], f"smtp://127.0.0.1:{self.stack.smtp_port}")
        pw = pathlib.Path(cfg["imap"]["password_file"])
        self.assertEqual(stat.S_IMODE(os.stat(pw).st_mode), 0o600)
        self.assertEqual(pw.read_text().strip(), self.stack.imap_password)
        without = tomllib.loads(self.stack.write_config(test=None).read_text())
        self.assertNotIn("test", without)

    def test_stop_ends_every_process_and_removes_the_directory(self):
        d, port = self.stack.dir, self.stack.imap_port
        self.stack.stop()
        self.assertFalse(port_accepts(port))
        self.assertFalse(port_accepts(self.stack.smtp_port))
        self.assertFalse(d.exists())
        self.stack.stop()  # twice is harmless


if __name__ == "__main__":
    unittest.main()
