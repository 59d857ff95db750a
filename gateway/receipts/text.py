"""The plain-text receipt: what a hospital data abstractor reads top to bottom.

Status first, then what to do, then the findings grouped by code (each code's meaning and fix
once, then every place it occurs), then the computed results.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from gateway.contract.catalog import Catalog
from gateway.contract.findings import Finding
from gateway.receipts.model import Receipt, Status

_HEADLINE = {
    Status.ACCEPTED: "ACCEPTED - the file passed every check.",
    Status.ACCEPTED_WITH_WARNINGS: "ACCEPTED WITH WARNINGS - the file is accepted; please "
                                   "review the warnings below.",
    Status.REJECTED: "REJECTED - the file was not accepted. Correct the problems below and "
                     "upload the whole file again.",
}
_LAYER_WORDS = {
    "file": "the file itself (format, encoding, header or layout)",
    "record": "individual rows or records",
    "file_rules": "rules across rows (totals, duplicates, periods)",
    "submitter": "who may submit it (registry, applicability, deadline)",
}


_MAX_RANGES = 20  # row ranges shown for one grouped finding before "and N more"


def _place(finding: Finding) -> str:
    if finding.xpath or (finding.line and finding.row is None):
        return f"line {finding.line}, {finding.xpath}" if finding.xpath else f"line {finding.line}"
    line = f" (line {finding.line})" if finding.line else ""
    if finding.cell:
        column = f" ({finding.column})" if finding.column else ""
        return f"row {finding.row}, cell {finding.cell}{column}{line}"
    if finding.row is not None:
        return f"row {finding.row}" + (f", column {finding.column}" if finding.column else "") \
            + line
    if finding.column:
        return f"column {finding.column}"
    return "whole file"


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 error``, ``2 errors``, ``1,000 rows``."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def number_ranges(numbers: list[int], limit: int = _MAX_RANGES) -> str:
    """``2-81, 90, 95-96``: sorted numbers as ranges, the first ``limit`` ranges shown."""
    ranges: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], n)
        else:
            ranges.append((n, n))
    shown = ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in ranges[:limit])
    rest = sum(b - a + 1 for a, b in ranges[limit:])
    return shown + (f" and {rest:,} more" if rest else "")


def _group_place(group: list[Finding]) -> str:
    """Where a group of findings that differ only in their row (or XML line) are."""
    first = group[0]
    if len(group) == 1:
        return _place(first)
    if first.xpath or (first.line and first.row is None):
        return f"lines {number_ranges([f.line for f in group if f.line is not None])}"
    rows = sorted({f.row for f in group if f.row is not None})
    column = f", column {first.column}" if first.column else ""
    letter = "".join(ch for ch in (first.cell or "") if ch.isalpha())
    if letter and rows and rows[-1] - rows[0] == len(rows) - 1:
        column += f" (cells {letter}{rows[0]}-{letter}{rows[-1]})"
    elif letter:
        column += f" (column {letter})"
    return f"rows {number_ranges(rows)}{column}"


def _groups(findings: list[Finding]) -> list[list[Finding]]:
    """Findings that say the same thing about the same column, in order of first appearance."""
    grouped: dict[tuple[Any, ...], list[Finding]] = {}
    for finding in findings:
        key = (finding.column, finding.message, finding.hint, repr(finding.value),
               finding.xpath if finding.row is None and finding.line is None else None)
        grouped.setdefault(key, []).append(finding)
    return list(grouped.values())


def _format_number(value: Any, key: str = "") -> str:
    """Counts with thousands separators; a year (``measurement_year``, ``reporting_year``)
    never, since ``2,021`` is not how anyone writes one."""
    if isinstance(value, int) and not isinstance(value, bool) and not key.endswith("year"):
        return f"{value:,}"
    return str(value)


def render_text(receipt: Receipt, catalog: Catalog | None = None) -> str:
    """Render the receipt; the catalog supplies each code's meaning and fix."""
    data = receipt.as_dict()
    out: list[str] = [_HEADLINE[receipt.status], ""]
    if receipt.status is Status.REJECTED and receipt.layer:
        # the layer's name as the JSON gives it, so a help desk and a portal speak alike
        out.append(f"Stopped at layer {receipt.layer}: "
                   f"{_LAYER_WORDS.get(receipt.layer, receipt.layer)}.")
    if receipt.duplicate_of:
        out.append(f"This file is identical to submission {receipt.duplicate_of}; it was not "
                   "validated again and that submission's outcome stands.")
    file = receipt.file
    out += [
        f"Submission: {receipt.submission_id}",
        f"Submitter:  {receipt.submitter}",
        f"File:       {file.name} ({_format_number(file.bytes)} bytes, {file.format or 'unknown'}"
        f" format), received {file.received_at}",
    ]
    if receipt.route:
        r = receipt.route
        out.append(f"Measure:    {r.measure} ({r.family}), {r.level} level, "
                   f"reporting year {r.reporting_year}")
    for owed in receipt.obligations:  # what the file answers, and against which deadline
        subject = f" ({owed['subject']})" if owed.get("subject") else ""
        out.append(f"Obligation: {owed['measure']} {owed['period']}{subject}, due "
                   f"{owed['due']} (received {str(owed['timing']).replace('_', ' ')})")
    if receipt.replaces:
        out.append(f"Replaces:   receipt of submission {receipt.replaces}")
    counts = data["counts"]
    rejected = (f", {counts['records_rejected']:,} with errors"
                if counts["records_rejected"] else "")
    out.append(f"Records:    {plural(counts['records'], 'record')} read{rejected}; "
               f"{plural(counts['errors'], 'error')}, {plural(counts['warnings'], 'warning')}")
    out.append("")
    if receipt.findings.listed:
        out += _render_findings(receipt, catalog or Catalog())
    if data["results"]:
        out += ["RESULTS computed by the gateway", "", *_render_results(data["results"]), ""]
    return "\n".join(out).rstrip() + "\n"


def _render_findings(receipt: Receipt, catalog: Catalog) -> list[str]:
    """Findings by code (meaning and general fix once), then each distinct problem once with
    every row it occurs on; the JSON receipt keeps each finding on its own."""
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for finding in receipt.findings.listed:
        by_code[finding.code].append(finding)
    out = ["PROBLEMS FOUND" if receipt.findings.errors else "WARNINGS", ""]
    if receipt.findings.truncated:
        out += [f"The first {len(receipt.findings.listed):,} of "
                f"{receipt.findings.total:,} findings are listed.", ""]
    for code, findings in by_code.items():
        total = receipt.findings.by_code[code]
        kind = "warning" if code.startswith("W-") else "error"
        out.append(f"{code} ({plural(total, kind)})")
        entry = catalog.get(code)
        if entry:
            out.append(f"  What it means: {entry.meaning}")
        hint = entry.hint_for(receipt.file.format) if entry else findings[0].hint
        if hint:
            out.append(f"  How to fix:    {hint}")
        for group in _groups(findings):
            first = group[0]
            out.append(f"  - {_group_place(group)}: {first.message}")
            if first.hint and first.hint != hint:
                out.append(f"      fix: {first.hint}")
        out.append("")
    return out


def _is_table(value: Any) -> bool:
    """A dict of dicts with the same plain keys (figures per component) reads best as a table."""
    if not isinstance(value, dict) or not value:
        return False
    rows = list(value.values())
    return all(isinstance(r, dict) and list(r) == list(rows[0]) for r in rows) and all(
        not isinstance(v, dict | list) for r in rows for v in r.values())


def _render_table(table: dict[str, dict[str, Any]], indent: str) -> list[str]:
    columns = list(next(iter(table.values())))
    cells = [["", *columns]] + [[str(key), *("-" if row[c] is None else _format_number(row[c], c)
                                              for c in columns)] for key, row in table.items()]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    return [indent + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
            for r in cells]


def _render_results(results: dict[str, Any], indent: str = "  ") -> list[str]:
    out: list[str] = []
    for key, value in results.items():
        if _is_table(value):
            out.append(f"{indent}{key}:")
            out += _render_table(value, indent + "  ")
        elif isinstance(value, dict):
            out.append(f"{indent}{key}:")
            out += _render_results(value, indent + "  ")
        else:
            out.append(f"{indent}{key}: {_format_number(value, key)}")
    return out
