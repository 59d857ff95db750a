"""The crash-recovery state machine, one ledger state at a time, and its idempotence.

The kill -9 test in test_durability.py lands wherever chance puts it; here every state a
killed daemon can leave behind is built by hand and finished by ``Service.drain``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.contract.findings import Finding
from gateway.daemon.service import Service
from gateway.receipts.model import FileFacts, Receipt, new_submission_id, utc_now_text
from gateway.receipts.store import write_receipt
from gateway.site.config import Config, load_config
from gateway.site.layout import add_submitter, init_layout
from gateway.site.ledger import Ledger, State, Submission
from tests.support.daemon import FAKE_PIPELINE, settings, toml_text


@pytest.fixture
def site(tmp_path: Path) -> Config:
    path = tmp_path / "gateway.toml"
    path.write_text(toml_text(settings(pipeline=FAKE_PIPELINE)), encoding="utf-8")
    config = load_config(path)
    init_layout(config)
    add_submitter(config, "clinic-a")
    return config


def _row(ledger: Ledger, config: Config, name: str, data: bytes | None,
         state: State = State.CLAIMED) -> Submission:
    row = Submission(submission_id=new_submission_id(), submitter="clinic-a", upload_name=name,
                     name=name, state=state, received_at=utc_now_text())
    ledger.add(row)
    if data is not None:
        (config.spool / row.submission_id).write_bytes(data)
    return row


def _receipt(row: Submission, rejected: bool) -> Receipt:
    receipt = Receipt(row.submission_id, row.submitter,
                      FileFacts(row.name, 5, "0" * 64, "csv", row.received_at))
    return receipt.reject("record", Finding("E-RECORD-TYPE", "x")) if rejected else receipt


def _drain(config: Config) -> None:
    Service(config, intake=False).drain()


def test_every_unfinished_state_is_finished_once(site: Config) -> None:
    receipts = site.inbox / "clinic-a" / "receipts"
    ledger = Ledger(site.ledger)
    never = _row(ledger, site, "never-renamed.csv", None)
    _row(ledger, site, "claimed.csv", b"fine\n")
    written = _row(ledger, site, "written.csv", b"REJECT\n")
    ledger.validated(_receipt(written, rejected=True))
    write_receipt(_receipt(written, rejected=True), receipts)  # killed before the ledger knew
    to_file = _row(ledger, site, "to-file.csv", b"fine\n")
    ledger.validated(_receipt(to_file, rejected=False))
    ledger.receipt_written(to_file.submission_id,
                           write_receipt(_receipt(to_file, rejected=False), receipts)[0])
    moved = _row(ledger, site, "moved.csv", b"fine\n")
    ledger.validated(_receipt(moved, rejected=False))
    ledger.receipt_written(moved.submission_id,
                           write_receipt(_receipt(moved, rejected=False), receipts)[0])
    (site.archive / "clinic-a").mkdir()
    os.rename(site.spool / moved.submission_id,
              site.archive / "clinic-a" / f"{moved.submission_id}.moved.csv")
    (receipts / ".tmp-interrupted").write_bytes(b'{"half": ')
    ledger.close()

    _drain(site)

    ledger = Ledger(site.ledger)
    assert ledger.get(never.submission_id) is None
    rows = {row.name: row for row in ledger.search()}
    assert set(rows) == {"claimed.csv", "written.csv", "to-file.csv", "moved.csv"}
    assert {row.state for row in rows.values()} == {State.FILED}
    assert rows["claimed.csv"].status == "accepted"
    assert rows["written.csv"].stored_path.startswith(str(site.quarantine))
    assert rows["moved.csv"].stored_path.startswith(str(site.archive))
    names = sorted(p.name for p in receipts.iterdir())
    assert len(names) == 8 and not any(name.startswith(".") for name in names)
    assert os.listdir(site.spool) == []
    ledger.close()

    _drain(site)  # a second start finds nothing to do and changes nothing
    assert sorted(p.name for p in receipts.iterdir()) == names


def test_a_replay_interrupted_mid_copy_is_finished(site: Config) -> None:
    ledger = Ledger(site.ledger)
    original = _row(ledger, site, "orig.csv", b"REJECT\n")
    ledger.close()
    _drain(site)
    ledger = Ledger(site.ledger)
    replay = Submission(submission_id=new_submission_id(), submitter="clinic-a",
                        upload_name="orig.csv", name="orig.csv", state=State.REQUESTED,
                        received_at=utc_now_text(), replaces=original.submission_id)
    ledger.add(replay)
    (site.spool / f".{replay.submission_id}.copy").write_bytes(b"REJ")  # the copy was cut
    ledger.close()
    _drain(site)
    ledger = Ledger(site.ledger)
    done = ledger.get(replay.submission_id)
    assert done is not None and done.state == State.FILED and done.status == "rejected"
    assert Path(done.stored_path).read_bytes() == b"REJECT\n"
    assert os.listdir(site.spool) == []
    ledger.close()
