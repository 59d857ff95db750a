"""Hospitals' path into the gateway, end to end: OpenSSH's ``sftp`` client against ``sshd``
configured by the deployment recipe, with ``gateway serve`` answering every upload."""

from __future__ import annotations

import hashlib
import pwd
import subprocess
import time
from pathlib import Path

from tests.support.paths import ODC
from tests.support.sftp import Site

VALID = ODC / "patient" / "valid" / "odc-patient-full.csv"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _csv_of_size(path: Path, size: int) -> Path:
    """The valid ODC file's header and rows, repeated to ``size`` bytes or a little more."""
    header, *rows = VALID.read_bytes().splitlines(keepends=True)
    body = b"".join(rows)
    path.write_bytes(header + body * (size // len(body) + 1))
    return path


def _assert_one_whole_receipt(site: Site, user: str, name: str, local: Path) -> dict:
    """Exactly one receipt for ``name``, for the whole file, whose hash is the filed
    original's."""
    [receipt] = site.wait_receipts(user, name)
    data = local.read_bytes()
    assert receipt["file"]["bytes"] == len(data)
    assert receipt["file"]["sha256"] == _sha256(data)
    assert _sha256(site.filed(receipt["submission_id"]).read_bytes()) == _sha256(data)
    return receipt


def test_a_plain_put_is_answered_and_the_receipt_can_be_fetched(sftp_site: Site,
                                                                 tmp_path: Path) -> None:
    user = sftp_site.submitters[0]
    done = sftp_site.sftp(user, f"put {VALID} upload/odc.csv")
    assert done.returncode == 0, done.stderr
    receipt = _assert_one_whole_receipt(sftp_site, user, "odc.csv", VALID)
    assert receipt["status"] == "accepted"
    fetched = tmp_path / "receipt.json"
    name = f"{receipt['submission_id']}.odc.csv.receipt.json"
    done = sftp_site.sftp(user, f"get receipts/{name} {fetched}", "ls receipts")
    assert done.returncode == 0, done.stderr
    assert fetched.read_bytes() == (sftp_site.folder(user) / "receipts" / name).read_bytes()
    assert name in done.stdout


def test_a_large_rate_limited_put_gets_one_receipt_for_the_whole_file(sftp_site: Site,
                                                                      tmp_path: Path) -> None:
    user = sftp_site.submitters[0]
    local = _csv_of_size(tmp_path / "large.csv", 1_500_000)
    started = time.monotonic()
    done = sftp_site.sftp(user, f"put {local} upload/large.csv", options=("-l", "3000"))
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started > 3  # 3000 kbit/s: several seconds on the wire
    _assert_one_whole_receipt(sftp_site, user, "large.csv", local)


def test_a_slow_upload_pausing_longer_than_the_quiet_period_is_taken_whole(
        sftp_site: Site, tmp_path: Path) -> None:
    # One request in flight, 32 KB each, 64 kbit/s: about 4 s between writes, more than the
    # recipe's 3 s quiet period, while sftp-server keeps the file open.
    user = sftp_site.submitters[0]
    local = _csv_of_size(tmp_path / "slow.csv", 7 * 32768 - 4096)
    done = sftp_site.sftp(user, f"put {local} upload/slow.csv",
                          options=("-R", "1", "-B", "32768", "-l", "64"))
    assert done.returncode == 0, done.stderr
    receipt = _assert_one_whole_receipt(sftp_site, user, "slow.csv", local)
    assert not any(f["code"].startswith("E-FILE") for f in receipt["findings"])
    held = [e for e in sftp_site.events() if e.get("event") == "held_open_by_writer"]
    assert held, "the upload never paused longer than the quiet period; the test lost its point"


def test_an_upload_under_a_temporary_name_is_taken_after_its_rename(sftp_site: Site) -> None:
    user = sftp_site.submitters[0]
    done = sftp_site.sftp(user, f"put {VALID} upload/renamed.csv.filepart")
    assert done.returncode == 0, done.stderr
    time.sleep(4)  # longer than the quiet period: a temporary name is never taken
    assert (sftp_site.folder(user) / "upload" / "renamed.csv.filepart").exists()
    done = sftp_site.sftp(user, "rename upload/renamed.csv.filepart upload/renamed.csv")
    assert done.returncode == 0, done.stderr
    _assert_one_whole_receipt(sftp_site, user, "renamed.csv", VALID)
    assert sftp_site.receipts(user, "renamed.csv.filepart") == []


def test_the_same_file_twice_is_answered_as_a_duplicate(sftp_site: Site,
                                                        tmp_path: Path) -> None:
    user = sftp_site.submitters[0]
    local = _csv_of_size(tmp_path / "twice.csv", 20_000)  # bytes no other test sends
    assert sftp_site.sftp(user, f"put {local} upload/twice.csv").returncode == 0
    [first] = sftp_site.wait_receipts(user, "twice.csv")
    assert sftp_site.sftp(user, f"put {local} upload/twice.csv").returncode == 0
    receipts = sftp_site.wait_receipts(user, "twice.csv", 2)
    [second] = [r for r in receipts if r["submission_id"] != first["submission_id"]]
    assert first["duplicate_of"] is None
    assert second["duplicate_of"] == first["submission_id"]
    assert second["status"] == first["status"]


def test_a_submitter_cannot_reach_another_submitters_folder(sftp_site: Site,
                                                            tmp_path: Path) -> None:
    owner, other = sftp_site.submitters
    assert sftp_site.sftp(owner, f"put {VALID} upload/private.csv").returncode == 0
    [receipt] = sftp_site.wait_receipts(owner, "private.csv")
    theirs = f"{receipt['submission_id']}.private.csv.receipt.json"
    # Its own folder is the whole world it sees: the other's folder does not exist there.
    for folder in ("/", "/..", "/../.."):
        listing = sftp_site.sftp(other, f"ls -1a {folder}")
        assert listing.returncode == 0, listing.stderr
        names = {line.rsplit("/", 1)[-1] for line in listing.stdout.splitlines()
                 if not line.startswith("sftp>")}
        # dev/ holds the chroot's /dev/log, where the daemon hears its SFTP server
        assert names - {".", ".."} == {"upload", "receipts", "dev"}, listing.stdout
    for command in (f"ls /{owner}/receipts", f"ls ../{owner}",
                    f"get /{owner}/receipts/{theirs} {tmp_path}/x",
                    f"get ../{owner}/receipts/{theirs} {tmp_path}/x",
                    f"put {VALID} ../{owner}/upload/planted.csv",
                    f"put {VALID} receipts/forged.receipt.json",
                    f"put {VALID} dev/planted", "rm dev/log",
                    f"rm receipts/{theirs}"):
        done = sftp_site.sftp(other, command)
        assert done.returncode != 0, command
    assert not (tmp_path / "x").exists()
    assert sftp_site.receipts(owner, "planted.csv") == []
    assert not (sftp_site.folder(other) / "receipts" / "forged.receipt.json").exists()


def test_symlink_and_hard_link_requests_are_refused(sftp_site: Site) -> None:
    user = sftp_site.submitters[0]
    assert sftp_site.sftp(user, f"put {VALID} upload/target.csv").returncode == 0
    [receipt] = sftp_site.wait_receipts(user, "target.csv")
    own = f"receipts/{receipt['submission_id']}.target.csv.receipt.json"
    for command in (f"symlink {own} upload/via-symlink.csv", f"ln -s {own} upload/soft.csv",
                    f"ln {own} upload/via-hardlink.csv"):
        done = sftp_site.sftp(user, command)
        assert done.returncode != 0, command
        # Refused by the server, or not even offered by it (hardlink@openssh.com).
        assert any(word in done.stderr.lower() for word in ("denied", "does not support")), (
            done.stderr)
    upload = sftp_site.folder(user) / "upload"
    assert not any(upload.glob("via-*")) and not (upload / "soft.csv").exists()
    assert not [e for e in sftp_site.events() if e.get("event") == "NOT JSON"]


def test_a_submitter_gets_no_shell_and_no_password_login(sftp_site: Site) -> None:
    user = sftp_site.submitters[0]
    ssh = Path(sftp_site.sftp_command).with_name("ssh")
    common = ["-p", str(sftp_site.port), "-o", "StrictHostKeyChecking=no",
              "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    command = subprocess.run(
        [str(ssh), *common, "-i", str(sftp_site.keys[user]), "-o", "BatchMode=yes",
         "-o", "IdentitiesOnly=yes", f"{user}@127.0.0.1", "id; echo SHELL-RAN"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert "Permission denied" not in command.stderr  # logged in: the key is good
    assert "SHELL-RAN" not in command.stdout and "uid=" not in command.stdout  # but only SFTP
    password = subprocess.run(
        [str(ssh), *common, "-o", "PreferredAuthentications=password,keyboard-interactive",
         "-o", "PubkeyAuthentication=no", "-o", "BatchMode=yes", f"{user}@127.0.0.1", "true"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert password.returncode != 0 and "Permission denied" in password.stderr


def test_the_daemon_runs_as_the_service_account_with_read_leases(sftp_site: Site) -> None:
    """As deploy/gateway.service runs it: the recipe's service account, CAP_LEASE its only
    capability, and therefore the kernel's word on writers, not the quiet period alone."""
    [serving] = [e for e in sftp_site.events() if e.get("event") == "serving"]
    assert serving["writer_check"] == "lease", serving
    status = Path(f"/proc/{serving['pid']}/status").read_text(encoding="utf-8")
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    uid = pwd.getpwnam(sftp_site.service).pw_uid
    assert fields["Uid"].split() == [str(uid)] * 4
    assert int(fields["CapEff"], 16) == int(fields["CapBnd"], 16) == 1 << 28  # CAP_LEASE
