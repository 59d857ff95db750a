"""The reference-data service: a family remembers what accepted files say and reads it back
when it judges later files; rejected files leave nothing behind. The data live in the ledger's
database, so each test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from gateway.contract.findings import Finding
from gateway.contract.hooks import hookimpl
from gateway.contract.records import FileRule, RecordBatch, Route, RuleContext
from gateway.contract.reference import ReferenceCollector, ReferenceWrite
from gateway.engine.pipeline import validate_file
from gateway.engine.plugins import load_plugins
from gateway.receipts.model import Status
from gateway.site.ledger.backends import create_engine, parse_location
from gateway.site.ledger.migrate import upgrade
from gateway.site.reference.store import open_store, reference_view, remember
from tests.support.paths import ODC

VALID = ODC / "summary" / "valid" / "odc-summary-full.csv"
INVALID = ODC / "summary" / "invalid" / "E-RULE-DUPLICATE--stratum-twice.csv"
DATASET = "test/odc-files"


class CountFiles(ReferenceCollector):
    """Remembers, per clinic NPI, how many records its last accepted file had."""

    def __init__(self) -> None:
        self.records: dict[str, int] = {}

    def observe(self, batch: RecordBatch) -> None:
        for npi in batch.frame["clinic_npi"]:
            self.records[npi] = self.records.get(npi, 0) + 1

    def finish(self, results: Mapping[str, Any] | None) -> list[ReferenceWrite]:
        return [ReferenceWrite(DATASET, self.records)]


class SeenBefore(FileRule):
    """Warns when an earlier accepted file of the same clinic is remembered."""

    code = "W-TEST-SEEN"

    def __init__(self, context: RuleContext) -> None:
        self.context = context
        self.npis: set[str] = set()

    def observe(self, batch: RecordBatch) -> list[Finding]:
        self.npis.update(batch.frame["clinic_npi"])
        return []

    def finish(self) -> list[Finding]:
        known = self.context.reference.get_many(DATASET, self.npis)
        return [Finding(code=self.code, message=f"seen {entry.value} records before",
                        column="clinic_npi") for entry in known.values()]


class Remembering:
    @hookimpl
    def gateway_reference_collector(self, route: Route, context: RuleContext
                                    ) -> ReferenceCollector | None:
        return CountFiles() if route.measure == "ODC" else None

    @hookimpl
    def gateway_file_rules(self, route: Route, context: RuleContext) -> list[FileRule]:
        return [SeenBefore(context)] if route.measure == "ODC" else []


@pytest.fixture
def plugins():
    return load_plugins([Remembering()])


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where the reference data live: a SQLite ledger file (made on first write) or a fresh
    PostgreSQL database migrated as ``gateway ledger migrate`` would."""
    if request.param == "sqlite":
        return tmp_path / "var" / "ledger.sqlite3"
    url = request.getfixturevalue("postgres_url")
    upgrade(create_engine(parse_location(url)))
    return url


def test_accepted_file_is_remembered_and_read_back(ledger: str | Path, plugins) -> None:
    first = validate_file(VALID, submitter="clinic-a", plugins=plugins, ledger=ledger)
    assert first.status is not Status.REJECTED
    assert first.reference_writes and "reference_writes" not in first.as_dict()
    assert "W-TEST-SEEN" not in first.findings.by_code  # nothing remembered yet
    assert remember(ledger, first)
    assert not remember(ledger, first)  # applying the same submission twice changes nothing
    info = reference_view(ledger).info(DATASET)
    assert info is not None and info.submission_id == first.submission_id
    second = validate_file(VALID, submitter="clinic-a", plugins=plugins, ledger=ledger)
    assert second.findings.by_code.get("W-TEST-SEEN") == 1


def test_rejected_file_leaves_nothing(ledger: str | Path, plugins) -> None:
    receipt = validate_file(INVALID, submitter="clinic-a", plugins=plugins, ledger=ledger)
    assert receipt.status is Status.REJECTED
    assert receipt.reference_writes == []
    assert not remember(ledger, receipt)
    assert reference_view(ledger).info(DATASET) is None


def test_replace_and_upsert(ledger: str | Path) -> None:
    store, engine = open_store(ledger)
    facts = {"submitter": "feed", "received_at": "2022-01-01T00:00:00Z"}
    store.apply([ReferenceWrite("f/a", {"1": {"x": 1}, "2": {"x": 2}}, replace=True)],
                submission_id="s1", **facts)
    store.apply([ReferenceWrite("f/a", {"3": {"x": 3}}, replace=True),
                 ReferenceWrite("f/b", {"k": [1]})], submission_id="s2", **facts)
    store.apply([ReferenceWrite("f/b", {"k": [2], "j": None})], submission_id="s3", **facts)
    assert [e.key for e in store.entries("f/a")] == ["3"]  # the newer feed replaced the older
    entries = {e.key: (e.value, e.submission_id) for e in store.entries("f/b")}
    assert entries == {"k": ([2], "s3"), "j": (None, "s3")}  # the latest accepted counts
    assert store.info("f/a").entries == 1
    assert store.get("f/a", "1") is None
    engine.dispose()


def test_a_large_dataset_is_written_whole_and_read_back_in_order(ledger: str | Path) -> None:
    """A yearly feed of 12,001 entries (more than one batch and one page) arrives whole; a
    reader walking it sees every key once, in order, while writes go on beside it."""
    store, engine = open_store(ledger)
    feed = {f"{n:06d}": {"rate": n % 97} for n in range(12_001)}
    assert store.apply([ReferenceWrite("f/feed", feed, replace=True)], submission_id="s1",
                       submitter="feed", received_at="2022-01-01T00:00:00Z")
    walked = []
    for entry in reference_view(ledger).entries("f/feed"):
        if len(walked) == 6000:  # a write in the middle of a walk neither blocks nor breaks it
            store.apply([ReferenceWrite("f/other", {"x": 1})], submission_id="s2",
                        submitter="feed", received_at="2022-01-02T00:00:00Z")
        walked.append(entry.key)
    assert walked == sorted(feed)
    every_seventh = list(feed)[::7]
    found = reference_view(ledger).get_many("f/feed", [*every_seventh, "absent"])
    assert len(found) == len(every_seventh) and found["000007"].value == {"rate": 7}
    engine.dispose()


def test_no_ledger_means_nothing_remembered(tmp_path: Path) -> None:
    view = reference_view(tmp_path / "never-used" / "ledger.sqlite3")
    assert view.info("x") is None and view.get_many("x", ["a"]) == {}
    assert list(view.entries("x")) == []
    assert reference_view(None).info("x") is None


def test_moving_to_several_hosts_carries_the_reference_data(tmp_path: Path,
                                                            postgres_url: str) -> None:
    """``gateway ledger copy`` takes what the program learnt along with the files, so forms
    sent after the move are judged against the feed accepted before it."""
    config = tmp_path / "gateway.toml"
    config.write_text("", encoding="utf-8")
    local = tmp_path / "var" / "ledger.sqlite3"
    store, engine = open_store(local)
    store.apply([ReferenceWrite("f/feed", {"1": {"x": 1}, "2": {"x": 2}}, replace=True)],
                submission_id="s1", submitter="feed", received_at="2022-01-01T00:00:00Z")
    engine.dispose()
    run = subprocess.run([sys.executable, "-m", "gateway", "ledger", "copy", "--to",
                          postgres_url, "--config", str(config)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "2 reference_entries, 1 reference_datasets, 1 reference_applied" in run.stdout
    moved = reference_view(postgres_url)
    assert moved.get("f/feed", "2").value == {"x": 2}
    assert moved.info("f/feed").submission_id == "s1"


def test_a_check_reads_the_store_and_keeps_its_own_writes_in_memory(ledger: str | Path,
                                                                    plugins) -> None:
    """``gateway validate``'s view: the site's data underneath, earlier files' writes on top
    with the store's rules, and nothing written to the ledger."""
    from gateway.site.reference.overlay import Overlay

    store, engine = open_store(ledger)
    facts = {"submitter": "feed", "received_at": "2022-01-01T00:00:00Z"}
    store.apply([ReferenceWrite("f/a", {"1": {"x": 1}, "2": {"x": 2}}, replace=True),
                 ReferenceWrite("f/b", {"k": [1], "m": [0]})], submission_id="s1", **facts)
    engine.dispose()
    view = Overlay(reference_view(ledger))
    view.apply([ReferenceWrite("f/a", {"3": {"x": 3}}, replace=True),
                ReferenceWrite("f/b", {"k": [2], "j": None})], submission_id="s2", **facts)
    assert [e.key for e in view.entries("f/a")] == ["3"] and view.get("f/a", "1") is None
    assert {e.key: (e.value, e.submission_id) for e in view.entries("f/b")} == {
        "j": (None, "s2"), "k": ([2], "s2"), "m": ([0], "s1")}
    assert view.info("f/b").entries == 3 and view.info("f/b").submission_id == "s2"
    assert view.get_many("f/b", ["m", "k", "absent"]).keys() == {"m", "k"}
    site = reference_view(ledger)  # the ledger itself never saw s2
    assert [e.key for e in site.entries("f/a")] == ["1", "2"]
    assert site.info("f/b").submission_id == "s1" and site.get("f/b", "j") is None

    # a rejected file's writes are ignored; an accepted one's count for the next file
    receipt = validate_file(VALID, submitter="clinic-a", plugins=plugins, reference=view)
    assert view.remember(receipt) and not view.remember(
        validate_file(INVALID, submitter="clinic-a", plugins=plugins, reference=view))
    again = validate_file(VALID, submitter="clinic-a", plugins=plugins, reference=view)
    assert again.findings.by_code.get("W-TEST-SEEN") == 1
    assert reference_view(ledger).info(DATASET) is None
