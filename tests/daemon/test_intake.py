"""Intake: what is taken, when, and only once."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from tests.support.daemon import wait_until
from tests.support.paths import ODC

VALID = ODC / "patient" / "valid" / "odc-patient-full.csv"
INVALID = ODC / "patient" / "invalid" / "E-RECORD-SSN--ssn-as-patient-id.csv"


def test_a_dropped_file_gets_exactly_one_receipt_and_leaves_upload(make_gateway) -> None:
    gw = make_gateway(pipeline=None)  # the real pipeline
    upload = gw.add_submitter("clinic-a")
    gw.start()
    shutil.copy(VALID, upload / "odc.csv")
    shutil.copy(INVALID, upload / "ssn.csv")
    receipts = gw.wait_receipts("clinic-a", 2)
    wait_until(lambda: len(gw.filed()) == 2, what="both originals filed")
    by_name = {r["file"]["name"]: r for r in receipts}
    assert set(by_name) == {"odc.csv", "ssn.csv"}
    assert by_name["odc.csv"]["status"] == "accepted"
    assert by_name["ssn.csv"]["status"] == "rejected"
    assert os.listdir(upload) == []
    assert len(list(gw.receipts_folder("clinic-a").glob("*.receipt.txt"))) == 2
    archived = {p.parent.parent.name: p for p in gw.filed()}
    assert archived["archive"].read_bytes() == VALID.read_bytes()
    assert archived["quarantine"].read_bytes() == INVALID.read_bytes()
    # The ledger records "filed" just after the rename that the folder shows.
    def filed_rows() -> list[dict] | None:
        rows = gw.ledger()
        return rows if len(rows) == 2 and all(r["state"] == "filed" for r in rows) else None

    rows = wait_until(filed_rows, what="both filed in the ledger")
    assert {r["submission_id"] for r in rows} == {r["submission_id"] for r in receipts}
    status = gw.cli("status", "--json")
    assert '"running": true' in status.stdout and '"in_progress": 0' in status.stdout
    second = gw.cli("serve", check=False)
    assert second.returncode == 2 and "another gateway" in second.stderr
    assert gw.stop() == 0
    assert gw.cli("status", check=False).returncode == 1


def test_a_slowly_written_file_is_taken_only_once_it_settles(make_gateway) -> None:
    gw = make_gateway(quiet_period=2.0)
    upload = gw.add_submitter("clinic-a")
    gw.start()
    target = upload / "slow.csv"
    chunks = [f"line {i}\n".encode() * 50 for i in range(10)]
    with target.open("wb") as handle:
        for chunk in chunks:  # one write every 0.3 s: never quiet for 2 s
            handle.write(chunk)
            handle.flush()
            time.sleep(0.3)
            assert target.exists(), "taken while still being written"
            assert gw.receipts("clinic-a") == []
    receipt = gw.wait_receipts("clinic-a", 1)[0]
    assert receipt["file"]["bytes"] == sum(len(c) for c in chunks)
    assert receipt["file"]["name"] == "slow.csv"


def test_an_sftp_rename_by_link_and_unlink_is_taken_once_under_its_final_name(
        make_gateway) -> None:
    gw = make_gateway(quiet_period=0.5)
    upload = gw.add_submitter("clinic-a")
    gw.start()
    part = upload / "report.csv.filepart"
    part.write_bytes(b"first half\n")
    # Longer than the quiet period: a settled temporary name must still never be taken.
    time.sleep(1.5)
    assert part.exists()
    with part.open("ab") as handle:
        handle.write(b"second half\n")
    final = upload / "report.csv"
    os.link(part, final)  # what OpenSSH's sftp-server does for a rename
    os.unlink(part)
    receipts = gw.wait_receipts("clinic-a", 1)
    wait_until(lambda: not final.exists(), what="the upload to be claimed")
    gw.stop()
    receipts = gw.receipts("clinic-a")
    assert [r["file"]["name"] for r in receipts] == ["report.csv"]
    assert receipts[0]["file"]["bytes"] == len(b"first half\nsecond half\n")
    assert receipts[0]["status"] == "accepted"  # not rejected as a hard link
    assert [r["upload_name"] for r in gw.ledger()] == ["report.csv"]


def test_500_files_dropped_without_a_watcher_are_all_taken_by_the_rescan_once(
        make_gateway) -> None:
    gw = make_gateway(watcher="off", rescan_interval=1.0, quiet_period=0.2)
    upload = gw.add_submitter("clinic-a")
    gw.start()
    for i in range(500):
        (upload / f"f{i:03}.csv").write_bytes(f"file {i}\n".encode())
    receipts = gw.wait_receipts("clinic-a", 500, timeout=120)
    wait_until(lambda: len(gw.filed()) == 500, what="500 originals filed")
    assert sorted(r["file"]["name"] for r in receipts) == [f"f{i:03}.csv" for i in range(500)]
    assert len({r["file"]["sha256"] for r in receipts}) == 500
    assert os.listdir(upload) == [] and gw.spool() == []
    assert not any(e.get("event") == "watcher_started" for e in gw.events())
    assert gw.stop() == 0
    rows = gw.ledger()
    assert len(rows) == 500 and {r["state"] for r in rows} == {"filed"}


def test_the_polling_watcher_takes_files_between_rescans(make_gateway) -> None:
    gw = make_gateway(watcher="polling", rescan_interval=3600.0)
    upload = gw.add_submitter("clinic-a")
    gw.start()
    (upload / "polled.csv").write_bytes(b"data\n")
    assert gw.wait_receipts("clinic-a", 1)[0]["file"]["name"] == "polled.csv"


def test_links_special_files_and_bad_names_are_rejected_without_being_read(
        make_gateway, tmp_path: Path) -> None:
    gw = make_gateway()
    upload = gw.add_submitter("clinic-a")
    gw.start()
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.csv"
    secret.write_bytes(b"CRASH if anyone reads this\n")  # the fake pipeline dies on it
    fifo = outside / "pipe"
    os.mkfifo(fifo)  # reading it would block forever
    os.symlink(fifo, upload / "via-symlink.csv")
    os.link(secret, upload / "via-hardlink.csv")
    os.mkfifo(upload / "a-pipe.csv")
    (upload / "bad name!.csv").write_bytes(b"CRASH\n")
    receipts = {r["file"]["name"]: r for r in gw.wait_receipts("clinic-a", 4)}
    assert set(receipts) == {"via-symlink.csv", "via-hardlink.csv", "a-pipe.csv",
                             "bad_name_.csv"}
    for name in ("via-symlink.csv", "via-hardlink.csv", "a-pipe.csv"):
        assert [f["code"] for f in receipts[name]["findings"]] == ["E-FILE-NOT-REGULAR"], name
    assert [f["code"] for f in receipts["bad_name_.csv"]["findings"]] == ["E-FILE-NAME"]
    for receipt in receipts.values():
        assert receipt["status"] == "rejected" and receipt["file"]["sha256"] == ""
    wait_until(lambda: len(gw.filed()) == 4, what="four originals in quarantine")
    quarantined = {p.name.split(".", 2)[-1]: p for p in gw.filed()}
    assert quarantined["via-symlink.csv"].is_symlink()
    assert secret.read_bytes().startswith(b"CRASH") and secret.stat().st_nlink == 2
    assert not any(e.get("event") == "worker_failed" for e in gw.events())
