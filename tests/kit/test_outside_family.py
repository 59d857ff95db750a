"""An outside HCAHPS family, built as its own distribution and installed into a fresh virtual
environment, meets the built-in refusal of HCAHPS files: a real ``gateway serve`` rejects its
files naming the plugin that refused and the setting that changes it; with
``[plugins] disable = ["refuse-hcahps"]`` in gateway.toml the same daemon accepts them.
``gateway plugins`` says where the family comes from and which plugins are disabled, and the
conformance kit passes once the refusal is left out (``--disable``), warning when run in the
family's checkout that the copy it checked is the installed one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.packaging import python_seeing_the_gateway

FAMILY = Path(__file__).resolve().parent / "hcahps_family"
VALID = FAMILY / "gateway_hcahps" / "examples" / "2015" / "hcahps" / "summary" / "valid" / \
    "hcahps-three-composites.csv"


def run(python: Path, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTEST_ADDOPTS", "GATEWAY_CONFIG")}
    return subprocess.run([str(python), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def serve_one(python: Path, site: Path, upload: Path) -> dict:
    """Start ``gateway serve`` on ``site``, drop ``upload`` in, return its receipt, stop."""
    receipts = site / "inbox" / "hosp-a" / "receipts"
    before = set(receipts.glob("*.receipt.json"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTEST_ADDOPTS", "GATEWAY_CONFIG")}
    daemon = subprocess.Popen([str(python), "-m", "gateway", "serve", "--config",
                               str(site / "gateway.toml")], cwd=site, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        inbox = site / "inbox" / "hosp-a" / "upload"
        shutil.copy(upload, inbox / f".{upload.name}.part")
        (inbox / f".{upload.name}.part").rename(inbox / upload.name)
        deadline = time.monotonic() + 180
        while not set(receipts.glob("*.receipt.json")) - before:
            assert daemon.poll() is None, f"gateway serve exited: {daemon.stderr.read()}"
            assert time.monotonic() < deadline, "no receipt within 180 s"
            time.sleep(0.2)
        (new,) = set(receipts.glob("*.receipt.json")) - before
        return json.loads(new.read_text("utf-8"))
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(60) == 0


def test_an_installed_family_takes_over_what_a_refusal_refused(tmp_path: Path) -> None:
    python = python_seeing_the_gateway(tmp_path / "env")
    source = tmp_path / "gateway-hcahps"
    shutil.copytree(FAMILY, source)
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                                "-q", "--no-deps", str(source)], capture_output=True, text=True,
                               timeout=600)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    site = tmp_path / "site"
    assert run(python, "-m", "gateway", "init", site, cwd=tmp_path).returncode == 0
    config = site / "gateway.toml"
    config.write_text(config.read_text("utf-8").replace("quiet_period = 3.0", "quiet_period = 0.3")
                      .replace("count = 0", "count = 1"), encoding="utf-8")
    assert run(python, "-m", "gateway", "submitter", "add", "hosp-a", "--config", config,
               cwd=site).returncode == 0

    # the kit, without and with the built-in refusal
    refused = run(python, "-m", "gateway", "check-plugin", "hcahps", cwd=tmp_path)
    assert refused.returncode == 1 and "E-ROUTE-NOT-ACCEPTED-HERE" in refused.stdout
    # -P: the working folder is not put on sys.path, as for the `gateway` console script
    kit = run(python, "-P", "-m", "gateway", "check-plugin", "hcahps", "--disable",
              "refuse-hcahps", cwd=source)
    assert kit.returncode == 0 and "hcahps: conforms" in kit.stdout, kit.stdout + kit.stderr
    # run in the family's checkout, the kit says it checked the installed copy instead
    assert f"not from the checkout {source}" in kit.stderr
    assert "gateway-hcahps 0.3.0, not editable" in kit.stderr

    # without the setting: the refusal decides, and says who refused and how to change it
    receipt = serve_one(python, site, VALID)
    assert receipt["status"] == "rejected"
    (finding,) = receipt["findings"]
    assert finding["code"] == "E-ROUTE-NOT-ACCEPTED-HERE"
    assert "certified survey vendor" in finding["message"]
    assert "plugin refuse-hcahps" in finding["message"]
    assert "hcahps HCAHPS summary-level 2015 (plugin hcahps)" in finding["message"]
    assert '[plugins] disable = ["refuse-hcahps"] in gateway.toml' in finding["message"]

    # with it: the same daemon accepts the family's files
    config.write_text(config.read_text("utf-8").replace("disable = []",
                                                        'disable = ["refuse-hcahps"]'),
                      encoding="utf-8")
    second = tmp_path / "hcahps-second.csv"  # other bytes: not a duplicate of the first
    second.write_text(VALID.read_text("utf-8").replace(",298", ",297"), encoding="utf-8")
    receipt = serve_one(python, site, second)
    assert receipt["status"] != "rejected", receipt["findings"]
    assert receipt["route"]["family"] == "hcahps" and receipt["route"]["reporting_year"] == 2015

    listed = json.loads(run(python, "-m", "gateway", "plugins", "--json", "--config", config,
                            cwd=site).stdout)
    (family,) = [row for row in listed if row["family"] == "hcahps"]
    assert (family["plugin"], family["distribution"], family["version"], family["editable"],
            family["local"]) == ("hcahps", "gateway-hcahps", "0.3.0", False, False)
    assert str(tmp_path / "env") in family["location"]
    assert {"plugin": "refuse-hcahps", "family": None, "disabled": True,
            "installed": True} in listed
    text = run(python, "-m", "gateway", "plugins", "-v", "--config", config, cwd=site).stdout
    assert "hcahps: gateway-hcahps 0.3.0, installed copy, at " in text
    assert "disabled ([plugins] disable in gateway.toml or --disable): refuse-hcahps" in text
