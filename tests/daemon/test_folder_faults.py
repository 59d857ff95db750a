"""One submitter's broken folders stop that submitter only: a real ``gateway serve`` meets each
fault of a ``receipts/`` or ``upload/`` folder (deleted, renamed, a link, a file, wrong mode,
setgid lost), repairs what it safely can, reports the rest with the operator's fix in
``gateway status``, the log and a metric, and answers the other submitter throughout."""

from __future__ import annotations

import json
import os
import shutil
import stat
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.daemon import Gateway, wait_until
from tests.support.postgres import free_port

NOBODY = 65534


def _drop(upload: Path, name: str, data: bytes) -> None:
    temporary = upload.parent / ".incoming"
    temporary.write_bytes(data)
    os.rename(temporary, upload / name)


def _status(gw: Gateway) -> dict:
    return json.loads(gw.cli("status", "--json", check=False).stdout)


def _metric(port: int, name: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return "\n".join(line for line in text.splitlines() if line.startswith(name))


def _receipts_deleted(gw: Gateway, submitter: str) -> None:
    shutil.rmtree(gw.receipts_folder(submitter))


def _receipts_renamed(gw: Gateway, submitter: str) -> None:
    gw.receipts_folder(submitter).rename(gw.inbox / submitter / "receipts.old")


def _receipts_loose_mode(gw: Gateway, submitter: str) -> None:
    gw.receipts_folder(submitter).chmod(0o777)


def _receipts_link(gw: Gateway, submitter: str) -> None:
    folder = gw.receipts_folder(submitter)
    elsewhere = gw.root / "elsewhere-receipts"
    elsewhere.mkdir()
    shutil.rmtree(folder)
    folder.symlink_to(elsewhere)


def _receipts_file(gw: Gateway, submitter: str) -> None:
    folder = gw.receipts_folder(submitter)
    shutil.rmtree(folder)
    folder.write_bytes(b"not a folder\n")


REPAIRED: dict[str, Callable[[Gateway, str], None]] = {
    "receipts deleted": _receipts_deleted,
    "receipts renamed": _receipts_renamed,
    "receipts mode 0777": _receipts_loose_mode,
}
REPORTED: dict[str, tuple[Callable[[Gateway, str], None], str]] = {
    "receipts a symlink": (_receipts_link, "symbolic link"),
    "receipts a file": (_receipts_file, "not a folder"),
}


@pytest.mark.parametrize("fault", sorted(REPAIRED))
def test_a_receipts_folder_the_daemon_may_remake_is_repaired_and_answered(
        make_gateway, fault: str) -> None:
    gw = make_gateway(rescan_interval=1.0)
    broken, other = gw.add_submitter("clinic-a"), gw.add_submitter("clinic-b")
    gw.start()
    REPAIRED[fault](gw, "clinic-a")
    _drop(broken, "waits.csv", b"fine\n")
    _drop(other, "served.csv", b"fine\n")
    assert gw.wait_receipts("clinic-b", 1)[0]["file"]["name"] == "served.csv"
    [receipt] = gw.wait_receipts("clinic-a", 1)
    assert receipt["file"]["name"] == "waits.csv"
    folder = gw.receipts_folder("clinic-a")
    assert stat.S_IMODE(folder.lstat().st_mode) == 0o750 and folder.is_dir()
    assert any(e["event"] == "receipts_folder_repaired" for e in gw.events())
    assert gw.process is not None and gw.process.poll() is None
    assert gw.stop() == 0


@pytest.mark.parametrize("fault", sorted(REPORTED))
def test_a_receipts_folder_that_cannot_be_repaired_blocks_only_its_submitter(
        make_gateway, fault: str) -> None:
    port = free_port()
    gw = make_gateway(rescan_interval=1.0)
    gw.config.write_text(gw.config.read_text() + f"[metrics]\nport = {port}\n")
    broken, other = gw.add_submitter("clinic-a"), gw.add_submitter("clinic-b")
    gw.start()
    make_fault, words = REPORTED[fault]
    make_fault(gw, "clinic-a")
    _drop(broken, "waits.csv", b"fine\n")
    for number in range(3):  # the other submitter is answered throughout
        _drop(other, f"served-{number}.csv", b"fine\n")
        gw.wait_receipts("clinic-b", number + 1)
    wait_until(lambda: "clinic-a" in _status(gw).get("blocked_submitters", {}),
               what="the fault in the status")
    reason = _status(gw)["blocked_submitters"]["clinic-a"]
    assert words in reason and "gateway submitter add clinic-a" in reason
    assert f"clinic-a: {reason}" in gw.cli("status").stdout
    assert any(e["event"] == "submitter_blocked" and e["submitter"] == "clinic-a"
               for e in gw.events())
    assert 'gateway_submitter_blocked{submitter="clinic-a"} 1.0' in _metric(
        port, "gateway_submitter_blocked")
    assert (broken / "waits.csv").exists() or gw.spool()  # waiting, not lost
    # The operator's fix: move the thing aside and make the folder again.
    folder = gw.receipts_folder("clinic-a")
    folder.unlink()
    gw.add_submitter("clinic-a")
    [receipt] = gw.wait_receipts("clinic-a", 1)
    assert receipt["file"]["name"] == "waits.csv"
    wait_until(lambda: _status(gw)["blocked_submitters"] == {}, what="nobody blocked")
    assert 'gateway_submitter_blocked{submitter="clinic-a"} 0.0' in _metric(
        port, "gateway_submitter_blocked")
    assert gw.process is not None and gw.process.poll() is None
    assert gw.stop() == 0


def _upload_deleted(upload: Path) -> None:
    shutil.rmtree(upload)


def _upload_renamed(upload: Path) -> None:
    upload.rename(upload.with_name("upload.old"))


def _upload_file(upload: Path) -> None:
    shutil.rmtree(upload)
    upload.write_bytes(b"not a folder\n")


def _upload_setgid_lost(upload: Path) -> None:
    # As a submitter's own `chmod 770 upload` does over SFTP (it owns the folder).
    os.chown(upload, NOBODY, -1)
    upload.chmod(0o770)


UPLOAD_FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "upload deleted": (_upload_deleted, "missing"),
    "upload renamed": (_upload_renamed, "missing"),
    "upload a file": (_upload_file, "not a folder"),
    "upload setgid lost": (_upload_setgid_lost, "setgid"),
}


@pytest.mark.parametrize("fault", sorted(UPLOAD_FAULTS))
def test_an_upload_folder_fault_blocks_only_its_submitter_with_the_operators_fix(
        make_gateway, fault: str) -> None:
    gw = make_gateway(rescan_interval=1.0)
    broken, other = gw.add_submitter("clinic-a"), gw.add_submitter("clinic-b")
    gw.start()
    make_fault, words = UPLOAD_FAULTS[fault]
    make_fault(broken)
    if broken.is_dir():
        _drop(broken, "waits.csv", b"fine\n")  # arrives with the submitter's group
    for number in range(3):
        _drop(other, f"served-{number}.csv", b"fine\n")
        gw.wait_receipts("clinic-b", number + 1)
    wait_until(lambda: "clinic-a" in _status(gw).get("blocked_submitters", {}),
               what="the fault in the status")
    reason = _status(gw)["blocked_submitters"]["clinic-a"]
    assert words in reason and "gateway submitter add clinic-a" in reason
    # No receipt with advice the submitter cannot follow: nothing was answered at all.
    assert gw.receipts("clinic-a") == []
    # The operator's fix.
    if broken.exists() and not broken.is_dir():
        broken.unlink()
    gw.add_submitter("clinic-a")
    _drop(broken, "after.csv", b"fine\n")
    expected = {"after.csv", "waits.csv"} if fault == "upload setgid lost" else {"after.csv"}
    receipts = gw.wait_receipts("clinic-a", len(expected))
    assert {r["file"]["name"] for r in receipts} == expected
    assert all(r["status"] == "accepted" for r in receipts)
    wait_until(lambda: _status(gw)["blocked_submitters"] == {}, what="nobody blocked")
    assert gw.process is not None and gw.process.poll() is None
    assert gw.stop() == 0
