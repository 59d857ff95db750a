"""The plugin is its own distribution: built as a wheel and pip-installed into a fresh virtual
environment beside the gateway's wheel, it is found through its entry point, listed by
``gateway plugins``, passes the conformance kit, and validates, serves and reports like the
checkout."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

from bench.opioid_feed import feed_rows, write_feed
from tests.support.packaging import third_party_only

PLUGIN = Path(__file__).resolve().parents[1]
ROOT = PLUGIN.parents[1]


def test_wheel_installed_beside_the_gateway(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    for project in (ROOT, PLUGIN):
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                        str(project), "-w", str(dist)],
                       check=True, capture_output=True)
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", *map(str, sorted(dist.glob("*.whl")))],
                   check=True, capture_output=True)
    gateway = env_dir / "bin" / "gateway"
    # third-party dependencies come from the test environment; both projects from the wheels
    env = {"PYTHONPATH": str(third_party_only(tmp_path / "deps")), "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(gateway), *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)

    listed = json.loads(run("plugins", "--json").stdout)
    opip = {row["measure"] for row in listed if row["family"] == "opip"}
    assert opip == {"opip-prescribing", "opip-self-assessment", "opip-qi-plan",
                    "opip-qi-evaluation", "opip-exemption", "opip-subscribers"}
    assert {row["plugin"] for row in listed if row["family"] == "opip"} == {"opip"}
    feed = write_feed(tmp_path / "feed.csv", feed_rows(40, ["north-clinic"]))
    checked = run("validate", str(feed), "--submitter", "dhs-feed", "--json")
    assert checked.returncode == 0, checked.stderr
    receipt = json.loads(checked.stdout)
    assert receipt["route"]["family"] == "opip" and receipt["status"] != "rejected"
    where = subprocess.run([str(python), "-c", "import gateway_opioid, gateway; "
                            "print(gateway_opioid.__file__); print(gateway.__file__)"],
                           env=env, cwd=tmp_path, capture_output=True, text=True,
                           check=True).stdout
    assert all(str(env_dir) in line for line in where.split())  # the wheels ran
    # a check writes nothing; the installed gateway remembers the feed as its daemon would
    subprocess.run([str(python), "-c", "import sys; from pathlib import Path; "
                    "from gateway.engine.pipeline import validate_file; "
                    "from gateway.site.reference.store import remember; "
                    "sys.exit(0 if remember(Path('var/ledger.sqlite3'), validate_file("
                    "Path('feed.csv'), submitter='dhs-feed')) else 1)"],
                   env=env, cwd=tmp_path, check=True, capture_output=True)
    reports = run("opip", "reports", "--year", "2021", "--out", str(tmp_path / "out"),
                  "--npi", feed_rows(1, [])[0][1])
    assert reports.returncode == 0, reports.stderr
    assert len(list((tmp_path / "out").glob("*.pdf"))) == 1

    # the conformance kit, run by the installed gateway on the installed plugin
    kit = subprocess.run([str(python), "-c", "import sys; from gateway.kit.conformance import "
                          "plugin_problems; problems = plugin_problems('opip'); "
                          "print(*problems, sep='\\n'); sys.exit(1 if problems else 0)"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert kit.returncode == 0, kit.stdout + kit.stderr

    # a real daemon of the installed gateway takes a feed through the plugin
    site = tmp_path / "site"
    assert run("init", str(site)).returncode == 0
    config = site / "gateway.toml"
    config.write_text(config.read_text().replace("quiet_period = 3.0", "quiet_period = 0.3")
                      .replace("count = 0", "count = 1"))
    assert run("submitter", "add", "dhs-feed", "--config", str(config)).returncode == 0
    daemon = subprocess.Popen([str(gateway), "serve", "--config", str(config)], cwd=site,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        upload = site / "inbox" / "dhs-feed" / "upload"
        shutil.copy(feed, upload / ".feed.csv.part")
        (upload / ".feed.csv.part").rename(upload / "feed.csv")
        receipts = site / "inbox" / "dhs-feed" / "receipts"
        deadline = time.monotonic() + 180
        while not list(receipts.glob("*.receipt.json")) and time.monotonic() < deadline:
            assert daemon.poll() is None, "gateway serve exited"
            time.sleep(0.2)
        (answer,) = [json.loads(p.read_text()) for p in receipts.glob("*.receipt.json")]
        assert answer["route"]["family"] == "opip" and answer["status"] != "rejected"
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(60) == 0
