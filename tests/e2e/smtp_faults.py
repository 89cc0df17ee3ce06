"""An aiosmtpd handler that fails on purpose, for the end-to-end fault tests: a Maildir
like aiosmtpd.handlers.Mailbox, but each RCPT and DATA first asks a small JSON control
file what to answer.

Run (MailStack.start_smtp(faulty=True) does this):
    PYTHONPATH=tests/e2e python3 -m aiosmtpd -n -l 127.0.0.1:PORT \
        -c smtp_faults.FaultyMailbox MAILDIR CONTROL.json

The control file, read afresh on every RCPT and DATA (missing or empty: answer 250):
    {"tempfail_first": 2,                    # answer 451 to the next 2 attempts ...
     "tempfail_stage": "data",               # ... at DATA (default) or at "rcpt"
     "reject_rcpt": ["bad@kund.example"],    # 550 to RCPT TO these addresses, always
     "tempfail_rcpt": ["full@kund.example"]} # 450 to RCPT TO these addresses, while listed

Contract:
- Each 451 answered counts one off "tempfail_first", written back to the control file
  (tmp + rename), so the file always says how many temporary failures are still to come.
  A test writes the file before the mail it is about is sent; both sides write whole files.
- Every answer to RCPT and DATA is appended as one JSON line to CONTROL.json.journal:
  {"at": unix time, "stage": "rcpt"|"data", "rcpt": [...], "code": 250|450|451|550,
  "message_id": "<...>" (DATA only)}. The journal is what the server saw; the Maildir holds
  only what it accepted.

Diagnostics: an unreadable or malformed control file is logged to stderr (aiosmtpd.log)
and treated as empty, so a broken test setup shows up as mail accepted, not as a hang.
Security: test aid only; listens where aiosmtpd is told (loopback in the tests).
Standard library plus aiosmtpd (Debian's python3-aiosmtpd).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import os
import pathlib
import sys
import time
from typing import Any

from aiosmtpd.handlers import Mailbox


def read_control(path: pathlib.Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        print(f"smtp_faults: cannot read {path}: {exc}", file=sys.stderr, flush=True)
        return {}
    if not text.strip():
        return {}
    try:
        control = json.loads(text)
    except ValueError as exc:
        print(f"smtp_faults: {path} is not JSON ({exc}); answering 250", file=sys.stderr, flush=True)
        return {}
    if not isinstance(control, dict):
        print(f"smtp_faults: {path} is not a JSON object; answering 250", file=sys.stderr, flush=True)
        return {}
    return control


def write_control(path: pathlib.Path, control: dict[str, Any]) -> None:
    """Whole-file replace, so a reader never sees half a file."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(control))
    os.replace(tmp, path)


class FaultyMailbox(Mailbox):
    def __init__(self, mail_dir: os.PathLike, control: os.PathLike):
        super().__init__(mail_dir)
        self.control_path = pathlib.Path(control)
        self.journal_path = self.control_path.with_name(self.control_path.name + ".journal")

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 2:
            parser.error("FaultyMailbox needs two arguments: MAILDIR CONTROL.json")
        return cls(args[0], args[1])

    # ---- decisions -------------------------------------------------------------------

    def _take_tempfail(self, stage: str) -> bool:
        """True (and one fewer to come) if this attempt at `stage` is to get a 451."""
        control = read_control(self.control_path)
        left = int(control.get("tempfail_first", 0) or 0)
        if left <= 0 or control.get("tempfail_stage", "data") != stage:
            return False
        control["tempfail_first"] = left - 1
        write_control(self.control_path, control)
        return True

    def _listed(self, key: str, address: str) -> bool:
        listed = read_control(self.control_path).get(key, []) or []
        return address.strip("<>").lower() in {a.strip("<>").lower() for a in listed}

    def _rejects(self, address: str) -> bool:
        return self._listed("reject_rcpt", address)

    def _journal(self, **entry: Any) -> None:
        entry = {"at": time.time(), **entry}
        with open(self.journal_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    # ---- aiosmtpd hooks --------------------------------------------------------------

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self._rejects(address):
            self._journal(stage="rcpt", rcpt=[address], code=550)
            return f"550 5.1.1 <{address}>: mailbox unavailable (smtp_faults reject_rcpt)"
        if self._listed("tempfail_rcpt", address):
            self._journal(stage="rcpt", rcpt=[address], code=450)
            return f"450 4.2.1 <{address}>: mailbox busy, try again later (smtp_faults tempfail_rcpt)"
        if self._take_tempfail("rcpt"):
            self._journal(stage="rcpt", rcpt=[address], code=451)
            return "451 4.3.0 try again later (smtp_faults tempfail_first)"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        self._journal(stage="rcpt", rcpt=[address], code=250)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(content)
        message_id = str(headers.get("Message-ID", "")).strip()
        if self._take_tempfail("data"):
            self._journal(stage="data", rcpt=list(envelope.rcpt_tos), code=451, message_id=message_id)
            return "451 4.3.0 try again later (smtp_faults tempfail_first)"
        # Stored before 250 is answered, as a real MTA does (and as Mailbox does).
        response = await super().handle_DATA(server, session, envelope)
        self._journal(stage="data", rcpt=list(envelope.rcpt_tos), code=int(response.split()[0]),
                      message_id=message_id)
        return response
