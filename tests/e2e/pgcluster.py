"""A throwaway PostgreSQL 15 cluster for end-to-end tests of the PostgreSQL store: the
real server on a free loopback port, with an empty database of its own per test
(docs/web-and-scale-notes.md, "PostgreSQL 15 in tests"). The C++ tests have the same in
tests/support/pg_cluster.h.

Contract:
- PgCluster is a context manager. It owns one temporary directory (removed on exit
  unless keep=True or SERVICEDESK_E2E_KEEP=1): data/ from `initdb -A trust -U postgres
  -E UTF8 --locale=C -N` (no fsync: about 1 s instead of 4) and the server's log. The
  server runs with fsync=off and max_connections=200; a crash of the machine may lose
  its data, and for a test that is fine. stop() stops the server (`pg_ctl -m fast`)
  and is safe to call twice; a kept directory's cluster starts again by hand with
  `pg_ctl -D DIR/data -l DIR/log start` (its port is printed on stderr).
- stop_server() / start_server() stop and start the same server on the same port and
  data, for outage tests: connections break, the data stays.
- create_database(name=None) makes an empty database (sd_test_<pid>_<n> by default)
  and returns its URL postgresql://postgres@127.0.0.1:PORT/NAME; psql(url, sql) runs
  `psql -X -At -v ON_ERROR_STOP=1 -c SQL` and returns its output without the last
  line end ("1", "a|b\nc|d").

Diagnostics: a failing command raises PgClusterError with its output and the tail of
the server's log. Security: as root (PostgreSQL refuses to run as root) the directory
belongs to the `postgres` user and initdb/pg_ctl run as it; otherwise everything runs as
the current user. Any local user may connect (trust), on 127.0.0.1 only.

Standard library only.
"""

from __future__ import annotations

import itertools
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

from mailstack import free_port, tail

BIN = pathlib.Path("/usr/lib/postgresql/15/bin")
_numbers = itertools.count(1)


class PgClusterError(RuntimeError):
    pass


class PgCluster:
    """Attributes once started: dir, port, admin_url."""

    def __init__(self, keep: bool | None = None, prefix: str = "sd-pg-"):
        self.keep = keep if keep is not None else os.environ.get("SERVICEDESK_E2E_KEEP") == "1"
        self.prefix = prefix
        self.dir: pathlib.Path | None = None
        self.port = 0
        self._running = False
        self._as_postgres = os.geteuid() == 0
        # PGHOST, PGPORT, PGDATABASE, ... from the caller's shell would override ours.
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}

    def __enter__(self) -> "PgCluster":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        if not (BIN / "initdb").exists():
            raise PgClusterError(f"PostgreSQL 15 is not installed in {BIN} (scripts/deps installs postgresql-15)")
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=self.prefix))
        os.chmod(self.dir, 0o755)  # mkdtemp makes 0700; the postgres user must reach it
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run([BIN / "initdb", "-D", self.dir / "data", "-A", "trust", "-U", "postgres",
                   "-E", "UTF8", "--locale=C", "-N"], as_owner=True)
        for attempt in range(3):  # someone may take the free port before the server binds it
            self.port = free_port()
            try:
                self.start_server()
                return
            except PgClusterError:
                if attempt == 2:
                    raise

    def stop(self) -> None:
        if self._running:
            try:
                self.stop_server()
            except PgClusterError:
                self._run([BIN / "pg_ctl", "-D", self.dir / "data", "-m", "immediate", "-w", "stop"],
                          as_owner=True, check=False)
                self._running = False
        directory, self.dir = self.dir, None
        if directory is None:
            return
        if self.keep:
            print(f"pgcluster: kept {directory} (port {self.port})", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)

    def start_server(self) -> None:
        if self._running:
            return
        options = (f"-p {self.port} -k {shlex.quote(str(self.dir))}"  # pg_ctl hands -o to sh
                   " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200")
        self._run([BIN / "pg_ctl", "-D", self.dir / "data", "-l", self.dir / "log", "-o", options,
                   "-w", "-t", "60", "start"], as_owner=True)
        self._running = True

    def stop_server(self) -> None:
        if not self._running:
            return
        self._run([BIN / "pg_ctl", "-D", self.dir / "data", "-m", "fast", "-w", "stop"], as_owner=True)
        self._running = False

    def create_database(self, name: str | None = None) -> str:
        name = name or f"sd_test_{os.getpid()}_{next(_numbers)}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"{name!r}: a database name here is a lower-case SQL identifier")
        self._run([BIN / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name])
        return self.url(name)

    def psql(self, url: str, sql: str) -> str:
        out = self._run([BIN / "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql, url])
        return out[:-1] if out.endswith("\n") else out

    def _run(self, argv: list, as_owner: bool = False, check: bool = True) -> str:
        owner = {"user": "postgres", "group": "postgres", "extra_groups": []} \
            if as_owner and self._as_postgres else {}
        proc = subprocess.run([str(a) for a in argv], cwd=self.dir, env=self._env, text=True,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=120, **owner)
        if check and proc.returncode != 0:
            raise PgClusterError(
                f"`{' '.join(map(str, argv))}` failed (exit {proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}server log {self.dir}/log, last lines:\n"
                f"{tail(self.dir / 'log', 20)}")
        return proc.stdout
