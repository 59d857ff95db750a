"""Start-up of ``gateway validate`` on a tiny file (benchmark target 5), measured so that a busy
machine still gives comparable figures.

Wall time on a shared machine says more about the neighbours than about the gateway, so this
reports, per run, the process's CPU seconds (user + system, from ``getrusage`` of the child)
and the sum of the module import times ``python -X importtime`` prints, with the number of
modules imported; the wall seconds are shown too. Runs alternate between the trees compared,
so both meet the same load. Medians of ``--runs`` runs.

    python -m bench.startup                      # this tree
    python -m bench.startup OTHER_TREE ...       # this tree and other source trees, alternated

A tree is a folder holding ``gateway/`` (e.g. ``git archive <commit>`` unpacked); it is put
first on ``sys.path`` of the measured process, so its code is what runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.generate import write_patient_csv

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"


@dataclass(frozen=True)
class Sample:
    """One run: wall and CPU seconds, summed import seconds and modules imported."""

    wall: float
    cpu: float
    imports: float
    modules: int


def run_once(tree: Path, path: Path) -> Sample:
    """``gateway validate`` of ``path`` with the code of ``tree``, in a fresh process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tree), str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as work:
        run = subprocess.run([sys.executable, "-X", "importtime", "-m", "gateway", "validate",
                              str(path), "--submitter", "bench"], cwd=work, env=env,
                             capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode not in (0, 1):
        raise SystemExit(f"gateway validate failed in {tree}:\n{run.stderr[-2000:]}")
    selfs = [int(line.split("|")[0].split(":")[1]) for line in run.stderr.splitlines()
             if line.startswith("import time:") and line.split("|")[0].split(":")[1].strip()
             .isdigit()]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(wall=wall, cpu=cpu, imports=sum(selfs) / 1e6, modules=len(selfs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path, help="other source trees to compare")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    tiny = write_patient_csv(DATA / "odc-tiny-valid.csv", 10, 0.0)
    trees = [ROOT, *args.trees]
    samples: dict[Path, list[Sample]] = {tree: [] for tree in trees}
    for _ in range(args.runs):
        for tree in trees:
            samples[tree].append(run_once(tree, tiny))
    print(f"gateway validate, 10-row CSV, medians of {args.runs} runs (alternated)")
    print(f"{'tree':<40}{'wall s':>8}{'cpu s':>8}{'import s':>10}{'modules':>9}")
    for tree, runs in samples.items():
        print(f"{tree!s:<40}{statistics.median(s.wall for s in runs):>8.2f}"
              f"{statistics.median(s.cpu for s in runs):>8.2f}"
              f"{statistics.median(s.imports for s in runs):>10.2f}"
              f"{statistics.median(s.modules for s in runs):>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
