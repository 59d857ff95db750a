"""The templates the gateway generates from the family's schemas, filled as a health system
would (with the shipped valid examples' rows), are accepted once the feed is in."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from gateway_opioid.program import FORMS

from gateway.authoring.layouts import find_layout
from gateway.authoring.template import write_template
from gateway.engine.pipeline import default_plugins
from gateway.receipts.model import Status

EXAMPLES = Path(__file__).resolve().parents[1] / "gateway_opioid" / "examples" / "2022"
ORDER = ("opip-self-assessment", "opip-qi-plan", "opip-qi-evaluation", "opip-exemption")


def example_rows(kind: str) -> list[dict[str, object]]:
    folder = EXAMPLES / kind / "prescriber" / "valid"
    for path in sorted(folder.iterdir()):
        if path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                return list(csv.DictReader(handle))
        sheet = openpyxl.load_workbook(path).active
        header = [c.value for c in sheet[1]]
        return [dict(zip(header, row, strict=True))
                for row in sheet.iter_rows(min_row=2, values_only=True)]
    raise AssertionError(f"no valid example of {kind}")


def fill(path: Path, rows: list[dict[str, object]]) -> None:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle))
        with path.open("a", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([row.get(n, "") for n in header] for row in rows)
        return
    book = openpyxl.load_workbook(path)
    sheet = book["data"]
    header = [c.value for c in sheet[1]]
    for row in rows:
        sheet.append([row.get(n) for n in header])
    book.save(path)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_filled_templates_are_accepted_in_order(tmp_path: Path, submit, fmt: str) -> None:
    assert set(ORDER) == set(FORMS)
    feed = EXAMPLES / "opip-prescribing" / "prescriber" / "valid" / "opip-prescribing-2021.csv"
    assert submit(feed, "dhs-opioid-feed").status is Status.ACCEPTED
    plugins = default_plugins()
    for kind in ORDER:
        layout = find_layout(plugins, kind, year=2022)
        path = write_template(layout, fmt, tmp_path / f"{layout.slug}.{fmt}", plugins)
        fill(path, example_rows(kind))
        receipt = submit(path, "example")
        assert receipt.status is not Status.REJECTED, (kind, receipt.findings.by_code)
        assert receipt.route.measure == kind
