"""The plain-text receipt: what a hospital data abstractor reads top to bottom.

Status first, then what did not run and the annotated copy's name, then the root problems
grouped by code (each code's meaning once; each problem once with its record, place and fix,
the problems that follow from it indented under it), then the computed results.
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


_LAYER_CHECKS = {
    "file": "the file checks (format, header, layout)",
    "record": "the record checks",
    "file_rules": "the checks across records (totals, strata, duplicates, periods)",
    "submitter": "the submitter checks (registry, applicability, deadline)",
}


def record_words(record: dict[str, Any] | None) -> str:
    """A record as the abstractor knows it: ``patient MRN01001``, ``measure AMI-7a``,
    ``ODC component A1C, age_band 25-34``, ``prescriber 1234567893, measure M2``."""
    if not record:
        return ""
    if "patient_id" in record:
        return f"patient {record['patient_id']}"
    if "prescriber_npi" in record:
        measure = f", measure {record['measure']}" if record.get("measure") else ""
        return f"prescriber {record['prescriber_npi']}{measure}"
    if "component" in record:
        stratum = record.get("stratum")
        where = (", ".join(f"{k} {v}" for k, v in stratum.items()) if stratum
                 else "total row")
        return f"{record.get('measure', '')} component {record['component']}, {where}".strip()
    parts = [f"measure {record['measure']}"] if "measure" in record else []
    parts += [f"{k} {v}" for k, v in record.items() if k != "measure"]
    return ", ".join(parts)


def annotated_name(receipt: Receipt) -> str | None:
    """The file name of the receipt's annotated copy, when one was made."""
    if receipt.annotation is None:
        return None
    return f"{receipt.submission_id}.{receipt.file.name}{receipt.annotation.suffix}"


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
    copy = annotated_name(receipt)
    if copy:
        shows = ("lists every problem" if copy.endswith(".csv")
                 else "marks every problem at its cell")
        out.append(f"Annotated copy: {copy} (beside this receipt) {shows}.")
    out.append("")
    not_run = _not_run(data["not_checked"], receipt.status is Status.REJECTED
                       and not receipt.duplicate_of)
    if not_run:
        out += [not_run, ""]
    if receipt.findings.listed:
        out += _render_findings(receipt, catalog or Catalog())
    if data["results"]:
        out += ["RESULTS computed by the gateway", "", *_render_results(data["results"]), ""]
    return "\n".join(out).rstrip() + "\n"


def _not_run(not_checked: list[dict[str, str]], rejected: bool) -> str:
    """One plain sentence per reason: which checks did not run, and why."""
    by_reason: dict[str, list[str]] = {}
    for item in not_checked:
        by_reason.setdefault(item["reason"], []).append(
            _LAYER_CHECKS.get(item["layer"], item["layer"]))
    sentences = []
    for reason, layers in by_reason.items():
        named = layers[0] if len(layers) == 1 else ", ".join(layers[:-1]) + " and " + layers[-1]
        sentences.append(f"Not checked: {named} did not run: {reason}.")
    if sentences and rejected:
        sentences.append("Fixing the problems shown may reveal others.")
    return "\n".join(sentences)


def _where(finding: Finding, group: list[Finding]) -> str:
    place = _group_place(group)
    record = record_words(finding.record) if len(group) == 1 else ""
    return f"{record}, {place}" if record else place


def _render_findings(receipt: Receipt, catalog: Catalog) -> list[str]:
    """Root problems by code (each code's meaning once in the receipt), each distinct problem
    once with its record, place and fix; the problems that follow from it indented under it.
    The JSON receipt keeps each finding on its own."""
    listed = receipt.findings.listed
    follows: dict[int, list[Finding]] = defaultdict(list)
    roots: list[tuple[int, Finding]] = []
    for index, finding in enumerate(listed):
        root = finding.caused_by
        if root is not None and 0 <= root < len(listed) and root != index:
            follows[root].append(finding)
        else:
            roots.append((index, finding))
    by_code: dict[str, list[tuple[int, Finding]]] = defaultdict(list)
    for index, finding in roots:
        by_code[finding.code].append((index, finding))
    out = ["PROBLEMS FOUND" if receipt.findings.errors else "WARNINGS", ""]
    if receipt.findings.truncated:
        out += [f"The first {len(listed):,} of {receipt.findings.total:,} findings are "
                "listed.", ""]
    explained: set[str] = set()
    for code, members in by_code.items():
        total = receipt.findings.by_code[code]
        kind = "warning" if code.startswith("W-") else "error"
        entry = catalog.get(code)
        meaning = f": {entry.meaning}" if entry else ""
        explained.add(code)
        out.append(f"{code} ({plural(total, kind)}){meaning}")
        indexes = {id(f): i for i, f in members}
        for group in _groups([f for _, f in members]):
            first = group[0]
            out.append(f"  - {_where(first, group)}: {first.message}")
            if first.hint:
                out.append(f"    Fix: {first.hint}")
            shown: set[tuple[str, str]] = set()
            for member in group:
                for consequence in follows.get(indexes[id(member)], []):
                    key = (consequence.code, consequence.message)
                    if key in shown:
                        continue
                    shown.add(key)
                    out.append(f"      which also breaks {consequence.code} at "
                               f"{_place(consequence)}: {consequence.message}")
        out.append("")
    told_under = sorted({f.code for group in follows.values() for f in group} - explained)
    if told_under:
        out.append("Codes told under another problem:")
        for code in told_under:
            entry = catalog.get(code)
            out.append(f"  {code}: {entry.meaning if entry else ''}".rstrip(": "))
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
