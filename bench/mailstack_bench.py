#!/usr/bin/python3
"""Benchmarks of the whole daemon on a real local mail stack (tests/e2e/mailstack.py:
Dovecot + aiosmtpd on loopback). Figures and the commands that made them: docs/PERFORMANCE.md.

    bench/mailstack_bench.py ingest  [--mails 10000] [--fetch range|per_uid] [--batch N] [--perf FILE]
                                     [--store sqlite|postgresql] [--standby] [--fts-cost] [--pg-statements]
    bench/mailstack_bench.py stores  [--mails 10000] [--rounds 1] [--variants sqlite,postgresql,standby]
    bench/mailstack_bench.py latency [--mails 1000] [--idle on|off] [--poll-interval 60] [--gap-ms 10] [--wait-ack]
    bench/mailstack_bench.py bigmail [--mib 25]
    bench/mailstack_bench.py pipe    [--mails 200] [--gap-ms 50] [--open-loop] [--no-wake]

ingest   A backlog of N mails of a mixed corpus is put into Dovecot's Maildir (and indexed
         by Dovecot) before the daemon starts; then `servicedesk run` is timed from its
         start until every mail is stored (a mail's raw bytes, ticket and queued
         acknowledgement are one transaction). SMTP points at a closed port, so the
         acknowledgements stay queued and sending does not compete. The store is polled
         read-only every --sample-s (sqlite3 on the file; on PostgreSQL one psql session
         kept open); the daemon's VmHWM is read at the end. --store postgresql runs the
         daemon on a database of its own on a PostgreSQL 15 cluster the benchmark starts
         (tests/e2e/pgcluster.py, but with fsync on, as a production server: both stores
         then return from COMMIT only once it is on disk); --standby also starts a second
         daemon on it once the first has taken the mailbox lease (it stands by: heartbeats,
         lease looks, and its own outbox worker on the shared outbox).
stores   The same backlog (same seed, same mails) through `ingest` on SQLite, on PostgreSQL,
         and on PostgreSQL with a standby, in turn, --rounds times (interleaved, so a
         change in the machine's load falls on each alike), then a table of the medians
         and PostgreSQL's rate as a share of SQLite's.
latency  The daemon runs with a working SMTP server (aiosmtpd). N small mails are
         delivered one by one into the Maildir, --gap-ms apart (open loop) or each after
         the previous one's acknowledgement (--wait-ack); each latency is from the
         delivery (the rename into new/) to the moment the acknowledgement, In-Reply-To the
         mail's Message-ID, is first seen in aiosmtpd's Maildir (a tight polling loop).
pipe     The daemon runs with a working SMTP server; N small mails are piped one by one
         through `servicedesk ingest` (a new process each, as an MTA's pipe delivery
         runs it: start, config, store, parse, commit), each after the previous one's
         acknowledgement and --gap-ms later (or --open-loop: one every --gap-ms). Each
         latency is from just before the ingest process starts to the moment its
         acknowledgement is first seen in aiosmtpd's Maildir; the ingest process's own
         run time is reported beside it. The daemon's IMAP side is idle (no IDLE, a 600 s
         poll), so only the outbox's wake-up (or, with --no-wake, which removes the
         daemon's wake-up socket, its once-a-minute scan) sends the mail.
bigmail  One mail with an attachment of --mib MiB (decoded, base64 in the mail); the
         daemon's VmHWM before and after, checked against 3 x the message size + 30 MiB,
         and the stored attachment checked byte for byte.

Run as root (Dovecot) with Debian's /usr/bin/python3 (aiosmtpd). --bin names the
servicedesk binary (default $SERVICEDESK_BIN or build/cli/servicedesk). --json FILE
also writes the figures (and the samples) as JSON. Standard library only.
"""
from __future__ import annotations

import argparse
import base64
import email.utils
import hashlib
import json
import os
import pathlib
import platform
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
import mailstack  # noqa: E402  (tests/e2e/mailstack.py: MailStack, Daemon)

MiB = 1024 * 1024
DESK = "Service Desk <servicedesk@example.com>"


# ---- the machine ---------------------------------------------------------------------------

def machine() -> dict:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = open("/proc/loadavg").read().split()[:3]
    except OSError:
        load = []
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "loadavg_before": " ".join(load)}


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM ... of a process in KiB."""
    out = {}
    try:
        for line in open(f"/proc/{pid}/status"):
            k, _, v = line.partition(":")
            if k.startswith("Vm"):
                out[k] = int(v.split()[0])
    except (OSError, ValueError):
        pass
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


# ---- mails ---------------------------------------------------------------------------------

WORDS = ("printer vpn password reset laptop screen invoice ticket please thanks urgent "
         "meeting office network access account mailbox license update server backup "
         "restore login error again today since yesterday monitor docking station "
         "tack hej skrivare lösenord kontor möte adgangskode venlig hilsen fejl åbne").split()
DOMAINS = [f"kunde{n}.{tld}" for n in range(40) for tld in ("se", "dk", "com")][:60]


class MailMaker:
    """Deterministic mails with distinct senders and Message-IDs (so each opens a ticket)."""

    def __init__(self, seed: int, run: str):
        self.rnd = random.Random(seed)
        self.run = run
        self.corpus = sorted(REPO.glob("tests/corpus/mail-parser/**/*.eml")) + \
            sorted(REPO.glob("tests/e2e/samples/*.eml"))
        self.corpus_bytes = [p.read_bytes() for p in self.corpus]
        self.corpus_next = 0

    def sentence(self, n: int) -> str:
        return " ".join(self.rnd.choice(WORDS) for _ in range(n)).capitalize() + "."

    def paragraphs(self, lo: int, hi: int) -> list[str]:
        out = []
        for _ in range(self.rnd.randint(lo, hi)):
            s = " ".join(self.sentence(self.rnd.randint(6, 16)) for _ in range(self.rnd.randint(2, 6)))
            out.append(wrap(s))
        return out

    def headers(self, i: int, subject: str, extra: list[str]) -> tuple[list[str], str]:
        domain = DOMAINS[i % len(DOMAINS)]
        msgid = f"<bench.{self.run}.{i}@{domain}>"
        h = [f"From: Kund {i} <kund{i}.{self.run}@{domain}>",
             f"To: {DESK}",
             f"Subject: {subject}",
             f"Date: {email.utils.formatdate(localtime=False)}",
             f"Message-ID: {msgid}",
             "MIME-Version: 1.0"] + extra
        return h, msgid

    def plain_reply(self, i: int) -> tuple[bytes, str]:
        """A customer's reply quoting an earlier mail (that the store never saw)."""
        new = self.paragraphs(1, 3)
        quoted = self.paragraphs(2, 10)
        body = "\n\n".join(new) + f"\n\nKund {i}\n\nOn Mon, 30 Nov 2026 09:12, Support wrote:\n" + \
            "\n".join("> " + line if line else ">" for line in "\n\n".join(quoted).split("\n")) + "\n"
        thread = f"<thread.{self.run}.{i}@example.com>"
        h, msgid = self.headers(i, f"Re: {self.sentence(5)[:-1]}",
                                [f"In-Reply-To: {thread}", f"References: {thread}",
                                 "Content-Type: text/plain; charset=utf-8",
                                 "Content-Transfer-Encoding: 8bit"])
        return crlf("\n".join(h) + "\n\n" + body), msgid

    def html_alternative(self, i: int) -> tuple[bytes, str]:
        paras = self.paragraphs(2, 12)
        text = "\n\n".join(paras) + "\n"
        html = ("<html><head><style>p{margin:0 0 1em 0} .sig{color:#888}</style></head><body>"
                + "".join(f"<p>{p.replace(chr(10), ' ')}</p>\n" for p in paras)
                + "<p class=\"sig\">--<br>Kund</p></body></html>\n")
        b = f"=_alt_{self.run}_{i}"
        h, msgid = self.headers(i, self.sentence(6)[:-1],
                                [f"Content-Type: multipart/alternative; boundary=\"{b}\""])
        body = (f"--{b}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{text}\n"
                f"--{b}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{html}\n"
                f"--{b}--\n")
        return crlf("\n".join(h) + "\n\n" + body), msgid

    def with_attachment(self, i: int, size: int | None = None, kind: str | None = None) -> tuple[bytes, str, bytes]:
        """Plain text plus a base64 PDF or PNG of `size` bytes (50-500 KB when not given)."""
        size = size if size is not None else self.rnd.randint(50_000, 500_000)
        kind = kind or self.rnd.choice(("pdf", "png"))
        magic = b"%PDF-1.4\n" if kind == "pdf" else b"\x89PNG\r\n\x1a\n"
        data = magic + self.rnd.randbytes(size - len(magic))
        ctype = "application/pdf" if kind == "pdf" else "image/png"
        name = f"{'faktura' if kind == 'pdf' else 'skärmbild'}-{i}.{kind}"
        b = f"=_mix_{self.run}_{i}"
        h, msgid = self.headers(i, self.sentence(5)[:-1],
                                [f"Content-Type: multipart/mixed; boundary=\"{b}\""])
        text = "\n\n".join(self.paragraphs(1, 4)) + "\n"
        head = (f"--{b}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{text}\n"
                f"--{b}\nContent-Type: {ctype}; name=\"{name}\"\n"
                f"Content-Disposition: attachment; filename=\"{name}\"\n"
                f"Content-Transfer-Encoding: base64\n\n")
        raw = crlf("\n".join(h) + "\n\n" + head) + base64.encodebytes(data).replace(b"\n", b"\r\n") + \
            crlf(f"\n--{b}--\n")
        return raw, msgid, data

    def from_corpus(self, i: int) -> tuple[bytes, str, str]:
        """The next corpus mail with From, Sender, Reply-To and Message-ID replaced."""
        k = self.corpus_next % len(self.corpus)
        self.corpus_next += 1
        domain = DOMAINS[i % len(DOMAINS)]
        msgid = f"<bench.{self.run}.{i}@{domain}>"
        raw = replace_headers(self.corpus_bytes[k], {"from", "sender", "reply-to", "message-id"},
                              [f"From: Kund {i} <kund{i}.{self.run}@{domain}>", f"Message-ID: {msgid}"])
        return raw, msgid, str(self.corpus[k].relative_to(REPO))

    def small(self, i: int) -> tuple[bytes, str]:
        """A short first mail (the latency benchmark's)."""
        h, msgid = self.headers(i, f"Printer on floor {i % 9} does not print",
                                ["Content-Type: text/plain; charset=utf-8",
                                 "Content-Transfer-Encoding: 8bit"])
        return crlf("\n".join(h) + "\n\n" + "\n\n".join(self.paragraphs(1, 3)) + "\n\nKund\n"), msgid


def wrap(s: str, width: int = 72) -> str:
    lines, line = [], ""
    for w in s.split():
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    if line:
        lines.append(line)
    return "\n".join(lines)


def crlf(s: str) -> bytes:
    return s.replace("\n", "\r\n").encode()


def replace_headers(raw: bytes, drop: set[str], add: list[str]) -> bytes:
    """Drops the header fields named in `drop` (with their folded lines) from the first
    header block and puts `add` on top, in the mail's own line ending."""
    ends = [p for p in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if p >= 0]
    cut = min(ends) if ends else len(raw)
    head, rest = raw[:cut], raw[cut:]
    eol = b"\r\n" if b"\r\n" in raw[:cut + 2] else b"\n"
    kept, skipping = [], False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower().decode("latin-1")
        skipping = name in drop
        if not skipping:
            kept.append(line)
    top = eol.join(a.encode() for a in add) + eol
    if not kept and rest.startswith(eol + eol):
        rest = rest[len(eol):]  # the old block was all dropped: keep one blank line
    return top + b"".join(kept) + rest


def ingest_corpus(n: int, attach_share: float, corpus_share: float, html_share: float,
                  seed: int, run: str) -> tuple[list[bytes], dict]:
    mk = MailMaker(seed, run)
    mails, kinds = [], {"corpus": 0, "plain reply": 0, "html+plain": 0, "attachment": 0}
    attach_bytes = 0
    for i in range(n):
        r = mk.rnd.random()
        if r < corpus_share:
            raw = mk.from_corpus(i)[0]
            kinds["corpus"] += 1
        elif r < corpus_share + attach_share:
            raw, _, data = mk.with_attachment(i)
            attach_bytes += len(data)
            kinds["attachment"] += 1
        elif r < corpus_share + attach_share + html_share:
            raw = mk.html_alternative(i)[0]
            kinds["html+plain"] += 1
        else:
            raw = mk.plain_reply(i)[0]
            kinds["plain reply"] += 1
        mails.append(raw)
    sizes = sorted(len(m) for m in mails)
    info = {"mails": n, "kinds": kinds, "corpus_files": len(mk.corpus),
            "bytes": sum(sizes), "avg_kib": sum(sizes) / n / 1024,
            "median_kib": sizes[n // 2] / 1024, "max_kib": sizes[-1] / 1024,
            "attachment_decoded_bytes": attach_bytes}
    return mails, info


# ---- the store -----------------------------------------------------------------------------

class StoreReader:
    """Read-only sqlite3 view of the daemon's store (WAL: readers never block the writer)."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        self.db: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection | None:
        if self.db is None:
            if not self.path.exists():
                return None
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
        return self.db

    def one(self, sql: str, *args):
        db = self._open()
        if db is None:
            return None
        try:
            return db.execute(sql, args).fetchone()
        except sqlite3.OperationalError:  # the schema is not there yet
            return None

    def rows(self, sql: str) -> list[tuple]:
        db = self._open()
        return db.execute(sql).fetchall() if db is not None else []

    def counts(self) -> tuple[int, int, int]:
        """(raw mails, tickets, outbox rows); count(*) walks the smallest index."""
        row = self.one(COUNTS_SQL)
        return tuple(row) if row else (0, 0, 0)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))

    def close(self):
        if self.db is not None:
            self.db.close()
            self.db = None


COUNTS_SQL = ("SELECT (SELECT count(*) FROM raw_mails), (SELECT count(*) FROM tickets), "
              "(SELECT count(*) FROM outbox)")


class PgReader:
    """The same reads on a PostgreSQL store, through one psql session kept open (a psql
    process per sample would cost the shared cores more than the reads): each query is
    followed by an \\echo of a marker, and the answer is read up to it. Read-only
    transactions; integers come back as int, the rest as text."""

    MARK = "-- end of the sd-bench answer --"

    def __init__(self, url: str):
        self.url = url
        self.proc: subprocess.Popen | None = None

    def _open(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            from pgcluster import BIN
            env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
            env["PGOPTIONS"] = "-c default_transaction_read_only=on"
            self.proc = subprocess.Popen([str(BIN / "psql"), "-X", "-q", "-At", "-F", "\x1f", self.url],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True, env=env)
        return self.proc

    def rows(self, sql: str) -> list[tuple]:
        """The rows, or [] when the query failed (the schema is not there yet)."""
        p = self._open()
        p.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo " + self.MARK + "\n")
        p.stdin.flush()
        lines, failed = [], False
        while True:
            line = p.stdout.readline()
            if not line:  # psql exited (the server went away): open it again next time
                self.proc = None
                return []
            line = line.rstrip("\n")
            if line == self.MARK:
                break
            # An error's lines (ERROR:, LINE 1:, the caret) come before the marker.
            failed = failed or line.startswith(("ERROR:", "psql:", "FATAL:"))
            if not failed:
                lines.append(line)
        if failed:
            return []
        return [tuple(int(v) if re.fullmatch(r"-?\d+", v) else v for v in line.split("\x1f")) for line in lines]

    def one(self, sql: str, *args):
        assert not args, "PgReader takes no parameters"
        rows = self.rows(sql)
        return rows[0] if rows else None

    def counts(self) -> tuple[int, int, int]:
        row = self.one(COUNTS_SQL)
        return tuple(row) if row else (0, 0, 0)

    def size_bytes(self) -> int:
        row = self.one("SELECT pg_database_size(current_database())")
        return row[0] if row else 0

    def close(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
            self.proc = None


_pg = None


def bench_pg_cluster(statements: bool = False):
    """The benchmark's PostgreSQL 15 cluster (tests/e2e/pgcluster.py's PgCluster), started
    at the first call, with fsync on: the test clusters run with fsync off, which would
    make PostgreSQL's COMMIT cheaper than SQLite's (synchronous=FULL) for no reason a
    production server has. Stopped and removed at exit; a database per run, dropped after
    it."""
    global _pg
    if _pg is None:
        import atexit
        import shlex
        from pgcluster import BIN, PgCluster

        class DurablePgCluster(PgCluster):
            def start_server(self) -> None:
                if self._running:
                    return
                options = (f"-p {self.port} -k {shlex.quote(str(self.dir))}"
                           " -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200"
                           + (" -c shared_preload_libraries=pg_stat_statements" if statements else ""))
                self._run([BIN / "pg_ctl", "-D", self.dir / "data", "-l", self.dir / "log", "-o", options,
                           "-w", "-t", "60", "start"], as_owner=True)
                self._running = True

        _pg = DurablePgCluster(prefix="sd-bench-pg-")
        _pg.start()
        atexit.register(_pg.stop)
        if statements:
            _pg.psql(_pg.admin_url, "CREATE EXTENSION pg_stat_statements")
        settings = _pg.psql(_pg.admin_url, "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings "
                                           "WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', "
                                           "'shared_buffers', 'server_version', 'full_page_writes')")
        print(f"PostgreSQL cluster {_pg.dir} on port {_pg.port}: {settings}", flush=True)
    return _pg


def pg_server_cpu(pg) -> float:
    """CPU seconds (user + system) the PostgreSQL server has used: the postmaster, its
    live children (the backends, the WAL writer, the checkpointer), and the children it
    has reaped (cutime, cstime)."""
    try:
        postmaster = int((pg.dir / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")
    tck = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = open(f"/proc/{entry}/stat").read().rpartition(")")[2].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        if pid == postmaster or ppid == postmaster:
            total += sum(int(f) for f in fields[11:15]) / tck
    return total


def daemon_config(stack: mailstack.MailStack, args, smtp_url: str | None, imap: dict,
                  store: dict | None = None) -> pathlib.Path:
    keys = {"poll_interval_s": 1, "after_ingest": "seen"}
    if getattr(args, "fetch", None):
        keys["fetch"] = args.fetch
    if getattr(args, "batch", None):
        keys["batch_max_mails"] = args.batch
    keys.update(imap)
    smtp = {"url": smtp_url} if smtp_url else {}
    more = {"store": store} if store else {}
    if getattr(args, "intake_extra", None):
        more["intake"] = args.intake_extra
    return stack.write_config(service={"log_level": args.log_level}, imap=keys, smtp=smtp, **more)


def start_perf(pid: int, out: str, system: bool) -> subprocess.Popen:
    cmd = ["perf", "record", "-e", "cpu-clock", "-F", str(499), "-g", "-o", out]  # cpu-clock: also where a VM counts no cycles
    cmd += ["-a"] if system else ["--call-graph", "dwarf,32768", "-p", str(pid)]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(out + ".log", "wb"))
    return p


def stop_perf(p: subprocess.Popen | None) -> None:
    if p is None:
        return
    p.send_signal(signal.SIGINT)
    try:
        p.wait(120)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def show_config(cfg: pathlib.Path) -> str:
    text = cfg.read_text()
    return "\n".join(l for l in text.splitlines() if "password" not in l)


# ---- ingest --------------------------------------------------------------------------------

def make_backlog(args) -> tuple[list[bytes], dict]:
    t = time.monotonic()
    mails, info = ingest_corpus(args.mails, args.attach_share, args.corpus_share, args.html_share,
                                args.seed, f"i{os.getpid()}")
    print(f"corpus: {info['mails']} mails, {info['bytes'] / MiB:.1f} MiB, avg {info['avg_kib']:.1f} KiB, "
          f"median {info['median_kib']:.1f} KiB, max {info['max_kib']:.0f} KiB; "
          + ", ".join(f"{k} {v}" for k, v in info["kinds"].items())
          + f" (made in {time.monotonic() - t:.1f} s)", flush=True)
    return mails, info


def loadavg() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return ""


def wait_for_log(daemon: mailstack.Daemon, text: str, timeout: float) -> float:
    """Seconds until `text` is in the daemon's log (looked at every 5 ms)."""
    t = time.monotonic()
    while text not in daemon.log_since(0):
        if not daemon.running():
            raise SystemExit(f"the daemon exited:\n{daemon.log_tail()}")
        if time.monotonic() - t > timeout:
            raise SystemExit(f"no '{text}' in the daemon's log after {timeout:g} s:\n{daemon.log_tail()}")
        time.sleep(0.005)
    return time.monotonic() - t


def ingest_once(args, mails: list[bytes], store: str = "sqlite", standby: bool = False) -> dict:
    """One run of the backlog benchmark on a fresh mail stack and an empty store; prints its
    figures and returns them."""
    n = len(mails)
    result = {"store": store, "standby": standby, "load_before": loadavg()}
    pg = url = None
    if store == "postgresql":
        pg = bench_pg_cluster(getattr(args, "pg_statements", False))
        url = pg.create_database()
        if getattr(args, "pg_statements", False):
            pg.psql(pg.admin_url, "SELECT pg_stat_statements_reset()")
    with mailstack.MailStack(keep=args.keep, prefix="sd-bench-") as stack:
        t = time.monotonic()
        stack.deliver_many(mails)
        # Dovecot indexes the new mails (assigns UIDs) now, as its LDA/LMTP would at
        # delivery: the daemon's clock then measures the daemon, not Dovecot's first scan.
        status = stack.doveadm("-f", "flow", "mailbox", "status", "-u", mailstack.IMAP_USER,
                               "messages", "INBOX")
        if re.search(r"messages=(\d+)", status) is None or \
                int(re.search(r"messages=(\d+)", status).group(1)) != n:
            raise SystemExit(f"Dovecot reports {status}, wanted {n}")
        print(f"delivered and indexed by Dovecot in {time.monotonic() - t:.1f} s", flush=True)
        cfg = daemon_config(stack, args, "smtp://127.0.0.1:1", args.imap_extra,
                            store={"url": url, "path": None} if url else None)
        result["config"] = show_config(cfg)
        reader = PgReader(url) if url else StoreReader(stack.dir / "servicedesk.db")
        subprocess.run(["sync"])
        daemon = mailstack.Daemon(cfg, binary=args.bin, stack=stack)
        second = mailstack.Daemon(cfg, binary=args.bin, stack=stack, log=stack.dir / "standby.log") \
            if standby else None
        pg_cpu0 = pg_server_cpu(pg) if pg else None
        t0 = time.monotonic()
        daemon.start()
        pid = daemon.proc.pid
        if second is not None:
            # The second daemon comes once the first holds the mailbox, so it is the one
            # standing by (started at the same moment, either might win the lease).
            result["lease_taken_s"] = wait_for_log(daemon, "mailbox lease taken", 60)
            second.start()
        perf = start_perf(pid, args.perf, args.perf_system) if args.perf else None
        samples = []  # (seconds since start, raw mails, tickets, outbox rows, VmRSS KiB)
        last_raw, last_change, stalled = -1, 0.0, None
        peak_rss = 0
        deadline = t0 + args.timeout
        while True:
            time.sleep(args.sample_s)
            now = time.monotonic() - t0
            raw, tickets, outbox = reader.counts()
            rss = proc_status(pid).get("VmRSS", 0)
            peak_rss = max(peak_rss, rss)
            samples.append((round(now, 3), raw, tickets, outbox, rss))
            if raw >= n:
                break
            if raw != last_raw:
                last_raw, last_change = raw, now
            elif raw > 0 and now - last_change > args.stall_s:
                wm = reader.one("SELECT last_uid FROM mailboxes")
                stalled = {"stored": raw, "watermark_last_uid": wm[0] if wm else None,
                           "stalled_after_s": last_change}
                print(f"STALLED: {raw} of {n} stored, nothing more for {args.stall_s:g} s; "
                      f"the store's watermark is at UID {stalled['watermark_last_uid']}", flush=True)
                break
            if not daemon.running():
                raise SystemExit(f"the daemon exited:\n{daemon.log_tail()}")
            if time.monotonic() > deadline:
                raise SystemExit(f"only {raw} of {n} stored after {args.timeout} s")
        t_end = samples[-1][0] if stalled is None else stalled["stalled_after_s"]
        status = proc_status(pid)
        cpu = cpu_seconds(pid)
        pg_cpu = pg_server_cpu(pg) - pg_cpu0 if pg else None
        if pg and getattr(args, "pg_statements", False):
            result["statements"] = pg_statements(pg, url, n)
        result["load_end"] = loadavg()
        if second is not None:
            result["standby_vm_hwm_kib"] = proc_status(second.proc.pid).get("VmHWM")
            result["standby_cpu_s"] = cpu_seconds(second.proc.pid)
            result["standby_took_lease"] = "mailbox lease taken" in second.log_since(0)
        stop_perf(perf)
        daemon.stop(timeout=60)
        if second is not None:
            second.stop(timeout=60)
        acks = reader.one("SELECT count(*) FROM outbox WHERE kind = 'acknowledgement'")[0]
        kinds = dict(reader.rows("SELECT kind, count(*) FROM outbox GROUP BY kind"))
        raw, tickets, outbox = reader.counts()
        db_bytes = reader.size_bytes()
        if url and getattr(args, "fts_cost", False):
            result["fts_cost"] = fts_cost(reader)
        reader.close()
        seen = stack.imap_uids_and_flags()
        seen_count = sum(1 for _, flags in seen if "\\Seen" in flags)
        first = next((s for s in samples if s[1] > 0), samples[-1])
        after1 = next((s for s in samples if s[0] >= 1.0), samples[0])
        done = n if stalled is None else stalled["stored"]
        # Over less than a second after the first one, the figure would mean nothing.
        excl = (done - after1[1]) / (t_end - after1[0]) if t_end - after1[0] >= 1.0 else float("nan")
        log_lines = sum(1 for _ in open(daemon.log, errors="replace"))
        result.update({
            "mails": n, "stalled": stalled, "seconds": t_end, "mails_per_s": done / t_end,
            "mails_per_s_after_1s": excl, "first_mail_stored_s": first[0],
            "raw_mails": raw, "tickets": tickets, "acknowledgements": acks, "outbox": kinds,
            "vm_hwm_kib": status.get("VmHWM"), "vm_rss_end_kib": status.get("VmRSS"),
            "vm_rss_peak_sampled_kib": peak_rss, "daemon_cpu_s": cpu, "pg_server_cpu_s": pg_cpu,
            "store_bytes": db_bytes, "imap_seen": seen_count, "daemon_log_lines": log_lines,
            "samples": samples})
    if pg is not None and not args.keep:  # --keep: the database stays for a look afterwards
        pg.psql(pg.admin_url, f"DROP DATABASE {url.rsplit('/', 1)[1]} WITH (FORCE)")
    what = store + (" with a second daemon standing by" if standby else "")
    after = f"{excl:.0f}" if excl == excl else "n/a"
    print(f"ingest on {what}: {done} mails in {t_end:.2f} s from start = {done / t_end:.0f} mails/s; "
          f"{after} mails/s after the first second (first mail stored at {first[0]:.2f} s); "
          f"load {result['load_before']} before, {result['load_end']} at the end")
    print(f"store: {raw} raw mails, {tickets} tickets, {acks} acknowledgements queued, outbox {kinds}, "
          f"{db_bytes / MiB:.0f} MiB on disk; \\Seen on the server: {seen_count}")
    print(f"daemon: VmHWM {status.get('VmHWM', 0) / 1024:.1f} MiB (peak RSS sampled "
          f"{peak_rss / 1024:.1f} MiB), CPU {cpu:.2f} s = {cpu / max(done, 1) * 1e6:.0f} us/mail; "
          f"{log_lines} log lines"
          + (f"; PostgreSQL server CPU {pg_cpu:.2f} s = {pg_cpu / max(done, 1) * 1e6:.0f} us/mail" if pg else ""))
    if standby:
        print(f"standby: VmHWM {(result['standby_vm_hwm_kib'] or 0) / 1024:.1f} MiB, CPU {result['standby_cpu_s']:.2f} s, "
              f"took the lease: {result['standby_took_lease']} (the first daemon took it "
              f"{result['lease_taken_s']:.2f} s after its start)", flush=True)
    return result


def pg_statements(pg, url: str, mails: int) -> dict:
    """pg_stat_statements for the run's database: how many statements the daemons ran per
    stored mail (each a round trip to the server), the server's execution time per mail,
    and the statements that took most of it."""
    name = url.rsplit("/", 1)[1]
    where = f"dbid = (SELECT oid FROM pg_database WHERE datname = '{name}')"
    calls, ms = pg.psql(pg.admin_url, f"SELECT sum(calls), sum(total_exec_time) FROM pg_stat_statements WHERE {where}").split("|")
    top = pg.psql(pg.admin_url, "SELECT calls, round(total_exec_time::numeric, 1), "
                                "regexp_replace(left(query, 110), '\\s+', ' ', 'g') FROM pg_stat_statements "
                                f"WHERE {where} ORDER BY total_exec_time DESC LIMIT 40")
    out = {"statements": int(calls or 0), "exec_ms": float(ms or 0),
           "statements_per_mail": int(calls or 0) / max(mails, 1), "exec_us_per_mail": float(ms or 0) * 1000 / max(mails, 1),
           "top": [line.split("|", 2) for line in top.split("\n") if line]}
    print(f"statements: {out['statements']} ({out['statements_per_mail']:.1f} per mail), server execution "
          f"{out['exec_ms'] / 1000:.1f} s ({out['exec_us_per_mail']:.0f} us per mail); the most expensive:", flush=True)
    for calls, ms, query in out["top"]:
        print(f"  {calls:>7} calls {float(ms) / 1000:7.2f} s  {query}")
    return out


def fts_cost(reader: PgReader) -> dict:
    """What the full-text fold costs the PostgreSQL server per stored message, computed
    again over the stored rows (sd_fold and the tsvector, without the GIN insert): what the
    indexes cost per row before schema 13, and what its triggers still cost for rows that
    SQL writes (store copy); the daemon folds its own rows (store/pg_fold.h)."""
    out = {}
    for name, sql in (("body", "SELECT count(to_tsvector('simple', sd_fold(left(body_text, 100000)))) FROM messages"),
                      ("subject", "SELECT count(to_tsvector('simple', sd_fold(subject))) FROM tickets"),
                      ("body_without_fold", "SELECT count(to_tsvector('simple', left(body_text, 100000))) FROM messages")):
        t = time.monotonic()
        rows = reader.one(sql)
        took = time.monotonic() - t
        out[name] = {"rows": rows[0] if rows else 0, "seconds": took,
                     "us_per_row": took / max(rows[0] if rows else 0, 1) * 1e6}
    print("full-text expressions, computed again over the stored rows: "
          + "; ".join(f"{k} {v['us_per_row']:.0f} us/row ({v['rows']} rows, {v['seconds']:.1f} s)" for k, v in out.items()),
          flush=True)
    return out


def cmd_ingest(args) -> dict:
    if args.standby and args.store != "postgresql":
        raise SystemExit("--standby needs --store postgresql (a store of SQLite takes one daemon)")
    result = {"benchmark": "ingest", "machine": machine(), "binary": str(args.bin)}
    mails, result["corpus"] = make_backlog(args)
    result.update(ingest_once(args, mails, args.store, args.standby))
    return result


VARIANTS = {"sqlite": ("sqlite", False), "postgresql": ("postgresql", False), "standby": ("postgresql", True)}


def cmd_stores(args) -> dict:
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"--variants: unknown {unknown}; say some of {', '.join(VARIANTS)}")
    result = {"benchmark": "stores", "machine": machine(), "binary": str(args.bin), "runs": []}
    mails, result["corpus"] = make_backlog(args)
    for r in range(args.rounds):
        for v in variants:
            print(f"\n--- round {r + 1} of {args.rounds}: {v}", flush=True)
            run = ingest_once(args, mails, *VARIANTS[v])
            run.update({"variant": v, "round": r + 1})
            result["runs"].append(run)

    def median(xs):
        xs = sorted(x for x in xs if x == x)
        return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2 if xs else float("nan")

    print(f"\n{len(mails)} mails, {args.rounds} round(s); the median of each figure "
          f"(min-max over the rounds where more than one):")
    print(f"{'variant':<11} {'mails/s':>18} {'after 1 s':>18} {'VmHWM MiB':>16} {'CPU us/mail':>12} "
          f"{'server us/mail':>14} {'load before':>16}")
    summary = {}
    for v in variants:
        runs = [x for x in result["runs"] if x["variant"] == v]

        def fig(key, scale=1.0, runs=runs):
            xs = [x[key] * scale for x in runs if x.get(key) is not None]
            m = median(xs)
            span = f" ({min(xs):.0f}-{max(xs):.0f})" if len(xs) > 1 else ""
            return m, f"{m:.0f}{span}"
        rate, rate_s = fig("mails_per_s")
        after, after_s = fig("mails_per_s_after_1s")
        hwm, hwm_s = fig("vm_hwm_kib", 1 / 1024)
        cpu = median([x["daemon_cpu_s"] / x["mails"] * 1e6 for x in runs])
        server = median([x["pg_server_cpu_s"] / x["mails"] * 1e6 for x in runs if x.get("pg_server_cpu_s") is not None])
        summary[v] = {"mails_per_s": rate, "mails_per_s_after_1s": after, "vm_hwm_mib": hwm,
                      "daemon_cpu_us_per_mail": cpu, "pg_server_cpu_us_per_mail": server}
        loads = ", ".join(x["load_before"].split()[0] for x in runs)
        print(f"{v:<11} {rate_s:>18} {after_s:>18} {hwm_s:>16} {cpu:>12.0f} "
              f"{server if server == server else float('nan'):>14.0f} {loads:>16}")
    if "sqlite" in summary:
        base = summary["sqlite"]["mails_per_s"]
        for v in variants:
            if v != "sqlite":
                share = summary[v]["mails_per_s"] / base
                summary[v]["share_of_sqlite"] = share
                print(f"{v}: {share * 100:.0f}% of SQLite's rate (goal: at least 50%)")
    result["summary"] = summary
    return result


# ---- latency -------------------------------------------------------------------------------

class AckWatcher(threading.Thread):
    """Polls aiosmtpd's Maildir new/ in a tight loop; records the monotonic time each
    message is first seen, keyed by its In-Reply-To, and moves it to cur/ (so new/ stays
    short and each scan cheap)."""

    IRT = re.compile(rb"^In-Reply-To:[ \t]*(<[^>\r\n]*>)", re.I | re.M)

    def __init__(self, maildir: pathlib.Path, interval: float = 0.0005):
        super().__init__(daemon=True, name="ack-watcher")
        self.new, self.cur = maildir / "new", maildir / "cur"
        self.interval = interval
        self.seen: dict[str, float] = {}
        self.others = 0
        self.stop_flag = False
        self.cond = threading.Condition()

    def run(self):
        while not self.stop_flag:
            names = os.listdir(self.new)
            if names:
                now = time.monotonic()
                for name in names:
                    src = self.new / name
                    try:
                        head = src.read_bytes()[:16384]
                        os.rename(src, self.cur / (name + ":2,"))
                    except FileNotFoundError:
                        continue
                    m = self.IRT.search(head.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0])
                    with self.cond:
                        if m and m.group(1).decode() not in self.seen:
                            self.seen[m.group(1).decode()] = now
                        else:
                            self.others += 1
                        self.cond.notify_all()
            time.sleep(self.interval)

    def wait_for(self, msgid: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while msgid not in self.seen:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.seen[msgid]


def cmd_latency(args) -> dict:
    result = {"benchmark": "latency", "machine": machine(), "binary": str(args.bin)}
    mk = MailMaker(args.seed, f"l{os.getpid()}")
    with mailstack.MailStack(keep=args.keep, prefix="sd-bench-") as stack:
        cfg = daemon_config(stack, args, None, {"idle": args.idle == "on",
                                                "poll_interval_s": args.poll_interval,
                                                **args.imap_extra})
        result["config"] = show_config(cfg)
        watcher = AckWatcher(stack.smtp_maildir)
        watcher.start()
        # A first mail before the start: its acknowledgement shows the daemon is up, logged
        # in and sending; the measured mails come after.
        warm, warm_id = mk.small(0)
        stack.deliver_many([warm])
        daemon = mailstack.Daemon(cfg, binary=args.bin, stack=stack)
        daemon.start()
        if watcher.wait_for(warm_id, 60) is None:
            raise SystemExit(f"no acknowledgement of the first mail within 60 s:\n{daemon.log_tail()}")
        time.sleep(args.settle_s)  # the pass after it ends and an IDLE, if any, is in place
        sent: dict[str, float] = {}
        order = []
        t_start = time.monotonic()
        for i in range(1, args.mails + 1):
            raw, msgid = mk.small(i)
            if args.deliver == "doveadm":
                stack.deliver(raw)  # doveadm save: done when it exits
            else:
                stack.deliver_many([raw])  # the rename into new/ is its last step
            sent[msgid] = time.monotonic()
            order.append(msgid)
            if args.wait_ack:
                if watcher.wait_for(msgid, args.poll_interval + 60) is None:
                    print(f"mail {i}: no acknowledgement within {args.poll_interval + 60} s", flush=True)
                time.sleep(args.gap_ms / 1000)
            else:
                next_at = t_start + i * args.gap_ms / 1000
                time.sleep(max(0.0, next_at - time.monotonic()))
            if daemon.proc is not None and daemon.proc.poll() is not None:
                raise SystemExit(f"the daemon exited:\n{daemon.log_tail()}")
        delivered_s = time.monotonic() - t_start
        deadline = time.monotonic() + args.poll_interval + 60
        for msgid in order:
            if watcher.wait_for(msgid, max(0.0, deadline - time.monotonic())) is None:
                break
        watcher.stop_flag = True
        watcher.join(5)
        status = proc_status(daemon.proc.pid) if daemon.running() else {}
        daemon.stop(timeout=60)
        lat = sorted((watcher.seen[m] - sent[m]) * 1000 for m in order if m in watcher.seen)
        missing = sum(1 for m in order if m not in watcher.seen)
        mode = "closed loop (each after the previous acknowledgement)" if args.wait_ack else \
            f"open loop, one every {args.gap_ms:g} ms"
        result.update({
            "mails": args.mails, "mode": mode, "deliver": args.deliver, "idle": args.idle, "poll_interval_s": args.poll_interval,
            "delivered_in_s": delivered_s, "missing": missing, "other_mails_seen": watcher.others,
            "p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90),
            "p99_ms": percentile(lat, 99), "max_ms": lat[-1] if lat else float("nan"),
            "min_ms": lat[0] if lat else float("nan"),
            "mean_ms": sum(lat) / len(lat) if lat else float("nan"),
            "vm_hwm_kib": status.get("VmHWM"), "latencies_ms": [round(x, 2) for x in lat]})
    print(f"latency: {args.mails} mails, {mode}, {args.deliver} delivery, in {delivered_s:.1f} s; idle={args.idle}, "
          f"poll_interval_s={args.poll_interval}")
    print(f"delivery -> acknowledgement at the SMTP server: p50 {result['p50_ms']:.0f} ms, "
          f"p90 {result['p90_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, max {result['max_ms']:.0f} ms "
          f"(min {result['min_ms']:.0f}, mean {result['mean_ms']:.0f}); "
          f"{missing} without an acknowledgement; {watcher.others} other mails seen")
    return result


def cmd_pipe(args) -> dict:
    result = {"benchmark": "pipe", "machine": machine(), "binary": str(args.bin)}
    mk = MailMaker(args.seed, f"p{os.getpid()}")
    with mailstack.MailStack(keep=args.keep, prefix="sd-bench-") as stack:
        cfg = daemon_config(stack, args, None, {"idle": False, "poll_interval_s": 600, **args.imap_extra})
        result["config"] = show_config(cfg)
        watcher = AckWatcher(stack.smtp_maildir)
        watcher.start()
        daemon = mailstack.Daemon(cfg, binary=args.bin, stack=stack)
        daemon.start()
        socket = stack.dir / "servicedesk.db.wake"
        daemon.wait_until(lambda: socket.is_socket(), 30, what="the daemon's wake-up socket")
        if args.no_wake:
            os.unlink(socket)  # the daemon runs on, but no commit can reach it
        ingest = [str(args.bin), "--config", str(cfg), "ingest"]

        def pipe(raw: bytes) -> tuple[float, float]:
            t0 = time.monotonic()
            r = subprocess.run(ingest, input=raw, capture_output=True, timeout=60)
            if r.returncode != 0:
                raise SystemExit(f"servicedesk ingest exited {r.returncode}: {r.stderr.decode(errors='replace')}")
            return t0, time.monotonic()

        # A first mail: its acknowledgement shows the daemon is up and sending.
        warm, warm_id = mk.small(0)
        pipe(warm)
        if watcher.wait_for(warm_id, 90) is None:
            raise SystemExit(f"no acknowledgement of the first mail within 90 s:\n{daemon.log_tail()}")
        time.sleep(args.settle_s)
        started: dict[str, float] = {}
        exited: dict[str, float] = {}
        order = []
        t_start = time.monotonic()
        for i in range(1, args.mails + 1):
            raw, msgid = mk.small(i)
            started[msgid], exited[msgid] = pipe(raw)
            order.append(msgid)
            if args.open_loop:
                time.sleep(max(0.0, t_start + i * args.gap_ms / 1000 - time.monotonic()))
            else:
                if watcher.wait_for(msgid, 90) is None:
                    print(f"mail {i}: no acknowledgement within 90 s", flush=True)
                time.sleep(args.gap_ms / 1000)
            if not daemon.running():
                raise SystemExit(f"the daemon exited:\n{daemon.log_tail()}")
        piped_s = time.monotonic() - t_start
        deadline = time.monotonic() + 90
        for msgid in order:
            if watcher.wait_for(msgid, max(0.0, deadline - time.monotonic())) is None:
                break
        watcher.stop_flag = True
        watcher.join(5)
        status = proc_status(daemon.proc.pid) if daemon.running() else {}
        daemon.stop(timeout=60)
        lat = sorted((watcher.seen[m] - started[m]) * 1000 for m in order if m in watcher.seen)
        run = sorted((exited[m] - started[m]) * 1000 for m in order)
        after = sorted((watcher.seen[m] - exited[m]) * 1000 for m in order if m in watcher.seen)
        missing = sum(1 for m in order if m not in watcher.seen)
        mode = f"open loop, one every {args.gap_ms:g} ms" if args.open_loop else \
            f"closed loop (each {args.gap_ms:g} ms after the previous acknowledgement)"
        result.update({
            "mails": args.mails, "mode": mode, "wake": not args.no_wake, "piped_in_s": piped_s, "missing": missing,
            "other_mails_seen": watcher.others,
            "p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90), "p99_ms": percentile(lat, 99),
            "max_ms": lat[-1] if lat else float("nan"), "min_ms": lat[0] if lat else float("nan"),
            "ingest_p50_ms": percentile(run, 50), "ingest_p99_ms": percentile(run, 99),
            "exit_to_ack_p50_ms": percentile(after, 50), "exit_to_ack_p99_ms": percentile(after, 99),
            "vm_hwm_kib": status.get("VmHWM"), "latencies_ms": [round(x, 2) for x in lat]})
    print(f"pipe: {args.mails} mails through `servicedesk ingest`, {mode}, in {piped_s:.1f} s; "
          f"wake-up {'off (socket removed)' if args.no_wake else 'on'}")
    print(f"ingest start -> acknowledgement at the SMTP server: p50 {result['p50_ms']:.0f} ms, "
          f"p90 {result['p90_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, max {result['max_ms']:.0f} ms "
          f"(min {result['min_ms']:.0f}); {missing} without an acknowledgement")
    print(f"  of which the ingest process: p50 {result['ingest_p50_ms']:.0f} ms, p99 {result['ingest_p99_ms']:.0f} ms; "
          f"its exit -> acknowledgement: p50 {result['exit_to_ack_p50_ms']:.0f} ms, "
          f"p99 {result['exit_to_ack_p99_ms']:.0f} ms")
    return result


def cmd_idle_probe(args) -> dict:
    """Dovecot's own IDLE latency, without the daemon: a bare client on a raw socket sits
    in IDLE; each mail is delivered and timed until the server's "* n EXISTS"."""
    import socket
    result = {"benchmark": "idle-probe", "machine": machine()}
    mk = MailMaker(args.seed, f"p{os.getpid()}")
    lat = []
    with mailstack.MailStack(keep=args.keep, prefix="sd-bench-") as stack:
        stack.deliver_many([mk.small(0)[0]])  # the Maildir exists before SELECT
        stack.doveadm("mailbox", "status", "-u", mailstack.IMAP_USER, "messages", "INBOX")
        sock = socket.create_connection(("127.0.0.1", stack.imap_port), timeout=30)
        f = sock.makefile("rb")

        def until(pred) -> bytes:
            while True:
                line = f.readline()
                if not line:
                    raise SystemExit("the IMAP server closed the connection")
                if pred(line):
                    return line

        until(lambda l: l.startswith(b"* OK"))
        sock.sendall(f"a1 LOGIN {mailstack.IMAP_USER} {stack.imap_password}\r\n".encode())
        until(lambda l: l.startswith(b"a1 "))
        sock.sendall(b"a2 SELECT INBOX\r\n")
        until(lambda l: l.startswith(b"a2 "))
        for i in range(1, args.mails + 1):
            sock.sendall(f"i{i} IDLE\r\n".encode())
            until(lambda l: l.startswith(b"+"))
            raw = mk.small(i)[0]
            if args.deliver == "doveadm":
                stack.deliver(raw)
            else:
                stack.deliver_many([raw])
            t = time.monotonic()
            until(lambda l: l.startswith(b"* ") and l.rstrip().endswith(b"EXISTS"))
            lat.append((time.monotonic() - t) * 1000)
            sock.sendall(b"DONE\r\n")
            until(lambda l: l.startswith(f"i{i} ".encode()))
            time.sleep(args.gap_ms / 1000)
        sock.close()
    lat.sort()
    result.update({"mails": args.mails, "deliver": args.deliver,
                   "p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90),
                   "p99_ms": percentile(lat, 99), "max_ms": lat[-1], "min_ms": lat[0],
                   "latencies_ms": [round(x, 2) for x in lat]})
    print(f"Dovecot IDLE alone ({args.deliver} delivery -> '* n EXISTS'), {args.mails} mails: "
          f"p50 {result['p50_ms']:.0f} ms, p90 {result['p90_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, "
          f"max {result['max_ms']:.0f} ms, min {result['min_ms']:.0f} ms")
    return result


# ---- one big mail --------------------------------------------------------------------------

def cmd_bigmail(args) -> dict:
    result = {"benchmark": "bigmail", "machine": machine(), "binary": str(args.bin)}
    mk = MailMaker(args.seed, f"b{os.getpid()}")
    raw, msgid, data = mk.with_attachment(1, size=args.mib * MiB, kind="pdf")
    digest = hashlib.sha256(data).hexdigest()
    print(f"one mail of {len(raw) / MiB:.1f} MiB with a {len(data) / MiB:.1f} MiB ({len(data)} bytes) "
          f"base64 attachment", flush=True)
    with mailstack.MailStack(keep=args.keep, prefix="sd-bench-") as stack:
        cfg = daemon_config(stack, args, "smtp://127.0.0.1:1", args.imap_extra)
        result["config"] = show_config(cfg)
        reader = StoreReader(stack.dir / "servicedesk.db")
        daemon = mailstack.Daemon(cfg, binary=args.bin, stack=stack)
        daemon.start()
        pid = daemon.proc.pid
        daemon.wait_until(lambda: (reader.one("SELECT last_poll_at FROM mailboxes") or [None])[0],
                          30, what="the first poll")
        time.sleep(1.5)
        idle = proc_status(pid)
        t0 = time.monotonic()
        stack.deliver_many([raw])
        daemon.wait_until(lambda: reader.counts()[0] >= 1, 120, what="the big mail stored")
        took = time.monotonic() - t0
        time.sleep(1.0)
        status = proc_status(pid)
        daemon.stop(timeout=60)
        reader.close()
        db = sqlite3.connect(f"file:{stack.dir / 'servicedesk.db'}?mode=ro", uri=True)
        tickets = db.execute("SELECT id, subject, requester FROM tickets").fetchall()
        raw_len = db.execute("SELECT length(bytes) FROM raw_mails").fetchone()[0]
        atts = db.execute("SELECT filename, content_type, size, length(data), data FROM attachments").fetchall()
        db.close()
    ok_att = len(atts) == 1 and atts[0][2] == len(data) and atts[0][3] == len(data) and \
        hashlib.sha256(atts[0][4]).hexdigest() == digest
    limit_kib = (3 * len(raw) + 30 * MiB) / 1024
    hwm = status.get("VmHWM", 0)
    result.update({
        "message_bytes": len(raw), "attachment_bytes": len(data), "stored_raw_bytes": raw_len,
        "tickets": [list(t) for t in tickets],
        "attachments": [[a[0], a[1], a[2], a[3]] for a in atts], "attachment_identical": ok_att,
        "seconds_to_store": took, "vm_hwm_idle_kib": idle.get("VmHWM"), "vm_hwm_kib": hwm,
        "limit_kib": limit_kib, "within_limit": hwm < limit_kib})
    print(f"stored in {took:.1f} s after delivery; {len(tickets)} ticket(s) {tickets}; raw mail stored "
          f"{raw_len} of {len(raw)} bytes; attachment {[a[:4] for a in atts]}, identical: {ok_att}")
    print(f"daemon VmHWM: {idle.get('VmHWM', 0) / 1024:.1f} MiB before the mail, {hwm / 1024:.1f} MiB after; "
          f"limit 3 x {len(raw) / MiB:.1f} + 30 = {limit_kib / 1024:.1f} MiB: "
          f"{'within' if hwm < limit_kib else 'OVER'} ({hwm / limit_kib * 100:.0f}% of it)")
    return result


# ---- where the time goes: a perf profile, read ----------------------------------------------

# (label, regular expression on a frame "symbol (dso)"); a sample counts once for each label
# any frame of its stack matches, so the shares are inclusive and overlap.
PROFILE_PARTS = [
    ("IMAP worker: poll pass (all of it)", r"sd::poll_mailbox\b"),
    ("  IMAP: fetching mails (libcurl / socket)", r"sd::ImapClient::fetch|sd::ImapSession::fetch|fetch_range|FetchRange|uid_fetch"),
    ("  IMAP: flagging \\Seen etc. after ingest", r"sd::ImapClient::(mark_seen|move|remove)|mark_seen|after_ingest"),
    ("  IMAP: other requests (STATUS, SEARCH, login, IDLE)", r"sd::ImapClient::(status|uids_from|create_folder)|ImapClient::ImapClient|[Ii]dle"),
    ("  ingest (parse + store transaction)", r"sd::ingest\b|sd::ingest_batch|ingest_one"),
    ("    parse (sd::parser)", r"sd::parser::"),
    ("    content hash (trace headers and line ends out, then SHA-256)", r"sd::content_hash|hash_without_trace"),
    ("      of which SHA-256 (libcrypto)", r"\(\S*libcrypto[^)]*\)$"),
    ("    SLA clock built per mail (SlaClock / Calendar ctor)", r"sd::SlaClock::SlaClock|sd::sla::Calendar::Calendar"),
    ("    SLA evaluation (due times)", r"sd::SlaClock::evaluate|due_words"),
    ("    ack rate limit query (count_sent_or_queued)", r"count_sent_or_queued"),
    ("    other store reads/writes (SqliteTransaction, not commit)", r"SqliteTransaction::(?!commit|count_sent_or_queued)"),
    ("    COMMIT (SQLite WAL write + fdatasync)", r"SqliteTransaction::commit|sqlite3PagerCommitPhaseOne|sqlite3WalFrames"),
    ("      of which fdatasync/fsync in the kernel", r"do_fsync|__x64_sys_fdatasync|__x64_sys_fsync"),
    ("SMTP worker: outbox (deliver_due)", r"sd::deliver_due"),
    ("clock worker: SLA firing", r"sd::fire_due_sla_events"),
    ("all SQLite code (libsqlite3)", r"\(\S*libsqlite3[^)]*\)$"),
    ("all libcurl code", r"\(\S*libcurl[^)]*\)$"),
    ("all kernel code", r"\(\[kernel\.kallsyms\]\)$"),
    ("malloc/free", r"^(malloc|_int_malloc|_int_free|cfree|free|realloc|operator new|operator delete)\b"),
]


def cmd_profile(args) -> dict:
    """Reads a perf.data of the daemon (ingest --perf) and says where the samples fell."""
    out = subprocess.run(["perf", "script", "-i", args.file, "-F", "comm,tid,ip,sym,dso"],
                         capture_output=True, text=True, errors="replace").stdout
    samples = []  # list of frame lists, leaf first
    for block in out.split("\n\n"):
        lines = [l.strip() for l in block.strip().splitlines()]
        if len(lines) < 2:
            continue
        frames = [l.split(" ", 1)[1] if " " in l else l for l in lines[1:]]
        samples.append(frames)
    total = len(samples)
    parts = [(label, re.compile(rx)) for label, rx in PROFILE_PARTS]
    counts = {label: 0 for label, _ in parts}
    self_counts: dict[str, int] = {}
    for frames in samples:
        for label, rx in parts:
            if any(rx.search(f) for f in frames):
                counts[label] += 1
        leaf = re.sub(r"\s*\(([^)]*/)?([^/)]*)\)$", r"  [\2]", frames[0]) if frames else "?"
        self_counts[leaf] = self_counts.get(leaf, 0) + 1
    print(f"{total} samples (perf cpu-clock; on-CPU time of every thread of the daemon)")
    print("inclusive shares (a sample counts for every part on its stack):")
    for label, _ in parts:
        print(f"  {counts[label] / max(total, 1) * 100:5.1f}%  {label}")
    # Each sample once: the outermost store method on its stack, else the first daemon part.
    once: dict[str, int] = {}
    store_rx = re.compile(r"SqliteTransaction::(\w+)")
    part_rx = re.compile(r"sd::(?:\(anonymous namespace\)::)?(parser::parse|content_hash|hash_without_trace|SlaClock::\w+|notify::\w+|"
                         r"fire_due_sla_events|deliver_due|ImapSession::\w+|ImapClient::\w+|ingest_batch|ingest|"
                         r"poll_mailbox)\b")
    for frames in samples:
        methods = [m.group(1) for m in (store_rx.search(f) for f in frames) if m]
        if methods:
            key = "store: " + methods[-1]
        else:
            key = next((m.group(1) for m in (part_rx.search(f) for f in frames) if m), "other (main loop, threads)")
            key = "content_hash" if key == "hash_without_trace" else key
        once[key] = once.get(key, 0) + 1
    print("each sample once (the outermost store method on its stack, else the innermost daemon part):")
    for name, n in sorted(once.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"  {n / max(total, 1) * 100:5.1f}%  {name}")
    print(f"top {args.top} functions by self time:")
    top = sorted(self_counts.items(), key=lambda kv: -kv[1])[:args.top]
    for name, n in top:
        print(f"  {n / max(total, 1) * 100:5.1f}%  {name[:150]}")
    return {"benchmark": "profile", "file": args.file, "samples": total,
            "inclusive": {k: v / max(total, 1) for k, v in counts.items()},
            "once": {k: v / max(total, 1) for k, v in once.items()},
            "self": {k: v / max(total, 1) for k, v in top}}


# ---- command line --------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p):
        # mailstack.servicedesk_bin()'s fallback is build/daemon/servicedesk, where the binary
        # no longer is; the CLI's target builds it in build/cli.
        p.add_argument("--bin", type=pathlib.Path,
                       default=pathlib.Path(os.environ.get("SERVICEDESK_BIN") or REPO / "build" / "cli" / "servicedesk"),
                       help="the servicedesk binary (default: %(default)s)")
        p.add_argument("--fetch", choices=("range", "per_uid"), help="imap.fetch (default: the daemon's)")
        p.add_argument("--batch", type=int, help="imap.batch_max_mails (default: the daemon's)")
        p.add_argument("--imap", action="append", default=[], metavar="KEY=JSON",
                       help="another [imap] key, e.g. --imap idle=false (value in JSON)")
        p.add_argument("--intake", action="append", default=[], metavar="KEY=JSON",
                       help="an [intake] key, e.g. --intake acks_per_hour=200 (mailstack.py lifts the "
                            "acknowledgement caps to 100,000 a domain and 1,000,000 in all an hour)")
        p.add_argument("--log-level", default="notice", help="service.log_level (default: notice)")
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--json", metavar="FILE", help="also write the figures here")
        p.add_argument("--keep", action="store_true", help="keep the mail stack's directory")

    def backlog(p):
        p.add_argument("--mails", type=int, default=10000)
        p.add_argument("--attach-share", type=float, default=0.05, help="mails with a 50-500 KB attachment")
        p.add_argument("--corpus-share", type=float, default=0.05, help="mails from the test corpus")
        p.add_argument("--html-share", type=float, default=0.40, help="HTML + plain alternatives; the rest plain replies")
        p.add_argument("--sample-s", type=float, default=0.1, help="store polling interval")
        p.add_argument("--timeout", type=float, default=900)
        p.add_argument("--stall-s", type=float, default=15, help="give up when nothing is stored for this long")

    def postgresql(p):
        p.add_argument("--fts-cost", action="store_true",
                       help="on PostgreSQL, after the run: what the full-text index's expression costs per row")
        p.add_argument("--pg-statements", action="store_true",
                       help="on PostgreSQL: count the statements with pg_stat_statements (a little slower)")

    p = sub.add_parser("ingest", help="throughput on a backlog")
    common(p)
    backlog(p)
    postgresql(p)
    p.add_argument("--perf", metavar="FILE", help="perf record the daemon into FILE meanwhile")
    p.add_argument("--perf-system", action="store_true", help="with --perf: the whole machine (-a), not the daemon")
    p.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                   help="the daemon's store (postgresql: a database on a cluster the benchmark starts)")
    p.add_argument("--standby", action="store_true", help="a second daemon standing by (--store postgresql)")

    p = sub.add_parser("stores", help="the backlog on SQLite, PostgreSQL and PostgreSQL with a standby, in turn")
    common(p)
    backlog(p)
    p.add_argument("--variants", default="sqlite,postgresql,standby",
                   help="in this order each round: sqlite, postgresql, standby (PostgreSQL with a second daemon)")
    p.add_argument("--rounds", type=int, default=1)
    postgresql(p)

    p = sub.add_parser("latency", help="delivery to acknowledgement, mail by mail")
    common(p)
    p.add_argument("--mails", type=int, default=1000)
    p.add_argument("--idle", choices=("on", "off"), default="on", help="imap.idle")
    p.add_argument("--poll-interval", type=int, default=60, help="imap.poll_interval_s")
    p.add_argument("--gap-ms", type=float, default=10, help="between deliveries")
    p.add_argument("--wait-ack", action="store_true", help="deliver each after the previous acknowledgement")
    p.add_argument("--settle-s", type=float, default=2.0)
    p.add_argument("--deliver", choices=("maildir", "doveadm"), default="maildir",
                   help="write into the Maildir (default) or `doveadm save` (Dovecot's own delivery)")

    p = sub.add_parser("idle-probe", help="Dovecot's own IDLE notification delay, no daemon")
    common(p)
    p.add_argument("--mails", type=int, default=50)
    p.add_argument("--gap-ms", type=float, default=50)
    p.add_argument("--deliver", choices=("maildir", "doveadm"), default="maildir")

    p = sub.add_parser("bigmail", help="peak memory with one big attachment")
    common(p)
    p.add_argument("--mib", type=int, default=25, help="decoded attachment size in MiB")

    p = sub.add_parser("pipe", help="mail piped through `servicedesk ingest` to acknowledgement")
    common(p)
    p.add_argument("--mails", type=int, default=200)
    p.add_argument("--gap-ms", type=float, default=50, help="after each acknowledgement (or between mails)")
    p.add_argument("--open-loop", action="store_true", help="one every --gap-ms, not waiting for acknowledgements")
    p.add_argument("--no-wake", action="store_true", help="remove the daemon's wake-up socket: the old behaviour")
    p.add_argument("--settle-s", type=float, default=2.0)

    p = sub.add_parser("profile", help="where the samples of an `ingest --perf FILE` run fell")
    p.add_argument("file")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--json", metavar="FILE")

    args = ap.parse_args()
    if args.cmd == "profile":
        result = cmd_profile(args)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
        return 0
    args.imap_extra, args.intake_extra = {}, {}
    for kv in args.imap:
        k, _, v = kv.partition("=")
        args.imap_extra[k] = json.loads(v)
    for kv in args.intake:
        k, _, v = kv.partition("=")
        args.intake_extra[k] = json.loads(v)
    if not args.bin.exists():
        ap.error(f"no servicedesk binary at {args.bin} (build it, or give --bin)")
    print(f"servicedesk bench {args.cmd}: {' '.join(sys.argv[1:])}")
    m = machine()
    print(f"machine: {m['nproc']} CPUs, {m['cpu']}, kernel {m['kernel']}, {m['date']}, "
          f"load {m['loadavg_before']}; binary {args.bin}", flush=True)
    args.perf = getattr(args, "perf", None)
    result = {"ingest": cmd_ingest, "stores": cmd_stores, "latency": cmd_latency, "bigmail": cmd_bigmail,
              "idle-probe": cmd_idle_probe, "pipe": cmd_pipe}[args.cmd](args)
    result["argv"] = sys.argv[1:]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
