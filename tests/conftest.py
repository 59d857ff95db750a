"""Shared fixtures: paths of the shipped examples and small file builders."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ODC = ROOT / "plugins" / "clinic" / "mncm" / "examples" / "2015" / "odc"


def declared_years(family: str, measure: str) -> tuple[int, ...]:
    """The reporting years the installed plugins declare for a measure (the registry of
    years a test asks instead of naming one)."""
    from gateway.pipeline import default_plugins

    info = default_plugins().measure(family, measure)
    assert info is not None, f"no installed measure {family} {measure}"
    return info.reporting_years


def undeclared_year(family: str, measure: str) -> int:
    """A reporting year the measure does not have: the one after its latest, so adding a year
    to a family never turns a test's "unknown year" into a known one."""
    return max(declared_years(family, measure)) + 1


def shipped(pattern: str) -> list[Path]:
    """Files under ``plugins/`` matching ``pattern``, in the source tree only: a pip build
    leaves copies under ``build/`` (git-ignored) that would be collected twice."""
    return sorted(p for p in (ROOT / "plugins").glob(pattern)
                  if p.is_file() and "build" not in p.relative_to(ROOT).parts)


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
