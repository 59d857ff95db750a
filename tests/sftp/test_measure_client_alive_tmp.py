"""Throw-away measurement (not committed): how long after a client vanishes (SIGSTOP, the
connection left open) its interrupted upload is answered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.daemon.conftest import wait_until
from tests.sftp.conftest import Site
from tests.sftp.test_interrupted import PARAMIKO_WRITER, _line_prefix, _size
from tests.sftp.test_sftp import VALID


def test_measure(sftp_site: Site, tmp_path: Path) -> None:
    user = sftp_site.submitters[0]
    local = tmp_path / "v.csv"
    local.write_bytes(VALID.read_bytes())
    prefix = _line_prefix(local, 30)
    upload = sftp_site.folder(user) / "upload" / "vanished.csv"
    process = subprocess.Popen([sys.executable, "-c", PARAMIKO_WRITER, str(sftp_site.keys[user]),
                                str(sftp_site.port), user, "upload/vanished.csv", str(local),
                                str(prefix)], stdout=subprocess.PIPE, text=True)
    wait_until(lambda: _size(upload) == prefix, 60, "prefix")
    os.kill(process.pid, signal.SIGSTOP)
    started = time.monotonic()
    [receipt] = sftp_site.wait_receipts(user, "vanished.csv") if False else [None]
    wait_until(lambda: sftp_site.receipts(user, "vanished.csv"), 1800, "answer")
    elapsed = time.monotonic() - started
    print(f"\nMEASURED: answered {elapsed:.1f} s after the client vanished")
    receipt = sftp_site.receipts(user, "vanished.csv")[0]
    print("CODE", receipt["findings"][0]["code"])
    os.kill(process.pid, signal.SIGKILL)
