"""A real ``gateway serve`` process on temporary folders, and ways to watch what it does.

Every wait polls for an outcome until a deadline; no assertion rests on a fixed sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.site.config import load_config
from gateway.site.layout import add_submitter, init_layout
from gateway.site.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
FAKE_PIPELINE = "tests.daemon.fake_pipeline:validate_file"
DEADLINE = 60.0


def wait_until(condition: Callable[[], Any], timeout: float = DEADLINE,
               what: str = "condition") -> Any:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


class Gateway:
    """One deployment (config, inbox, state) under ``root`` and the daemon processes run on it."""

    def __init__(self, root: Path, settings: dict[str, dict[str, Any]]) -> None:
        self.root = root
        self.config = root / "gateway.toml"
        self.inbox = root / "inbox"
        self.var = root / "var"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.env.pop("NOTIFY_SOCKET", None)
        self.env.pop("WATCHDOG_USEC", None)
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0
        # Set up in-process (the commands themselves are tested in test_operations.py).
        self.config.parent.mkdir(parents=True)
        self.config.write_text(toml_text(settings), encoding="utf-8")
        init_layout(load_config(self.config))

    # -- commands ---------------------------------------------------------------------------

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        run = subprocess.run([sys.executable, "-m", "gateway", *args,
                              *(["--config", str(self.config)] if args[0] != "init" else [])],
                             capture_output=True, text=True, env=self.env, timeout=120)
        if check:
            assert run.returncode == 0, run.stdout + run.stderr
        return run

    def add_submitter(self, submitter: str) -> Path:
        add_submitter(load_config(self.config), submitter)
        return self.upload(submitter)

    def upload(self, submitter: str) -> Path:
        return self.inbox / submitter / "upload"

    def receipts_folder(self, submitter: str) -> Path:
        return self.inbox / submitter / "receipts"

    # -- the daemon -------------------------------------------------------------------------

    def start(self, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()
              ) -> None:
        assert self.process is None or self.process.poll() is not None
        self.runs += 1
        log = self.log_path(self.runs).open("wb")
        # a session of its own, as under a terminal or a supervisor: the daemon leads a process
        # group holding its fork server and workers, which a test may signal as a whole
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--config", str(self.config), *args],
            stdout=log, stderr=subprocess.STDOUT, env={**self.env, **(extra_env or {})},
            start_new_session=True)
        log.close()
        process, run = self.process, self.runs

        def serving() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"gateway serve exited with {process.returncode}:\n"
                                     + self.log_path(run).read_text(errors="replace")[-3000:])
            return any(e.get("event") == "serving" for e in self.events(run))

        wait_until(serving, what="the daemon to serve")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = DEADLINE) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout)

    def stop_group(self, sig: int = signal.SIGTERM, timeout: float = DEADLINE) -> int:
        """Signal the daemon's whole process group (``kill -TERM -PGID``, Ctrl-C, ``timeout``),
        fork server and workers included."""
        assert self.process is not None
        os.killpg(self.process.pid, sig)
        return self.process.wait(timeout)

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(DEADLINE)

    def log_path(self, run: int) -> Path:
        return self.root / f"serve-{run}.log"

    def log_lines(self) -> list[str]:
        lines: list[str] = []
        for run in range(1, self.runs + 1):
            lines += self.log_path(run).read_text(encoding="utf-8", errors="replace").splitlines()
        return lines

    def events(self, run: int | None = None) -> list[dict[str, Any]]:
        """The JSON log lines (of one run, or of all)."""
        runs = [run] if run is not None else range(1, self.runs + 1)
        events = []
        for number in runs:
            path = self.log_path(number)
            text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
            for line in text.splitlines():
                if line.startswith("{"):
                    try:
                        events.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue  # the line being written right now
        return events

    # -- outcomes ---------------------------------------------------------------------------

    def receipts(self, submitter: str) -> list[dict[str, Any]]:
        folder = self.receipts_folder(submitter)
        return [json.loads(p.read_text(encoding="utf-8"))
                for p in sorted(folder.glob("*.receipt.json"))]

    def wait_receipts(self, submitter: str, count: int, timeout: float = DEADLINE
                      ) -> list[dict[str, Any]]:
        wait_until(lambda: len(list(self.receipts_folder(submitter).glob("*.receipt.json")))
                   >= count, timeout, f"{count} receipts for {submitter}")
        return self.receipts(submitter)

    def filed(self) -> list[Path]:
        return [p for folder in (self.var / "archive", self.var / "quarantine")
                for p in folder.glob("*/*")]

    def spool(self) -> list[str]:
        return os.listdir(self.var / "spool")

    def ledger(self) -> list[dict[str, Any]]:
        """Every ledger row, oldest first."""
        ledger = Ledger(self.var / "ledger.sqlite3", create=False)
        try:
            return [row.as_dict() for row in reversed(ledger.search(limit=1_000_000))]
        finally:
            ledger.close()

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(DEADLINE)


def toml_text(settings: dict[str, dict[str, Any]]) -> str:
    lines = []
    for section, values in settings.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def settings(*, pipeline: str | None = FAKE_PIPELINE, **overrides: Any
             ) -> dict[str, dict[str, Any]]:
    """Test settings: small quiet period, JSON logs, the fake pipeline unless None."""
    intake = {"watcher": "events", "quiet_period": 0.3, "rescan_interval": 30.0,
              "poll_interval": 0.2, "writer_check": "auto"}
    workers: dict[str, Any] = {"count": 2, "time_limit": 60.0, "memory_limit_mb": 0}
    if pipeline is not None:
        workers["pipeline"] = pipeline
    for key, value in overrides.items():
        (intake if key in intake else workers)[key] = value
    return {"intake": intake, "workers": workers, "logging": {"format": "json"}}


@pytest.fixture
def make_gateway(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    made: list[Gateway] = []

    def make(**kwargs: Any) -> Gateway:
        gateway = Gateway(tmp_path / f"gw{len(made)}", settings(**kwargs))
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()
