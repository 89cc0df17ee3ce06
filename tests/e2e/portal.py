"""The web portal in end-to-end tests: a desk with a daemon and `servicedesk portal` on a
real Dovecot and SMTP server, and an HTTP client that keeps its cookies and shows every
response as it came (status, each header, body), so tests can check what a browser, a
link scanner or an attacker would get.

Sign-in links are read from the SMTP server's capture, as the person would find them in
their mail.
"""
import email.utils
import html
import http.client
import os
import re
import secrets
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from mailstack import Daemon, MailStack, free_port, plain_mail, port_accepts, wait_until  # noqa: E402

AGENT = "eva@example.com"
CUSTOMER = "anna@acme.se"
COLLEAGUE = "carl@acme.se"
OTHER_CUSTOMER = "bo@beta.dk"


def envelope(msg):
    return [a for _, a in email.utils.getaddresses([str(msg["X-RcptTo"] or "")])]


def text_mail(frm, to, subject, body, msgid):
    return plain_mail(frm, to, subject, body, msgid, date="Wed, 02 Dec 2026 09:00:00 +0100")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # [(name, value)], as sent
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def field(self, name):
        """The value of the form field `name` (a hidden input) on the page, unescaped."""
        m = re.search(r'<input[^>]*name="' + re.escape(name) + r'"[^>]*value="([^"]*)"', self.text) or \
            re.search(r'<input[^>]*value="([^"]*)"[^>]*name="' + re.escape(name) + r'"', self.text)
        return html.unescape(m.group(1)) if m else None


class Client:
    """One visitor: a cookie jar of its own (name -> value), no redirects followed."""

    def __init__(self, port, origin=None):
        self.port = port
        self.origin = origin or f"http://127.0.0.1:{port}"
        self.cookies = {}

    def request(self, method, path, form=None, files=None, headers=None, body=None, origin=True):
        hdrs = dict(headers or {})
        if self.cookies and "Cookie" not in hdrs:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST" and origin and "Origin" not in hdrs:
            hdrs["Origin"] = self.origin
        if files is not None:
            boundary = "sd-e2e-" + secrets.token_hex(8)
            parts = []
            for k, v in (form or {}).items():
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode()
                             + str(v).encode() + b"\r\n")
            for field, name, data, ctype in files:
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                             f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n")
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            hdrs["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif form is not None:
            body = urllib.parse.urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            resp = Response(r.status, r.getheaders(), data)
        finally:
            conn.close()
        for c in resp.all("Set-Cookie"):
            name, _, rest = c.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in c.lower() or value == "":
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, form=None, **kw):
        return self.request("POST", path, form=form, **kw)


class PortalDesk:
    """A desk on a real mail stack with the daemon and the portal running: organisations Acme
    (Swedish; contacts Anna and Carl) and Beta (Danish; contact Bo), agent Eva."""

    def start_desk(self, test, portal_overrides=None, **overrides):
        self.stack = MailStack()
        self.stack.start()
        test.addCleanup(self.stack.stop)
        secret = self.stack.token_secret()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        portal = {"listen": f"127.0.0.1:{self.port}", "base_url": self.base_url}
        portal.update(portal_overrides or {})
        self.config = self.stack.write_config(
            agents={"token_secret_file": str(secret)}, intake={"unknown_sender": "accept"},
            portal=portal, **overrides)
        self.daemon = Daemon(self.config, stack=self.stack)
        for args in (["org", "add", "Acme", "--domain", "acme.se", "--language", "sv"],
                     ["org", "add", "Beta", "--domain", "beta.dk", "--language", "da"],
                     ["contact", "add", "--org", "Acme", CUSTOMER, "--name", "Anna Berg"],
                     ["contact", "add", "--org", "Acme", COLLEAGUE, "--name", "Carl Ek"],
                     ["contact", "add", "--org", "Beta", OTHER_CUSTOMER, "--name", "Bo Holm"],
                     ["agent", "add", AGENT, "--name", "Eva Agent"]):
            r = self.daemon.cli(*args)
            test.assertEqual(r.returncode, 0, r.stderr)
        self.daemon.start()
        self.portal = Daemon(self.config, stack=self.stack, command="portal")
        self.portal.start()
        self.portal.wait_until(lambda: port_accepts(self.port), 30, what="the portal's port")

    def cli(self, *args):
        return self.daemon.cli(*args)

    def received_by(self, addr):
        return [m for m in self.stack.smtp_messages() if addr in envelope(m)]

    def wait_for_mail(self, addr, pick, what, timeout=30):
        return self.daemon.wait_until(lambda: [m for m in self.received_by(addr) if pick(m)], timeout, what=what)[-1]

    def login_links(self, addr):
        """Every sign-in link mailed to addr, oldest first."""
        pattern = re.compile(re.escape(self.base_url) + r"/login/[A-Za-z0-9_-]+")
        links = []
        for m in self.received_by(addr):
            body = m.get_body(("plain",))
            links += pattern.findall(body.get_content() if body else "")
        return links

    def request_link(self, client, addr):
        """Asks for a sign-in link as a person would (GET the form, POST it) and returns
        the response to the POST."""
        form = client.get("/login")
        return client.post("/login", {"email": addr, "csrf": form.field("csrf") or ""})

    def wait_for_link(self, addr, count=1, timeout=30):
        links = self.daemon.wait_until(lambda: len(self.login_links(addr)) >= count and self.login_links(addr),
                                       timeout, what=f"sign-in mail number {count} to {addr}")
        return links[count - 1]

    def sign_in(self, client, addr):
        """The whole sign-in by mail; returns the response to the final POST."""
        before = len(self.login_links(addr))
        self.request_link(client, addr)
        link = self.wait_for_link(addr, before + 1)
        path = urllib.parse.urlsplit(link).path
        page = client.get(path)
        return client.post(path, {"csrf": page.field("csrf") or ""})

    def wait_for_ticket(self, count=1):
        return self.daemon.wait_until(lambda: len(self.daemon.tickets()) >= count and self.daemon.tickets(),
                                      30, what=f"{count} tickets")

    def deliver(self, frm, subject, body, msgid):
        self.stack.deliver(text_mail(frm, "servicedesk@example.com", subject, body, msgid))


def wait(predicate, timeout, what):
    return wait_until(predicate, timeout, what=what)


def now_ms():
    return time.monotonic() * 1000
