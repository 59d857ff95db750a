"""Fixtures every test folder shares: the shipped examples' rows, small file builders and a
real daemon (``make_gateway``); helpers that are imported live in ``tests/support/``."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.support.daemon import make_gateway  # noqa: F401 - fixtures for every folder
from tests.support.paths import ODC
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401


@pytest.fixture
def odc_patient_rows() -> tuple[list[str], list[dict[str, str]]]:
    with (ODC / "patient" / "valid" / "odc-patient-full.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture
def write_csv(tmp_path: Path):
    """Write rows as CSV (optionally with a prefix such as a BOM) and return the path."""
    def write(name: str, header: list[str], rows: list[dict[str, str]], *,
              prefix: bytes = b"", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        lines = [",".join(header)] + [",".join(r.get(c, "") for c in header) for r in rows]
        path.write_bytes(prefix + ("\r\n".join(lines) + "\r\n").encode(encoding))
        return path
    return write
