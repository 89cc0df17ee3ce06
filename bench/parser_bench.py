#!/usr/bin/python3
"""Compare sd::parser (bench/parser_bench.cpp) with Python's standard email package.

    bench/parser_bench.py --bench BUILD/bench/parser_bench [--seconds S] PATH...
    bench/parser_bench.py --bench ... --generate DIR [--count N] PATH...

Both parse the same files in the same run. Python does what the service desk needs of a
mail: message_from_bytes(policy=email.policy.default), the headers (subject, from, to,
message-id, date), get_body(('plain', 'html')).get_content() and iter_attachments() with
get_content(). --generate first writes N typical mails (2-50 KB: plain replies, HTML with
a plain alternative, mails with attachments) into DIR and adds DIR to the paths.
Run it with Debian's /usr/bin/python3.
"""
import argparse
import email
import email.policy
import os
import random
import re
import subprocess
import sys
import time
from email.message import EmailMessage


def collect(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".eml")]
        else:
            files.append(p)
    return [open(f, "rb").read() for f in files]


def generate(directory, count):
    os.makedirs(directory, exist_ok=True)
    rnd = random.Random(42)
    words = ("printer vpn password reset laptop screen invoice ticket please thanks "
             "urgent meeting office network access account mailbox license update "
             "tack hej skrivare lösenord kontor møde adgangskode venlig hilsen").split()

    def para(n):
        return " ".join(rnd.choice(words) for _ in range(n)).capitalize() + "."

    for i in range(count):
        msg = EmailMessage()
        msg["From"] = f"Användare {i} <user{i}@example.se>"
        msg["To"] = "Service Desk <desk@example.org>"
        msg["Subject"] = f"Re: Ärende {i}: {para(5)}"
        msg["Message-ID"] = f"<m{i}@example.se>"
        msg["Date"] = "Tue, 5 Mar 2024 10:15:00 +0100"
        kind = i % 3
        text = "\n\n".join(para(rnd.randint(20, 60)) for _ in range(rnd.randint(3, 12)))
        quoted = "\n".join("> " + line for line in text.splitlines())
        body = f"{para(30)}\n\nOn Mon, 4 Mar 2024, Desk wrote:\n{quoted}\n"
        msg.set_content(body)
        if kind >= 1:
            html = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
            msg.add_alternative(f"<html><body><style>p{{margin:0}}</style>{html}</body></html>",
                                subtype="html")
        if kind == 2:
            data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(4000, 25000)))
            msg.add_attachment(data, maintype="application", subtype="pdf",
                               filename=f"faktura {i}.pdf")
        with open(os.path.join(directory, f"gen-{i:04d}.eml"), "wb") as f:
            f.write(msg.as_bytes())


def python_parse(mails, seconds):
    policy = email.policy.default
    parsed = nbytes = 0
    size = sum(len(m) for m in mails)
    start = time.perf_counter()
    while True:
        for raw in mails:
            msg = email.message_from_bytes(raw, policy=policy)
            for h in ("subject", "from", "to", "message-id", "date"):
                try:
                    str(msg[h])
                except Exception:
                    pass
            try:
                body = msg.get_body(preferencelist=("plain", "html"))
                if body is not None:
                    body.get_content()
                for att in msg.iter_attachments():
                    att.get_content()
            except Exception:
                pass
        parsed += len(mails)
        nbytes += size
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return nbytes / elapsed / 1e6, parsed / elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="path to the parser_bench executable")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--generate", metavar="DIR")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("paths", nargs="*")
    args = ap.parse_args()
    paths = list(args.paths)
    if args.generate:
        generate(args.generate, args.count)
        paths.append(args.generate)
    if not paths:
        ap.error("no mails to parse")
    mails = collect(paths)
    avg = sum(len(m) for m in mails) / len(mails) / 1024
    out = subprocess.run([args.bench, "--seconds", str(args.seconds)] + paths,
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"RESULT mb_per_s=([\d.]+) mails_per_s=([\d.]+)", out)
    if not m:
        sys.exit("parser_bench printed no RESULT line:\n" + out)
    cpp_mb, cpp_msg = float(m.group(1)), float(m.group(2))
    py_mb, py_msg = python_parse(mails, args.seconds)
    print(f"{len(mails)} mails, {avg:.1f} KB average")
    print(f"sd::parser (C++)        {cpp_mb:8.1f} MB/s {cpp_msg:10.0f} mails/s")
    print(f"Python email (default)  {py_mb:8.1f} MB/s {py_msg:10.0f} mails/s")
    print(f"ratio C++ / Python      {cpp_msg / py_msg:8.1f}x")


if __name__ == "__main__":
    main()
