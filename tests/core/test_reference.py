"""The reference-data service: a family remembers what accepted files say and reads it back
when it judges later files; rejected files leave nothing behind."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from gateway.contract import FileRule, RecordBatch, Route, RuleContext
from gateway.findings import Finding
from gateway.hookspecs import hookimpl
from gateway.pipeline import validate_file
from gateway.plugin_manager import load_plugins
from gateway.receipts.model import Status
from gateway.reference import (
    ReferenceCollector,
    ReferenceStore,
    ReferenceWrite,
    reference_view,
    remember,
)
from tests.conftest import ODC

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


def test_accepted_file_is_remembered_and_read_back(tmp_path: Path, plugins) -> None:
    state = tmp_path / "var"
    first = validate_file(VALID, submitter="clinic-a", plugins=plugins, state=state)
    assert first.status is not Status.REJECTED
    assert first.reference_writes and "reference_writes" not in first.as_dict()
    assert "W-TEST-SEEN" not in first.findings.by_code  # nothing remembered yet
    assert remember(state, first)
    assert not remember(state, first)  # applying the same submission twice changes nothing
    info = reference_view(state).info(DATASET)
    assert info is not None and info.submission_id == first.submission_id
    second = validate_file(VALID, submitter="clinic-a", plugins=plugins, state=state)
    assert second.findings.by_code.get("W-TEST-SEEN") == 1


def test_rejected_file_leaves_nothing(tmp_path: Path, plugins) -> None:
    state = tmp_path / "var"
    receipt = validate_file(INVALID, submitter="clinic-a", plugins=plugins, state=state)
    assert receipt.status is Status.REJECTED
    assert receipt.reference_writes == []
    assert not remember(state, receipt)
    assert reference_view(state).info(DATASET) is None


def test_replace_and_upsert(tmp_path: Path) -> None:
    store = ReferenceStore(tmp_path)
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
    store.close()


def test_no_state_folder_means_nothing_remembered(tmp_path: Path) -> None:
    view = reference_view(tmp_path / "never-used")
    assert view.info("x") is None and view.get_many("x", ["a"]) == {}
    assert list(view.entries("x")) == []
