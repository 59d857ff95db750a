"""Benchmark of the opioid program (family opip): a year's prescribing feed (30,000 prescribers
x 7 measures) validated and remembered (as the daemon does on acceptance: ``gateway validate``
never writes), then every prescriber's one-page PDF drawn and each health system's CSV and ZIP
delivered, through the real ``gateway`` command line.

Run from the repository root with the plugin installed
(``.venv/bin/pip install -e plugins/opioid``)::

    .venv/bin/python -m bench.opioid_reports [--prescribers 30000] [--jobs 0] [--ledger URL]

With ``--ledger postgresql://...`` (an empty database) the feed is remembered in, and the reports
read from, that PostgreSQL ledger, as on a deployment of several hosts; by default it is the
SQLite ledger of a local gateway.

Prints one line per step with wall seconds (and the PDFs per second of the report step).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.opioid_feed import feed_rows, write_feed
from gateway.engine.pipeline import validate_file
from gateway.site.reference.store import remember

GATEWAY = str(Path(sys.executable).with_name("gateway"))
HEALTH_SYSTEMS = [f"health-system-{n:02d}" for n in range(1, 21)]


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the command and its workers)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({run.returncode}):\n{run.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prescribers", type=int, default=30_000)
    parser.add_argument("--jobs", type=int, default=0, help="report processes (0: per core)")
    parser.add_argument("--ledger", help="a PostgreSQL ledger URL (default: local SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opip-bench-") as folder:
        root = Path(folder)
        if args.ledger:
            (root / "gateway.toml").write_text(f'[ledger]\nurl = "{args.ledger}"\n',
                                               encoding="utf-8")
            timed([GATEWAY, "ledger", "migrate"], root)
        started = time.perf_counter()
        feed = write_feed(root / "opip-feed.csv", feed_rows(args.prescribers, HEALTH_SYSTEMS))
        print(f"generate {args.prescribers} prescribers x 7 measures: "
              f"{time.perf_counter() - started:.1f} s ({feed.stat().st_size / 1e6:.1f} MB)")
        # No registry here: the health-system check against it is measured by the core's
        # submitter-layer benchmark; this one times the family's own work.
        started = time.perf_counter()
        receipt = validate_file(feed, submitter="dhs-opioid-feed")
        if receipt.status.value == "rejected" or not remember(
                args.ledger or root / "var" / "ledger.sqlite3", receipt):
            raise SystemExit(f"the feed was not accepted: {receipt.findings.by_code}")
        print(f"validate + remember the feed (in this process, as the daemon): "
              f"{time.perf_counter() - started:.1f} s wall")
        seconds, cpu = timed([GATEWAY, "opip", "reports", "--year", "2021", "--out",
                              str(root / "reports"), "--jobs", str(args.jobs)], root)
        pdfs = len(list((root / "reports").glob("*.pdf")))
        print(f"reports: {pdfs} PDFs + {len(HEALTH_SYSTEMS)} CSV/ZIP deliveries: "
              f"{seconds:.1f} s wall ({pdfs / seconds:.0f} PDFs/s), {cpu:.1f} s CPU "
              f"({1000 * cpu / pdfs:.1f} ms a page)")


if __name__ == "__main__":
    main()
