"""A throwaway mail stack for end-to-end tests and the demo: a real Dovecot IMAP server
and a real aiosmtpd SMTP server on free loopback ports, plus a driver for the
servicedesk binary.

Contract:
- MailStack is a context manager. It owns one temporary directory (removed on exit
  unless keep=True or SERVICEDESK_E2E_KEEP=1) and every process it starts; stop() ends
  them even when the test failed, and is safe to call twice.
- Mail is delivered the way an MTA's local delivery does it (`doveadm save`), so it
  arrives unseen. What the servicedesk sends is read back from aiosmtpd's Maildir.
- Daemon runs `servicedesk --config FILE run` with stderr in a log file, so a failing
  test can print what the daemon said.
- Faults: stop_imap(abrupt=True) crashes Dovecot (SIGKILL to all its processes);
  start_smtp(faulty=True) runs smtp_faults.FaultyMailbox, told by smtp_control() to
  answer 451 or 550, or 550/450 to chosen recipients, with each answer in smtp_journal().
- The store: MailStack(store="sqlite") (servicedesk.db in the stack's directory) or
  MailStack(store="postgresql") (an empty database of its own on the PostgreSQL cluster
  this process shares, see shared_pg_cluster()); without the argument SD_E2E_STORE says
  which, sqlite when unset (STORE, read here only). stack.pg is the cluster (stop_server()
  and start_server() make an outage), stack.store_url the database. What no command shows
  is read with store_rows(SQL), on either backend.

Diagnostics: a start that times out raises MailStackError with the tail of the
server's log. Security: the stack listens on 127.0.0.1 only; Dovecot is started as
root (as the notes say) and drops to nobody/dovecot/dovenull itself; passwords are
throwaway and live in the temporary directory.

Standard library only (plus aiosmtpd, run as a separate process with Debian's python3).
"""

from __future__ import annotations

import ctypes
import email
import email.policy
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Iterable

PYTHON = "/usr/bin/python3"  # Debian's: the one that has aiosmtpd
IMAP_USER = "servicedesk"
SERVICE_ADDRESS = "servicedesk@example.com"
REPO = pathlib.Path(__file__).resolve().parents[2]

# The [test] config keys (faults, a moved clock) load only with this set; every process
# started from here (the daemon, the CLI, benches, the demo) inherits it. A test that
# checks the refusal clears it for its own process.
os.environ.setdefault("SERVICEDESK_TEST_KEYS", "1")

# The store behind every MailStack that names none: "sqlite" (the default) or "postgresql".
# The one place the environment is read, so a module runs against either backend unchanged
# (CTest registers test_ingest, test_agents and test_faults a second time with
# SD_E2E_STORE=postgresql).
STORES = ("sqlite", "postgresql")
STORE = os.environ.get("SD_E2E_STORE") or "sqlite"
if STORE not in STORES:
    raise ValueError(f"SD_E2E_STORE={STORE!r}: say one of {', '.join(STORES)}")


def _nobody() -> tuple[int, int]:
    import grp
    import pwd
    return pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid


class MailStackError(RuntimeError):
    pass


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when the process that started it ends, so
    no server outlives a killed test run. (Linux; a no-op where prctl is missing.)"""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _kill_tree(pid: int) -> None:
    """SIGKILL to pid and all its descendants (found through /proc), parents first, so
    no parent can start a new child in between."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    todo = [pid]
    while todo:
        p = todo.pop(0)
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
        todo.extend(children.get(p, []))


def free_port() -> int:
    """A port the kernel says is free now. Another process could take it before we
    bind it again; on a test machine that race is rare enough."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.1,
               what: str = "condition") -> Any:
    """Polls predicate until it returns something truthy, and returns that value.
    Raises TimeoutError naming `what` when the timeout passes."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except _DaemonDied:
            raise
        except Exception as exc:  # the predicate may fail while things start up
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc!r})" if last_exc else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def tail(path: pathlib.Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} not readable)"
    return "\n".join(text.splitlines()[-lines:])


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")


_pg_lock = threading.Lock()
_pg_cluster = None


def shared_pg_cluster():
    """The PostgreSQL cluster of this process (pgcluster.PgCluster), started at the first
    call (about 2 s) and stopped when the interpreter exits: one per test module, an
    empty database per MailStack. A test that stops its server (stop_server()) starts it
    again before it ends; the next test's create_database() would fail otherwise."""
    global _pg_cluster
    with _pg_lock:
        if _pg_cluster is None:
            import atexit
            from pgcluster import PgCluster
            cluster = PgCluster()
            cluster.start()
            atexit.register(cluster.stop)
            _pg_cluster = cluster
        return _pg_cluster


def store_is_postgresql(stack: "MailStack | None" = None) -> bool:
    """Whether `stack` (or, without one, every MailStack that names no store) runs on
    PostgreSQL: for skipIf on tests about SQLite's files or its one-daemon rule."""
    return (stack.store if stack is not None else STORE) == "postgresql"


class MailStack:
    """Dovecot (IMAP) + aiosmtpd (SMTP) in one temporary directory, and the store the
    servicedesk config names.

    Attributes once started: dir, imap_port, smtp_port, imap_password, dovecot_conf,
    smtp_maildir; store ("sqlite" or "postgresql"), store_url (the database's
    postgresql:// URL, or sqlite:// and the file), pg (the PgCluster, or None).
    """

    def __init__(self, keep: bool | None = None, prefix: str = "sd-e2e-", store: str | None = None):
        self.keep = keep if keep is not None else os.environ.get("SERVICEDESK_E2E_KEEP") == "1"
        self.prefix = prefix
        self.store = store or STORE
        if self.store not in STORES:
            raise ValueError(f"store={self.store!r}: say one of {', '.join(STORES)}")
        self.store_url = ""
        self.pg = None
        self.dir: pathlib.Path | None = None
        self.imap_port = 0
        self.smtp_port = 0
        self.imap_password = "imap-secret-" + os.urandom(4).hex()
        self._smtp_proc: subprocess.Popen | None = None
        self._dovecot_proc: subprocess.Popen | None = None
        self._dovecot_started = False
        self._dir_removed = False
        self._daemons: list[Daemon] = []
        self._delivered = 0
        self._smtp_faulty = False

    # ---- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> "MailStack":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        if os.geteuid() != 0:
            # Dovecot's master must start as root to drop to nobody/dovecot/dovenull.
            raise MailStackError("the mail stack starts Dovecot and needs root (run as root or with sudo)")
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=self.prefix))
        # mkdtemp makes 0700; Dovecot's auth process runs as user dovecot and must
        # traverse down to the passwd-file.
        os.chmod(self.dir, 0o755)
        if self.store == "postgresql":
            self.pg = shared_pg_cluster()
            self.store_url = self.pg.create_database()
        else:
            self.store_url = f"sqlite://{self.dir / 'servicedesk.db'}"
        self.dovecot_conf = self.dir / "dovecot" / "dovecot.conf"
        self.smtp_maildir = self.dir / "smtp-received"
        self._start_dovecot()
        for sub in ("cur", "new", "tmp"):
            (self.smtp_maildir / sub).mkdir(parents=True, exist_ok=True)
        self.smtp_port = free_port()
        self.start_smtp()

    def stop(self, wait: bool = True) -> None:
        """Stops the daemons, aiosmtpd and Dovecot, and removes the directory. Dovecot's
        master takes about two seconds to exit; with wait=False that wait and the
        removal happen in a background thread (the interpreter joins it at exit), so a
        test suite does not pay it per test. Ports are closed before this returns."""
        for d in list(self._daemons):
            try:
                d.stop()
            except Exception:
                d.kill()
        self._daemons.clear()
        self.stop_smtp()
        dovecot, self._dovecot_started = self._dovecot_started, False
        directory = None if self._dir_removed else self.dir
        self._dir_removed = True
        if not dovecot and directory is None:
            return

        def finish():
            if dovecot:
                subprocess.run(["doveadm", "-c", str(self.dovecot_conf), "stop"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
                self._wait_dovecot_gone()
            if directory is not None and not self.keep:
                shutil.rmtree(directory, ignore_errors=True)
        if wait:
            finish()
        else:
            threading.Thread(target=finish, name="mailstack-stop").start()

    # ---- Dovecot ---------------------------------------------------------------------

    def _start_dovecot(self, port: int = 0) -> None:
        assert self.dir is not None
        d = self.dir / "dovecot"
        self.dovecot_base = d / "run"
        self.dovecot_state = d / "state"
        self.dovecot_log = d / "dovecot.log"
        self.mail_root = d / "mail"
        for p in (d, self.dovecot_base, self.dovecot_state):
            p.mkdir(mode=0o755, parents=True, exist_ok=True)
            os.chmod(p, 0o755)
        # Mail is written as the static userdb's nobody:nogroup.
        self.mail_root.mkdir(mode=0o755, exist_ok=True)
        shutil.chown(self.mail_root, "nobody", "nogroup")
        users = d / "users"
        users.write_text(f"{IMAP_USER}:{{PLAIN}}{self.imap_password}::::::\n")
        os.chmod(users, 0o644)
        self.imap_port = port or free_port()
        self.dovecot_conf.write_text(f"""\
# Written by tests/e2e/mailstack.py for one test run.
protocols = imap
listen = 127.0.0.1
base_dir = {self.dovecot_base}
state_dir = {self.dovecot_state}
log_path = {self.dovecot_log}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{self.mail_root}/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {users}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={self.mail_root}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
        # Foreground (-F) as our child, so it dies with us (see _die_with_parent) even
        # when a test runner kills this process before stop() runs.
        start_log = d / "dovecot-start.log"
        with open(start_log, "wb") as out:
            self._dovecot_proc = subprocess.Popen(
                ["dovecot", "-F", "-c", str(self.dovecot_conf)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, preexec_fn=_die_with_parent)
        self._dovecot_started = True
        try:
            wait_until(lambda: self._dovecot_proc.poll() is not None or port_accepts(self.imap_port),
                       15, what="Dovecot's IMAP port")
        except TimeoutError as exc:
            raise MailStackError(f"{exc}\n{tail(self.dovecot_log)}") from None
        if self._dovecot_proc.poll() is not None:
            self._dovecot_started = False
            raise MailStackError(f"dovecot exited at start ({self._dovecot_proc.returncode}): "
                                 f"{tail(start_log)}\n{tail(self.dovecot_log)}")

    def _wait_dovecot_gone(self) -> None:
        p = self._dovecot_proc
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)

    def doveadm(self, *args: str, input: bytes | None = None, check: bool = True) -> str:
        r = subprocess.run(["doveadm", "-c", str(self.dovecot_conf), *args],
                           input=input, capture_output=True, timeout=30)
        if check and r.returncode != 0:
            raise MailStackError(f"doveadm {' '.join(args)} failed ({r.returncode}): "
                                 f"{r.stderr.decode(errors='replace').strip()}")
        return r.stdout.decode(errors="replace")

    def deliver(self, raw: bytes | str, mailbox: str = "INBOX") -> None:
        """Stores a message unseen, as an MTA's local delivery does."""
        if isinstance(raw, str):
            raw = raw.encode()
        self.doveadm("save", "-u", IMAP_USER, "-m", mailbox, input=raw)

    def deliver_many(self, raws: Iterable[bytes | str], mailbox: str = "INBOX") -> int:
        """Stores many messages unseen at once, the way an MTA's maildir delivery does
        (write into tmp/, rename into new/): thousands per second where `doveadm save`
        takes a process per mail. Dovecot assigns their UIDs, in this order, when it
        next looks at the mailbox. Returns how many were delivered."""
        box = self.mail_root / IMAP_USER
        if mailbox != "INBOX":
            box = box / ("." + mailbox)
        if not (box / "new").is_dir():
            # Dovecot creates the Maildir on first use; a status request is enough.
            self.doveadm("mailbox", "status", "-u", IMAP_USER, "messages", mailbox)
        tmp, new = box / "tmp", box / "new"
        for d in (tmp, new):
            d.mkdir(parents=True, exist_ok=True)
            shutil.chown(d, "nobody", "nogroup")
        owner = _nobody()
        count = 0
        stamp = f"{int(time.time())}.P{os.getpid()}"
        for raw in raws:
            if isinstance(raw, str):
                raw = raw.encode()
            self._delivered += 1
            name = f"{stamp}Q{self._delivered}.sd-e2e"
            path = tmp / name
            path.write_bytes(raw)
            os.chown(path, *owner)
            os.rename(path, new / name)
            count += 1
        return count

    def stop_imap(self, abrupt: bool = False) -> None:
        """Stops Dovecot; its port then refuses connections until start_imap(). The
        mail directory stays, so the mailbox is as it was. `doveadm stop` lets open
        sessions finish the command in hand; abrupt=True is a crash instead: SIGKILL to
        the master and every process under it, so open sessions drop mid-command."""
        if not self._dovecot_started:
            return
        self._dovecot_started = False
        if abrupt:
            _kill_tree(self._dovecot_proc.pid)
        else:
            subprocess.run(["doveadm", "-c", str(self.dovecot_conf), "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        self._wait_dovecot_gone()
        wait_until(lambda: not port_accepts(self.imap_port), 15, what="Dovecot's port to close")

    def start_imap(self) -> None:
        """Starts Dovecot again on the same port with the same mailboxes."""
        if self._dovecot_started:
            return
        self._start_dovecot(self.imap_port)

    def create_mailbox(self, name: str) -> None:
        self.doveadm("mailbox", "create", "-u", IMAP_USER, name)

    def mailboxes(self) -> list[str]:
        return self.doveadm("mailbox", "list", "-u", IMAP_USER).split()

    def imap_uids_and_flags(self, mailbox: str = "INBOX") -> list[tuple[int, set[str]]]:
        """[(uid, {flags})] of every message in the mailbox, expunged ones excluded."""
        out = self.doveadm("-f", "flow", "fetch", "-u", IMAP_USER, "uid flags",
                           "mailbox", mailbox, "all")
        result = []
        for line in out.splitlines():
            # flow format: "uid=1 flags=\Seen \Recent"; flags may hold spaces
            if not line.startswith("uid="):
                continue
            uid_part, _, flags_part = line.partition(" flags=")
            uid = int(uid_part[len("uid="):])
            result.append((uid, set(flags_part.split())))
        return sorted(result)

    def message_ids_in(self, mailbox: str = "INBOX") -> list[str]:
        out = self.doveadm("-f", "flow", "fetch", "-u", IMAP_USER, "hdr.message-id",
                           "mailbox", mailbox, "all")
        return [line.partition("=")[2].strip() for line in out.splitlines() if "=" in line]

    def uidvalidity(self, mailbox: str = "INBOX") -> int:
        out = self.doveadm("-f", "flow", "mailbox", "status", "-u", IMAP_USER,
                           "uidvalidity", mailbox)
        return int(out.strip().partition("=")[2])

    def set_uidvalidity(self, value: int, mailbox: str = "INBOX") -> None:
        """Gives the mailbox a new UIDVALIDITY, as a restored or recreated mailbox has.
        Checks that Dovecot really reports the new value."""
        self.doveadm("mailbox", "update", "-u", IMAP_USER, "--uid-validity", str(value),
                     mailbox)
        now = self.uidvalidity(mailbox)
        if now != value:
            raise MailStackError(f"UIDVALIDITY of {mailbox} is {now}, wanted {value}")

    def renumber_mailbox(self, mailbox: str = "INBOX") -> int:
        """Forgets the mailbox's UID list and indexes, the way a rebuilt or restored
        Maildir does: Dovecot hands out a new UIDVALIDITY and numbers the messages
        afresh from 1. Returns the new UIDVALIDITY (checked to differ)."""
        before = self.uidvalidity(mailbox)
        box = self.mail_root / IMAP_USER
        if mailbox != "INBOX":
            box = box / ("." + mailbox)
        # Dovecot derives a fresh UIDVALIDITY from the clock (seconds); a value set
        # by set_uidvalidity() may lie anywhere, so wait at most one second.
        time.sleep(min(1.1, max(0.0, before + 1 - time.time())))
        for name in os.listdir(box):
            if name.startswith("dovecot-uidlist") or name.startswith("dovecot.index"):
                os.unlink(box / name)
        after = self.uidvalidity(mailbox)
        if after == before:
            raise MailStackError(f"UIDVALIDITY of {mailbox} stayed {before}")
        return after

    # ---- SMTP ------------------------------------------------------------------------

    def start_smtp(self, faulty: bool | None = None) -> None:
        """Starts aiosmtpd. faulty=True runs smtp_faults.FaultyMailbox, which answers RCPT
        and DATA as smtp_control() says (451s, 550s) and journals each answer;
        faulty=False the plain Mailbox; None (the default) the same kind as last time."""
        if faulty is not None and faulty != self._smtp_faulty:
            self.stop_smtp()
            self._smtp_faulty = faulty
        if self._smtp_proc is not None:
            return
        assert self.dir is not None
        self.smtp_log = self.dir / "aiosmtpd.log"
        if self._smtp_faulty:
            handler = ["-c", "smtp_faults.FaultyMailbox", str(self.smtp_maildir), str(self.smtp_control_file)]
        else:
            handler = ["-c", "aiosmtpd.handlers.Mailbox", str(self.smtp_maildir)]
        env = dict(os.environ)
        here = str(pathlib.Path(__file__).resolve().parent)
        env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        log = open(self.smtp_log, "ab")
        self._smtp_proc = subprocess.Popen(
            [PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.smtp_port}", *handler],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, preexec_fn=_die_with_parent)
        log.close()
        try:
            wait_until(lambda: self._smtp_proc.poll() is not None or port_accepts(self.smtp_port),
                       15, what="aiosmtpd's port")
        except TimeoutError as exc:
            self.stop_smtp()
            raise MailStackError(f"{exc}\n{tail(self.smtp_log)}") from None
        if self._smtp_proc.poll() is not None:
            self._smtp_proc = None
            raise MailStackError(f"aiosmtpd exited at start:\n{tail(self.smtp_log)}")

    @property
    def smtp_control_file(self) -> pathlib.Path:
        assert self.dir is not None
        return self.dir / "smtp-control.json"

    def smtp_control(self, **control: Any) -> None:
        """Tells the faulty SMTP server (start_smtp(faulty=True)) what to answer from the
        next RCPT/DATA on, e.g. smtp_control(tempfail_first=2) or
        smtp_control(reject_rcpt=["bad@kund.example"]) (550 to that RCPT TO) or
        smtp_control(tempfail_rcpt=["full@kund.example"]) (450 while listed); see
        smtp_faults.py. Replaces the whole previous control."""
        from smtp_faults import write_control
        write_control(self.smtp_control_file, control)

    def smtp_control_state(self) -> dict[str, Any]:
        """The control file as it is now (the server counts tempfail_first down)."""
        from smtp_faults import read_control
        return read_control(self.smtp_control_file)

    def smtp_journal(self) -> list[dict[str, Any]]:
        """Every RCPT and DATA answer of the faulty SMTP server, oldest first:
        {"at", "stage": "rcpt"|"data", "rcpt": [...], "code", "message_id" (DATA)}."""
        path = self.smtp_control_file.with_name(self.smtp_control_file.name + ".journal")
        try:
            lines = path.read_text().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def stop_smtp(self) -> None:
        """Stops the SMTP server; the port then refuses connections until start_smtp()."""
        p, self._smtp_proc = self._smtp_proc, None
        if p is None:
            return
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)

    @property
    def smtp_running(self) -> bool:
        return self._smtp_proc is not None

    def smtp_raw_messages(self) -> list[bytes]:
        """Every message aiosmtpd accepted, oldest first, as stored (aiosmtpd adds
        X-Peer, X-MailFrom and X-RcptTo)."""
        files = []
        for sub in ("new", "cur"):
            for f in (self.smtp_maildir / sub).iterdir():
                files.append(f)
        # Maildir names start with the delivery time in seconds; mtime breaks ties.
        files.sort(key=lambda f: (f.stat().st_mtime_ns, f.name))
        return [f.read_bytes() for f in files]

    def smtp_messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=email.policy.default)
                for raw in self.smtp_raw_messages()]

    # ---- the store -------------------------------------------------------------------

    def store_rows(self, sql: str, timeout: float = 30) -> list[tuple[str | None, ...]]:
        """The rows of one read-only query on the stack's store, each value as text (None
        for NULL), alike on both backends: for what no command shows (sent outbox rows).
        SQLite is opened read-only; PostgreSQL is asked through psql in a read-only
        transaction. Write SQL both dialects read the same (CAST(x AS INTEGER), no
        PRAGMA) and whose values hold no line break; a failure raises MailStackError
        with the server's message."""
        assert self.dir is not None, "not started"
        if self.store == "sqlite":
            import sqlite3
            db = sqlite3.connect(f"file:{self.dir / 'servicedesk.db'}?mode=ro", uri=True, timeout=timeout)
            try:
                return [tuple(None if v is None else str(v) for v in row) for row in db.execute(sql)]
            except sqlite3.Error as exc:
                raise MailStackError(f"{sql}: {exc}") from None
            finally:
                db.close()
        from pgcluster import BIN
        null, sep = "<NULL in sd-e2e>", "\x1f"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGOPTIONS"] = "-c default_transaction_read_only=on"
        r = subprocess.run([str(BIN / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-F", sep,
                            "-P", f"null={null}", "-c", sql, self.store_url],
                           capture_output=True, text=True, env=env, timeout=timeout)
        if r.returncode != 0:
            raise MailStackError(f"{sql}: psql exited {r.returncode}: {r.stderr.strip()}")
        lines = r.stdout.removesuffix("\n").split("\n") if r.stdout else []  # one line a row
        return [tuple(None if v == null else v for v in line.split(sep)) for line in lines]

    # ---- servicedesk configuration ----------------------------------------------------

    def config_sections(self, workdir: pathlib.Path | None = None) -> dict[str, dict[str, Any]]:
        workdir = pathlib.Path(workdir or self.dir)
        pass_file = workdir / "imap.pass"
        if not pass_file.exists():
            pass_file.write_text(self.imap_password + "\n")
        os.chmod(pass_file, 0o600)
        imap = {"url": f"imap://127.0.0.1:{self.imap_port}/INBOX",
                "username": IMAP_USER, "password_file": str(pass_file),
                "poll_interval_s": 1, "after_ingest": "seen"}
        if self.store == "postgresql":
            # On a shared store a daemon restarted after a crash waits for the dead one's
            # mailbox lease to run out: 5 s instead of the default 15 keeps the crash tests
            # quick (as CI's failover tests do), and is still many renewals (every lease_s/3).
            imap["lease_s"] = 5
        return {
            "service": {"name": "Example Servicedesk", "address": SERVICE_ADDRESS,
                        "ticket_prefix": "SD"},
            "imap": imap,
            "smtp": {"url": f"smtp://127.0.0.1:{self.smtp_port}", "username": "",
                     "password_file": ""},
            "store": ({"url": self.store_url} if self.store == "postgresql"
                      else {"path": str(workdir / "servicedesk.db")}),
            # The suites send hundreds of mails from one test domain within minutes and expect
            # each acknowledged: the per-domain and total caps are lifted here; their own tests
            # (tests/desk/test_desk_hostile.cpp) set them.
            "intake": {"acks_per_domain_per_hour": 100000, "acks_per_hour": 1000000},
            "test": {"fault": ""},
        }

    def token_secret(self) -> pathlib.Path:
        """The desk's agents' token secret (agents.token_secret_file): a file of the test's,
        mode 0600 as the daemon requires."""
        secret = self.dir / "token.secret"
        secret.write_text("e2e-secret-of-the-desk\n")
        os.chmod(secret, 0o600)
        return secret

    def write_config(self, path: str | os.PathLike | None = None, extra: str = "",
                     **overrides: dict[str, Any]) -> pathlib.Path:
        """Writes the servicedesk TOML config. Each keyword names a section and holds
        the keys to change there, e.g. imap={"after_ingest": "delete"}; a value of None
        leaves the key out; a whole section given as None is left out. `extra` is
        appended verbatim. A store given by its own path or url (store={"path": ...})
        replaces the stack's. Returns the path."""
        path = pathlib.Path(path) if path else self.dir / "servicedesk.toml"
        sections = self.config_sections(path.parent)
        for name, keys in overrides.items():
            if keys is None:
                sections.pop(name, None)
                continue
            if name == "store" and ("path" in keys or "url" in keys):
                sections["store"] = {}
            sections.setdefault(name, {}).update(keys)
        lines = []
        for name, keys in sections.items():
            lines.append(f"[{name}]")
            for k, v in keys.items():
                if v is not None:
                    lines.append(f"{k} = {toml_value(v)}")
            lines.append("")
        text = "\n".join(lines) + extra
        path.write_text(text)
        os.chmod(path, 0o600)  # the daemon refuses a config others may read
        return path


def plain_mail(frm: str, to: str, subject: str, body: str, msgid: str, extra: str = "",
               date: str = "Sun, 22 Nov 2026 09:00:00 +0100") -> bytes:
    """A one-part UTF-8 text mail; `extra` holds more header lines, each ending in CRLF."""
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{msgid}>\r\n{extra}"
            f"Date: {date}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}").encode()


def servicedesk_bin() -> pathlib.Path:
    return pathlib.Path(os.environ.get("SERVICEDESK_BIN")
                        or REPO / "build" / "daemon" / "servicedesk")


class Daemon:
    """`servicedesk --config FILE run` as a child process, and the CLI beside it."""

    def __init__(self, config: str | os.PathLike, binary: str | os.PathLike | None = None,
                 stack: MailStack | None = None, log: str | os.PathLike | None = None,
                 command: str = "run"):
        self.config = pathlib.Path(config)
        self.binary = pathlib.Path(binary) if binary else servicedesk_bin()
        self.stack = stack
        self.command = command  # "run" (the daemon) or "portal"
        self.log = pathlib.Path(log) if log else self.config.parent / (
            "daemon.log" if command == "run" else f"{command}.log")
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None

    def start(self) -> "Daemon":
        assert self.proc is None, "already running"
        with open(self.log, "ab") as log:
            log.write(f"--- start {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [str(self.binary), "--config", str(self.config), self.command],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=_die_with_parent)
        self.returncode = None
        if self.stack is not None and self not in self.stack._daemons:
            self.stack._daemons.append(self)
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        self.returncode = self.proc.wait(timeout)
        self.proc = None
        return self.returncode

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int | None:
        """Sends sig (SIGTERM) and returns the exit code; kills with SIGKILL (and
        raises) if the daemon has not exited after timeout seconds."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.wait_exit(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TimeoutError(f"servicedesk did not exit within {timeout}s of signal {sig}")

    def kill(self) -> None:
        """kill -9: no chance to clean up."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.returncode = self.proc.wait(10)
        self.proc = None

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 30,
                   what: str = "condition") -> Any:
        """Like wait_until(), but fails early, with the log, if the daemon died."""
        def check():
            value = predicate()
            if value:
                return value
            if self.proc is not None and self.proc.poll() is not None:
                raise _DaemonDied(self.proc.returncode)
            return value
        try:
            return wait_until(check, timeout, what=what)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n--- daemon log:\n{self.log_tail()}") from None
        except _DaemonDied as exc:
            raise _DaemonDied(exc.code, f"while waiting for {what}\n--- daemon log:\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log, lines)

    def log_mark(self) -> int:
        """A position in the log; log_since(mark) is what was written after it."""
        try:
            return self.log.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, mark: int = 0) -> str:
        try:
            with open(self.log, "rb") as f:
                f.seek(mark)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def cpu_seconds(self) -> float:
        """CPU time the running daemon has used so far, all threads, user + system
        (utime + stime of /proc/PID/stat)."""
        assert self.proc is not None, "not running"
        stat = pathlib.Path(f"/proc/{self.proc.pid}/stat").read_text()
        # After "(comm)" the fields start at field 3 (state); utime and stime are 14, 15.
        fields = stat.rpartition(")")[2].split()
        return (int(fields[14 - 3]) + int(fields[15 - 3])) / os.sysconf("SC_CLK_TCK")

    # ---- the CLI --------------------------------------------------------------------

    def cli(self, *args: str, input: bytes | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.binary), "--config", str(self.config), *args],
                              input=input, capture_output=True, timeout=timeout)

    def cli_json(self, *args: str) -> Any:
        r = self.cli(*args, "--json")
        if r.returncode != 0:
            raise RuntimeError(f"servicedesk {' '.join(args)} --json exited {r.returncode}: "
                               f"{r.stderr.decode(errors='replace')}")
        return json.loads(r.stdout)

    def tickets(self) -> list[dict[str, Any]]:
        return self.cli_json("tickets")

    def show(self, ticket_id: str) -> dict[str, Any]:
        return self.cli_json("show", ticket_id)

    def ingest(self, *files: str, input: bytes | None = None) -> subprocess.CompletedProcess:
        return self.cli("ingest", *files, input=input)


class _DaemonDied(AssertionError):
    """The daemon exited while a test waited on it: fail at once, not at the timeout."""

    def __init__(self, code: int, detail: str = ""):
        super().__init__(f"servicedesk exited with {code} {detail}".rstrip())
        self.code = code


# ---- CLI: scripts/mailstack -------------------------------------------------------------

def _main(argv: Iterable[str]) -> int:
    import argparse
    ap = argparse.ArgumentParser(
        prog="mailstack",
        description="Run a throwaway Dovecot + aiosmtpd until Ctrl-C, for trying "
                    "servicedesk by hand.")
    ap.add_argument("--config", help="also write a servicedesk config here")
    ap.add_argument("--keep", action="store_true", help="keep the directory afterwards")
    args = ap.parse_args(list(argv))
    with MailStack(keep=args.keep) as stack:
        cfg = stack.write_config(args.config) if args.config else stack.write_config()
        print(f"directory:  {stack.dir}")
        print(f"IMAP:       imap://127.0.0.1:{stack.imap_port}/INBOX  "
              f"user {IMAP_USER} password {stack.imap_password}")
        print(f"SMTP:       smtp://127.0.0.1:{stack.smtp_port}  (received mail: {stack.smtp_maildir})")
        print(f"config:     {cfg}")
        print(f"deliver:    doveadm -c {stack.dovecot_conf} save -u {IMAP_USER} < mail.eml")
        print("Ctrl-C stops everything.", flush=True)
        try:
            signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
