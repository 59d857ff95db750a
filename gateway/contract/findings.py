"""Findings: one problem (or warning) in a submitted file, located where a person can find it.

A finding names the row and spreadsheet cell (tables) or the element path and line (XML), the
value, what is wrong and how to fix it. Values are patient data: a finding may carry them only
into the submitter's own receipt, never into a log line (see ``Finding.loggable``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from gateway.contract.catalog import Catalog, Severity

MAX_LISTED_FINDINGS = 1000
FALLBACK_HINT = ("Correct what the message describes and upload the whole file again; the "
                 "program's help desk can explain this check.")


def column_letter(index: int) -> str:
    """Spreadsheet letters for a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True, slots=True)
class Finding:
    """A located problem. ``severity`` follows the code's first letter (E error, W warning)."""

    code: str
    message: str
    hint: str | None = None
    row: int | None = None
    column: str | None = None
    cell: str | None = None
    value: Any = None
    xpath: str | None = None
    line: int | None = None
    # second edition (specs README section 4): the record by its own key, the value the
    # gateway believes was meant (shown, never applied), the index of the root finding in the
    # receipt's list when this one only follows from it
    record: dict[str, Any] | None = None
    suggestion: str | None = None
    caused_by: int | None = None

    def about(self, record: dict[str, Any] | None) -> Finding:
        """This finding about ``record`` (a direct copy: ``dataclasses.replace`` costs more
        than the finding itself when a bad file has a hundred thousand of them)."""
        return Finding(self.code, self.message, self.hint, self.row, self.column, self.cell,
                       self.value, self.xpath, self.line, record, self.suggestion,
                       self.caused_by)

    def suggesting(self, suggestion: str | None) -> Finding:
        """This finding with ``suggestion`` (a direct copy, as ``about``)."""
        return Finding(self.code, self.message, self.hint, self.row, self.column, self.cell,
                       self.value, self.xpath, self.line, self.record, suggestion,
                       self.caused_by)

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self.code.startswith("W-") else Severity.ERROR

    def as_dict(self, format: str | None = None) -> dict[str, Any]:
        """The receipt form: table findings carry row/column/cell (and the line of a text
        file's problem when known), XML findings xpath/line/column; every key is present, null
        for a finding about the whole file. ``format`` is the file's (``xml`` decides the
        keys even for a finding that has no place)."""
        out: dict[str, Any] = {"code": self.code, "severity": self.severity.value,
                               "message": self.message, "hint": self.hint}
        if format == "xml" or (format is None and (
                self.xpath is not None or (self.line is not None and self.row is None))):
            out.update(xpath=self.xpath, line=self.line, column=self.column)
        else:
            out.update(row=self.row, column=self.column, cell=self.cell)
            if self.line is not None:
                out["line"] = self.line
        out["value"] = _jsonable(self.value)
        out.update(record=self.record, suggestion=self.suggestion, caused_by=self.caused_by)
        return out

    def loggable(self) -> dict[str, Any]:
        """What may reach a log line: code and location, never the value or the message text
        (messages quote values)."""
        return {"code": self.code, "row": self.row, "column": self.column, "line": self.line}


def _jsonable(value: Any) -> Any:
    """A value as the submitter wrote it, near enough: rules often echo the typed value, and a
    workbook's ``30`` or a date without a time must not come back as ``30.0`` or
    ``2015-04-01T00:00:00``."""
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, datetime):  # pandas' Timestamp too
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass
class FindingList:
    """Collects findings up to a cap while counting every one, so a receipt can say
    "1,000 of 52,118 listed" instead of silently dropping the rest."""

    cap: int = MAX_LISTED_FINDINGS
    listed: list[Finding] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    by_code: Counter[str] = field(default_factory=Counter)

    def add(self, finding: Finding) -> None:
        if finding.severity is Severity.WARNING:
            self.warnings += 1
        else:
            self.errors += 1
        self.by_code[finding.code] += 1
        if len(self.listed) < self.cap:
            self.listed.append(finding)

    def extend(self, findings: Any) -> None:
        for finding in findings:
            self.add(finding)

    def merge(self, other: FindingList) -> None:
        """Add another list's findings and counts (those it did not list are counted only)."""
        self.errors += other.errors
        self.warnings += other.warnings
        self.by_code.update(other.by_code)
        self.listed.extend(other.listed[:max(self.cap - len(self.listed), 0)])

    def give_hints(self, catalog: Catalog, format: str | None) -> None:
        """Every listed finding with a fix: its own, else its code's (as worded for the
        file's ``format``), else a general one for a code the catalog lacks."""
        self.listed = [finding if (finding.hint or "").strip() else dataclasses.replace(
            finding, hint=entry.hint_for(format) if (entry := catalog.get(finding.code))
            else FALLBACK_HINT) for finding in self.listed]

    @property
    def total(self) -> int:
        return self.errors + self.warnings

    @property
    def truncated(self) -> bool:
        return self.total > len(self.listed)
