"""An upload whose client dies mid-file is never judged as a submission: OpenSSH's server says
which handles it had to close when the session ended, and the daemon hears it through the
chroot's ``/dev/log``. Shown with OpenSSH's ``sftp`` and with paramiko, each killed with SIGKILL
after exactly a valid prefix (a header and whole rows, ending at a line break) has arrived: the
prefix alone would pass validation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.sftp.test_sftp import VALID, _assert_one_whole_receipt
from tests.support.daemon import wait_until
from tests.support.sftp import Site

PARAMIKO_WRITER = """
import os, sys, time, paramiko
key, port, user, target, local, prefix = sys.argv[1:7]
client = paramiko.SSHClient()
client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
client.connect("127.0.0.1", int(port), username=user, key_filename=key, look_for_keys=False,
               allow_agent=False)
sftp = client.open_sftp()
data = open(local, "rb").read()
handle = sftp.open(target, "wb")
handle.set_pipelined(False)
if int(prefix) < 0:
    handle.write(data)
    handle.close()
    sys.exit(0)
handle.write(data[:int(prefix)])
handle.flush()
print("written", flush=True)
time.sleep(600)  # killed here, the handle still open
"""


def _line_prefix(local: Path, lines: int) -> int:
    """The length of the header and ``lines - 1`` whole rows: a prefix ending at a line break."""
    data = local.read_bytes()
    end = 0
    for _ in range(lines):
        end = data.index(b"\n", end) + 1
    return end


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def _kill_when(process: subprocess.Popen[str], upload: Path, size: int) -> None:
    wait_until(lambda: _size(upload) >= size, 60, f"{size} bytes to arrive")
    assert _size(upload) == size, "the test meant to cut the file exactly at a line break"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)


def _sftp_cut(site: Site, user: str, local: Path, target: str, prefix: int
              ) -> subprocess.Popen[str]:
    """OpenSSH's sftp with one request of ``prefix`` bytes in flight and the next crawling
    (1 kbit/s): the file holds exactly the prefix for many seconds, then the client dies."""
    batch = site.root / f"batch-{target.replace('/', '-')}"
    batch.write_text(f"put {local} {target}\n", encoding="utf-8")
    return subprocess.Popen(
        [site.sftp_command, "-b", str(batch), "-i", str(site.keys[user]), "-P", str(site.port),
         "-R", "1", "-B", str(prefix), "-l", "1", "-o", "BatchMode=yes",
         "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", f"{user}@127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _prefix_alone_passes(local: Path, prefix: int, tmp_path: Path) -> None:
    """The cut is one a validator cannot see: the prefix alone is accepted."""
    alone = tmp_path / "prefix.csv"
    alone.write_bytes(local.read_bytes()[:prefix])
    done = subprocess.run([sys.executable, "-m", "gateway", "validate", str(alone),
                           "--submitter", "x"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("ACCEPTED"), done.stdout


def _interrupted(site: Site, user: str, name: str, prefix: int) -> None:
    [receipt] = site.wait_receipts(user, name)
    assert receipt["status"] == "rejected"
    [finding] = receipt["findings"]
    assert finding["code"] == "E-FILE-INTERRUPTED"
    assert f"{prefix:,} bytes" in finding["message"]
    assert "send the whole file again" in finding["message"]
    assert receipt["file"]["bytes"] == prefix


def test_an_sftp_upload_killed_at_a_line_break_is_interrupted_and_sent_again_accepted(
        sftp_site: Site, tmp_path: Path) -> None:
    user = sftp_site.submitters[0]
    local = tmp_path / "cut.csv"
    local.write_bytes(VALID.read_bytes())
    prefix = _line_prefix(local, 40)
    _prefix_alone_passes(local, prefix, tmp_path)
    upload = sftp_site.folder(user) / "upload" / "cut-sftp.csv"
    process = _sftp_cut(sftp_site, user, local, "upload/cut-sftp.csv", prefix)
    _kill_when(process, upload, prefix)
    _interrupted(sftp_site, user, "cut-sftp.csv", prefix)
    done = sftp_site.sftp(user, f"put {local} upload/cut-sftp.csv")
    assert done.returncode == 0, done.stderr
    receipts = sftp_site.wait_receipts(user, "cut-sftp.csv", 2)
    [whole] = [r for r in receipts if r["file"]["bytes"] == local.stat().st_size]
    assert whole["status"] == "accepted"


def test_a_paramiko_upload_killed_at_a_line_break_is_interrupted_and_sent_again_accepted(
        sftp_site: Site, tmp_path: Path) -> None:
    user = sftp_site.submitters[1]
    local = tmp_path / "cut.csv"
    local.write_bytes(VALID.read_bytes())
    prefix = _line_prefix(local, 25)
    _prefix_alone_passes(local, prefix, tmp_path)
    upload = sftp_site.folder(user) / "upload" / "cut-paramiko.csv"
    argv = [sys.executable, "-c", PARAMIKO_WRITER, str(sftp_site.keys[user]),
            str(sftp_site.port), user, "upload/cut-paramiko.csv", str(local)]
    process = subprocess.Popen([*argv, str(prefix)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    _kill_when(process, upload, prefix)
    _interrupted(sftp_site, user, "cut-paramiko.csv", prefix)
    whole = subprocess.run([*argv, "-1"], capture_output=True, text=True, timeout=120)
    assert whole.returncode == 0, whole.stderr
    receipts = sftp_site.wait_receipts(user, "cut-paramiko.csv", 2)
    [again] = [r for r in receipts if r["file"]["bytes"] == local.stat().st_size]
    assert again["status"] == "accepted"


def test_a_temporary_name_upload_killed_mid_file_is_never_taken(sftp_site: Site,
                                                                tmp_path: Path) -> None:
    user = sftp_site.submitters[0]
    local = tmp_path / "part.csv"
    local.write_bytes(VALID.read_bytes())
    prefix = _line_prefix(local, 30)
    upload = sftp_site.folder(user) / "upload" / "part.csv.filepart"
    process = _sftp_cut(sftp_site, user, local, "upload/part.csv.filepart", prefix)
    _kill_when(process, upload, prefix)
    time.sleep(5)  # beyond the quiet period and the server's forced close
    assert upload.exists(), "a temporary name must stay where the client left it"
    assert sftp_site.receipts(user, "part.csv.filepart") == []
    assert sftp_site.receipts(user, "part.csv") == []
    upload.unlink()


def test_the_daemon_hears_every_submitters_sftp_server(sftp_site: Site) -> None:
    """No syslog set-up: the recipe's fragment and `gateway submitter add` are enough."""
    for user in sftp_site.submitters:
        socket_path = sftp_site.folder(user) / "dev" / "log"
        assert socket_path.is_socket()
    done = sftp_site.sftp(sftp_site.submitters[0], f"put {VALID} upload/heard.csv")
    assert done.returncode == 0, done.stderr
    _assert_one_whole_receipt(sftp_site, sftp_site.submitters[0], "heard.csv", VALID)
    claimed = [e for e in sftp_site.events()
               if e.get("event") == "claimed" and e.get("name") == "heard.csv"]
    assert claimed and claimed[-1]["signal"] == "sftp_log"
