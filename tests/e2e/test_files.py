"""End-to-end: the files the desk reads and writes, tried as another user on the host
would: the modes of the store, its -wal/-shm and the lock under a lax umask (022), a backup
onto a symlink, `run` on a group-readable password file or a short token secret, group read
inside systemd's credentials directory, [test] keys outside tests, and the STARTTLS
exemption for a host name that only starts like `localhost`.

Security notes: everything lives in the stack's temporary directory; the umask this process
sets is put back after each test."""
import os
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import REPO, Daemon, MailStack, servicedesk_bin, wait_until  # noqa: E402

EX_CANTCREAT, EX_CONFIG = 73, 78
SCALE = 0.5 if os.environ.get("CI") == "true" else 1.0


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def mail(n):
    return (f"From: Kund <kund{n}@kund.se>\r\nTo: servicedesk@example.com\r\nSubject: Printer {n}\r\n"
            f"Message-ID: <files{n}@kund.se>\r\nDate: Sun, 22 Nov 2026 09:00:00 +0100\r\n\r\nHej\r\n").encode()


def without_test_keys():
    env = dict(os.environ)
    env.pop("SERVICEDESK_TEST_KEYS", None)
    return env


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class Files(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop)
        self.config = self.stack.write_config()
        self.daemon = Daemon(self.config, stack=self.stack)
        old = os.umask(0o022)  # what a shell gives an operator by default
        self.addCleanup(os.umask, old)

    def run_cli(self, *args, env=None, timeout=20):
        return subprocess.run([str(servicedesk_bin()), "--config", str(self.config), *args],
                              capture_output=True, timeout=timeout, env=env)

    def assert_run_refuses(self, *expected: bytes):
        """`run` must exit 78 before it starts; a daemon that starts is the failure."""
        try:
            r = self.run_cli("run", timeout=15 * SCALE + 5)
        except subprocess.TimeoutExpired:
            self.fail("`run` started the daemon instead of refusing")
        self.assertEqual(r.returncode, EX_CONFIG, r.stderr)
        for part in expected:
            self.assertIn(part, r.stderr)
        return r

    def test_a_store_made_by_run_under_umask_022_is_0600_with_its_wal_shm_and_lock(self):
        store = self.stack.dir / "servicedesk.db"
        self.assertFalse(store.exists())
        self.daemon.start()
        self.stack.deliver(mail(1))
        self.daemon.wait_until(lambda: len(self.daemon.tickets()) == 1, 30, what="the ticket")
        for f in (store, f"{store}-wal", f"{store}-shm", f"{store}.lock"):
            self.assertEqual(oct(mode(f)), oct(0o600), f)
        backup = self.stack.dir / "copy.db"
        r = self.daemon.cli("backup", str(backup))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(oct(mode(backup)), oct(0o600))
        self.daemon.stop()
        self.assertEqual(oct(mode(store)), oct(0o600))

    def test_a_store_made_by_ingest_under_umask_022_is_0600(self):
        r = self.daemon.ingest(input=mail(2))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(oct(mode(self.stack.dir / "servicedesk.db")), oct(0o600))

    def test_a_backup_onto_a_symlink_is_refused_and_nothing_is_written_where_it_points(self):
        self.daemon.ingest(input=mail(3))
        # A dangling link would make the file it names, in a place of the link maker's choice.
        dangling = self.stack.dir / "dangling.db"
        target = self.stack.dir / "made-through-the-link.db"
        dangling.symlink_to(target)
        r = self.daemon.cli("backup", str(dangling))
        self.assertFalse(target.exists(), "backup followed a dangling symlink")
        self.assertEqual(r.returncode, EX_CANTCREAT, r.stderr)
        self.assertIn(b"symbolic link", r.stderr)
        # One to an existing file leaves that file as it was.
        victim = self.stack.dir / "victim.txt"
        victim.write_text("not yours\n")
        os.chmod(victim, 0o644)
        link = self.stack.dir / "backup.db"
        link.symlink_to(victim)
        r = self.daemon.cli("backup", str(link))
        self.assertEqual(r.returncode, EX_CANTCREAT, r.stderr)
        self.assertIn(b"symbolic link", r.stderr)
        self.assertEqual(victim.read_text(), "not yours\n")
        self.assertEqual(oct(mode(victim)), oct(0o644))

    def test_run_refuses_a_group_readable_password_file(self):
        pw = self.stack.dir / "imap.pass"
        os.chmod(pw, 0o640)
        self.assert_run_refuses(str(pw).encode() + b": IMAP password file is readable by its group",
                                b"chmod 600 " + str(pw).encode(), b"CREDENTIALS_DIRECTORY")

    def test_run_refuses_a_one_character_token_secret(self):
        token = self.stack.dir / "token.secret"
        token.write_text("x\n")
        os.chmod(token, 0o600)
        self.config = self.stack.write_config(agents={"token_secret_file": str(token)})
        r = self.assert_run_refuses(b"agents' token secret is 1 bytes, shorter than 16", b"head -c 32 /dev/urandom")
        self.assertIn(str(token).encode(), r.stderr)

    def test_run_starts_with_an_empty_token_secret(self):
        token = self.stack.dir / "token.secret"
        token.write_text("\n")
        os.chmod(token, 0o600)
        self.config = self.stack.write_config(agents={"token_secret_file": str(token)})
        daemon = Daemon(self.config, stack=self.stack).start()
        self.stack.deliver(mail(4))
        daemon.wait_until(lambda: len(daemon.tickets()) == 1, 30, what="the ticket")
        daemon.stop()

    def test_run_reads_a_group_readable_password_inside_the_credentials_directory(self):
        creds = self.stack.dir / "credentials"
        creds.mkdir(mode=0o700)
        pw = creds / "imap"
        pw.write_text(self.stack.imap_password + "\n")
        os.chmod(pw, 0o440)
        self.config = self.stack.write_config(imap={"password_file": str(pw)})
        log = self.stack.dir / "creds-daemon.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(servicedesk_bin()), "--config", str(self.config), "run"],
                                    env=dict(os.environ, CREDENTIALS_DIRECTORY=str(creds)),
                                    stdout=out, stderr=out)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        try:
            wait_until(lambda: proc.poll() is not None
                       or "Login: user=<servicedesk>" in self.stack.dovecot_log.read_text(), 20,
                       what="the login")
        finally:
            running = proc.poll() is None
            proc.terminate()
            proc.wait(15)
        self.assertTrue(running, log.read_text())
        self.assertIn("Login: user=<servicedesk>", self.stack.dovecot_log.read_text())

    def test_test_keys_are_refused_without_SERVICEDESK_TEST_KEYS_and_load_with_it(self):
        self.config = self.stack.write_config(test={"fault": "crash_after_commit", "clock_offset_s": 0})
        lines = self.config.read_text().splitlines()
        line = next(i for i, text in enumerate(lines, 1) if text.startswith("fault ="))
        r = self.run_cli("tickets", env=without_test_keys())
        self.assertEqual(r.returncode, EX_CONFIG, r.stderr)
        self.assertIn(f"{self.config}:{line}: key 'test.fault': a test aid, refused outside tests".encode(), r.stderr)
        r = self.run_cli("tickets", env=dict(os.environ, SERVICEDESK_TEST_KEYS="1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        # The shipped example lists the keys at their defaults: it loads anywhere.
        r = subprocess.run([str(servicedesk_bin()), "--config", str(REPO / "config" / "servicedesk.example.toml"),
                            "sla", "holidays", "--calendar", "dk", "--year", "2026"],
                           capture_output=True, timeout=20, env=without_test_keys())
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_a_host_that_only_starts_like_localhost_gets_no_plaintext_login(self):
        # curl resolves every *.localhost name to loopback itself (RFC 6761), so this name
        # reaches the local Dovecot (no STARTTLS offered) without any DNS: the prefix check
        # that exempted "localhost..." sent the password in the clear.
        port = self.stack.imap_port
        self.config = self.stack.write_config(imap={"url": f"imap://localhost.corp.localhost:{port}/INBOX"})
        r = self.run_cli("check-config", timeout=60)
        self.assertEqual(r.returncode, EX_CONFIG, r.stdout)
        self.assertIn(b"FAIL  IMAP", r.stdout)
        time.sleep(0.5)
        self.assertNotIn("Login: user=<servicedesk>", self.stack.dovecot_log.read_text(),
                         "logged in without TLS to a host that is not loopback")
        # Exactly localhost stays exempt (nothing crosses a network).
        self.config = self.stack.write_config(imap={"url": f"imap://localhost:{port}/INBOX"})
        self.run_cli("check-config", timeout=60)
        wait_until(lambda: "Login: user=<servicedesk>" in self.stack.dovecot_log.read_text(), 10,
                   what="the login to localhost")


if __name__ == "__main__":
    unittest.main()
