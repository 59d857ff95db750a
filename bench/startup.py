"""Start-up of ``gateway validate`` on a tiny file (benchmark target 5), measured so that a busy
machine still gives comparable figures.

Wall time on a shared machine says more about the neighbours than about the gateway, so this
reports, per command, the process's CPU seconds (user + system, from ``getrusage`` of the child)
beside the wall seconds, medians of ``--runs`` runs. Runs alternate between the trees compared,
so both meet the same load. Three commands are measured: ``validate`` (a 10-row CSV judged in
the command's own process: the cold start), ``warm`` (the same file and command with a
``gateway serve`` of this tree running, whose warm process judges it: the target's figure; the
daemon's share, CPU and wall from its log, is reported beside it) and ``help`` (``gateway
--help``: the command line and every plugin loaded, nothing judged). ``warm`` runs for this
tree only. One more run per tree and command under ``python -X importtime`` counts the modules
imported and sums their import times (that run is slower and is not in the medians).

The code runs from bytecode, as an installed gateway does (pip compiles it at install; an
editable install writes it on first use): the measured processes get a bytecode cache of their
own (``PYTHONPYCACHEPREFIX``, even where ``PYTHONDONTWRITEBYTECODE`` is set), filled by one
discarded run per tree and command. ``--compile`` measures instead what a process pays that
compiles every module from source at each start.

    python -m bench.startup                      # this tree
    python -m bench.startup OTHER_TREE ...       # this tree and other source trees, alternated

A tree is a folder holding ``gateway/`` (e.g. ``git archive <commit>`` unpacked); it is put
first on ``sys.path`` of the measured process, with its ``plugins/`` and ``schemas/`` under the
names they install as (``gateway_plugins``, ``gateway_schemas``, ``gateway_opioid``), so its
code is what runs, plugins included, whatever the virtual environment has installed. The
entry points that name the plugins are the installed ones, though: a tree whose
``pyproject.toml`` names them differently (e.g. ``plugin`` against ``plugin:FAMILY``) does not
load its families as it would installed, and its figures are not comparable.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.generate import write_patient_csv

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
COMMANDS = ("validate", "warm", "help")
# import name -> its folder in a source tree (pyproject.toml's package-dir renames)
INSTALLED_AS = {"gateway_plugins": "plugins", "gateway_schemas": "schemas",
                "gateway_opioid": "plugins/opioid/gateway_opioid"}


@dataclass(frozen=True)
class Sample:
    """One run: wall and CPU seconds."""

    wall: float
    cpu: float


@dataclass(frozen=True)
class Imports:
    """One ``-X importtime`` run: summed import seconds and modules imported."""

    seconds: float
    modules: int


def bytecode_env(cache: Path | None, base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment of a measured process: bytecode read from and written to ``cache``
    (None: every module compiled from source at each start, nothing written)."""
    env = dict(base)
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def argv_of(command: str, path: Path, site: Path | None = None) -> list[str]:
    """The ``gateway`` arguments of a measured command (``warm``: ``site`` is the config of
    the installation whose daemon runs)."""
    if command == "validate":
        return ["validate", str(path), "--submitter", "bench"]
    if command == "warm":
        assert site is not None, "the warm command needs a running daemon's config"
        return ["validate", str(path), "--submitter", "bench", "--config", str(site)]
    return ["--help"]


@contextlib.contextmanager
def running_daemon(env: Mapping[str, str]) -> Iterator[Path]:
    """A ``gateway serve`` (``env`` chooses its code) on a fresh installation, until the block
    ends; yields its config. Its log (``serve.log`` beside the config) has one
    ``validate_request`` line for each request its warm processes answered."""
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as top:
        root = Path(top)
        gateway = [sys.executable, "-m", "gateway"]
        subprocess.run([*gateway, "init", str(root)], check=True, capture_output=True,
                       env=env)
        config = root / "gateway.toml"
        # a loaded machine may take over the default second to hand the request to a warm
        # process; a command that judged alone instead would not be a warm figure
        config.write_text(config.read_text().replace('format = "auto"', 'format = "json"')
                          .replace("validate_wait = 1.0", "validate_wait = 10.0"))
        with (root / "serve.log").open("wb") as log:
            daemon = subprocess.Popen([*gateway, "serve", "--config", str(config)], env=env,
                                      stdout=log, stderr=subprocess.STDOUT, cwd=root)
        try:
            deadline = time.monotonic() + 120
            while not (root / "var" / "validate.sock").exists():
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gateway serve did not start:\n"
                                     f"{(root / 'serve.log').read_text()[-2000:]}")
                time.sleep(0.1)
            yield config
        finally:
            daemon.terminate()
            daemon.wait(60)


def daemon_share(config: Path) -> list[Sample]:
    """The daemon's side of each warm request, from its log: wall and CPU seconds of the warm
    process from taking the request to answering it."""
    events = [json.loads(line) for line in (config.parent / "serve.log").read_text()
              .splitlines() if line.startswith("{")]
    answered = [e for e in events if e.get("event") == "validate_request"]
    if any(e["outcome"] != "answered" for e in answered):
        raise SystemExit("a warm request was not answered: "
                         + ", ".join(sorted({e["outcome"] for e in answered})))
    return [Sample(wall=e["seconds"], cpu=e["cpu_seconds"]) for e in answered]


def import_path(tree: Path, links: Path) -> str:
    """``PYTHONPATH`` that runs ``tree``'s code: the tree, then a folder (made in ``links``)
    naming its plugin and schema folders as they install."""
    names = links / str(abs(hash(tree.resolve())))
    names.mkdir(parents=True, exist_ok=True)
    for name, folder in INSTALLED_AS.items():
        if (tree / folder).is_dir() and not (names / name).exists():
            (names / name).symlink_to((tree / folder).resolve(), target_is_directory=True)
    return os.pathsep.join([str(tree), str(names), str(ROOT)])


def _run(tree: Path, command: str, path: Path, env: Mapping[str, str],
         flags: tuple[str, ...] = (), site: Path | None = None) -> tuple[Sample, str]:
    """``gateway <command>`` in a fresh process whose ``env`` runs ``tree``'s code (its
    ``PYTHONPATH`` from ``import_path``): its figures and stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as work:
        run = subprocess.run([sys.executable, *flags, "-m", "gateway",
                              *argv_of(command, path, site)],
                             cwd=work, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode not in (0, 1):
        raise SystemExit(f"gateway {command} failed in {tree}:\n{run.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(wall=wall, cpu=cpu), run.stderr


def run_once(tree: Path, command: str, path: Path, env: Mapping[str, str],
             site: Path | None = None) -> Sample:
    """One timed run."""
    return _run(tree, command, path, env, site=site)[0]


def imports_of(tree: Path, command: str, path: Path, env: Mapping[str, str],
               site: Path | None = None) -> Imports:
    """The modules one run imports and the sum of their own import times."""
    _, stderr = _run(tree, command, path, env, ("-X", "importtime"), site)
    selfs = [int(line.split("|")[0].split(":")[1]) for line in stderr.splitlines()
             if line.startswith("import time:") and line.split("|")[0].split(":")[1].strip()
             .isdigit()]
    return Imports(seconds=sum(selfs) / 1e6, modules=len(selfs))


def median(samples: list[Sample]) -> Sample:
    return Sample(wall=statistics.median(s.wall for s in samples),
                  cpu=statistics.median(s.cpu for s in samples))


@dataclass(frozen=True)
class Start:
    """Target 5's figures: the cold start, the warm one (a daemon running) and the daemon's
    share of the warm one, each a median."""

    cold: Sample
    warm: Sample
    daemon: Sample


def median_start(path: Path, runs: int = 5, tree: Path = ROOT) -> Start:
    """Target 5's figures: medians of ``runs`` fresh ``gateway validate`` runs of ``path`` with
    ``tree``'s code, from bytecode (after one discarded run of each that fills the cache),
    cold and warm alternated."""
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        env = dict(bytecode_env(Path(cache) / "bytecode"),
                   PYTHONPATH=import_path(tree, Path(cache) / "trees"))
        with running_daemon(env) as site:
            run_once(tree, "validate", path, env)
            run_once(tree, "warm", path, env, site)
            cold, warm = [], []
            for _ in range(runs):
                cold.append(run_once(tree, "validate", path, env))
                warm.append(run_once(tree, "warm", path, env, site))
            daemon = daemon_share(site)[-runs:]
    return Start(median(cold), median(warm), median(daemon))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path, help="other source trees to compare")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--compile", action="store_true",
                        help="no bytecode cache: compile every module at each start")
    args = parser.parse_args(argv)
    tiny = write_patient_csv(DATA / "odc-tiny-valid.csv", 10, 0.0)
    trees = [ROOT, *args.trees]
    samples: dict[tuple[Path, str], list[Sample]] = {
        (tree, command): [] for tree in trees for command in COMMANDS
        if command != "warm" or tree == ROOT}
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        env = bytecode_env(None if args.compile else Path(cache) / "bytecode")
        envs = {tree: dict(env, PYTHONPATH=import_path(tree, Path(cache) / "trees"))
                for tree in trees}
        with running_daemon(envs[ROOT]) as site:
            for tree, command in samples:  # fills the bytecode cache
                run_once(tree, command, tiny, envs[tree], site)
            imports = {(tree, command): imports_of(tree, command, tiny, envs[tree], site)
                       for tree, command in samples}
            for _ in range(args.runs):
                for tree, command in samples:
                    samples[tree, command].append(run_once(tree, command, tiny, envs[tree],
                                                           site))
            daemon = median(daemon_share(site)[-args.runs:])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"gateway start-up, medians of {args.runs} runs (alternated), "
          f"{'compiling every module' if args.compile else 'from bytecode'}; "
          f"load average at the end {load}")
    print(f"{'tree':<40}{'command':<10}{'wall s':>8}{'cpu s':>8}{'import s':>10}{'modules':>9}")
    for (tree, command), runs in samples.items():
        found = imports[tree, command]
        print(f"{tree!s:<40}{command:<10}{statistics.median(s.wall for s in runs):>8.2f}"
              f"{statistics.median(s.cpu for s in runs):>8.2f}"
              f"{found.seconds:>10.2f}{found.modules:>9}")
    print(f"warm: the daemon's warm process took {daemon.wall:.2f} s wall and {daemon.cpu:.2f} "
          "CPU s of each request (median; its log), besides the command's own CPU above")
    return 0


if __name__ == "__main__":
    sys.exit(main())
