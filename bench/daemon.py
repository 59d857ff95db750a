"""Target 4: many small valid files dropped at once into a running ``gateway serve``.

A real daemon process on a temporary layout (``gateway init``, ``gateway submitter add``, a
config with a short quiet period); the files are written aside and renamed into ``upload/``
together, so all of them settle at the same instant: the drop plus the quiet period. Latency
per file is the ledger's ``receipt_written`` time minus that instant, so it includes the
queueing a burst causes. Prints one JSON line: files, answered, accepted, seconds, files/s,
p50 and p95 settled->receipt.

Usage: ``python -m bench.daemon [--files 2000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.generate import patient_frame

GATEWAY = str(Path(sys.executable).with_name("gateway"))
QUIET = 0.5


def _config(root: Path) -> Path:
    """``gateway init`` writes the commented config; the benchmark shortens the waits."""
    subprocess.run([GATEWAY, "init", str(root)], check=True, capture_output=True)
    config = root / "gateway.toml"
    text = config.read_text()
    for key, value in (("quiet_period", QUIET), ("rescan_interval", 5.0)):
        lines = [f"{key} = {value}" if line.strip().startswith(f"{key} =") else line
                 for line in text.splitlines()]
        text = "\n".join(lines) + "\n"
    text = text.replace('format = "auto"', 'format = "json"')
    config.write_text(text)
    subprocess.run([GATEWAY, "submitter", "add", "bench", "--config", str(config)],
                   check=True, capture_output=True)
    return config


def _files(stage: Path, count: int) -> list[Path]:
    """``count`` distinct valid ten-patient files (distinct bytes: no duplicate short cut)."""
    base = patient_frame(10, 0.0)
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


def _ledger(path: Path) -> list[float]:
    """``receipt_written`` times of every submission, seconds since the epoch."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT at FROM transitions WHERE state = 'receipt_written'")
        return sorted(_epoch(at) for (at,) in rows)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(count: int, timeout: float) -> dict[str, float | int]:
    """Start a daemon, drop ``count`` files, wait for their receipts, stop the daemon."""
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        root = Path(tmp)
        config = _config(root)
        inbox = root / "inbox" / "bench"
        stage = root / "stage"
        stage.mkdir()
        files = _files(stage, count)
        log = (root / "serve.log").open("wb")
        daemon = subprocess.Popen([GATEWAY, "serve", "--config", str(config)],
                                  stdout=log, stderr=subprocess.STDOUT, cwd=root)
        try:
            deadline = time.time() + 30
            while b'"serving"' not in (root / "serve.log").read_bytes():
                if daemon.poll() is not None or time.time() > deadline:
                    raise RuntimeError("gateway serve did not start; see its log")
                time.sleep(0.1)
            for path in files:
                os.rename(path, inbox / "upload" / path.name)
            settled = time.time() + QUIET
            receipts = inbox / "receipts"
            deadline = time.time() + timeout
            while len(list(receipts.glob("*.receipt.json"))) < count and time.time() < deadline:
                time.sleep(0.2)
            answered = list(receipts.glob("*.receipt.json"))
            accepted = sum(json.loads(p.read_text())["status"] == "accepted" for p in answered)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
            log.close()
        written = _ledger(root / "var" / "ledger.sqlite3")
    latencies = [t - settled for t in written]
    seconds = (max(written) - settled) if written else float("nan")
    return {"files": count, "answered": len(answered), "accepted": accepted,
            "seconds": round(seconds, 2),
            "files_per_s": round(len(written) / seconds, 1) if written else 0.0,
            "p50_s": round(_percentile(latencies, 0.50), 3) if latencies else float("nan"),
            "p95_s": round(_percentile(latencies, 0.95), 3) if latencies else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    print(json.dumps(run(args.files, args.timeout)))


if __name__ == "__main__":
    main()
