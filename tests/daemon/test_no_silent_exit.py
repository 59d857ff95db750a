"""Every way ``gateway serve`` stops is said in one log line, and a failure is what ``gateway
status`` shows as the last failure: a worker pool that cannot start, a failure while serving,
a clean stop, and a previous daemon that vanished without a word (SIGKILL)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from tests.support.daemon import Gateway

# The refusal a service account meets when the interpreter lies in a folder it may not enter
# (root's home), played by the call that starts the pool: as root nothing is unreadable.
POOL_REFUSED = """
import runpy, sys
import gateway.daemon.workers as workers
def refuse(*args, **kwargs):
    raise PermissionError(13, "Permission denied", sys.executable)
workers.WorkerPool.__init__ = refuse
sys.argv = ["gateway", *sys.argv[1:]]
runpy.run_module("gateway", run_name="__main__")
"""


def _events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _status(gw: Gateway) -> tuple[dict, str]:
    return (json.loads(gw.cli("status", "--json", check=False).stdout),
            gw.cli("status", check=False).stdout)


def test_a_worker_pool_that_cannot_start_is_said_and_shown_as_the_last_failure(
        make_gateway) -> None:
    gw = make_gateway()
    gw.add_submitter("clinic-a")
    done = subprocess.run([sys.executable, "-c", POOL_REFUSED, "serve", "--config",
                           str(gw.config)], capture_output=True, text=True, env=gw.env,
                          timeout=120)
    assert done.returncode == 3
    failed = [e for e in _events(done.stdout + done.stderr) if e["event"] == "daemon_failed"]
    assert len(failed) == 1
    assert failed[0]["stage"] == "starting the worker pool"
    assert "PermissionError" in failed[0]["reason"]
    report, text = _status(gw)
    assert report["running"] is False
    assert report["last_failure"].startswith("daemon_failed while starting the worker pool")
    assert "stopped: daemon_failed while starting the worker pool" in text


def test_a_clean_stop_says_why_and_a_vanished_daemon_is_said_at_the_next_start(
        make_gateway) -> None:
    gw = make_gateway()
    gw.add_submitter("clinic-a")
    gw.start()
    assert gw.stop(signal.SIGTERM) == 0
    [stopped] = [e for e in gw.events(1) if e["event"] == "stopped"]
    assert stopped["reason"] == "SIGTERM"
    gw.start()
    assert not [e for e in gw.events(2) if e["event"] == "previous_run_vanished"]
    gw.kill9()
    gw.start()
    [vanished] = [e for e in gw.events(3) if e["event"] == "previous_run_vanished"]
    assert vanished["level"] == "warning"
    assert gw.stop() == 0


def test_a_start_refusal_is_said_and_kept_for_status(make_gateway) -> None:
    gw = make_gateway()
    gw.add_submitter("clinic-a")
    gw.start()
    assert gw.stop() == 0
    (gw.root / "registry.toml").write_text("registry_version = [\n", encoding="utf-8")
    (gw.var / "registry.last-good.toml").unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-m", "gateway", "serve", "--config",
                           str(gw.config)], capture_output=True, text=True, env=gw.env,
                          timeout=120)
    assert done.returncode == 2
    [refusal] = [e for e in _events(done.stdout + done.stderr) if e["event"] == "cannot_start"]
    assert "registry" in refusal["reason"]
    report, _ = _status(gw)
    assert report["last_failure"].startswith("cannot start:")
