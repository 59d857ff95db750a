"""The daemon records several files at a time (one ledger transaction and one fsync per folder
for all the files at the same step): every file must still get exactly its own receipt, also
when the daemon is killed in the middle of such a batch."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections import Counter

import pytest

from gateway.site.ledger import Ledger
from tests.daemon.dying_serve import STEPS
from tests.support.daemon import DEADLINE, Gateway, wait_until


def _drop_burst(gw: Gateway, submitters: list[str], per_submitter: int
                ) -> dict[tuple[str, str], bytes]:
    """Files written aside, then renamed into ``upload/`` together: they settle at once.
    Every fourth file asks the fake pipeline for a rejection."""
    sent: dict[tuple[str, str], bytes] = {}
    for submitter in submitters:
        upload = gw.add_submitter(submitter)
        for i in range(per_submitter):
            name = f"{submitter}-{i:03}.csv"
            word = "REJECT" if i % 4 == 0 else "fine"
            sent[submitter, name] = f"{word}\n{submitter} {name}\n".encode()
            (upload.parent / name).write_bytes(sent[submitter, name])
    for (submitter, name) in sent:
        os.rename(gw.upload(submitter).parent / name, gw.upload(submitter) / name)
    return sent


def _assert_each_answered_once_with_its_own_receipt(
        gw: Gateway, sent: dict[tuple[str, str], bytes]) -> None:
    submitters = sorted({submitter for submitter, _ in sent})
    answered: dict[tuple[str, str], dict] = {}
    for submitter in submitters:
        folder = gw.receipts_folder(submitter)
        receipts = gw.receipts(submitter)
        for receipt in receipts:
            key = (submitter, receipt["file"]["name"])
            assert key in sent, f"{key} got a receipt in {submitter}'s folder but was not sent"
            assert key not in answered, f"{key} got two receipts"
            answered[key] = receipt
        assert len(list(folder.glob("*.receipt.txt"))) == len(receipts)
        assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
        assert os.listdir(gw.upload(submitter)) == []
    assert set(answered) == set(sent)
    for key, receipt in answered.items():
        data = sent[key]
        assert receipt["submitter"] == key[0]
        assert receipt["file"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert receipt["status"] == ("rejected" if data.startswith(b"REJECT") else "accepted")
    filed = Counter((p.parent.parent.name, p.parent.name, ".".join(p.name.split(".")[-2:]))
                    for p in gw.filed())
    assert filed == Counter(("quarantine" if data.startswith(b"REJECT") else "archive",
                             submitter, name) for (submitter, name), data in sent.items())
    assert gw.spool() == []
    rows = gw.ledger()
    assert len(rows) == len(sent) and {r["state"] for r in rows} == {"filed"}
    assert {r["submission_id"] for r in rows} == {r["submission_id"]
                                                  for r in answered.values()}


def test_a_burst_across_submitters_gets_exactly_its_own_receipt_for_each_file(
        make_gateway) -> None:
    gw = make_gateway(quiet_period=0.1)
    gw.start()
    sent = _drop_burst(gw, ["clinic-a", "clinic-b", "hospital-c"], 40)
    for submitter in ("clinic-a", "clinic-b", "hospital-c"):
        gw.wait_receipts(submitter, 40)
    wait_until(lambda: len(gw.filed()) == len(sent), what="every original filed")
    assert gw.stop() == 0
    _assert_each_answered_once_with_its_own_receipt(gw, sent)
    # every file went through each durable step once: nothing was redone or skipped
    with_steps = Ledger(gw.var / "ledger.sqlite3", create=False)
    try:
        for row in gw.ledger():
            steps = [state for state, _ in with_steps.transitions(row["submission_id"])]
            assert steps == ["claimed", "validated", "receipt_written", "filed"], steps
    finally:
        with_steps.close()


def _start_dying(gw: Gateway, step: str) -> subprocess.Popen[bytes]:
    log = (gw.root / f"dying-{step}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.daemon.dying_serve", "serve", "--config", str(gw.config)],
        stdout=log, stderr=subprocess.STDOUT, env={**gw.env, "DIE_AT": step},
        start_new_session=True)
    log.close()
    return process


@pytest.mark.parametrize("step", list(STEPS))
def test_kill_9_in_the_middle_of_a_batched_delivery_loses_and_duplicates_nothing(
        make_gateway, step: str) -> None:
    gw = make_gateway(quiet_period=0.1)
    sent = _drop_burst(gw, ["clinic-a", "clinic-b"], 12)
    dying = _start_dying(gw, step)
    try:
        returncode = dying.wait(DEADLINE)
    finally:
        if dying.poll() is None:
            dying.kill()
    log = (gw.root / f"dying-{step}.log").read_text(errors="replace")
    assert returncode == -signal.SIGKILL, f"never reached {step}: {log[-2000:]}"
    gw.start()
    for submitter in ("clinic-a", "clinic-b"):
        gw.wait_receipts(submitter, 12)
    wait_until(lambda: len(gw.filed()) == len(sent) and not gw.spool(),
               what="every original filed")
    assert gw.stop() == 0
    _assert_each_answered_once_with_its_own_receipt(gw, sent)
