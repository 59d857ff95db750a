"""Target 4: many small valid files dropped at once into running ``gateway serve`` daemons.

Real daemon processes on a temporary layout (``gateway init``, ``gateway submitter add``, a
config with a short quiet period); the files are written aside and renamed into ``upload/``
together, so all of them settle at the same instant: the drop plus the quiet period. Latency
per file is the ledger's ``receipt_written`` time minus that instant, so it includes the
queueing a burst causes. Prints one JSON line per run: ledger, daemons, files, answered,
accepted, seconds, files/s, p50 and p95 settled->receipt, and the CPU the daemons and their
workers spent per file (the figure to compare on a machine other work shares).

With ``--daemons N --postgres`` the N daemons share the inbox and a PostgreSQL ledger in a
throw-away cluster (with fsync, as in production); ``--several`` runs the whole comparison:
SQLite with one daemon, PostgreSQL with one, two and three.

Usage: ``python -m bench.daemon [--files 2000] [--daemons N --postgres | --several]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from bench.generate import patient_frame
from gateway.site.ledger.backends import create_engine, parse_location
from gateway.site.ledger.schema import transitions
from tests.support.postgres import temporary_cluster

GATEWAY = str(Path(sys.executable).with_name("gateway"))
QUIET = 0.5


def _config(root: Path, ledger_url: str | None, workers: int = 0) -> Path:
    """``gateway init`` writes the commented config; the benchmark shortens the waits and sets
    the worker count (0: one per core, the default)."""
    subprocess.run([GATEWAY, "init", str(root)], check=True, capture_output=True)
    config = root / "gateway.toml"
    text = config.read_text()
    for key, value in (("quiet_period", QUIET), ("rescan_interval", 5.0), ("count", workers)):
        lines = [f"{key} = {value}" if line.strip().startswith(f"{key} =") else line
                 for line in text.splitlines()]
        text = "\n".join(lines) + "\n"
    text = text.replace('format = "auto"', 'format = "json"')
    if ledger_url is not None:
        text = re.sub(r"^# url = .*$", f'url = "{ledger_url}"', text, count=1, flags=re.M)
    config.write_text(text)
    if ledger_url is not None:
        subprocess.run([GATEWAY, "ledger", "migrate", "--config", str(config)], check=True,
                       capture_output=True)
    subprocess.run([GATEWAY, "submitter", "add", "bench", "--config", str(config)],
                   check=True, capture_output=True)
    return config


def _files(stage: Path, count: int, rows: int = 10) -> list[Path]:
    """``count`` distinct valid files of ``rows`` patients (distinct bytes: no duplicate short
    cut)."""
    base = patient_frame(rows, 0.0)
    paths = []
    for k in range(count):
        frame = base.copy()
        frame["patient_id"] = [f"F{k}P{i}" for i in range(len(frame))]
        path = stage / f"odc-{k:05d}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _ledger(location: str | Path) -> list[float]:
    """``receipt_written`` times of every submission, seconds since the epoch."""
    engine = create_engine(parse_location(location))
    try:
        with engine.connect() as db:
            rows = db.execute(sa.select(transitions.c.at)
                              .where(transitions.c.state == "receipt_written"))
            return sorted(_epoch(at) for (at,) in rows)
    finally:
        engine.dispose()


def _descendants_cpu() -> float:
    """CPU seconds (user + system) of this process's descendants: the daemons, their fork
    servers and workers, those that exited and were waited for included (a worker recycled
    after ``max_jobs`` files, the default 1,000, is one: counting live processes only lost
    its whole CPU, so a 2,000-file burst read anywhere between 7 and 15 ms a file depending
    on whether a worker happened to reach its 1,000th file before the last receipt)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        # utime, stime, and cutime, cstime: the children it has waited for
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = sum(int(fields[k]) for k in (11, 12, 13, 14))
    mine = {os.getpid()}
    grew = True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in mine} - mine
        grew = bool(found)
        mine |= found
    mine.discard(os.getpid())
    return sum(ticks[pid] for pid in mine) / os.sysconf("SC_CLK_TCK")


def _own_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) of the processes ``pids`` themselves: the daemons' loops
    and delivery threads, without their workers."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            text = Path("/proc", str(pid), "stat").read_text()
            fields = text[text.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _start(root: Path, config: Path, number: int) -> subprocess.Popen[bytes]:
    log_path = root / f"serve-{number}.log"
    with log_path.open("wb") as log:
        daemon = subprocess.Popen([GATEWAY, "serve", "--config", str(config)],
                                  stdout=log, stderr=subprocess.STDOUT, cwd=root)
    deadline = time.time() + 60
    while b'"serving"' not in log_path.read_bytes():
        if daemon.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"gateway serve did not start; see {log_path}")
        time.sleep(0.1)
    return daemon


def _stop(daemon: subprocess.Popen[bytes]) -> None:
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(timeout=60)
    except subprocess.TimeoutExpired:
        daemon.kill()


def run(count: int, timeout: float, daemons: int = 1,
        ledger_url: str | None = None, workers: int = 0,
        workspace: Path | None = None) -> dict[str, float | int | str]:
    """Start the daemons, drop ``count`` files, wait for their receipts, stop the daemons.

    The run's folder is made in ``workspace`` and left there for the caller to remove after
    its last run (``main``): removing a run's ~8,000 files at once made the next run slower
    on a file system without a journal, where ext4 skips the inodes freed in the last 60 s (or
    300 s) when it makes a file, and a daemon makes two files (the receipts) for each upload."""
    with contextlib.ExitStack() as cleanup:
        if workspace is None:
            workspace = Path(cleanup.enter_context(tempfile.TemporaryDirectory()))
        root = Path(tempfile.mkdtemp(prefix="gateway-bench-", dir=workspace))
        config = _config(root, ledger_url, workers)
        inbox = root / "inbox" / "bench"
        stage = root / "stage"
        stage.mkdir()
        files = _files(stage, count)
        running: list[subprocess.Popen[bytes]] = []
        try:
            for number in range(daemons):
                running.append(_start(root, config, number))
            pids = [daemon.pid for daemon in running]
            cpu, own = -_descendants_cpu(), -_own_cpu(pids)
            for path in files:
                os.rename(path, inbox / "upload" / path.name)
            settled = time.time() + QUIET
            receipts = inbox / "receipts"
            deadline = time.time() + timeout
            while len(list(receipts.glob("*.receipt.json"))) < count and time.time() < deadline:
                time.sleep(0.2)
            cpu, own = cpu + _descendants_cpu(), own + _own_cpu(pids)
            answered = list(receipts.glob("*.receipt.json"))
            accepted = sum(json.loads(p.read_text())["status"] == "accepted" for p in answered)
        finally:
            for daemon in running:
                _stop(daemon)
        written = _ledger(ledger_url or root / "var" / "ledger.sqlite3")
    latencies = [t - settled for t in written]
    seconds = (max(written) - settled) if written else float("nan")
    return {"ledger": "postgresql" if ledger_url else "sqlite", "daemons": daemons,
            "workers": workers or os.cpu_count(),
            "load_1min": round(os.getloadavg()[0], 1),  # the machine may be shared
            "files": count, "answered": len(answered), "accepted": accepted,
            "seconds": round(seconds, 2),
            "files_per_s": round(len(written) / seconds, 1) if written else 0.0,
            "p50_s": round(_percentile(latencies, 0.50), 3) if latencies else float("nan"),
            "p95_s": round(_percentile(latencies, 0.95), 3) if latencies else float("nan"),
            # on a shared machine the figure to compare: CPU seconds of the daemons, their fork
            # servers and workers (not the PostgreSQL server) per file, and the rate two cores
            # would give if that CPU were all they spent
            "cpu_ms_per_file": round(1000 * cpu / count, 2),
            "daemon_cpu_ms_per_file": round(1000 * own / count, 2),  # of which the daemons'

            "files_per_cpu_s_on_2_cores": round(2 * count / cpu, 1) if cpu else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--daemons", type=int, default=1)
    parser.add_argument("--postgres", action="store_true",
                        help="share a PostgreSQL ledger (a throw-away local cluster)")
    parser.add_argument("--workers", type=int, default=0,
                        help="worker processes per daemon (default 0: one per core)")
    parser.add_argument("--several", action="store_true",
                        help="SQLite x1, then PostgreSQL x1, x2, x3")
    args = parser.parse_args()
    plan = ([(1, False), (1, True), (2, True), (3, True)] if args.several
            else [(args.daemons, args.postgres)])
    with ExitStack() as stack:
        workspace = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gateway-")))
        server = (stack.enter_context(temporary_cluster(durable=True))
                  if any(postgres for _, postgres in plan) else None)
        for daemons, postgres in plan:
            url = server.create_database() if postgres and server else None
            print(json.dumps(run(args.files, args.timeout, daemons, url, args.workers,
                                 workspace)), flush=True)


if __name__ == "__main__":
    main()
