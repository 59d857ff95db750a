"""Several `gateway serve` processes on one inbox and one PostgreSQL ledger: each file is taken
by exactly one of them, and the files of a daemon killed with SIGKILL are finished by another
(or by its successor), with exactly one receipt each."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.daemon.metrics import Metrics
from gateway.site.config import load_config
from gateway.site.layout import init_layout
from gateway.site.ledger import Ledger
from tests.daemon.test_durability import _drop
from tests.support.daemon import DEADLINE, ROOT, Gateway, settings, toml_text, wait_until
from tests.support.postgres import free_port


class Daemon:
    """One `gateway serve` process with a config of its own (its metrics port) on the shared
    folders; restarted processes append to the same log."""

    def __init__(self, gateway: Gateway, number: int, config: dict[str, dict[str, Any]]):
        self.gateway = gateway
        self.config = gateway.root / f"gateway-{number}.toml"
        self.config.write_text(toml_text(config), encoding="utf-8")
        self.log = gateway.root / f"daemon-{number}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        marker = f"serving-{self.starts}"
        with self.log.open("ab") as log:
            log.write(f"--- {marker}\n".encode())
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--config", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, env=self.gateway.env)

    def wait_serving(self) -> None:
        process = self.process
        assert process is not None

        def serving() -> bool:
            text = self.log.read_text(errors="replace")
            if process.poll() is not None:
                raise AssertionError(f"gateway serve exited {process.returncode}:\n"
                                     f"{text[-3000:]}")
            return '"serving"' in text.rsplit("--- serving-", 1)[-1]

        wait_until(serving, what="a daemon to serve")

    def kill9(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(DEADLINE)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(DEADLINE)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(DEADLINE)


@pytest.fixture
def fleet(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Gateway, list[Daemon], str]]:
    """A layout whose ledger is a fresh PostgreSQL database, migrated, and three daemons
    configured on it (not started)."""
    base = settings(quiet_period=0.2, count=2) | {"ledger": {"url": postgres_url,
                                                             "lease": 3.0}}
    gateway = Gateway(tmp_path / "gw", base)
    gateway.cli("ledger", "migrate")
    daemons = [Daemon(gateway, n, base | {"metrics": {"port": free_port()}})
               for n in range(1, 4)]
    yield gateway, daemons, postgres_url
    for daemon in daemons:
        daemon.close()


def _rows(url: str) -> list[dict[str, Any]]:
    ledger = Ledger(url, create=False)
    try:
        return [row.as_dict() for row in ledger.search(limit=1_000_000)]
    finally:
        ledger.close()


def test_three_daemons_kill_9_and_restart_exactly_one_receipt_each(fleet) -> None:
    gateway, daemons, url = fleet
    upload = gateway.add_submitter("clinic-a")
    chance = random.Random(14)
    names = [f"several-{i:03}.csv" for i in range(300)]
    for daemon in daemons:
        daemon.start()
    for daemon in daemons:
        daemon.wait_serving()
    for batch in range(0, 300, 60):
        for name in names[batch:batch + 60]:
            # a fifth of a second a file: each batch keeps the six workers busy for about two
            # seconds, so a kill lands while files are in hand (with 0.02 s the daemons,
            # faster now, had often answered a whole batch before it, and nothing was resumed)
            word = "REJECT" if chance.random() < 0.2 else "SLEEP 0.2"
            _drop(upload, name, f"{word}\n{name}\n".encode())
        time.sleep(chance.uniform(0.2, 1.0))
        victims = chance.sample(daemons, chance.choice((1, 2)))
        for victim in victims:
            victim.kill9()
        time.sleep(chance.uniform(0.0, 1.5))
        for victim in victims:
            victim.start()
        for victim in victims:
            victim.wait_serving()
    gateway.wait_receipts("clinic-a", 300, timeout=300)  # the test ran 130 s at load 7
    wait_until(lambda: len(gateway.filed()) == 300 and not gateway.spool(), timeout=60,
               what="everything filed")
    for daemon in daemons:
        assert daemon.stop() == 0

    receipts = gateway.receipts("clinic-a")
    assert sorted(r["file"]["name"] for r in receipts) == names  # each file once, none twice
    folder = gateway.receipts_folder("clinic-a")
    assert len(list(folder.glob("*.receipt.txt"))) == 300
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
    assert gateway.spool() == [] and os.listdir(upload) == []
    rows = _rows(url)
    assert len(rows) == 300
    assert {(r["state"], r["owner"]) for r in rows} == {("filed", None)}
    assert {r["submission_id"] for r in rows} == {r["submission_id"] for r in receipts}
    # The work really was shared, and killed daemons' files were taken over.
    logs = "".join(d.log.read_text(errors="replace") for d in daemons)
    assert all('"claimed"' in d.log.read_text(errors="replace") for d in daemons)
    assert '"resuming"' in logs


def test_a_duplicate_is_recognised_across_daemons(fleet) -> None:
    gateway, daemons, _ = fleet
    upload = gateway.add_submitter("clinic-b")
    for daemon in daemons[:2]:
        daemon.start()
    for daemon in daemons[:2]:
        daemon.wait_serving()
    for n in range(12):  # twelve copies of two contents, taken by whichever daemon is first
        _drop(upload, f"copy-{n:02}.csv", b"SLEEP 0.3\nsame bytes %d\n" % (n % 2))
    receipts = gateway.wait_receipts("clinic-b", 12)
    originals = [r for r in receipts if not r.get("duplicate_of")]
    assert len(originals) == 2
    ids = {r["submission_id"] for r in originals}
    assert all(r["duplicate_of"] in ids for r in receipts if r.get("duplicate_of"))

    # Any host sees both daemons, and a replay asked for anywhere is done by one of them.
    status = json.loads(gateway.cli("status", "--json").stdout)
    assert status["running"] and len(status["daemons"]) == 2
    replayed = json.loads(gateway.cli("replay", originals[0]["submission_id"], "--json",
                                      "--wait", "30").stdout)
    assert replayed["replaces"] == originals[0]["submission_id"]
    assert replayed["owner"] is None and replayed["state"] == "filed"
    assert len(gateway.receipts("clinic-b")) == 13
    for daemon in daemons[:2]:
        assert daemon.stop() == 0


def test_reference_data_accepted_on_one_host_judge_the_files_another_host_takes(
        fleet, tmp_path: Path) -> None:
    """What an accepted file taught the program (a prescribing feed) lives in the shared
    ledger, not on the host that took it: a daemon on another host, with a state folder of its
    own, judges later files against it."""
    gateway, daemons, _ = fleet
    upload = gateway.add_submitter("clinic-e")
    first = daemons[0]
    first.start()
    first.wait_serving()
    _drop(upload, "feed.csv", b"REMEMBER npi-1\n")
    assert gateway.wait_receipts("clinic-e", 1)[0]["status"] == "accepted"
    assert first.stop() == 0

    config = tomllib.loads(daemons[1].config.read_text(encoding="utf-8"))
    shared = {name: str(gateway.var / name) for name in ("spool", "archive", "quarantine")}
    config["folders"] = {**config.get("folders", {}), **shared,
                         "state": str(tmp_path / "host-b" / "var")}
    init_layout(load_config(_write_config(tmp_path / "host-b.toml", config)))
    second = Daemon(gateway, 4, config)
    second.start()
    second.wait_serving()
    _drop(upload, "plan.csv", b"KNOWN npi-1\n")
    _drop(upload, "stray.csv", b"KNOWN npi-2\n")
    receipts = {r["file"]["name"]: r for r in gateway.wait_receipts("clinic-e", 3)}
    assert second.stop() == 0
    assert receipts["plan.csv"]["status"] == "accepted"
    assert receipts["stray.csv"]["status"] == "rejected"
    assert not (tmp_path / "host-b" / "var" / "ledger.sqlite3").exists()


def _write_config(path: Path, config: dict[str, dict[str, Any]]) -> Path:
    path.write_text(toml_text(config), encoding="utf-8")
    return path


def test_metrics_move_during_a_run(fleet) -> None:
    gateway, daemons, _ = fleet
    upload = gateway.add_submitter("clinic-c")
    daemon = daemons[0]
    port = int(daemon.config.read_text().split("port = ")[1].split()[0])
    daemon.start()
    daemon.wait_serving()

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            return answer.read().decode()

    def value(text: str, sample: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(sample))

    before = scrape()
    assert value(before, "gateway_files_taken_total") == 0
    for n in range(20):
        _drop(upload, f"patient-secret-{n:02}.csv",
              (b"REJECT" if n % 4 == 0 else b"SLEEP 0.05") + b"\nSECRET-CELL-VALUE %d\n" % n)
    wait_until(lambda: value(scrape(), "gateway_files_taken_total") >= 1,
               what="files taken to show")
    gateway.wait_receipts("clinic-c", 20)
    after = wait_until(lambda: (text := scrape()) and value(
        text, 'gateway_receipts_total{family="none"') >= 20 and text, what="receipt counts")
    assert daemon.stop() == 0
    assert value(after, "gateway_files_taken_total") == 20
    assert value(after, 'gateway_receipts_total{family="none",status="rejected"}') == 5
    assert value(after, 'gateway_receipts_total{family="none",status="accepted"}') == 15
    assert value(after, "gateway_validation_seconds_count") == 20
    assert value(after, 'gateway_validation_seconds_bucket{le="0.05"}') < 20
    assert value(after, 'gateway_validation_seconds_bucket{le="+Inf"}') == 20
    assert value(after, 'gateway_ledger_seconds_count{operation="add"}') == 20
    assert "gateway_queue_depth" in after and "gateway_oldest_unanswered_seconds" in after
    assert "gateway_worker_restarts_total 0.0" in after
    assert "secret" not in after.lower()  # no file name or value in any label


def test_the_alert_rules_use_only_metrics_the_daemon_serves() -> None:
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "gateway-alerts.yml").read_text())
    suffixes = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}
    served = {family.name + suffix for family in Metrics().registry.collect()
              for suffix in suffixes[family.type]}
    for rule in rules["groups"][0]["rules"]:
        for name in re.findall(r"\bgateway_[a-z_]+", rule["expr"]):
            assert name in served, (rule["alert"], name)
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    assert scrape["rule_files"] == ["gateway-alerts.yml"]


def test_a_frozen_daemon_loses_its_files_after_the_lease_and_lets_them_go(fleet) -> None:
    gateway, daemons, url = fleet
    upload = gateway.add_submitter("clinic-d")
    frozen, other = daemons[0], daemons[1]
    frozen.start()
    frozen.wait_serving()
    names = [f"held-{n:02}.csv" for n in range(16)]
    for name in names:
        _drop(upload, name, f"SLEEP 0.4\n{name}\n".encode())
    wait_until(lambda: frozen.log.read_text().count('"claimed"') >= 4, what="claims")
    assert frozen.process is not None
    frozen.process.send_signal(signal.SIGSTOP)  # alive, but its lease is no longer renewed
    try:
        other.start()
        other.wait_serving()
        gateway.wait_receipts("clinic-d", 16, timeout=120)
        wait_until(lambda: not gateway.spool(), what="the spool to empty")
    finally:
        frozen.process.send_signal(signal.SIGCONT)
    # Awake, it finds its rows taken over and lets them go; frozen inside a ledger transaction,
    # it finds its session ended by the server instead and exits (systemd would restart it).
    wait_until(lambda: '"claim_lost"' in frozen.log.read_text()
               or frozen.process.poll() is not None, what="the old owner to yield")
    time.sleep(1.0)  # let it run on a little: it must not write anything more
    if frozen.process.poll() is None:
        assert frozen.stop() == 0
    else:  # the server ended the session; psycopg quotes its reason when it reads it before
        # the reset the closed socket answers the next statement with, else says it closed
        text = frozen.log.read_text()
        assert ("idle-in-transaction timeout" in text
                or "server closed the connection unexpectedly" in text)
    assert other.stop() == 0
    receipts = gateway.receipts("clinic-d")
    assert sorted(r["file"]["name"] for r in receipts) == names
    assert {(r["state"], r["owner"]) for r in _rows(url)} == {("filed", None)}
    assert '"resuming"' in other.log.read_text()
