"""How soon an upload held open across long pauses is taken once its writer closes it.

A real ``gateway serve`` (the layout and short quiet period of ``bench.daemon``); for each run a
separate writer process (as sftp-server is) writes 32 KB, pauses twice the quiet period, writes
again, pauses again and closes. Only the kernel's answer (a read lease) holds the file back
during the pauses. The latency is the daemon's ``claimed`` log time minus the writer's
``close()``. Also times one probe (open, lease, unlock, close) in this process. Prints one JSON
line.

Usage: ``python -m bench.held_open [--runs 10]`` (as root, or with CAP_LEASE, for leases on
files of other owners; the files here are the caller's own).
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.daemon import GATEWAY, QUIET, _config, _epoch
from gateway.daemon.leases import path_open_for_writing

WRITER = """
import sys, time
with open(sys.argv[1], "wb") as handle:
    for _ in range(2):
        handle.write(b"x" * 32768)
        handle.flush()
        time.sleep(float(sys.argv[2]))
print(time.time(), flush=True)
"""


def _claimed_at(log: Path, name: str, timeout: float = 30.0) -> float:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if '"claimed"' in line and f'"{name}"' in line:
                return _epoch(json.loads(line)["timestamp"])
        time.sleep(0.02)
    raise RuntimeError(f"{name} was never claimed; see {log}")


def _probe_seconds(folder: Path, calls: int = 10_000) -> float:
    path = folder / "probe.csv"
    path.write_bytes(b"data\n")
    started = time.perf_counter()
    for _ in range(calls):
        path_open_for_writing(path)
    return (time.perf_counter() - started) / calls


def run(runs: int) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        root = Path(tmp)
        config = _config(root)
        upload = root / "inbox" / "bench" / "upload"
        log_path = root / "serve.log"
        log = log_path.open("wb")
        daemon = subprocess.Popen([GATEWAY, "serve", "--config", str(config)],
                                  stdout=log, stderr=subprocess.STDOUT, cwd=root)
        latencies = []
        try:
            while b'"serving"' not in log_path.read_bytes():
                if daemon.poll() is not None:
                    raise RuntimeError("gateway serve did not start; see its log")
                time.sleep(0.1)
            for number in range(runs):
                name = f"held-{number}.csv"
                writer = subprocess.run([sys.executable, "-c", WRITER, str(upload / name),
                                         str(2 * QUIET)], capture_output=True, text=True,
                                        check=True)
                latencies.append(_claimed_at(log_path, name) - float(writer.stdout))
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
            log.close()
        probe = _probe_seconds(root)
    return {"runs": runs, "pause_s": 2 * QUIET, "quiet_period_s": QUIET,
            "close_to_claim_p50_s": round(statistics.median(latencies), 3),
            "close_to_claim_max_s": round(max(latencies), 3),
            "probe_us": round(probe * 1e6, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    print(json.dumps(run(parser.parse_args().runs)))


if __name__ == "__main__":
    main()
