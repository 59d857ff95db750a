"""Run one command and report its wall time and peak RSS, from a fresh, small process.

Why a wrapper: ``ru_maxrss`` of a child survives ``fork`` and ``exec``, so a child of a runner
that once held a big data set reports the runner's peak, not its own. This wrapper starts with
the interpreter alone (~10 MB), so ``RUSAGE_CHILDREN`` here is the measured command's own peak.

Usage: ``python -m bench.measure OUTPUT_FILE -- COMMAND...``; prints one JSON line
``{"seconds", "cpu_seconds", "peak_mb", "returncode"}`` (``cpu_seconds``: the command's user +
system time, every thread; the comparable figure on a shared machine); the command's stdout and
stderr go to OUTPUT_FILE.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    """Run ``argv[2:]`` (after ``--``), write its output to ``argv[0]``, print the figures."""
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], "wb") as output:
        started = time.perf_counter()
        returncode = subprocess.call(argv[2:], stdout=output, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                      "peak_mb": usage.ru_maxrss / 1024, "returncode": returncode}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
