#!/usr/bin/python3
"""Benchmarks of the web portal (`servicedesk portal`, issue 14). Figures and the commands that
made them: docs/PERFORMANCE.md, "The web portal".

    bench/portal_bench.py pages  [--tickets 100000] [--open 10000] [--connections 1,10,100] [--seconds 15]
    bench/portal_bench.py plans  [--tickets 100000] [--open 10000]
    bench/portal_bench.py login  [--logins 200] [--gap-ms 100]
    bench/portal_bench.py reply-under-ingest [--mails 10000] [--every-ms 100]

pages  A store of --tickets tickets (--open of them open, with their next SLA due time set) is
       made by build-*/bench/portal_seed (cached in --seed-cache, copied for each run), and
       `servicedesk portal` serves it; no daemon runs. An agent and a contact of the largest
       organisation sign in the way a person does (GET /login, POST /login, the link from the
       mail, GET and POST /login/TOKEN); with no daemon the mail stays in the outbox, and the
       link is read from its row with sqlite3. Then `wrk --latency` (Debian's wrk:
       `apt-get install -y wrk`) runs with the session cookie, each of --connections
       keep-alive connections for --seconds, on: the agent's queue (GET /tickets), the
       organisation's list as its contact (GET /tickets), and a ticket page as the contact
       (GET /tickets/SD-N, an open ticket with two messages). Requests/s, p50 and p99 are
       taken from wrk's report, with its count of non-2xx answers and socket errors.
plans  EXPLAIN QUERY PLAN (and one timed run in sqlite3) of the list queries of
       store/sqlite_store.cpp (find_tickets, count_tickets, open_tickets_by_sla_due) on the
       seeded store: the agent queue, an organisation's list, their counts.
login  The daemon, the portal and aiosmtpd on a store with --contacts registered contacts (no
       tickets). For each of --logins distinct contacts, one after another (--gap-ms after
       the previous mail arrived): the time from just before POST /login to the moment the
       mail to that address is in aiosmtpd's Maildir (the file's appearance, seen by a tight
       polling loop; aiosmtpd writes it when it accepts the DATA). The portal's per-client and
       per-address limits are lifted: every request comes from 127.0.0.1.
reply-under-ingest
       A backlog of --mails mails (bench/mailstack_bench.py's mixed corpus) is put into
       Dovecot; a contact signs in (the link read from the outbox, before the daemon starts);
       then the daemon starts and ingests the backlog while the contact replies to their
       ticket every --every-ms: GET the ticket page (for the one-time form key), POST
       /tickets/SD-N/reply; the POST is timed. As in mailstack_bench.py's ingest, SMTP
       points at a closed port so sending does not compete. Reported: p50/p99 of the POSTs
       made while the backlog was being ingested, and of those made after.

Every run records the load average and the other busy processes (compilers) at its start
and end: on a shared 2-core machine they decide the figures as much as the code does.

Run as root (Dovecot) with Debian's /usr/bin/python3 (aiosmtpd). --bin names the servicedesk
binary (default $SERVICEDESK_BIN or build/cli/servicedesk), --seed-bin the portal_seed one
(default beside it: build/bench/portal_seed). --json FILE also writes the figures. Standard
library only.
"""
from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import pathlib
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "bench"))
import mailstack  # noqa: E402  (tests/e2e/mailstack.py: MailStack, Daemon)
import mailstack_bench  # noqa: E402  (machine(), percentile(), the ingest corpus)
from portal import Client  # noqa: E402  (tests/e2e/portal.py: an HTTP client with cookies)

percentile = mailstack_bench.percentile
# The portal's limits at their configured maxima (config/config.cpp): every request of the bench
# comes from 127.0.0.1, and each address asks for a link a few times at most.
CLIENT_LIMIT, ADDRESS_LIMIT = 100000, 1000


# ---- the machine, honestly -----------------------------------------------------------------

def busy_processes() -> list[str]:
    """Other processes using the CPU now (state R), by name: compilers of other sessions."""
    out = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            stat = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        name = stat[stat.find("(") + 1:stat.rfind(")")]
        state = stat[stat.rfind(")") + 2:].split()[0]
        if state == "R":
            out.append(name)
    return sorted(out)


def load() -> dict:
    return {"loadavg": open("/proc/loadavg").read().split()[:3], "running": busy_processes(),
            "at": time.strftime("%H:%M:%S")}


# ---- the desk --------------------------------------------------------------------------------

def default_seed_bin(binary: pathlib.Path) -> pathlib.Path:
    # build-X/cli/servicedesk -> build-X/bench/portal_seed
    return binary.resolve().parent.parent / "bench" / "portal_seed"


def seeded_store(args, tickets: int, open_: int, dest: pathlib.Path) -> dict:
    """Copies a cached seeded store to dest (making it first if needed); returns the seed's
    report (names of the visitors, the ticket)."""
    cache = pathlib.Path(args.seed_cache)
    cache.mkdir(parents=True, exist_ok=True)
    stem = cache / f"portal-{tickets}-{open_}-{args.orgs}x{args.contacts_per_org}"
    db, info = stem.with_suffix(".db"), stem.with_suffix(".json")
    if not (db.exists() and info.exists()):
        for p in (db, info):
            p.unlink(missing_ok=True)
        t = time.monotonic()
        r = subprocess.run([str(args.seed_bin), "--store", str(db), "--tickets", str(tickets), "--open", str(open_),
                            "--orgs", str(args.orgs), "--contacts-per-org", str(args.contacts_per_org)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"portal_seed failed: {r.stderr}")
        # One checkpoint, so the copy is one file.
        con = sqlite3.connect(db)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        info.write_text(r.stdout)
        print(f"seeded {db} in {time.monotonic() - t:.1f} s: {r.stdout.strip()}", flush=True)
    for suffix in ("", "-wal", "-shm"):
        pathlib.Path(str(dest) + suffix).unlink(missing_ok=True)
    shutil.copyfile(db, dest)
    os.chmod(dest, 0o600)
    return json.loads(info.read_text())


def portal_config(stack: mailstack.MailStack, port: int, smtp_url: str | None = None,
                  imap: dict | None = None, log_level: str = "notice") -> pathlib.Path:
    secret = stack.dir / "token.secret"
    secret.write_text("bench-secret-of-the-desk\n")
    os.chmod(secret, 0o600)
    portal = {"listen": f"127.0.0.1:{port}", "base_url": f"http://127.0.0.1:{port}",
              "login_requests_per_client_per_minute": CLIENT_LIMIT, "login_mails_per_address_per_hour": ADDRESS_LIMIT}
    over = {"service": {"log_level": log_level}, "agents": {"token_secret_file": str(secret)},
            "intake": {"unknown_sender": "accept"},  # the acknowledgement caps: mailstack.py lifts them
            "portal": portal}
    if smtp_url:
        over["smtp"] = {"url": smtp_url}
    if imap:
        over["imap"] = imap
    return stack.write_config(**over)


def start_portal(cfg: pathlib.Path, binary: pathlib.Path, stack: mailstack.MailStack, port: int) -> mailstack.Daemon:
    portal = mailstack.Daemon(cfg, binary=binary, stack=stack, command="portal")
    portal.start()
    portal.wait_until(lambda: mailstack.port_accepts(port), 60, what="the portal's port")
    return portal


LINK = re.compile(r"https?://[^\s\"<>]+/login/[A-Za-z0-9_-]+")


def link_in(raw: bytes) -> str | None:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            m = LINK.search(part.get_content())
            if m:
                return m.group(0)
    m = LINK.search(raw.decode("ascii", "replace"))
    return m.group(0) if m else None


def link_from_outbox(db: pathlib.Path, address: str, after_id: int, timeout: float = 30) -> str:
    """The sign-in link in the newest outbox row to `address` above after_id (no daemon runs,
    so the row is still pending and its bytes are there)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = con.execute("SELECT o.bytes FROM outbox o JOIN outbox_recipients r ON r.outbox_id = o.id "
                              "WHERE r.address = ? AND o.id > ? ORDER BY o.id DESC LIMIT 1",
                              (address.lower(), after_id)).fetchone()
            if row and (link := link_in(bytes(row[0]))):
                return link
            time.sleep(0.05)
    finally:
        con.close()
    raise SystemExit(f"no sign-in mail to {address} in the outbox after {timeout:g} s")


def max_outbox_id(db: pathlib.Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0]
    finally:
        con.close()


def request_link(client: Client, address: str):
    form = client.get("/login")
    if form.status != 200:
        raise SystemExit(f"GET /login: {form.status} {form.text[:300]}")
    return client.post("/login", {"email": address, "csrf": form.field("csrf") or ""})


def use_link(client: Client, link: str) -> None:
    path = urllib.parse.urlsplit(link).path
    page = client.get(path)
    r = client.post(path, {"csrf": page.field("csrf") or ""})
    if "sd_session" not in client.cookies:
        raise SystemExit(f"signing in with {path} gave {r.status} and no session: {r.text[:300]}")


def sign_in_via_outbox(port: int, db: pathlib.Path, address: str) -> Client:
    client = Client(port)
    before = max_outbox_id(db)
    r = request_link(client, address)
    if r.status != 200:
        raise SystemExit(f"POST /login for {address}: {r.status} {r.text[:300]}")
    use_link(client, link_from_outbox(db, address, before))
    return client


# ---- wrk ---------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk_ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")


def parse_wrk(out: str) -> dict:
    res = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["requests_per_s"] = float(m.group(1)) if m else float("nan")
    m = re.search(r"(\d+) requests in ([\d.]+\w+),", out)
    res["requests"] = int(m.group(1)) if m else 0
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = wrk_ms(m.group(1)) if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    res["socket_errors"] = m.group(1).strip() if m else ""
    m = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M)
    if m:
        res["mean_ms"], res["max_ms"] = wrk_ms(m.group(1)), wrk_ms(m.group(3))
    return res


def run_wrk(port: int, path: str, cookie: str, connections: int, seconds: float, threads: int) -> dict:
    cmd = ["wrk", "-t", str(max(1, min(threads, connections))), "-c", str(connections), "-d", f"{seconds:g}s",
           "--latency", "--timeout", "10s", "-H", f"Cookie: sd_session={cookie}",
           f"http://127.0.0.1:{port}{path}"]
    before = load()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"wrk failed ({r.returncode}): {r.stderr}{r.stdout}\n"
                         "wrk is Debian's: apt-get install -y wrk")
    res = parse_wrk(r.stdout)
    res.update({"path": path, "connections": connections, "seconds": seconds, "load_before": before,
                "load_after": load(), "wrk_output": r.stdout})
    return res


# ---- pages ---------------------------------------------------------------------------------------

def cmd_pages(args) -> dict:
    result = {"benchmark": "pages", "machine": mailstack_bench.machine(), "binary": str(args.bin)}
    with mailstack.MailStack(keep=args.keep, prefix="sd-bench-portal-") as stack:
        db = stack.dir / "servicedesk.db"
        seed = seeded_store(args, args.tickets, args.open, db)
        result["seed"] = seed
        port = mailstack.free_port()
        cfg = portal_config(stack, port, log_level=args.log_level)
        portal = start_portal(cfg, args.bin, stack, port)
        agent = sign_in_via_outbox(port, db, seed["agent"])
        contact = sign_in_via_outbox(port, db, seed["contact"])
        ticket = f"/tickets/SD-{seed['ticket']}"
        targets = [("agent queue", agent, "/tickets"), ("organisation list (contact)", contact, "/tickets"),
                   ("ticket page (contact)", contact, ticket)]
        if args.only:
            targets = [t for t in targets if any(o in t[0] for o in args.only.split(","))]
        # Each page once by hand first: it must be the real page, not an error page wrk would
        # happily count.
        for name, client, path in targets:
            r = client.get(path)
            if r.status != 200:
                raise SystemExit(f"{name}: GET {path} gave {r.status}: {r.text[:300]}\n{portal.log_tail()}")
            result.setdefault("page_bytes", {})[name] = len(r.body)
            print(f"{name}: GET {path} 200, {len(r.body)} bytes", flush=True)
        runs = []
        conns = [int(c) for c in args.connections.split(",")]
        for name, client, path in targets:
            for c in conns:
                res = run_wrk(port, path, client.cookies["sd_session"], c, args.seconds, args.threads)
                res["page"] = name
                runs.append(res)
                print(f"{name:30} c={c:<4} {res['requests_per_s']:9.1f} req/s  p50 {res['p50_ms']:8.2f} ms  "
                      f"p99 {res['p99_ms']:8.2f} ms  non-2xx {res['non_2xx']}  {res['socket_errors']}  "
                      f"load {' '.join(res['load_before']['loadavg'])}, running: "
                      f"{','.join(res['load_before']['running']) or '-'}", flush=True)
                if not portal.running():
                    print(f"the portal exited with {portal.proc.poll()} during that run; the rest is not measured",
                          flush=True)
                    result["portal_exit"] = portal.proc.poll()
                    break
            if "portal_exit" in result:
                break
        result["runs"] = runs
        result["portal_cpu_s"] = portal.cpu_seconds()
        result["portal_log_tail"] = portal.log_tail(20)
        if portal.running():
            portal.stop()
    return result


# ---- plans ---------------------------------------------------------------------------------------

# The SELECT of store/sqlite_store.cpp's kTicketSql and the filters and orders find_tickets,
# count_tickets and open_tickets_by_sla_due build, with the values the portal's lists use.
TICKET_SQL = ("SELECT t.id, t.subject, t.status, t.requester, t.requester_name, t.priority, t.category, "
              "t.created_at, t.updated_at, (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id), t.sla, "
              "t.assignee, t.first_response_at, t.resolved_at, t.organisation, t.unverified, t.hypercare, "
              "t.time_spent_s, t.alert_key, t.repeat_count, t.refers_to, t.sla_next_due, t.resolution FROM tickets t")
OPEN = "('new','open','pending')"
DUE = " ORDER BY (t.sla_next_due IS NULL), t.sla_next_due, t.id"
NEWEST = " ORDER BY t.created_at DESC, t.id DESC"


def plan_queries(org: str, contact: str) -> list[tuple[str, str]]:
    """The SQL store/sqlite_store.cpp builds for the portal's lists (find_tickets and
    count_tickets: TicketFilter, the due order's unary plus, a contact's scope as disjoint
    branches, the count capped 1,000 past the page), written out for the seeded store."""
    o, c = org.replace("'", "''"), contact.replace("'", "''")
    cap = 1001  # page 1: offset 0 + kCountedAhead + 1 (portal/app.cpp)
    branches = [f"t.organisation = '{o}'",
                f"t.requester = '{c}' AND t.organisation IS NOT '{o}'",
                f"t.id IN (SELECT ticket_id FROM ticket_cc WHERE address = '{c}' AND removed = 0) "
                f"AND t.requester <> '{c}' AND t.organisation IS NOT '{o}'"]
    scope_ids = " UNION ALL ".join(
        f"SELECT id FROM (SELECT t.id FROM tickets t WHERE {b}{NEWEST} LIMIT 50)" for b in branches)
    scope_count = " + ".join(
        f"(SELECT count(*) FROM (SELECT 1 FROM tickets t WHERE {b} LIMIT {cap}))" for b in branches)
    return [
        ("agent queue: find_tickets(statuses open, sort due, 50)",
         f"{TICKET_SQL} WHERE +t.status IN {OPEN}{DUE} LIMIT 50 OFFSET 0"),
        ("agent queue, page 200: find_tickets(statuses open, sort due, offset 9950)",
         f"{TICKET_SQL} WHERE +t.status IN {OPEN}{DUE} LIMIT 50 OFFSET 9950"),
        ("agent queue count: count_tickets(statuses open, at most 1,001)",
         f"SELECT (SELECT count(*) FROM (SELECT 1 FROM tickets t WHERE t.status IN {OPEN} LIMIT {cap}))"),
        ("agent queue count, exact (before the cap)",
         f"SELECT count(*) FROM tickets t WHERE t.status IN {OPEN}"),
        ("agent queue of one organisation: find_tickets(open, organisation, sort due)",
         f"{TICKET_SQL} WHERE +t.status IN {OPEN} AND t.organisation = '{o}'{DUE} LIMIT 50 OFFSET 0"),
        ("agent queue's organisation filter: organisation_names()",
         "SELECT name FROM organisations ORDER BY name"),
        ("organisation list as its contact: find_tickets(visible_to, newest, 50)",
         f"{TICKET_SQL} WHERE t.id IN ({scope_ids}){NEWEST} LIMIT 50 OFFSET 0"),
        ("organisation list as its contact: count_tickets(visible_to, at most 1,001)",
         f"SELECT {scope_count}"),
        ("organisation list, open only: find_tickets(statuses open, organisation, newest)",
         f"{TICKET_SQL} WHERE t.status IN {OPEN} AND t.organisation = '{o}'{NEWEST} LIMIT 50 OFFSET 0"),
    ]


def time_query(con: sqlite3.Connection, sql: str, repeat: int) -> float:
    con.execute(sql).fetchall()  # warm the page cache
    t = time.perf_counter()
    for _ in range(repeat):
        con.execute(sql).fetchall()
    return (time.perf_counter() - t) / repeat * 1000


def cmd_plans(args) -> dict:
    result = {"benchmark": "plans", "machine": mailstack_bench.machine()}
    tmp = pathlib.Path(args.seed_cache) / "plans.db"
    seed = seeded_store(args, args.tickets, args.open, tmp)
    con = sqlite3.connect(f"file:{tmp}?mode=ro", uri=True)
    result["sqlite"] = sqlite3.sqlite_version
    out = []
    for name, sql in plan_queries(seed["big_organisation"], seed["contact"]):
        plan = [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
        ms = time_query(con, sql, args.repeat)
        out.append({"query": name, "sql": sql, "plan": plan, "ms": ms})
        print(f"== {name}: {ms:.2f} ms per run (mean of {args.repeat}, Python's sqlite3 {sqlite3.sqlite_version})")
        for p in plan:
            print(f"   {p}")
    con.close()
    tmp.unlink(missing_ok=True)
    result["queries"] = out
    return result


# ---- login ---------------------------------------------------------------------------------------

class MailWatcher(threading.Thread):
    """Polls aiosmtpd's Maildir new/ in a tight loop; records the monotonic time each mail is
    first seen, keyed by its envelope recipients (X-RcptTo), with its sign-in link, and moves it
    to cur/ so every scan stays short."""

    RCPT = re.compile(rb"^X-RcptTo:[ \t]*([^\r\n]*)", re.I | re.M)

    def __init__(self, maildir: pathlib.Path, interval: float = 0.0005):
        super().__init__(daemon=True, name="mail-watcher")
        self.new, self.cur = maildir / "new", maildir / "cur"
        self.interval = interval
        self.seen: dict[str, tuple[float, str | None]] = {}
        self.stop_flag = False
        self.cond = threading.Condition()

    def run(self):
        while not self.stop_flag:
            try:
                names = os.listdir(self.new)
            except FileNotFoundError:
                names = []
            if names:
                now = time.monotonic()
                for name in names:
                    src = self.new / name
                    try:
                        raw = src.read_bytes()
                        os.rename(src, self.cur / (name + ":2,"))
                    except FileNotFoundError:
                        continue
                    m = self.RCPT.search(raw.split(b"\n\n", 1)[0])
                    rcpts = [a.strip().lower() for a in m.group(1).decode().split(",")] if m else []
                    with self.cond:
                        for a in rcpts:
                            self.seen.setdefault(a, (now, link_in(raw)))
                        self.cond.notify_all()
            time.sleep(self.interval)

    def wait_for(self, address: str, timeout: float) -> tuple[float, str | None] | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while address not in self.seen:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.seen[address]


def summary(values: list[float]) -> dict:
    v = sorted(values)
    return {"n": len(v), "p50_ms": percentile(v, 50), "p90_ms": percentile(v, 90), "p99_ms": percentile(v, 99),
            "max_ms": v[-1] if v else float("nan"), "mean_ms": sum(v) / len(v) if v else float("nan")}


def cmd_login(args) -> dict:
    result = {"benchmark": "login", "machine": mailstack_bench.machine(), "binary": str(args.bin),
              "load_before": load()}
    with mailstack.MailStack(keep=args.keep, prefix="sd-bench-portal-") as stack:
        db = stack.dir / "servicedesk.db"
        per_org = args.contacts_per_org
        args.orgs = max(1, -(-args.contacts // per_org))
        seeded_store(args, 0, 0, db)
        port = mailstack.free_port()
        cfg = portal_config(stack, port, log_level=args.log_level)
        daemon = mailstack.Daemon(cfg, binary=args.bin, stack=stack).start()
        portal = start_portal(cfg, args.bin, stack, port)
        time.sleep(1.0)  # the daemon's first poll and its SMTP connection are not the portal's
        watcher = MailWatcher(stack.smtp_maildir)
        watcher.start()
        addresses = [f"c{k}@org{g}.example" for g in range(1, args.orgs + 1) for k in range(1, per_org + 1)]
        addresses = addresses[:args.logins]
        if len(addresses) < args.logins:
            raise SystemExit(f"only {len(addresses)} contacts for {args.logins} logins: raise --contacts")
        totals, posts, failures = [], [], []
        client = Client(port)
        for i, addr in enumerate(addresses):
            form = client.get("/login")
            t0 = time.monotonic()
            r = client.post("/login", {"email": addr, "csrf": form.field("csrf") or ""})
            t1 = time.monotonic()
            if r.status != 200:
                failures.append(f"{addr}: POST /login {r.status}")
                continue
            got = watcher.wait_for(addr, args.timeout)
            if got is None:
                failures.append(f"{addr}: no mail within {args.timeout:g} s")
                continue
            posts.append((t1 - t0) * 1000)
            totals.append((got[0] - t0) * 1000)
            if i == 0 and not got[1]:
                failures.append(f"{addr}: the mail carries no sign-in link")
            time.sleep(args.gap_ms / 1000)
        watcher.stop_flag = True
        result.update({"logins": len(addresses), "post_to_mail": summary(totals), "post": summary(posts),
                       "failures": failures, "samples_ms": [round(x, 2) for x in totals],
                       "load_after": load(), "daemon_log_tail": daemon.log_tail(10)})
        portal.stop()
        daemon.stop()
    s, p = result["post_to_mail"], result["post"]
    print(f"POST /login to mail accepted by the SMTP server, {s['n']} logins: p50 {s['p50_ms']:.1f} ms, "
          f"p90 {s['p90_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.1f} ms; "
          f"the POST itself: p50 {p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms; failures {len(failures)}")
    for f in failures[:10]:
        print("  " + f)
    return result


# ---- reply under ingest --------------------------------------------------------------------------

def cmd_reply_under_ingest(args) -> dict:
    result = {"benchmark": "reply-under-ingest", "machine": mailstack_bench.machine(), "binary": str(args.bin),
              "load_before": load()}
    mails, info = mailstack_bench.ingest_corpus(args.mails, 0.05, 0.05, 0.40, args.seed, f"r{os.getpid()}")
    result["corpus"] = info
    with mailstack.MailStack(keep=args.keep, prefix="sd-bench-portal-") as stack:
        t = time.monotonic()
        stack.deliver_many(mails)
        del mails
        status = stack.doveadm("-f", "flow", "mailbox", "status", "-u", mailstack.IMAP_USER, "messages", "INBOX")
        print(f"backlog: {args.mails} mails delivered and indexed by Dovecot in {time.monotonic() - t:.1f} s "
              f"({status.strip()})", flush=True)
        db = stack.dir / "servicedesk.db"
        seed = seeded_store(args, args.tickets, args.tickets, db)
        port = mailstack.free_port()
        cfg = portal_config(stack, port, smtp_url="smtp://127.0.0.1:1",
                            imap={"poll_interval_s": 1, "after_ingest": "seen"}, log_level=args.log_level)
        portal = start_portal(cfg, args.bin, stack, port)
        contact = sign_in_via_outbox(port, db, seed["contact"])
        ticket = f"/tickets/SD-{seed['ticket']}"
        page = contact.get(ticket)
        if page.status != 200 or page.field("form_key") is None:
            raise SystemExit(f"GET {ticket}: {page.status}, form_key {page.field('form_key')!r}: {page.text[:300]}")
        reader = mailstack_bench.StoreReader(db)
        base_raw = reader.counts()[0]

        samples = []  # (seconds since the daemon's start, ms of the POST, status, during ingest)
        gets = []
        daemon = mailstack.Daemon(cfg, binary=args.bin, stack=stack)
        t0 = time.monotonic()
        daemon.start()
        done_at = None
        after_until = None
        n = 0
        while True:
            tick = time.monotonic()
            raw = reader.counts()[0] - base_raw
            if done_at is None and raw >= args.mails:
                done_at = tick - t0
                after_until = tick + args.after_s
                print(f"backlog ingested at {done_at:.1f} s; {len(samples)} replies posted meanwhile", flush=True)
            if after_until is not None and tick >= after_until:
                break
            if tick - t0 > args.timeout:
                print(f"only {raw} of {args.mails} mails stored after {args.timeout:g} s: stopping", flush=True)
                break
            g0 = time.monotonic()
            page = contact.get(ticket)
            g1 = time.monotonic()
            gets.append((g1 - g0) * 1000)
            n += 1
            form = {"csrf": page.field("csrf") or "", "form_key": page.field("form_key") or "",
                    "text": f"Reply {n} from the benchmark while the desk ingests its backlog."}
            p0 = time.monotonic()
            r = contact.request("POST", ticket + "/reply", form=form, files=[])
            p1 = time.monotonic()
            samples.append((round(p0 - t0, 3), (p1 - p0) * 1000, r.status, done_at is None))
            if not daemon.running():
                raise SystemExit(f"the daemon exited:\n{daemon.log_tail()}")
            left = args.every_ms / 1000 - (time.monotonic() - tick)
            if left > 0:
                time.sleep(left)
        reader.close()
        statuses = {}
        for s in samples:
            statuses[s[2]] = statuses.get(s[2], 0) + 1
        during = [s[1] for s in samples if s[3]]
        after = [s[1] for s in samples if not s[3]]
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        replies = con.execute("SELECT count(*) FROM messages WHERE ticket_id = ? AND body_text LIKE 'Reply %'",
                              (seed["ticket"],)).fetchone()[0]
        con.close()
        result.update({"mails": args.mails, "ingest_s": done_at, "replies_posted": len(samples),
                       "replies_stored": replies, "statuses": statuses, "post_during_ingest": summary(during),
                       "post_after_ingest": summary(after), "get_page": summary(gets), "samples": samples,
                       "load_after": load(), "daemon_cpu_s": daemon.cpu_seconds(), "portal_cpu_s": portal.cpu_seconds()})
        daemon.stop(timeout=60)
        portal.stop()
    d, a = result["post_during_ingest"], result["post_after_ingest"]
    print(f"reply POST while ingesting {args.mails} mails ({d['n']} replies): p50 {d['p50_ms']:.1f} ms, "
          f"p99 {d['p99_ms']:.1f} ms, max {d['max_ms']:.1f} ms; after the backlog ({a['n']}): p50 {a['p50_ms']:.1f} ms, "
          f"p99 {a['p99_ms']:.1f} ms; statuses {statuses}; {replies} replies stored")
    return result


# ---- main ----------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, tickets, open_):
        p.add_argument("--bin", type=pathlib.Path, default=mailstack.servicedesk_bin(), help="the servicedesk binary")
        p.add_argument("--seed-bin", type=pathlib.Path, help="portal_seed (default: build-X/bench/ beside --bin)")
        p.add_argument("--seed-cache", default="/var/tmp/sd-portal-bench", help="seeded stores are kept here")
        p.add_argument("--tickets", type=int, default=tickets)
        p.add_argument("--open", type=int, default=open_)
        p.add_argument("--orgs", type=int, default=200)
        p.add_argument("--contacts-per-org", type=int, default=5)
        p.add_argument("--log-level", default="notice")
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--json", metavar="FILE", help="also write the figures here")
        p.add_argument("--keep", action="store_true", help="keep the mail stack's directory")

    p = sub.add_parser("pages", help="requests/s and p50/p99 of the queue, a list and a ticket page (wrk)")
    common(p, 100000, 10000)
    p.add_argument("--connections", default="1,10,100")
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--threads", type=int, default=2, help="wrk's threads (at most the connections)")
    p.add_argument("--only", help="comma-separated parts of page names: queue, organisation, ticket")
    p = sub.add_parser("plans", help="EXPLAIN QUERY PLAN of the list queries on the seeded store")
    common(p, 100000, 10000)
    p.add_argument("--repeat", type=int, default=20)
    p = sub.add_parser("login", help="POST /login to the mail's arrival at the SMTP server")
    common(p, 0, 0)
    p.add_argument("--logins", type=int, default=200)
    p.add_argument("--contacts", type=int, default=1000)
    p.add_argument("--gap-ms", type=float, default=100)
    p.add_argument("--timeout", type=float, default=30)
    p = sub.add_parser("reply-under-ingest", help="a contact's reply POSTs while the daemon ingests a backlog")
    common(p, 100, 100)
    p.add_argument("--mails", type=int, default=10000)
    p.add_argument("--every-ms", type=float, default=100)
    p.add_argument("--after-s", type=float, default=5, help="go on replying this long after the backlog is in")
    p.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    if args.seed_bin is None:
        args.seed_bin = default_seed_bin(args.bin)
    fn = {"pages": cmd_pages, "plans": cmd_plans, "login": cmd_login, "reply-under-ingest": cmd_reply_under_ingest}
    result = fn[args.cmd](args)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
