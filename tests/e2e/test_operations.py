"""End-to-end: what operations drive: the systemd notify protocol, check-config, status,
backup while the daemon runs, the outbox and quarantine commands, and file-mode checks."""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import Daemon, MailStack, servicedesk_bin  # noqa: E402


def mail(n, subject="Printer"):
    return (f"From: Kund <kund{n}@kund.se>\r\nTo: servicedesk@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <ops{n}@kund.se>\r\nDate: Sun, 22 Nov 2026 09:00:00 +0100\r\n\r\nHej\r\n").encode()


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class Operations(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop)
        self.config = self.stack.write_config()
        self.daemon = Daemon(self.config, stack=self.stack)

    def test_notify_protocol_ready_status_watchdog_and_stopping(self):
        sock_path = str(self.stack.dir / "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(0.5)
        self.addCleanup(sock.close)
        env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="1000000")
        with open(self.stack.dir / "daemon.log", "ab") as log:
            proc = subprocess.Popen([str(servicedesk_bin()), "--config", str(self.config), "run"],
                                    env=env, stdout=log, stderr=log)
        messages = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
                any("READY=1" in m for m in messages) and sum("WATCHDOG=1" in m for m in messages) >= 3):
            try:
                messages.append(sock.recv(4096).decode())
            except socket.timeout:
                pass
        self.assertTrue(any("READY=1" in m for m in messages), messages)
        self.assertTrue(any(m.startswith("STATUS=") for m in messages), messages)
        self.assertGreaterEqual(sum("WATCHDOG=1" in m for m in messages), 3, messages)
        proc.send_signal(signal.SIGTERM)
        stopping = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any("STOPPING=1" in m for m in stopping):
            try:
                stopping.append(sock.recv(4096).decode())
            except socket.timeout:
                pass
        self.assertTrue(any("STOPPING=1" in m for m in stopping), stopping)
        self.assertEqual(proc.wait(15), 0)

    def test_check_config_says_what_works_and_what_does_not(self):
        r = self.daemon.cli("check-config")
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, out)
        self.assertIn("ok    IMAP", out)
        self.assertIn("ok    IMAP IDLE: offered", out)
        self.assertIn("ok    SMTP", out)
        (self.stack.dir / "imap.pass").write_text("wrong\n")
        self.stack.stop_smtp()
        r = self.daemon.cli("check-config")
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 78, out)
        self.assertIn("FAIL  IMAP", out)
        self.assertIn("fix: check imap.username and the password file", out)
        self.assertIn("FAIL  SMTP", out)

    def test_the_daemon_refuses_files_others_can_read(self):
        os.chmod(self.config, 0o644)
        r = subprocess.run([str(servicedesk_bin()), "--config", str(self.config), "run"], capture_output=True, timeout=20)
        self.assertEqual(r.returncode, 78)
        self.assertIn(b"chmod 640", r.stderr)
        os.chmod(self.config, 0o600)
        os.chmod(self.stack.dir / "imap.pass", 0o644)
        r = subprocess.run([str(servicedesk_bin()), "--config", str(self.config), "run"], capture_output=True, timeout=20)
        self.assertEqual(r.returncode, 78)
        self.assertIn(b"readable by others", r.stderr)
        self.assertIn(b"chmod 600", r.stderr)

    def test_status_backup_and_outbox_while_the_daemon_runs(self):
        self.stack.stop_smtp()
        self.daemon.start()
        for n in range(3):
            self.stack.deliver(mail(n))
        self.daemon.wait_until(lambda: len(self.daemon.tickets()) == 3, 30, what="3 tickets")
        status = self.daemon.wait_until(
            lambda: (s := self.daemon.cli_json("status"))["outbox"]["pending"] == 3 and s, 30, what="3 pending")
        self.assertEqual(status["open_tickets"]["total"], 3)
        self.assertEqual(status["mailboxes"][0]["last_uid"], 3)
        self.assertIsNotNone(status["mailboxes"][0]["last_poll_at"])
        # The store and the daemon running on it, as the daemon records itself (issue 15).
        self.assertEqual(status["store"]["backend"], "sqlite")
        pid = self.daemon.proc.pid
        mine = [d for d in status["daemons"] if d["pid"] == pid]
        self.assertEqual(len(mine), 1, status["daemons"])
        self.assertEqual(mine[0]["host"], socket.gethostname())
        self.assertEqual(mine[0]["id"].split(":")[:2], [socket.gethostname(), str(pid)])
        self.assertLessEqual(mine[0]["heartbeat_age_s"], 10)
        self.assertEqual(mine[0]["leases"], [])  # one daemon per SQLite store: its lock file, no lease

        backup = self.stack.dir / "backup.db"
        r = self.daemon.cli("backup", str(backup))
        self.assertEqual(r.returncode, 0, r.stderr)
        with sqlite3.connect(backup) as db:
            self.assertEqual(db.execute("SELECT count(*) FROM tickets").fetchone()[0], 3)
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")

        listed = self.daemon.cli_json("outbox", "list")
        self.assertEqual(len(listed), 3)
        drop = listed[0]["id"]
        self.assertEqual(self.daemon.cli("outbox", "drop", str(drop)).returncode, 0)
        self.stack.start_smtp()
        retry = listed[1]["id"]
        self.assertEqual(self.daemon.cli("outbox", "retry", str(retry)).returncode, 0)
        self.daemon.wait_until(lambda: len(self.stack.smtp_messages()) == 2, 90, what="2 acknowledgements")
        time.sleep(2)
        self.assertEqual(len(self.stack.smtp_messages()), 2, "the dropped mail was sent")
        # A clean stop takes the daemon off the list.
        self.assertEqual(self.daemon.stop(), 0)
        self.assertEqual([d for d in self.daemon.cli_json("status")["daemons"] if d["pid"] == pid], [])

    def test_quarantine_lists_and_shows_a_mail_with_problems(self):
        self.daemon.start()
        broken = (b"From: kund@kund.se\r\nSubject: =?x-unknown-charset?Q?caf=E9?=\r\nMessage-ID: <q1@k>\r\n"
                  b"Content-Type: multipart/mixed\r\n\r\nno boundary at all\r\n")
        self.stack.deliver(broken)
        self.daemon.wait_until(lambda: len(self.daemon.tickets()) == 1, 30, what="ticket of the broken mail")
        q = self.daemon.cli_json("quarantine", "list")
        self.assertEqual(len(q), 1, q)
        self.assertEqual(q[0]["ticket"], "SD-1")
        raw = self.daemon.cli("quarantine", "show", str(q[0]["id"])).stdout
        self.assertEqual(raw, broken)
        r = self.daemon.cli("quarantine", "retry", str(q[0]["id"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        kinds = [e["kind"] for e in self.daemon.show("SD-1")["events"]]
        self.assertIn("reparsed", kinds)

    def test_ticket_set_resolved_tells_the_customer_and_refuses_a_non_agent_assignee(self):
        self.daemon.start()
        self.stack.deliver(mail(7, "Skrivaren"))
        self.daemon.wait_until(lambda: len(self.stack.smtp_messages()) == 1, 60, what="the acknowledgement")
        r = self.daemon.cli("ticket", "set", "SD-1", "--assign", "nobody@elsewhere.example")
        self.assertEqual(r.returncode, 65, r.stderr)
        self.assertIn(b"nobody@elsewhere.example is not a registered agent", r.stderr)
        self.assertIsNone(self.daemon.show("SD-1")["assignee"], "a refused change changes nothing")

        r = self.daemon.cli("ticket", "set", "SD-1", "--status", "resolved", "--text", "Tonern är bytt.")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.daemon.wait_until(lambda: len(self.stack.smtp_messages()) == 2, 60, what="the resolution mail")
        resolved = self.stack.smtp_messages()[1]
        self.assertEqual(resolved["To"], "Kund <kund7@kund.se>")
        self.assertIn("[SD-1]", resolved["Subject"])
        self.assertIn("Tonern är bytt.", resolved.get_body().get_content())
        t = self.daemon.show("SD-1")
        self.assertEqual(t["status"], "resolved")
        self.assertEqual(t["resolution"], "Tonern är bytt.")
        self.assertIsNotNone(t["first_response_at"], "the resolution mail is the first response")
        self.assertEqual(t["sla"], "met")


if __name__ == "__main__":
    unittest.main()
