"""The plain-text receipt: what a hospital data abstractor reads top to bottom.

Status first, then what to do, then the findings grouped by code (each code's meaning and fix
once, then every place it occurs), then the computed results.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from gateway.catalog import Catalog
from gateway.findings import Finding
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


def _place(finding: Finding) -> str:
    if finding.xpath or finding.line:
        return f"line {finding.line}, {finding.xpath}" if finding.xpath else f"line {finding.line}"
    if finding.cell:
        return f"row {finding.row}, cell {finding.cell} ({finding.column})"
    if finding.row is not None:
        return f"row {finding.row}" + (f", column {finding.column}" if finding.column else "")
    if finding.column:
        return f"column {finding.column}"
    return "whole file"


def _format_number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def render_text(receipt: Receipt, catalog: Catalog | None = None) -> str:
    """Render the receipt; the catalog supplies each code's meaning and fix."""
    data = receipt.as_dict()
    out: list[str] = [_HEADLINE[receipt.status], ""]
    if receipt.status is Status.REJECTED and receipt.layer:
        out.append(f"Stopped at: {_LAYER_WORDS.get(receipt.layer, receipt.layer)}.")
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
    out.append(f"Records:    {_format_number(counts['records'])} read, "
               f"{_format_number(counts['records_rejected'])} with errors; "
               f"{_format_number(counts['errors'])} errors, "
               f"{_format_number(counts['warnings'])} warnings")
    out.append("")
    if receipt.findings.listed:
        out += _render_findings(receipt, catalog or Catalog())
    if data["results"]:
        out += ["RESULTS computed by the gateway", "", *_render_results(data["results"]), ""]
    return "\n".join(out).rstrip() + "\n"


def _render_findings(receipt: Receipt, catalog: Catalog) -> list[str]:
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for finding in receipt.findings.listed:
        grouped[finding.code].append(finding)
    out = ["PROBLEMS FOUND" if receipt.findings.errors else "WARNINGS", ""]
    if receipt.findings.truncated:
        out += [f"The first {len(receipt.findings.listed):,} of "
                f"{receipt.findings.total:,} findings are listed.", ""]
    for code, findings in grouped.items():
        total = receipt.findings.by_code[code]
        kind = "warning" if code.startswith("W-") else "error"
        out.append(f"{code} ({total:,} {kind}{'s' if total != 1 else ''})")
        entry = catalog.get(code)
        if entry:
            out.append(f"  What it means: {entry.meaning}")
        hint = entry.hint if entry else findings[0].hint
        if hint:
            out.append(f"  How to fix:    {hint}")
        for finding in findings:
            out.append(f"  - {_place(finding)}: {finding.message}")
            if finding.hint and finding.hint != hint:
                out.append(f"      fix: {finding.hint}")
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
    cells = [["", *columns]] + [[str(key), *("-" if row[c] is None else _format_number(row[c])
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
            out.append(f"{indent}{key}: {_format_number(value)}")
    return out
