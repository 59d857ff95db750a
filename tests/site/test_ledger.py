"""The ledger on both databases: migrations, claims, leases, fencing, copying, clean-up."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from gateway.daemon.membership import Membership, live_daemons, new_daemon_id, writer_of
from gateway.receipts.model import FileFacts, Receipt
from gateway.site.ledger import Daemon, Ledger, LostClaim, State, Submission, now_text
from gateway.site.ledger.backends import create_engine, parse_location
from gateway.site.ledger.migrate import head, upgrade
from gateway.site.ledger.schema import metadata
from tests.support.daemon import ROOT, Gateway, settings

# The schema of the one-host ledger before migrations existed, as deployed sites have it.
LEGACY_SCHEMA = """
CREATE TABLE submissions (submission_id TEXT PRIMARY KEY, submitter TEXT NOT NULL,
    upload_name TEXT NOT NULL, name TEXT NOT NULL, problem TEXT, state TEXT NOT NULL,
    received_at TEXT NOT NULL, bytes INTEGER, sha256 TEXT, status TEXT, layer TEXT, route TEXT,
    records INTEGER, errors INTEGER, warnings INTEGER, failure TEXT, duplicate_of TEXT,
    replaces TEXT, receipt_path TEXT, stored_path TEXT, updated_at TEXT NOT NULL);
CREATE INDEX submissions_content ON submissions (submitter, sha256);
CREATE INDEX submissions_state ON submissions (state);
CREATE INDEX submissions_received ON submissions (received_at);
CREATE TABLE transitions (submission_id TEXT NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX transitions_submission ON transitions (submission_id);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO submissions (submission_id, submitter, upload_name, name, state, received_at,
    status, updated_at) VALUES ('20261101T000000.000001Z-aaaaaaaaaaaa', 'clinic-a', 'a.csv',
    'a.csv', 'filed', '2026-11-01T00:00:00Z', 'accepted', '2026-11-01T00:00:01Z'),
    ('20261101T000000.000002Z-bbbbbbbbbbbb', 'clinic-a', 'b.csv', 'b.csv', 'claimed',
    '2026-11-01T00:00:00Z', NULL, '2026-11-01T00:00:01Z');
INSERT INTO transitions VALUES ('20261101T000000.000001Z-aaaaaaaaaaaa', 'claimed',
    '2026-11-01T00:00:00.100Z'), ('20261101T000000.000001Z-aaaaaaaaaaaa', 'filed',
    '2026-11-01T00:00:00.900Z');
"""


# What the version that recorded the submitter layer without migrations added by hand.
HAND_ADDED = ("ALTER TABLE submissions ADD COLUMN registry_entry TEXT;"
              "ALTER TABLE submissions ADD COLUMN obligations TEXT;")


def _legacy(path: Path, extra: str = "") -> Path:
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY_SCHEMA + extra)
    return path


def _claim(ledger: Ledger, key: str, submission_id: str | None = None) -> Submission:
    submission = Submission(submission_id or f"20261201T000000.{time.time_ns() % 10**6:06}Z-x",
                            "clinic-a", "a.csv", "a.csv", State.CLAIMED, now_text(),
                            owner=ledger.owner, upload_key=key)
    assert ledger.add(submission)
    return submission


def _receipt(submission: Submission) -> Receipt:
    return Receipt(submission_id=submission.submission_id, submitter=submission.submitter,
                   file=FileFacts(name=submission.name, bytes=1, sha256="0" * 64, format="csv",
                                  received_at=submission.received_at))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def test_the_migrations_build_exactly_the_schema_the_code_uses(any_url: str) -> None:
    engine = create_engine(parse_location(any_url))
    assert upgrade(engine) == (None, head())
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []


@pytest.mark.parametrize("extra", ["", HAND_ADDED])
def test_a_ledger_from_before_migrations_is_upgraded_with_its_rows(tmp_path: Path,
                                                                   extra: str) -> None:
    path = _legacy(tmp_path / "ledger.sqlite3", extra)
    ledger = Ledger(path)  # a daemon of the new version starting on the old file
    try:
        assert [s.state for s in ledger.search()] == ["claimed", "filed"]
        assert ledger.transitions("20261101T000000.000001Z-aaaaaaaaaaaa")[-1][0] == "filed"
        orphan = ledger.orphans(time.time(), everyone=True)
        assert [s.upload_name for s in orphan] == ["b.csv"]  # no owner: anyone resumes it
    finally:
        ledger.close()


def test_one_claim_per_upload_and_a_taken_over_row_fences_its_old_owner(
        postgres_url: str) -> None:
    upgrade(create_engine(parse_location(postgres_url)))
    first, second = (Ledger(postgres_url, owner=new_daemon_id()) for _ in range(2))
    try:
        mine = _claim(first, "key-1")
        late = Submission("20261201T000001.000000Z-y", "clinic-a", "a.csv", "a.csv",
                          State.CLAIMED, now_text(), owner=second.owner, upload_key="key-1")
        assert not second.add(late)  # the same upload, seen by the second daemon
        assert second.get(late.submission_id) is None
        as_first_saw_it = Submission(**mine.as_dict())
        assert second.take_over(mine)  # as if the first one's lease had run out
        assert not second.take_over(Submission(**as_first_saw_it.as_dict()))  # one winner
        with pytest.raises(LostClaim):
            first.validated(_receipt(mine))
        second.validated(_receipt(mine))
        assert second.get(mine.submission_id).state == State.VALIDATED
    finally:
        first.close()
        second.close()


def test_a_filed_batch_belongs_to_nobody_and_a_row_taken_over_is_left_alone(
        any_url: str, tmp_path: Path) -> None:
    """Filing lets go of a row (no daemon holds it any more), and a batch skips, untouched,
    the rows another daemon took over meanwhile (each step writes a batch at once, and row by
    row only when a row was lost)."""
    if any_url.startswith("sqlite"):
        Ledger(any_url).close()  # a SQLite ledger is made by its first daemon
    else:
        upgrade(create_engine(parse_location(any_url)))
    me, other = (Ledger(any_url, owner=new_daemon_id()) for _ in range(2))
    try:
        mine = [_claim(me, f"key-{n}", f"20261201T000000.00000{n}Z-m") for n in range(3)]
        # the other daemon claims in one batch an upload already claimed, and a new one
        seen_twice, fresh = (Submission(f"20261201T000001.00000{n}Z-o", "clinic-a", "a.csv",
                                        "a.csv", State.CLAIMED, now_text(), owner=other.owner,
                                        upload_key=key) for n, key in enumerate(["key-0", "k"]))
        assert other.add_many([seen_twice, fresh]) == {fresh.submission_id}
        assert other.get(seen_twice.submission_id) is None
        assert other.take_over(mine[1])
        assert me.inspected_many([(s.submission_id, None, 10, f"sha-{n}")
                                  for n, s in enumerate(mine)]) == {mine[1].submission_id}
        assert [me.get(s.submission_id).sha256 for s in mine] == ["sha-0", None, "sha-2"]
        assert me.validated_many([(_receipt(s), None) for s in mine]) == {
            mine[1].submission_id}
        assert me.receipt_written_many([(s.submission_id, tmp_path / "r.json")
                                        for s in (mine[0], mine[2])]) == set()
        assert me.filed_many([(s.submission_id, tmp_path / "a.csv")
                              for s in (mine[0], mine[2])]) == set()
        rows = {s.submission_id: me.get(s.submission_id) for s in mine}
        for filed in (mine[0], mine[2]):
            assert (rows[filed.submission_id].state, rows[filed.submission_id].owner) == (
                State.FILED, None)
        taken = rows[mine[1].submission_id]
        assert (taken.state, taken.owner) == (State.CLAIMED, other.owner)
    finally:
        me.close()
        other.close()


def test_only_daemons_whose_lease_ran_out_lose_their_files(any_url: str) -> None:
    upgrade(create_engine(parse_location(any_url)))
    me = Ledger(any_url, owner=new_daemon_id())
    try:
        membership = Membership(me, 30.0, exclusive=False)
        membership.join("events")
        now = time.time()
        for daemon_id, lease_until in (("far-host.10.aaaaaa", now + 60),
                                       ("gone-host.11.bbbbbb", now - 1)):
            me.register(Daemon(daemon_id, daemon_id.split(".")[0], 1, now_text(), lease_until))
            other = Ledger(any_url, owner=daemon_id)
            _claim(other, f"key-{daemon_id}")
            other.close()
        assert membership.dead() == {"gone-host.11.bbbbbb"}
        assert [s.owner for s in membership.orphans()] == ["gone-host.11.bbbbbb"]
        assert membership.daemon_id in {d.daemon_id for d in live_daemons(me)}
        membership.leave()
        assert membership.daemon_id not in {d.daemon_id for d in live_daemons(me)}
    finally:
        me.close()


def test_start_up_removes_only_dead_writers_temporary_files(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3", owner=new_daemon_id("h", 2))
    membership = Membership(ledger, 30.0, exclusive=False)
    live, dead = "h.1.aaaaaa", "h.3.cccccc"
    assert writer_of(f".tmp-{live}.x1y2z3", ".tmp-") == live
    assert writer_of(".tmp-k2j3h4", ".tmp-") is None
    assert not membership.stale_temporary(f".tmp-{live}.x1y2z3", ".tmp-", 5.0, {dead})
    assert membership.stale_temporary(f".tmp-{dead}.x1y2z3", ".tmp-", 5.0, {dead})
    assert not membership.stale_temporary(f".tmp-{membership.daemon_id}.q", ".tmp-", 1e6,
                                          {membership.daemon_id})
    assert not membership.stale_temporary(".tmp-k2j3h4", ".tmp-", 5.0, {dead})
    assert membership.stale_temporary(".tmp-k2j3h4", ".tmp-", 7200.0, {dead})
    ledger.close()


def test_copy_a_one_host_ledger_into_postgresql_and_serve_from_it(
        tmp_path: Path, postgres_url: str) -> None:
    gateway = Gateway(tmp_path / "gw", settings())
    _legacy(gateway.var / "ledger.sqlite3")
    copied = gateway.cli("ledger", "copy", "--to", postgres_url)
    assert "2 submissions, 2 transitions" in copied.stdout
    again = gateway.cli("ledger", "copy", "--to", postgres_url, check=False)
    assert again.returncode == 2 and "already holds submissions" in again.stderr
    ledger = Ledger(postgres_url)
    try:
        assert {s.upload_name: s.state for s in ledger.search()} == {"a.csv": "filed",
                                                                      "b.csv": "claimed"}
    finally:
        ledger.close()


def test_a_daemon_refuses_a_postgresql_ledger_that_was_not_migrated(
        tmp_path: Path, postgres_url: str) -> None:
    gateway = Gateway(tmp_path / "gw", settings() | {"ledger": {"url": postgres_url}})
    run = subprocess.run([sys.executable, "-m", "gateway", "serve", "--config",
                          str(gateway.config)], capture_output=True, text=True,
                         env=gateway.env, cwd=ROOT, timeout=120)
    assert run.returncode == 2
    assert "run `gateway ledger migrate`" in run.stderr
    migrated = gateway.cli("ledger", "migrate")
    assert f"revision none -> {head()}" in migrated.stdout
    assert "password" not in migrated.stdout
