"""Setting up a site as a new operator does: the quick start from an empty folder, ownership
for SFTP chroots, and errors an operator can act on (one line, exit 2)."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import warnings
from pathlib import Path

from gateway.site.config import load_config
from gateway.site.layout import add_submitter
from gateway.site.logs import configure_logging
from tests.support.daemon import ROOT, wait_until
from tests.support.paths import ODC

VALID = ODC / "patient" / "valid" / "odc-patient-full.csv"


def gateway(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("GATEWAY_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=cwd)


def test_the_quick_start_works_from_an_empty_folder(tmp_path: Path, monkeypatch) -> None:
    added = gateway("submitter", "add", "demo", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert (tmp_path / "inbox" / "demo" / "upload").is_dir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen([sys.executable, "-m", "gateway", "serve"], cwd=tmp_path, env=env,
                             stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        shutil.copy(VALID, tmp_path / "inbox" / "demo" / "upload" / "some-file.csv")
        receipts = tmp_path / "inbox" / "demo" / "receipts"
        wait_until(lambda: list(receipts.glob("*.some-file.csv.receipt.json")),
                   what="the quick start's receipt")
        # Submitters added while the daemon runs (watchdog warns about the new folders it
        # races with): every line the daemon writes stays one JSON object.
        assert gateway("submitter", "add", "second", cwd=tmp_path).returncode == 0
        monkeypatch.chdir(tmp_path)
        for number in range(20):
            add_submitter(load_config(None), f"more-{number}")
        shutil.copy(VALID, tmp_path / "inbox" / "second" / "upload" / "b.csv")
        wait_until(lambda: list((tmp_path / "inbox" / "second" / "receipts").glob("*.json")),
                   what="the second submitter's receipt")
    finally:
        serve.terminate()
        assert serve.wait(60) == 0
    lines = (tmp_path / "serve.log").read_text().splitlines()
    assert lines and all(json.loads(line) for line in lines), lines


def test_permission_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    for args in (("init", "/sys/gateway-site"),
                 ("submitter", "add", "clinic-a", "--config", str(_config_with_inbox(
                     tmp_path, "/sys")))):
        done = gateway(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("gateway: /sys/") and "Traceback" not in done.stderr


def _config_with_inbox(folder: Path, inbox: str) -> Path:
    config = folder / "gateway.toml"
    config.write_text(f'[folders]\ninbox = "{inbox}"\n', encoding="utf-8")
    return config


def test_init_for_a_service_account_leaves_the_chroot_path_to_root(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = gateway("init", str(site), "--service-user", "nobody")
    assert done.returncode == 0, done.stderr
    inbox = (site / "inbox").stat()
    assert (inbox.st_uid, stat.S_IMODE(inbox.st_mode)) == (0, 0o755)
    nobody = (site / "var").stat().st_uid
    assert nobody != 0
    for path in ("var/spool", "var/archive", "var/quarantine", "var/ledger.sqlite3"):
        assert (site / path).stat().st_uid == nobody, path
    # The site lies under the temporary folder, which everyone may write: sshd would refuse
    # the chroot; `init` notes it, and `submitter add --user` refuses instead of leaving a
    # broken login.
    assert "sshd will not chroot" in done.stderr and "/tmp" in done.stderr
    added = gateway("submitter", "add", "clinic-a", "--user", "nobody",
                    "--config", str(site / "gateway.toml"))
    assert added.returncode == 2
    assert "sshd will refuse" in added.stderr and "/tmp" in added.stderr
    assert len(added.stderr.strip().splitlines()) == 1


def test_python_warnings_are_logged_as_one_json_line() -> None:
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream)
    try:
        warnings.warn("a warning\nover two lines", RuntimeWarning, stacklevel=1)
    finally:
        logging.captureWarnings(False)
    [line] = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["level"] == "warning" and "over two lines" in record["event"]
