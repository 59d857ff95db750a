"""A hostile or broken environment around a real daemon: one submitter's broken folder, odd
entries and names, a lost inbox or state folder, a disk that fills up mid-receipt, and a verdict
that depended on the file's name."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.daemon import rescan
from gateway.daemon.health import SubmitterTrouble
from gateway.daemon.settle import SettleTracker
from gateway.site.config import load_config
from tests.support.daemon import DEADLINE, Gateway, settings, wait_until
from tests.support.paths import ODC

VALID = ODC / "patient" / "valid" / "odc-patient-full.csv"
WORKBOOK = Path(__file__).resolve().parents[2] / (
    "plugins/hospital/edtc/examples/2015/EDTC/summary/valid/edtc-2015q1-full.xlsx")


def _drop(upload: Path, name: str, data: bytes) -> None:
    """Written beside ``upload/`` and renamed in: the file appears whole."""
    temporary = upload.parent / ".incoming"
    temporary.write_bytes(data)
    os.rename(temporary, upload / name)


def _status(gw: Gateway) -> dict:
    return json.loads(gw.cli("status", "--json", check=False).stdout)


@contextlib.contextmanager
def _mounted(target: Path, *options: str) -> Iterator[Path]:
    """Mount (as root, as CI runs) for the duration; always unmounted afterwards."""
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", *options, str(target)], check=True, capture_output=True)
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)


def test_a_broken_upload_folder_holds_only_its_own_submitter(make_gateway) -> None:
    gw = make_gateway(rescan_interval=1.0)
    good = gw.add_submitter("clinic-a")
    linked = gw.add_submitter("clinic-b")
    frozen = gw.add_submitter("clinic-c")
    elsewhere = gw.root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "lured.csv").write_bytes(b"CRASH if read through the link\n")
    shutil.rmtree(linked)
    linked.symlink_to(elsewhere)  # clinic-b's upload/ is now a link
    # clinic-c's upload/ cannot be renamed out of (a read-only bind mount of itself).
    (frozen / "stuck.csv").write_bytes(b"waits\n")
    with _mounted(frozen, "--bind", str(frozen)):
        subprocess.run(["mount", "-o", "remount,bind,ro", str(frozen)], check=True)
        gw.start()
        _drop(good, "served.csv", b"fine\n")
        assert gw.wait_receipts("clinic-a", 1)[0]["file"]["name"] == "served.csv"
        wait_until(lambda: set(_status(gw).get("blocked_submitters", {})) == {
            "clinic-b", "clinic-c"}, what="both broken submitters in the status")
        _drop(good, "served-too.csv", b"fine too\n")
        gw.wait_receipts("clinic-a", 2)
        _wait_for_rescans(gw, 2)
        blocked = [e for e in gw.events() if e["event"] == "submitter_blocked"]
        assert sorted(e["submitter"] for e in blocked) == ["clinic-b", "clinic-c"]  # once each
        reasons = _status(gw)["blocked_submitters"]
        assert "symbolic link" in reasons["clinic-b"]
        assert "upload/" in reasons["clinic-c"]
        assert "clinic-b: " in gw.cli("status").stdout
        assert gw.receipts("clinic-b") == [] and gw.receipts("clinic-c") == []
    # Mended: the files that waited are taken.
    linked.unlink()
    linked.mkdir(mode=0o2770)
    _drop(linked, "after.csv", b"fine\n")
    assert gw.wait_receipts("clinic-b", 1)[0]["file"]["name"] == "after.csv"
    assert gw.wait_receipts("clinic-c", 1)[0]["file"]["name"] == "stuck.csv"
    wait_until(lambda: _status(gw)["blocked_submitters"] == {}, what="nobody blocked")
    assert gw.process is not None and gw.process.poll() is None  # never crashed
    assert (elsewhere / "lured.csv").exists()
    assert gw.stop() == 0


def _wait_for_rescans(gw: Gateway, count: int) -> None:
    for _ in range(count):
        before = _status(gw).get("last_rescan_at")
        wait_until(lambda before=before: _status(gw).get("last_rescan_at") != before,
                   what="a rescan")


def test_odd_entries_and_names_each_get_a_clear_rejection(make_gateway, tmp_path: Path
                                                          ) -> None:
    gw = make_gateway()
    upload = gw.add_submitter("clinic-a")
    other = gw.add_submitter("clinic-b")
    gw.start()
    _drop(other, "theirs.csv", b"REJECT their data\n")
    [theirs] = gw.wait_receipts("clinic-b", 1)
    their_receipt = next(gw.receipts_folder("clinic-b").glob("*.receipt.json"))
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"CRASH if read\n")
    os.mkfifo(upload / "pipe.csv")
    (upload / "a-folder").mkdir()
    (upload / "a-folder" / "inside.csv").write_bytes(b"CRASH\n")
    _drop(upload, "mode-000.csv", b"CRASH\n")
    (upload / "mode-000.csv").chmod(0)
    os.symlink(their_receipt, upload / "their-receipt.csv")
    os.link(outside, upload / "outside-link.csv")
    _drop(upload, "with space.csv", b"CRASH\n")
    _drop(upload, "unicodé.csv", b"CRASH\n")
    _drop(upload, "x" * 251 + ".csv", b"CRASH\n")  # the longest name Linux allows
    _drop(upload, "-leading-dash.csv", b"fine\n")  # within the rule: judged on its content
    expected = {
        "pipe.csv": "E-FILE-NOT-REGULAR", "a-folder": "E-FILE-NOT-REGULAR",
        "mode-000.csv": "E-FILE-UNREADABLE", "their-receipt.csv": "E-FILE-NOT-REGULAR",
        "outside-link.csv": "E-FILE-NOT-REGULAR", "with_space.csv": "E-FILE-NAME",
        "unicod_.csv": "E-FILE-NAME", "x" * 200: "E-FILE-NAME"}
    receipts = {r["file"]["name"]: r for r in gw.wait_receipts("clinic-a", 9)}
    assert set(receipts) == {*expected, "-leading-dash.csv"}
    for name, code in expected.items():
        assert receipts[name]["status"] == "rejected", name
        assert [f["code"] for f in receipts[name]["findings"]] == [code], name
        assert receipts[name]["findings"][0]["message"], name
    assert receipts["-leading-dash.csv"]["status"] == "accepted"
    assert not any(e["event"] == "worker_failed" for e in gw.events())
    assert theirs["status"] == "rejected" and their_receipt.exists()
    assert outside.read_bytes() == b"CRASH if read\n"


def test_a_file_system_mounted_over_the_inbox_stops_the_daemon(make_gateway) -> None:
    gw = make_gateway()
    gw.add_submitter("clinic-a")
    gw.start()
    with _mounted(gw.inbox, "-t", "tmpfs", "-o", "size=1m", "tmpfs"):
        assert gw.process is not None and gw.process.wait(DEADLINE) == 3
    [event] = [e for e in gw.events() if e["event"] == "folder_lost"]
    assert "no longer the one" in event["reason"]


@pytest.mark.parametrize("lost", ["inbox", "state"])
def test_a_lost_folder_stops_the_daemon_loudly(make_gateway, lost: str) -> None:
    gw = make_gateway()
    gw.add_submitter("clinic-a")
    gw.start()
    folder = gw.inbox if lost == "inbox" else gw.var
    moved = folder.with_name(f"{folder.name}-gone")
    folder.rename(moved)  # removed, as far as the daemon can see
    assert gw.process is not None
    assert gw.process.wait(DEADLINE) == 3  # systemd restarts it and alerts
    [event] = [e for e in gw.events() if e["event"] == "folder_lost"]
    assert event["level"] == "error" and str(folder) in event["reason"]
    status = gw.cli("status", "--json", check=False)
    assert status.returncode == 1
    assert str(folder) in json.loads(status.stdout)["missing_folders"]
    restart = gw.cli("serve", check=False)  # what systemd's restart meets
    assert restart.returncode == 2 and "does not exist" in restart.stderr
    moved.rename(folder)
    if lost == "inbox":
        # the last failure is the restart's refusal, which names the missing folder too
        last = json.loads(gw.cli("status", "--json", check=False).stdout)["last_failure"]
        assert last.startswith("cannot start:") and str(folder) in last


def test_a_disk_that_fills_up_mid_receipt_loses_nothing(tmp_path: Path) -> None:
    with _mounted(tmp_path / "disk", "-t", "tmpfs", "-o", "size=4m", "tmpfs") as disk:
        # Inbox and state on the small disk; the config and the daemon's log beside it.
        gw = Gateway(tmp_path / "gw", {**settings(), "folders": {
            "inbox": str(disk / "inbox"), "state": str(disk / "var")}})
        gw.inbox, gw.var = disk / "inbox", disk / "var"
        try:
            upload = gw.upload("clinic-a")
            gw.add_submitter("clinic-a")
            gw.start()
            _drop(upload, "patient.csv", b"SLEEP 2\nrows\n")
            wait_until(lambda: any(e["event"] == "claimed" for e in gw.events()),
                       what="the file claimed")
            filler = disk / "filler"
            with filler.open("wb") as handle, contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            wait_until(lambda: any(e["event"] == "disk_full" for e in gw.events()),
                       what="the daemon to notice the full disk")
            assert gw.receipts("clinic-a") == []
            assert gw.process is not None and gw.process.poll() is None
            filler.unlink()
            [receipt] = gw.wait_receipts("clinic-a", 1)
            assert receipt["file"]["name"] == "patient.csv"
            wait_until(lambda: len(gw.filed()) == 1, what="the original filed")
            assert gw.filed()[0].read_bytes() == b"SLEEP 2\nrows\n"
            # said once the receipt's writes succeed, which is just after the original is filed
            wait_until(lambda: any(e["event"] == "disk_space_back" for e in gw.events()),
                       what="the daemon to say the space is back")
            assert gw.stop() == 0
            assert [r["state"] for r in gw.ledger()] == ["filed"]
        finally:
            gw.close()


def test_a_verdict_that_depended_on_the_name_is_never_repeated(make_gateway) -> None:
    gw = make_gateway(pipeline=None)  # the real pipeline decides by content and extension
    upload = gw.add_submitter("clinic-a")
    gw.start()
    workbook = WORKBOOK.read_bytes()
    _drop(upload, "report.csv", workbook)
    [misnamed] = gw.wait_receipts("clinic-a", 1)
    assert [f["code"] for f in misnamed["findings"]] == ["E-FILE-FORMAT-MISMATCH"]
    _drop(upload, "report.xlsx", workbook)  # the same bytes, named right
    renamed = next(r for r in gw.wait_receipts("clinic-a", 2)
                   if r["file"]["name"] == "report.xlsx")
    assert renamed["duplicate_of"] is None
    assert "E-FILE-FORMAT-MISMATCH" not in {f["code"] for f in renamed["findings"]}
    _drop(upload, "report-again.xlsx", workbook)  # now a true duplicate of the right verdict
    again = next(r for r in gw.wait_receipts("clinic-a", 3)
                 if r["file"]["name"] == "report-again.xlsx")
    assert again["duplicate_of"] == renamed["submission_id"]
    assert again["status"] == renamed["status"]


def test_an_unlistable_upload_folder_is_reported_and_the_others_are_scanned(
        tmp_path: Path, monkeypatch) -> None:
    # As root nothing is unlistable, so the refusal a service account meets after a
    # submitter's `chmod 700 upload` is played by the operating system call itself.
    gw = Gateway(tmp_path / "gw", settings())
    locked, fine = gw.add_submitter("clinic-a"), gw.add_submitter("clinic-b")
    (locked / "waits.csv").write_bytes(b"data\n")
    (fine / "taken.csv").write_bytes(b"data\n")
    real_scandir = os.scandir

    def scandir(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(rescan.os, "scandir", scandir)
    tracker, trouble = SettleTracker(0.0), SubmitterTrouble()
    assert rescan.rescan(load_config(gw.config), tracker, trouble) == 1
    assert [s.path for s in tracker.settled()] == [fine / "taken.csv"]
    [reason] = json.loads(trouble.as_text()).values()
    assert reason.startswith("the gateway cannot list its upload/ folder (Permission denied)")
    assert "gateway submitter add clinic-a" in reason  # the operator's fix
    monkeypatch.setattr(rescan.os, "scandir", real_scandir)  # the submitter undoes it
    assert rescan.rescan(load_config(gw.config), tracker, trouble) == 2
    assert json.loads(trouble.as_text()) == {}
