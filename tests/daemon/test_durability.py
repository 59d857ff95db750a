"""Exactly one receipt per submission, whatever happens to the daemon."""

from __future__ import annotations

import json
import os
import random
import signal
import time

import pytest

from tests.support.daemon import wait_until


def _drop(upload, name: str, data: bytes) -> None:
    """Upload the way a careful client does: a temporary name, then a rename."""
    temporary = upload / f"{name}.part"
    temporary.write_bytes(data)
    os.rename(temporary, upload / name)


def _assert_exactly_one_each(gw, submitter: str, names: list[str]) -> None:
    folder = gw.receipts_folder(submitter)
    receipts = gw.receipts(submitter)
    assert sorted(r["file"]["name"] for r in receipts) == sorted(names)
    assert len({r["submission_id"] for r in receipts}) == len(names)
    assert len(list(folder.glob("*.receipt.txt"))) == len(names)
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
    assert len(gw.filed()) == len(names)
    assert gw.spool() == []
    assert os.listdir(gw.upload(submitter)) == []
    rows = gw.ledger()
    assert len(rows) == len(names) and {r["state"] for r in rows} == {"filed"}
    assert {r["submission_id"] for r in rows} == {r["submission_id"] for r in receipts}


def _summaries(gw, count: int) -> dict[str, dict]:
    """The summary line of each submission by its id, once ``count`` are logged: the daemon logs
    one when the original is filed, just after the receipt the test waited for."""
    def logged() -> dict[str, dict] | None:
        found = {e["submission_id"]: e for e in gw.events() if e.get("event") == "submission"}
        return found if len(found) >= count else None

    return wait_until(logged, what=f"{count} submission summaries")


def test_kill_9_at_random_moments_leaves_exactly_one_receipt_per_file(make_gateway) -> None:
    gw = make_gateway(quiet_period=0.1)
    upload = gw.add_submitter("clinic-a")
    chance = random.Random(4654)
    names = [f"stream-{i:03}.csv" for i in range(200)]
    gw.start()
    for round_start in range(0, 200, 40):
        for name in names[round_start:round_start + 40]:
            word = "REJECT" if chance.random() < 0.3 else "SLEEP 0.01"
            _drop(upload, name, f"{word}\n{name}\n".encode())
        time.sleep(chance.uniform(0.05, 0.8))
        gw.kill9()
        gw.start()
    gw.wait_receipts("clinic-a", 200, timeout=180)
    wait_until(lambda: len(gw.filed()) == 200 and not gw.spool(), what="everything filed")
    assert gw.stop() == 0
    _assert_exactly_one_each(gw, "clinic-a", names)
    statuses = {r["file"]["name"]: r["status"] for r in gw.receipts("clinic-a")}
    quarantined = {p.name.split(".", 2)[-1] for p in (gw.var / "quarantine").glob("*/*")}
    assert quarantined == {name for name, status in statuses.items() if status == "rejected"}


def test_sigterm_mid_batch_exits_0_and_the_rest_is_processed_after_restart(
        make_gateway) -> None:
    gw = make_gateway(quiet_period=0.1)
    upload = gw.add_submitter("clinic-a")
    names = [f"batch-{i:02}.csv" for i in range(20)]
    gw.start()
    for name in names:
        _drop(upload, name, f"SLEEP 0.4\n{name}\n".encode())
    gw.wait_receipts("clinic-a", 2)
    assert gw.stop(signal.SIGTERM) == 0
    events = gw.events(1)
    assert "stopping" in [e["event"] for e in events] and events[-1]["event"] == "stopped"
    folder = gw.receipts_folder("clinic-a")
    done = gw.receipts("clinic-a")
    assert 2 <= len(done) < 20
    assert len(list(folder.glob("*.receipt.txt"))) == len(done)
    assert [p for p in folder.iterdir() if p.name.startswith(".")] == []
    assert gw.spool() == []  # the files in hand were finished, not left half done
    assert len(os.listdir(upload)) == 20 - len(done)
    gw.start()
    gw.wait_receipts("clinic-a", 20)
    wait_until(lambda: len(gw.filed()) == 20, what="everything filed")
    assert gw.stop() == 0
    _assert_exactly_one_each(gw, "clinic-a", names)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_to_the_whole_process_group_finishes_the_files_in_hand(
        make_gateway, sig: int) -> None:
    """Files being validated when the group is signalled get their real verdict: the fork
    server and the workers ignore stop signals; only the daemon decides when they end."""
    gw = make_gateway(quiet_period=0.1)
    upload = gw.add_submitter("clinic-a")
    gw.start()
    names = ["slow-1.csv", "slow-2.csv"]
    for name in names:
        _drop(upload, name, f"SLEEP 2\n{name}\n".encode())
    wait_until(lambda: sum(e["event"] == "claimed" for e in gw.events(1)) == 2, what="claims")
    time.sleep(0.5)  # both are being validated now
    assert gw.stop_group(sig) == 0
    receipts = gw.receipts("clinic-a")
    assert sorted(r["file"]["name"] for r in receipts) == names
    assert {r["status"] for r in receipts} == {"accepted"}
    assert not [e for e in gw.events(1) if e["event"] in ("worker_failed", "worker_replaced")]


def test_an_identical_resubmission_gets_a_receipt_with_duplicate_of(make_gateway) -> None:
    gw = make_gateway()
    upload = gw.add_submitter("clinic-a")
    other = gw.add_submitter("clinic-b")
    gw.start()
    _drop(upload, "first.csv", b"REJECT\nsame bytes\n")
    first = gw.wait_receipts("clinic-a", 1)[0]
    _drop(upload, "again.csv", b"REJECT\nsame bytes\n")
    _drop(other, "theirs.csv", b"REJECT\nsame bytes\n")  # another submitter: not a duplicate
    receipts = {r["file"]["name"]: r for r in gw.wait_receipts("clinic-a", 2)}
    again = receipts["again.csv"]
    assert again["duplicate_of"] == first["submission_id"]
    assert again["submission_id"] != first["submission_id"]
    assert again["status"] == first["status"] == "rejected"
    assert again["findings"] == first["findings"]
    assert gw.wait_receipts("clinic-b", 1)[0]["duplicate_of"] is None
    summaries = _summaries(gw, 3)
    assert "validate_s" not in summaries[again["submission_id"]]  # answered, not validated
    assert "validate_s" in summaries[first["submission_id"]]


def test_a_duplicate_of_a_file_still_in_hand_waits_for_its_outcome(make_gateway) -> None:
    gw = make_gateway()
    upload = gw.add_submitter("clinic-a")
    gw.start()
    for name in ("one.csv", "two.csv", "three.csv"):
        _drop(upload, name, b"SLEEP 1\nsame\n")
    receipts = gw.wait_receipts("clinic-a", 3)
    originals = [r for r in receipts if r["duplicate_of"] is None]
    assert len(originals) == 1
    assert {r["duplicate_of"] for r in receipts if r["duplicate_of"]} == {
        originals[0]["submission_id"]}
    validated = [e for e in _summaries(gw, 3).values() if "validate_s" in e]
    assert len(validated) == 1


def test_replay_issues_a_new_receipt_that_names_the_one_it_replaces(make_gateway) -> None:
    gw = make_gateway()
    upload = gw.add_submitter("clinic-a")
    gw.start()
    _drop(upload, "x.csv", b"REJECT\nreplay me\n")
    first = gw.wait_receipts("clinic-a", 1)[0]
    wait_until(lambda: gw.ledger()[0]["state"] == "filed", what="the first to be filed")
    run = gw.cli("replay", first["submission_id"], "--json", check=False)
    assert run.returncode == 1, run.stderr  # rejected again
    replayed = json.loads(run.stdout)
    assert replayed["replaces"] == first["submission_id"]
    receipts = {r["submission_id"]: r for r in gw.receipts("clinic-a")}
    assert receipts[replayed["submission_id"]]["replaces"] == first["submission_id"]
    assert receipts[replayed["submission_id"]]["duplicate_of"] is None
    assert gw.stop() == 0
    # With no daemon running, the command does the work itself.
    run = gw.cli("replay", first["submission_id"], "--json", check=False)
    assert run.returncode == 1, run.stderr
    assert len(gw.receipts("clinic-a")) == 3
    assert gw.spool() == []
    missing = gw.cli("replay", "no-such-id", check=False)
    assert missing.returncode == 2 and "no submission" in missing.stderr
