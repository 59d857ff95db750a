"""Memory of the CART reader does not grow with the file: peak RSS for 5,000 vs 50,000
<measure> elements.

Run: ``.venv/bin/python bench/xml_memory.py``. Each size is parsed in a fresh child process
(peak RSS is a high-water mark, so sizes must not share a process). The reader clears each
element after use and drops processed siblings, so both sizes should peak within a few MB of
each other; a reader that kept the tree would grow by roughly 10x between them.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (5_000, 50_000)
MEASURE = ('  <measure id="IMM-2"><denominator>210</denominator><numerator>189</numerator>'
           '<rate>90.0</rate></measure>\n')


def write_file(folder: Path, count: int) -> Path:
    """A CART-shaped file with ``count`` measure elements (same id: only the reader runs)."""
    path = folder / f"cart-{count}.xml"
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                  '<hospital-measures xmlns="urn:mn-sqrms:cart:1">\n'
                  "  <provider-id>240001</provider-id>\n  <reporting-year>2015</reporting-year>\n"
                  "  <discharge-quarter>2015Q1</discharge-quarter>\n")
        for _ in range(count):
            out.write(MEASURE)
        out.write("</hospital-measures>\n")
    return path


def parse(path: Path) -> None:
    """Child process: read every record batch, print records, seconds and peak RSS (KiB)."""
    from gateway_plugins.hospital.cart.reader import read_cart

    started = time.perf_counter()
    records = sum(len(batch) for batch in read_cart(path))
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{records} {elapsed:.2f} {peak}")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'elements':>9} {'MB on disk':>10} {'records':>8} {'seconds':>8} "
              f"{'peak RSS MB':>12}")
        for count in SIZES:
            path = write_file(Path(folder), count)
            out = subprocess.run([sys.executable, __file__, "--child", str(path)],
                                 check=True, capture_output=True, text=True).stdout.split()
            records, seconds, peak_kib = int(out[0]), float(out[1]), int(out[2])
            print(f"{count:>9} {path.stat().st_size / 1e6:>10.1f} {records:>8} {seconds:>8.2f} "
                  f"{peak_kib / 1024:>12.1f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        parse(Path(sys.argv[2]))
    else:
        main()
