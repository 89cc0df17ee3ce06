"""The servicedesk demo (run by scripts/demo after the build): a throwaway Dovecot and
SMTP server, the daemon polling the mailbox, one customer mail in, one ticket and one
acknowledgement out; then the web portal (`servicedesk portal`) with a sign-in link for the
customer taken from the SMTP capture, so a browser on this machine shows the customer's view.
On a terminal the portal stays up until Enter or Ctrl-C. Everything is stopped and removed at
the end, also on Ctrl-C or an error; --keep leaves the directory (logs, database) for a look.

Usage: /usr/bin/python3 tests/e2e/demo.py --bin build/cli/servicedesk [--keep] [--no-wait]
"""

from __future__ import annotations

import argparse
import email.policy
import email.utils
import html
import os
import pathlib
import re
import shlex
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mailstack import IMAP_USER, Daemon, MailStack, free_port, port_accepts  # noqa: E402
from portal import Client  # noqa: E402

SAMPLE = pathlib.Path(__file__).resolve().parent / "samples" / "customer.eml"
TTY = sys.stdout.isatty()


def heading(text: str) -> None:
    line = f"== {text} "
    line += "=" * max(0, 78 - len(line))
    print(f"\n\033[1m{line}\033[0m" if TTY else f"\n{line}", flush=True)


def run_cli(daemon: Daemon, *args: str) -> None:
    print(f"$ servicedesk --config {daemon.config} {shlex.join(args)}", flush=True)
    r = daemon.cli(*args)
    sys.stdout.write(r.stdout.decode(errors="replace"))
    if r.returncode != 0:
        sys.stdout.write(r.stderr.decode(errors="replace"))
        raise SystemExit(f"servicedesk {' '.join(args)} exited {r.returncode}")
    sys.stdout.flush()


def links_to(stack: MailStack, addr: str, base_url: str) -> list[str]:
    found = []
    for m in stack.smtp_messages():
        if addr in str(m["X-RcptTo"] or "") and m.get_body(("plain",)):
            found += re.findall(re.escape(base_url) + r"/login/[A-Za-z0-9_-]+", m.get_body(("plain",)).get_content())
    return found


def page_text(page: str) -> str:
    """An HTML page as its visible text, one line per block, for the terminal."""
    page = re.sub(r"(?is)<(head|style|form)\b.*?</\1>", "", page)
    page = re.sub(r"(?i)<(br|/p|/tr|/h[1-6]|/li|/div|/table)\b[^>]*>", "\n", page)
    page = re.sub(r"(?i)</t[dh]>", "  ", page)
    lines = (html.unescape(re.sub(r"<[^>]+>", "", line)).strip() for line in page.splitlines())
    return "\n".join(line for line in lines if line)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="the servicedesk binary")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--mail", default=str(SAMPLE), help="the customer mail to deliver")
    ap.add_argument("--no-wait", action="store_true", help="stop at once, also on a terminal")
    args = ap.parse_args()
    binary = pathlib.Path(args.bin).resolve()
    if not binary.exists():
        raise SystemExit(f"no servicedesk binary at {binary}: build first")
    raw = pathlib.Path(args.mail).read_bytes()

    heading("Mail stack: Dovecot (IMAP) and aiosmtpd (SMTP) on loopback")
    with MailStack(keep=args.keep, prefix="sd-demo-") as stack:
        print(f"directory  {stack.dir}")
        print(f"IMAP       imap://127.0.0.1:{stack.imap_port}/INBOX  (user {IMAP_USER})")
        print(f"SMTP       smtp://127.0.0.1:{stack.smtp_port}  (accepted mail kept in {stack.smtp_maildir})")
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        config = stack.write_config(service={"language": "sv"},
                                    portal={"listen": f"127.0.0.1:{port}", "base_url": base_url})
        print(f"config     {config}\n")
        print(textwrap.indent(config.read_text().rstrip(), "  "))

        heading("Directory: the customer's organisation and contact person")
        daemon = Daemon(config, binary=binary, stack=stack)
        sender = email.utils.parseaddr(email.message_from_bytes(raw, policy=email.policy.default)["From"])
        customer = sender[1].lower()
        run_cli(daemon, "org", "add", "Lindqvist Bygg", "--domain", customer.split("@")[1], "--language", "sv")
        run_cli(daemon, "contact", "add", "--org", "Lindqvist Bygg", customer, "--name", sender[0] or customer)

        heading("Daemon: servicedesk run (polls INBOX every second)")
        daemon.start()
        print(f"started, pid {daemon.proc.pid}, log {daemon.log}")

        heading("A customer mail arrives in INBOX (as the MTA delivers it: unseen)")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        for h in ("From", "To", "Subject", "Message-ID", "Date"):
            print(f"{h}: {msg[h]}")
        print(f"({len(raw)} bytes, {sum(1 for _ in msg.iter_attachments())} attachment(s))")
        stack.deliver(raw)

        heading("Waiting for the ticket and the acknowledgement")
        tickets = daemon.wait_until(lambda: daemon.tickets(), 30, what="the ticket")
        ticket_id = tickets[0]["id"]
        print(f"ticket {ticket_id} stored")
        daemon.wait_until(lambda: any(f"[{ticket_id}]" in str(m["Subject"]) for m in stack.smtp_messages()),
                          60, what="the acknowledgement")
        print("acknowledgement accepted by the SMTP server")
        flags = stack.imap_uids_and_flags()
        print("INBOX on the IMAP server: " + ", ".join(f"UID {u} {' '.join(sorted(f)) or '(no flags)'}"
                                                       for u, f in flags))

        heading("servicedesk tickets")
        run_cli(daemon, "tickets")
        heading(f"servicedesk show {ticket_id}")
        run_cli(daemon, "show", ticket_id)

        heading("The acknowledgement as the SMTP server received it")
        ack = next(m for m in stack.smtp_messages() if f"[{ticket_id}]" in str(m["Subject"]))
        print("-- headers (decoded; X-Peer, X-MailFrom and X-RcptTo were added by aiosmtpd)")
        for k, v in ack.items():
            print(f"{k}: {v}")
        body = ack.get_body(("plain",))
        print(f"-- body ({body['Content-Type']}; {body['Content-Transfer-Encoding']}), decoded:")
        print(body.get_content().rstrip())

        heading(f"Portal: servicedesk portal on {base_url}")
        portal = Daemon(config, binary=binary, stack=stack, command="portal").start()
        portal.wait_until(lambda: port_accepts(port), 30, what="the portal's port")
        print(f"started, pid {portal.proc.pid}, log {portal.log}")
        print(f"$ curl -s {base_url}/healthz  ->  {Client(port).get('/healthz').text.strip()}")

        def sign_in_link() -> str:
            """Asks for a link as the customer would (the form on /login) and reads it from
            the mail the daemon sent."""
            known = set(links_to(stack, customer, base_url))
            client = Client(port)
            form = client.get("/login")
            client.post("/login", {"email": customer, "csrf": form.field("csrf") or ""})
            new = daemon.wait_until(lambda: [x for x in links_to(stack, customer, base_url) if x not in known],
                                    60, what="the sign-in mail")
            return new[0]

        heading("The customer's view: sign in by mail, then GET /tickets")
        link = sign_in_link()
        browser = Client(port)
        path = link[len(base_url):]
        browser.post(path, {"csrf": browser.get(path).field("csrf") or ""})
        page = browser.get("/tickets")
        print(f"GET /tickets -> {page.status}")
        print(textwrap.indent(page_text(page.text), "  "))

        link = sign_in_link()
        heading("Open the portal in a browser on this machine")
        print(f"portal        {base_url}/")
        print(f"sign in as {customer} (works once, for portal.login_link_minutes = 15):\n  {link}")
        if TTY and not args.no_wait:
            try:
                input("\nThe portal stays up until you press Enter (or Ctrl-C). ")
            except (EOFError, KeyboardInterrupt):
                print()

        heading("Stopping")
        print(f"portal exited {portal.stop()} on SIGTERM")
        code = daemon.stop()
        print(f"servicedesk exited {code} on SIGTERM")
        tail = daemon.log_tail(20)
        print("-- daemon log:")
        print(tail)
        if code != 0:
            return 1
    print(f"\nmail stack stopped{'; kept ' + str(stack.dir) if args.keep else ' and removed'}.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
