"""XML cost does not depend on the element count: the CART reader's time per element and peak
RSS for 1 million and 10 million elements, and how fast a hostile file of 10 million elements
is refused by the whole pipeline under the default limits; last, the other unbounded case of the
same kind, one CSV line of 200 MB.

Run: ``.venv/bin/python bench/xml_memory.py``. Each case runs in a fresh child process (peak RSS
is a high-water mark, so cases must not share a process). The reader clears each element after
use and drops processed siblings, so both sizes should read at the same rate and peak within a
few MB of each other; a reader that kept the tree would grow about tenfold between them.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ELEMENTS = (1_000_000, 10_000_000)
HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<hospital-measures xmlns="urn:mn-sqrms:cart:1">\n'
          "  <provider-id>240001</provider-id>\n  <reporting-year>2015</reporting-year>\n"
          "  <discharge-quarter>2015Q1</discharge-quarter>\n")
# four elements: <measure> and its three fields
MEASURE = ('  <measure id="IMM-2"><denominator>210</denominator><numerator>189</numerator>'
           '<rate>90.0</rate></measure>\n')
EMPTY_MEASURE = "<measure/>\n"  # the hostile shape: one element, 11 bytes


def write_file(path: Path, element: str, count: int) -> Path:
    """A CART-shaped file with ``count`` copies of ``element``, written in large blocks."""
    block = element * 10_000
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for _ in range(count // 10_000):
            out.write(block)
        out.write(element * (count % 10_000))
        out.write("</hospital-measures>\n")
    return path


def write_long_line(path: Path, megabytes: int) -> Path:
    """A CSV file whose second line is one cell of ``megabytes`` MiB."""
    block = "x" * (1024 * 1024)
    with path.open("w", encoding="utf-8") as out:
        out.write("a,b,c\n1,")
        for _ in range(megabytes):
            out.write(block)
        out.write(",3\n")
    return path


def read_all(path: Path) -> dict[str, object]:
    """Child process: the CART reader alone, every record batch, with the element cap lifted."""
    from gateway_plugins.hospital.cart.reader import read_cart

    from gateway.readers.limits import Limits

    started = time.perf_counter()
    records = sum(len(batch) for batch in read_cart(path, Limits(max_xml_elements=10**9)))
    return {"records": records, "seconds": time.perf_counter() - started}


def refuse(path: Path) -> dict[str, object]:
    """Child process: the whole pipeline under the default limits."""
    from gateway.engine.pipeline import validate_file

    started = time.perf_counter()
    receipt = validate_file(path, submitter="bench").as_dict()
    codes = sorted({finding["code"] for finding in receipt["findings"]})
    return {"status": receipt["status"], "codes": codes,
            "seconds": time.perf_counter() - started}


def child(case: str, path: Path) -> None:
    result = read_all(path) if case == "read" else refuse(path)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(case: str, path: Path) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, "--child", case, str(path)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'case':<34} {'MB on disk':>10} {'seconds':>8} {'elements/s':>11} "
              f"{'peak RSS MB':>12}  outcome")
        for count in ELEMENTS:
            path = write_file(Path(folder) / "cart.xml", MEASURE, count // 4)
            result = run_child("read", path)
            seconds = float(result["seconds"])  # type: ignore[arg-type]
            print(f"{f'read {count:,} elements':<34} {path.stat().st_size / 1e6:>10.1f} "
                  f"{seconds:>8.2f} {count / seconds:>11,.0f} {result['peak_mb']:>12.1f}  "
                  f"{result['records']:,} records")
            path.unlink()
        count = ELEMENTS[-1]
        hostile = [(f"validate {count:,} <measure/>",
                    write_file(Path(folder) / "hostile.xml", EMPTY_MEASURE, count)),
                   ("validate a 200 MB CSV line", write_long_line(Path(folder) / "line.csv", 200))]
        for label, path in hostile:
            result = run_child("refuse", path)
            print(f"{label:<34} {path.stat().st_size / 1e6:>10.1f} "
                  f"{float(result['seconds']):>8.2f} {'':>11} "  # type: ignore[arg-type]
                  f"{result['peak_mb']:>12.1f}  {result['status']} {' '.join(result['codes'])}")  # type: ignore[arg-type]
            path.unlink()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
