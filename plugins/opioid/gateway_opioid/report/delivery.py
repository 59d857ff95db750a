"""Per health system: ``opip-<MY>.csv`` of its own prescribers' figures and ``opip-<MY>.zip``
of their PDFs, delivered into that health system's ``reports/`` folder only."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

from gateway.contract import Site
from gateway_opioid.report.data import PrescriberReport
from gateway_opioid.stats import percent

CSV_COLUMNS = ("measurement_year", "prescriber_npi", "prescriber_name", "specialty_group",
               "measure", "numerator", "denominator", "rate_percent",
               "specialty_average_percent", "qi_threshold_percent", "qi_required",
               "qi_status")
# Text a spreadsheet would take for a formula (OWASP CSV injection): names come from the feed.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """A cell that a spreadsheet shows as text, never evaluates."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_bytes(year: int, reports: Iterable[PrescriberReport]) -> bytes:
    """One row per prescriber and measure, rates in percent rounded half up to 0.1. A group
    with fewer prescribers at the minimum denominator than a threshold needs stays private:
    its average is left empty, as on the page (the program's own receipt keeps it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for report in reports:
        for line in report.lines:
            writer.writerow([
                year, report.npi, inert(report.name), report.specialty, line.measure.id,
                "" if line.numerator is None else line.numerator,
                "" if line.denominator is None else line.denominator,
                _number(line.rate_percent), _number(percent(line.shown_average)),
                _number(percent(line.shown_threshold)),
                "Y" if line.required else "N", report.status_words])
    return out.getvalue().encode("utf-8")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def zip_bytes(pdfs: Iterable[Path]) -> bytes:
    """The PDFs (already compressed) stored in one ZIP, each under its own name."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in pdfs:
            archive.write(path, arcname=path.name)
    return out.getvalue()


def deliver(site: Site, system: str, year: int, reports: list[PrescriberReport], out: Path
            ) -> list[Path]:
    """Write the health system's CSV and ZIP into its ``reports/`` folder."""
    mine = [r for r in reports if r.health_system == system]
    return [site.deliver(system, f"opip-{year}.csv", csv_bytes(year, mine)),
            site.deliver(system, f"opip-{year}.zip",
                         zip_bytes(out / f"{r.npi}.pdf" for r in mine))]
