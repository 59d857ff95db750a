"""A submission's receipt files and original, found from its ledger row and kept inside the
site: a path that would lead outside the submitter's ``receipts/`` folder (or, for originals,
the archive and quarantine) is treated as absent, never read."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from gateway.web.site import Site, Submission

ANNOTATED_SUFFIXES = (".annotated.xlsx", ".findings.csv")


def _inside(path: Path, folder: Path) -> Path | None:
    try:
        resolved = path.resolve(strict=True)
    except OSError:
        return None
    return resolved if resolved.is_relative_to(folder.resolve()) and resolved.is_file() \
        else None


def receipt_json_path(site: Site, row: Submission) -> Path | None:
    if not row.receipt_path:
        return None
    return _inside(Path(row.receipt_path), site.config.inbox / row.submitter / "receipts")


def receipt_text_path(site: Site, row: Submission) -> Path | None:
    json_path = receipt_json_path(site, row)
    if json_path is None or not json_path.name.endswith(".receipt.json"):
        return None
    text = json_path.with_name(json_path.name[: -len(".receipt.json")] + ".receipt.txt")
    return _inside(text, site.config.inbox / row.submitter / "receipts")


def annotated_path(site: Site, row: Submission) -> Path | None:
    json_path = receipt_json_path(site, row)
    if json_path is None:
        return None
    stem = json_path.name[: -len(".receipt.json")]
    for suffix in ANNOTATED_SUFFIXES:
        found = _inside(json_path.with_name(stem + suffix),
                        site.config.inbox / row.submitter / "receipts")
        if found is not None:
            return found
    return None


def original_path(site: Site, row: Submission) -> Path | None:
    if not row.stored_path:
        return None
    for folder in (site.config.archive, site.config.quarantine):
        found = _inside(Path(row.stored_path), folder)
        if found is not None:
            return found
    return None


def read_receipt(site: Site, row: Submission) -> dict[str, Any] | None:
    path = receipt_json_path(site, row)
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


RESULTS_HEADING = "RESULTS computed by the gateway"


def results_text(text: str | None) -> str | None:
    """The results part of a text receipt (rates and counts the gateway computed), as the
    receipt spells them out; None when it has none."""
    if not text or RESULTS_HEADING not in text:
        return None
    return text.split(RESULTS_HEADING, 1)[1].strip("\n") or None


def read_text_receipt(site: Site, row: Submission) -> str | None:
    path = receipt_text_path(site, row)
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def grouped_findings(receipt: dict[str, Any]) -> list[dict[str, Any]]:
    """Findings by code, each code's meaning and fix once (from the catalog), the way the text
    receipt reads; the places of one problem listed together."""
    from gateway.engine.pipeline import default_plugins

    catalog = default_plugins().catalog
    fmt = (receipt.get("file") or {}).get("format")
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in receipt.get("findings") or []:
        by_code[str(finding.get("code"))].append(finding)
    totals = receipt.get("findings_by_code") or {}
    groups = []
    for code, findings in by_code.items():
        entry = catalog.get(code)
        groups.append({
            "code": code, "severity": findings[0].get("severity", "error"),
            "total": totals.get(code, len(findings)),
            "meaning": entry.meaning if entry else "",
            "fix": (entry.hint_for(fmt) if entry else "") or findings[0].get("hint") or "",
            "findings": findings})
    return groups
