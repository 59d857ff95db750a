"""Receipts of a varied set of files, to prove a change to the pipeline changes none of them.

``python -m bench.receipt_golden OUT`` makes the set (every example file the installed
families ship, valid and invalid, CSV, XLSX and XML; generated ODC patient files from 1 to 300
rows with no, some and many bad rows, as CSV and XLSX; and small files broken in the ways the
readers treat specially: blank and short rows, extra cells, an unclosed quote, a BOM, CRLF,
spaces, lower-case codes, US dates, huge numbers, a missing or unknown column, a header only;
a stroke workbook with a date-time at midnight under a date-time and a date format), validates
each as a daemon's worker does (``validate_file`` then the annotated copy), twice:
without a registry and with the tests' demo registry and the family's owner as the sender.
It writes one JSON line per run: the JSON receipt, the text receipt, the reference writes and
the annotated copy (its parts, the workbook's creation time left out), without what differs
between two runs of the same file (submission id, creation time, timings).

Run it on two versions of the code and compare: ``python -m bench.receipt_golden --compare
BEFORE AFTER`` names every file whose receipt differs and exits 1 if any does. The older version
runs from an export (``git archive``) put first on ``PYTHONPATH`` under the names the package
installs (``gateway``, ``gateway_plugins`` for ``plugins/``, ``gateway_schemas`` for
``schemas/``, ``gateway_opioid``, ``bench``, ``tests``: symbolic links will do), with this
script copied into its ``bench/``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_EXAMPLES = ("plugins/*/*/examples", "plugins/opioid/gateway_opioid/examples")
# The sender of an example file with a registry: the demo registry's owner of its facility.
_OWNERS = {"mncm": "demo-clinic", "cart": "cart-hospital", "nhsn": "nicu-hospital",
           "von": "nicu-hospital", "stroke": "stroke-hospital", "ahrq": "stroke-hospital",
           "edtc": "cah-hospital", "opioid": "dhs-feed"}
_VARYING = ("submission_id", "created_at")


def examples() -> list[Path]:
    """Every shipped example file of the families in this tree, in a stable order."""
    found = [p for pattern in _EXAMPLES for folder in ROOT.glob(pattern)
             for p in folder.rglob("*") if p.is_file() and p.suffix in (".csv", ".xlsx", ".xml")]
    return sorted(set(found))


def _write_xlsx(frame: Any, path: Path) -> None:
    """The frame as a workbook with a fixed creation time: the same bytes every run."""
    import datetime as dt

    import pandas as pd

    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        writer.book.set_properties({"created": dt.datetime(2016, 1, 15, 12, 0)})
        frame.to_excel(writer, index=False, sheet_name="data")


def generated(folder: Path) -> list[Path]:
    """ODC 2015 patient files made for this comparison: sizes around the routing sample (50
    rows), error shares, both table formats, and small files broken on purpose."""
    from bench.generate import patient_frame

    made: list[Path] = []
    for rows in (1, 10, 49, 50, 51, 120, 300):
        for share in (0.0, 0.05, 0.5):
            frame = patient_frame(rows, share, seed=rows)
            path = folder / f"odc-{rows}-{int(share * 100)}.csv"
            frame.to_csv(path, index=False)
            made.append(path)
            if rows in (10, 51, 300):
                made.append(folder / f"odc-{rows}-{int(share * 100)}.xlsx")
                _write_xlsx(frame, made[-1])
    base = patient_frame(10, 0.0, seed=3)
    text = base.to_csv(index=False)
    header, *lines = text.splitlines()
    variants = {
        "blank-lines": "\n".join([header, lines[0], "", lines[1], ",,,", *lines[2:]]) + "\n",
        "short-row": "\n".join([header, lines[0], ",".join(lines[1].split(",")[:5]),
                                *lines[2:]]) + "\n",
        "short-blank-row": "\n".join([header, lines[0], " , ", *lines[1:]]) + "\n",
        "extra-cells": "\n".join([header, lines[0] + ",x,y", *lines[1:]]) + "\n",
        "extra-cells-late": "\n".join([header, *lines[:8], lines[8] + ",x", lines[9]]) + "\n",
        "unclosed-quote": "\n".join([header, *lines[:5], '"' + lines[5], *lines[6:]]) + "\n",
        "bom-crlf": "\ufeff" + "\r\n".join([header, *lines]) + "\r\n",
        "spaces": "\n".join([header, *(" " + line.replace(",", " , ") + "\t"
                                       for line in lines)]) + "\n",
        "lower-codes": "\n".join([header, *(line.replace("PRIVATE", "private").replace(
            ",M,", ",m,") for line in lines)]) + "\n",
        "header-only": header + "\n",
        "no-newline": "\n".join([header, *lines]),
        "non-ascii": "\n".join([header, *(line.replace("MRN", "MRN\u00e9") for line in lines),
                                lines[0].replace("PRIVATE", "PRIV\u0130TE")]) + "\n",
    }
    frame_variants = {
        "huge-numbers": base.assign(age=["99999999999999999999", "12", "", "9007199254740993",
                                         "-0", "+5", "007", "1e3", "forty", "70"]),
        "number-forms": base.assign(a1c_value=["7.", ".5", "7.25", "12", "", "1e1", "0.1",
                                               "8.123456789012345678", "-0.0", "9"]),
        "us-dates": base.assign(a1c_date=["1/2/2014", "12/31/2014", "2014-02-29", "", "2/29/2016",
                                          "2014-13-01", "1/2/14", "0001-01-01", "9999-12-31",
                                          "2014-06-01"]),
        "missing-column": base.drop(columns=["tobacco_status"]),
        "unknown-column": base.assign(favourite_colour="blue"),
        "one-row-blanks": base.head(1).assign(exclusion_reason="", aspirin=""),
        "all-excluded": base.assign(excluded="Y", exclusion_reason="HOSPICE"),
        "quoted-cells": base.assign(patient_id=[f"P{i}\nX" if i == 3 else f"P,{i}"
                                                for i in range(10)]),
    }
    made.extend(_midnights(folder))
    for name, body in variants.items():
        path = folder / f"odc-{name}.csv"
        path.write_bytes(body.encode("utf-8"))
        made.append(path)
    for name, frame in frame_variants.items():
        path = folder / f"odc-{name}.csv"
        frame.to_csv(path, index=False)
        made.append(path)
        if name in ("huge-numbers", "us-dates", "missing-column"):
            made.append(folder / f"odc-{name}.xlsx")
            _write_xlsx(frame, made[-1])
    return made


def _midnights(folder: Path) -> list[Path]:
    """The stroke example workbook with a date-time at midnight in a date-time column, under
    a date-time and a date format (read by the cell's format once the route is known), saved
    with fixed times so its bytes are the same every run."""
    import datetime as dt

    import openpyxl

    example = ROOT / "plugins/hospital/stroke/examples/2015/STROKE/patient/valid/stroke-2015q1.xlsx"
    made = []
    for name, number_format in (("datetime", "yyyy-mm-dd h:mm:ss"), ("date", "yyyy-mm-dd")):
        book = openpyxl.load_workbook(example)
        book.active["J3"].value = dt.datetime(2015, 1, 18, 0, 0)
        book.active["J3"].number_format = number_format
        saved = io.BytesIO()
        book.save(saved)
        path = folder / f"stroke-midnight-{name}.xlsx"
        with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w") as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "docProps/core.xml":
                    data = re.sub(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", b"2016-01-15T12:00:00Z",
                                  data)
                target.writestr(zipfile.ZipInfo(item.filename, (2016, 1, 15, 12, 0, 0)), data,
                                zipfile.ZIP_DEFLATED)
        made.append(path)
    return made


def _annotation(receipt: Any) -> dict[str, Any] | None:
    """The annotated copy as comparable parts: a workbook's members by digest (its creation
    time, which xlsxwriter stamps, left out), a CSV's bytes by digest."""
    annotation = receipt.annotation
    if annotation is None:
        return None
    if not annotation.suffix.endswith(".xlsx"):
        return {"suffix": annotation.suffix,
                "sha256": hashlib.sha256(annotation.data).hexdigest()}
    with zipfile.ZipFile(io.BytesIO(annotation.data)) as book:
        parts = {name: hashlib.sha256(book.read(name)).hexdigest()
                 for name in sorted(book.namelist()) if name != "docProps/core.xml"}
    return {"suffix": annotation.suffix, "parts": parts}


def _runs(files: list[Path], registry: Any) -> Iterator[tuple[Path, str, bool]]:
    for path in files:
        yield path, "bench", False
        family = next((f for f in _OWNERS if f in path.parts or path.name.startswith(f)),
                      "mncm")
        if "odc-" in path.name:
            family = "mncm"
        yield path, _OWNERS[family], True


def dump(out: Path) -> int:
    """Write one line per run of the set into ``out``; the number of runs."""
    from gateway.engine.pipeline import default_plugins, validate_file
    from gateway.receipts.annotated import annotate
    from gateway.receipts.text import render_text
    from gateway.site.reference.store import open_store
    from gateway.submitters.registry_file import parse_registry
    from gateway.submitters.windows import SubmitterPolicy
    from tests.submitters.registries import DEMO

    plugins = default_plugins()
    registry = parse_registry(DEMO.encode(), "demo")
    count = 0
    with tempfile.TemporaryDirectory(prefix="gateway-golden-") as tmp, \
            out.open("w", encoding="utf-8") as lines:
        folder = Path(tmp)
        ledger = folder / "ledger.sqlite3"
        _, engine = open_store(ledger)
        engine.dispose()
        files = [*examples(), *generated(folder)]
        for number, (path, sender, registered) in enumerate(_runs(files, registry)):
            layer4: dict[str, Any] = {"ledger": ledger}
            if registered:
                layer4.update(registry=registry, policy=SubmitterPolicy())
            receipt = validate_file(
                path, submitter=sender, display_name=path.name,
                received_at="2016-01-15T12:00:00Z",
                submission_id=f"20160115T120000.{number:06d}Z-golden", **layer4)
            annotate(receipt, path)
            receipt.findings.give_hints(plugins.catalog, receipt.file.format)
            document = receipt.as_dict()
            for key in _VARYING:
                document.pop(key, None)
            name = str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name)
            lines.write(json.dumps({
                "file": name, "sender": sender, "registry": registered, "receipt": document,
                "text": render_text(receipt, plugins.catalog),
                "reference_writes": repr(receipt.reference_writes),
                "annotation": _annotation(receipt)}, sort_keys=True, default=str) + "\n")
            count += 1
    return count


def compare(before: Path, after: Path) -> int:
    """Print each run whose line differs; 0 when none does."""
    old = before.read_text(encoding="utf-8").splitlines()
    new = after.read_text(encoding="utf-8").splitlines()
    differ = 0
    if len(old) != len(new):
        print(f"{len(old)} runs before, {len(new)} after")
        differ += 1
    for a, b in zip(old, new, strict=False):
        if a != b:
            first, second = json.loads(a), json.loads(b)
            keys = [k for k in first if first[k] != second.get(k)]
            print(f"differs: {first['file']} (registry: {first['registry']}): {keys}")
            differ += 1
    print(f"{min(len(old), len(new))} runs compared, {differ} differ")
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--compare", action="store_true",
                        help="compare two dumps (BEFORE AFTER) instead of making one")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.paths[:2])
    print(f"{dump(args.paths[0])} runs written to {args.paths[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
