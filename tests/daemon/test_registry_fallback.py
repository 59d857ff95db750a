"""A registry typo never takes the gateway down: a real ``gateway serve`` started with a refused
(or missing) registry runs on the last one that loaded, kept in the state folder, and says so
in the log, ``gateway status`` and a metric, until the file loads again; only a site where no
registry ever loaded refuses to start. The other submitters are answered throughout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.support.daemon import Gateway, wait_until
from tests.support.postgres import free_port

GOOD = """registry_version = "1"

[[submitter]]
id = "clinic-a"
name = "Clinic A"
kind = "program"

[[submitter]]
id = "clinic-b"
name = "Clinic B"
kind = "program"
"""
TYPO = GOOD.replace('kind = "program"\n', 'kind = "programme"\n', 1)


def _drop(upload: Path, name: str, data: bytes) -> None:
    temporary = upload.parent / ".incoming"
    temporary.write_bytes(data)
    os.rename(temporary, upload / name)


def _status(gw: Gateway) -> dict:
    return json.loads(gw.cli("status", "--json", check=False).stdout)


def _refused_metric(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith("gateway_registry_refused "):
                return float(line.split()[1])
    raise AssertionError("no gateway_registry_refused metric")


def _site(make_gateway, port: int) -> Gateway:
    gw = make_gateway(rescan_interval=1.0)
    gw.config.write_text(gw.config.read_text() + f"[metrics]\nport = {port}\n")
    for submitter in ("clinic-a", "clinic-b", "clinic-c"):
        gw.add_submitter(submitter)
    return gw


def _answered(gw: Gateway, submitter: str, name: str) -> dict:
    _drop(gw.upload(submitter), name, f"{name}\n".encode())
    return wait_until(lambda: {r["file"]["name"]: r for r in gw.receipts(submitter)}.get(name),
                      what=f"a receipt for {name}")


def test_a_daemon_started_on_a_refused_registry_runs_on_the_last_good_one(make_gateway) -> None:
    port = free_port()
    gw = _site(make_gateway, port)
    registry = gw.root / "registry.toml"
    registry.write_text(GOOD, encoding="utf-8")
    gw.start()
    assert _answered(gw, "clinic-a", "first.csv")["status"] == "accepted"
    assert gw.stop() == 0
    registry.write_text(TYPO, encoding="utf-8")  # the typo, then a reboot
    gw.start()
    [fallback] = [e for e in gw.events(2) if e["event"] == "registry_fallback"]
    assert fallback["level"] == "error" and fallback["problems"]
    status = _status(gw)
    assert "LAST GOOD REGISTRY" in status["registry"]["state"]
    assert "line 6: kind" in status["registry"]["refused"]
    assert "RUNNING ON THE LAST GOOD REGISTRY" in gw.cli("status").stdout
    assert _refused_metric(port) == 1.0
    assert _answered(gw, "clinic-b", "served.csv")["status"] == "accepted"
    assert _answered(gw, "clinic-c", "stranger.csv")["status"] == "rejected"  # not listed
    registry.write_text(GOOD, encoding="utf-8")  # reverted
    wait_until(lambda: _status(gw)["registry"]["state"] == "in force", what="the registry back")
    assert _status(gw)["registry"]["refused"] == ""
    # the daemon sets the metric just after the status it records: looked at until it moves
    wait_until(lambda: _refused_metric(port) == 0.0, what="the metric back to 0")
    assert _answered(gw, "clinic-a", "after.csv")["status"] == "accepted"
    assert gw.process is not None and gw.process.poll() is None
    assert gw.stop() == 0


def test_a_refused_edit_clears_when_the_text_in_force_is_restored(make_gateway) -> None:
    port = free_port()
    gw = _site(make_gateway, port)
    registry = gw.root / "registry.toml"
    registry.write_text(GOOD, encoding="utf-8")
    gw.start()
    registry.write_text(TYPO, encoding="utf-8")
    wait_until(lambda: _status(gw)["registry"]["state"].startswith("edit refused"),
               what="the edit refused")
    wait_until(lambda: _refused_metric(port) == 1.0, what="the metric at 1")
    assert _answered(gw, "clinic-b", "meanwhile.csv")["status"] == "accepted"
    registry.write_text(GOOD, encoding="utf-8")  # the same text as the one in force
    wait_until(lambda: _status(gw)["registry"]["state"] == "in force", what="refusal cleared")
    assert _status(gw)["registry"]["refused"] == ""
    wait_until(lambda: _refused_metric(port) == 0.0, what="the metric back to 0")
    assert gw.stop() == 0


def test_a_registry_named_in_the_config_and_missing_at_start_falls_back(make_gateway) -> None:
    gw = _site(make_gateway, free_port())
    registry = gw.root / "named-registry.toml"
    gw.config.write_text(gw.config.read_text() + f'[registry]\nfile = "{registry.name}"\n')
    registry.write_text(GOOD, encoding="utf-8")
    gw.start()
    assert gw.stop() == 0
    registry.unlink()
    gw.start()
    assert "file missing" in _status(gw)["registry"]["state"]
    assert _answered(gw, "clinic-a", "served.csv")["status"] == "accepted"
    assert gw.stop() == 0


def test_only_a_site_where_no_registry_ever_loaded_refuses_to_start(make_gateway) -> None:
    gw = _site(make_gateway, free_port())
    (gw.root / "registry.toml").write_text(TYPO, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "gateway", "serve", "--config",
                           str(gw.config)], capture_output=True, text=True, env=gw.env,
                          timeout=120)
    assert done.returncode == 2
    assert "no registry ever loaded on this site" in done.stdout + done.stderr
    assert "line 6: kind" in done.stdout + done.stderr
