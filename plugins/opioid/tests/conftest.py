"""Fixtures of the opip plugin's tests: feeds, a ledger with accepted data, PDF tools."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.opioid_feed import feed_rows, write_feed
from gateway.engine.pipeline import validate_file
from gateway.receipts.model import Receipt, Status
from gateway.site.reference.store import remember
from tests.support.system import require_command

HEALTH_SYSTEMS = ("north-clinic", "lake-hospital", "river-health")


@pytest.fixture(scope="session")
def poppler() -> dict[str, str]:
    """pdfinfo, pdftotext, pdftoppm and pdffonts from poppler-utils (installed when missing)."""
    return {command: require_command(command, "poppler-utils")
            for command in ("pdfinfo", "pdftotext", "pdftoppm", "pdffonts")}


@pytest.fixture
def submit(tmp_path: Path) -> Callable[..., Receipt]:
    """Validate a file as the daemon would, remembering what an accepted one adds."""
    ledger = tmp_path / "var" / "ledger.sqlite3"

    def run(path: Path, submitter: str, **kwargs: object) -> Receipt:
        receipt = validate_file(path, submitter=submitter, ledger=ledger, **kwargs)
        if receipt.status is not Status.REJECTED:
            remember(ledger, receipt)
        return receipt
    return run


@pytest.fixture
def feed(tmp_path: Path) -> Callable[..., Path]:
    def make(prescribers: int = 300, name: str = "feed.csv", **kwargs: object) -> Path:
        return write_feed(tmp_path / name, feed_rows(prescribers, HEALTH_SYSTEMS, **kwargs))
    return make
