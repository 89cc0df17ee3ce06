"""End-to-end: the daemon's metrics listener at [service] metrics_listen, scraped as
Prometheus would while real Dovecot delivers mail and the SMTP server comes and goes:
/healthz, the outbox's depth and the SMTP errors while the server is away, mails ingested,
the last poll, and a listener that cannot bind does not stop the mail."""
import os
import re
import socket
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import Daemon, MailStack, free_port, port_accepts, servicedesk_bin  # noqa: E402


def mail(n):
    return (f"From: Kund <kund{n}@kund.se>\r\nTo: servicedesk@example.com\r\nSubject: Skrivaren {n}\r\n"
            f"Message-ID: <metrics{n}@kund.se>\r\nDate: Sun, 22 Nov 2026 09:00:00 +0100\r\n\r\nHej\r\n").encode()


def fetch(port, path, method="GET"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def samples(text):
    """{'name{labels}': value} of an exposition text, comments left out."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


@unittest.skipUnless(servicedesk_bin().exists() or os.environ.get("SERVICEDESK_REQUIRE_BIN"),
                     "servicedesk binary not built")
class Metrics(unittest.TestCase):
    def setUp(self):
        self.stack = MailStack()
        self.stack.start()
        self.addCleanup(self.stack.stop)
        self.port = free_port()
        self.config = self.stack.write_config(service={"metrics_listen": f"127.0.0.1:{self.port}"})
        self.daemon = Daemon(self.config, stack=self.stack)

    def scrape(self):
        status, headers, body = fetch(self.port, "/metrics")
        self.assertEqual(status, 200, body)
        self.assertTrue(headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"), headers)
        return samples(body), body

    def test_outbox_depth_and_smtp_errors_while_the_server_is_away_then_zero_once_sent(self):
        self.stack.stop_smtp()
        for n in range(3):
            self.stack.deliver(mail(n))
        self.daemon.start()
        self.daemon.wait_until(lambda: port_accepts(self.port), 20, what="the metrics listener")

        status, _, body = fetch(self.port, "/healthz")
        self.assertEqual((status, body), (200, "ok"))

        def three_pending():
            s, _ = self.scrape()
            # The pass is counted when it ends; its acknowledgements are queued batch by batch.
            return (s.get("servicedesk_outbox_pending") == 3
                    and s.get('servicedesk_mails_ingested_total{result="new_ticket"}') == 3 and s)
        s = self.daemon.wait_until(three_pending, 30, what="3 mails ingested and 3 acknowledgements pending")
        self.assertEqual(s["servicedesk_outbox_failed"], 0)
        self.assertEqual(s["servicedesk_mails_quarantined"], 0)
        self.assertEqual(s["servicedesk_store_readable"], 1)
        self.assertGreater(s["servicedesk_last_poll_timestamp_seconds"], time.time() - 120)
        self.assertIn("servicedesk_sla_breaches_total", s)
        self.assertIn("servicedesk_sla_warnings_total", s)
        self.daemon.wait_until(
            lambda: self.scrape()[0]['servicedesk_smtp_errors_total{kind="unreachable"}'] >= 1, 30,
            what="an SMTP error counted")

        self.stack.start_smtp()
        self.daemon.wait_until(lambda: self.scrape()[0]["servicedesk_outbox_pending"] == 0, 90,
                               what="the outbox sent")
        s, text = self.scrape()
        self.assertIn("# TYPE servicedesk_outbox_pending gauge", text)
        self.assertIn("# TYPE servicedesk_imap_errors_total counter", text)
        self.assertGreaterEqual(s['http_requests_total{status="200"}'], 3)

    def test_imap_errors_are_counted_and_healthz_stays_ok_while_the_store_is_fine(self):
        self.daemon.start()
        self.daemon.wait_until(lambda: port_accepts(self.port), 20, what="the metrics listener")
        self.stack.stop_imap()
        self.daemon.wait_until(
            lambda: self.scrape()[0]['servicedesk_imap_errors_total{where="poll"}'] >= 1, 30,
            what="an IMAP error counted")
        self.assertEqual(fetch(self.port, "/healthz")[0], 200)
        self.stack.start_imap()

    def test_other_paths_and_hostile_requests_are_refused_and_the_listener_keeps_answering(self):
        self.daemon.start()
        self.daemon.wait_until(lambda: port_accepts(self.port), 20, what="the metrics listener")
        self.assertEqual(fetch(self.port, "/")[0], 404)
        self.assertEqual(fetch(self.port, "/metrics", method="POST")[0], 405)
        status, headers, body = fetch(self.port, "/metrics", method="HEAD")
        self.assertEqual((status, body), (200, ""))
        self.assertGreater(int(headers["Content-Length"]), 0)
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(b"NONSENSE\r\n\r\n")
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 400"))
        self.assertEqual(fetch(self.port, "/healthz")[0], 200)
        self.assertTrue(self.daemon.running())

    def test_a_listener_that_cannot_bind_is_logged_and_the_mail_still_flows(self):
        taken = socket.socket()
        taken.bind(("127.0.0.1", self.port))
        taken.listen()
        self.addCleanup(taken.close)
        self.stack.deliver(mail(9))
        self.daemon.start()
        self.daemon.wait_until(lambda: len(self.daemon.tickets()) == 1, 30, what="the mail ingested")
        self.assertRegex(self.daemon.log_since(), re.compile(r"metrics: cannot listen on 127\.0\.0\.1:\d+"))
        self.assertTrue(self.daemon.running())


if __name__ == "__main__":
    unittest.main()
