"""The worker's fixed cost per small file: ``validate_file`` of the daemon bench's file, warm.

``bench.daemon`` answers bursts of ten-row files; once the bookkeeping was batched, the workers
were three quarters of the CPU a file costs, and that cost hardly depends on the row count.
This measures it where it can be profiled: one process that has done what a daemon's fork
server and worker do before their first file (``default_plugins()``, ``JUDGING_IMPORTS``, a
first file judged), on a real layout (``gateway init``, one submitter, the SQLite ledger), then
``--iterations`` calls of ``validate_file`` as ``gateway.daemon.workers`` makes them (registry,
policy, ledger) plus the annotated copy, each on its own distinct copy of the file.

Prints CPU milliseconds per file (``time.process_time``: the figure to compare on a shared
machine), wall milliseconds and the load average; ``--profile N`` runs the loop under
``cProfile`` with a CPU clock and prints its N largest entries by cumulative and by own time.

Usage: ``python -m bench.small_file [--rows 10] [--iterations 200] [--profile 40]``.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _worker_call(root: Path) -> Any:
    """``validate_file`` bound to what a daemon's worker passes for the ``bench`` submitter,
    annotated copy included (the worker makes it under its limits)."""
    from bench.daemon import _config
    from gateway.engine.pipeline import JUDGING_IMPORTS, default_plugins, validate_file
    from gateway.receipts.annotated import annotate
    from gateway.site.config import load_config
    from gateway.site.reference.store import open_store
    from gateway.submitters.registry_file import load_registry
    from gateway.submitters.windows import SubmitterPolicy

    config = load_config(_config(root, None))
    default_plugins()
    for module in JUDGING_IMPORTS:
        importlib.import_module(module)
    _, engine = open_store(config.ledger_location)  # the ledger the daemon made at its start
    engine.dispose()
    # the bench's layout has no registry file, so its daemon passes none (nor the policy)
    layer4: dict[str, Any] = {"ledger": config.ledger_location}
    if config.registry.exists():
        layer4.update(registry=load_registry(config.registry),
                      policy=SubmitterPolicy(late=config.late, timezone=config.timezone))

    def call(path: Path) -> Any:
        receipt = validate_file(path, submitter="bench", display_name=path.name,
                                received_at="2016-01-15T12:00:00Z", **layer4)
        annotate(receipt, path)
        return receipt

    return call


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--profile", type=int, default=0,
                        help="print this many cProfile entries (CPU clock) instead of timing")
    args = parser.parse_args(argv)
    from bench.daemon import _files  # the files bench.daemon drops, of --rows patients

    with tempfile.TemporaryDirectory(prefix="gateway-small-file-") as tmp:
        root = Path(tmp)
        stage = root / "stage"
        stage.mkdir()
        call = _worker_call(root)
        first, *paths = _files(stage, args.iterations + 1, args.rows)
        status = call(first).status.value  # a worker has judged a file before
        if args.profile:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for path in paths:
                call(path)
            profiler.disable()
            for order in ("cumulative", "tottime"):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.profile)
                print(out.getvalue())
            return
        cpu, wall = time.process_time(), time.perf_counter()
        for path in paths:
            call(path)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"validate_file + annotate, {args.rows}-row file ({status}), {len(paths)} files: "
          f"{1000 * cpu / len(paths):.2f} CPU ms/file, {1000 * wall / len(paths):.2f} wall "
          f"ms/file; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
