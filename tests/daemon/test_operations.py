"""What operators see: logs without patient data, systemd notifications, the commands."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

from tests.support.daemon import ROOT, wait_until
from tests.support.paths import ODC

EXAMPLES = sorted(ODC.glob("*/*/*.csv"))
PLANTED = ("LEAKY-PATIENT-0001", "LEAKY-A1C-VALUE")


def _planted_file() -> bytes:
    """The valid patient file with two planted values that the receipt will quote."""
    rows = list(csv.DictReader(io.StringIO((ODC / "patient" / "valid" /
                                            "odc-patient-full.csv").read_text())))
    rows[3]["patient_id"], rows[3]["a1c_value"] = PLANTED
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _cell_values(data: bytes) -> set[str]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    return {cell.strip() for row in rows[1:] for cell in row if len(cell.strip()) >= 5}


def test_no_log_line_contains_a_value_from_a_submitted_file(make_gateway) -> None:
    gw = make_gateway(pipeline=None)  # the real pipeline, whose findings quote values
    upload = gw.add_submitter("clinic-a")
    gw.start()
    # Neutral names: the example files are named after codes and values they contain.
    submitted = {f"file-{i:02}.csv": path.read_bytes() for i, path in enumerate(EXAMPLES)}
    submitted["planted.csv"] = _planted_file()
    for name, data in submitted.items():
        (upload / name).write_bytes(data)
    receipts = gw.wait_receipts("clinic-a", len(submitted), timeout=120)
    wait_until(lambda: len(gw.filed()) == len(submitted), what="everything filed")
    assert gw.stop() == 0

    quoted = {str(f["value"]) for r in receipts for f in r["findings"] if f["value"] is not None}
    assert PLANTED[1] in quoted  # the receipts do echo values, so the check below has teeth
    # The gateway's own vocabulary may coincide with a cell ("SAMPLE" in E-RULE-SAMPLE-SIZE).
    vocabulary = [str(v) for r in receipts if r["route"] for v in r["route"].values()]
    vocabulary += [code for r in receipts for code in r["findings_by_code"]]
    values = set().union(*map(_cell_values, submitted.values())) | quoted
    values = {v for v in values if len(v) >= 5 and not any(v in word for word in vocabulary)}
    assert len(values) > 100
    pattern = re.compile("|".join(rf"(?<![0-9A-Za-z]){re.escape(v)}(?![0-9A-Za-z])"
                                  for v in sorted(values, key=len, reverse=True)))
    lines = gw.log_lines()
    summaries = [json.loads(line) for line in lines if '"event": "submission"' in line]
    assert len(summaries) == len(submitted)
    assert all({"submission_id", "submitter", "route", "status", "errors", "total_s"}
               <= set(s) for s in summaries)
    # The daemon's process id (alone and in its daemon id) is the machine's number: it could
    # be a five-digit zip code of the files by chance.
    own = re.compile(r'"(?:pid|daemon)": (?:\d+|"[^"]*")')
    leaks = [line for line in lines if pattern.search(own.sub("", line))]
    assert leaks == []


def test_systemd_hears_ready_watchdog_pings_and_stopping(make_gateway, tmp_path: Path) -> None:
    gw = make_gateway()
    gw.add_submitter("clinic-a")
    address = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(30)
    try:
        gw.start({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"})
        messages: list[str] = []

        def receive_until(condition) -> None:  # each recv times out after 30 s
            while not condition():
                messages.append(listener.recv(4096).decode())

        receive_until(lambda: any("READY=1" in m for m in messages))
        receive_until(lambda: sum(m == "WATCHDOG=1" for m in messages) >= 3)
        assert gw.stop() == 0
        receive_until(lambda: any("STOPPING=1" in m for m in messages))
    finally:
        listener.close()


def test_init_and_submitter_add_create_the_layout_with_sftp_modes(tmp_path: Path) -> None:
    site = tmp_path / "site"
    init = gateway_cli("init", str(site))
    assert init.returncode == 0, init.stderr
    config = site / "gateway.toml"
    assert "[intake]" in config.read_text() and f"created {config}" in init.stdout
    for folder in ("spool", "archive", "quarantine"):
        assert (site / "var" / folder).is_dir()
    assert (site / "var" / "ledger.sqlite3").is_file()
    added = gateway_cli("submitter", "add", "clinic-a", "--config", str(config))
    assert added.returncode == 0, added.stderr
    submitter = site / "inbox" / "clinic-a"
    assert stat.S_IMODE(submitter.stat().st_mode) == 0o755
    assert stat.S_IMODE((submitter / "upload").stat().st_mode) == 0o2770
    assert stat.S_IMODE((submitter / "receipts").stat().st_mode) == 0o750
    bad = gateway_cli("submitter", "add", "../escape", "--config", str(config))
    assert bad.returncode == 2 and "not a valid submitter id" in bad.stderr
    assert gateway_cli("init", str(site)).stdout.startswith("next:")  # nothing to create


def gateway_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_submissions_lists_filters_and_shows_one(make_gateway) -> None:
    gw = make_gateway()
    upload_a = gw.add_submitter("clinic-a")
    upload_b = gw.add_submitter("clinic-b")
    gw.start()
    (upload_a / "good.csv").write_bytes(b"fine\n")
    (upload_a / "bad.csv").write_bytes(b"REJECT\n")
    (upload_b / "other.csv").write_bytes(b"fine too\n")
    gw.wait_receipts("clinic-a", 2)
    gw.wait_receipts("clinic-b", 1)
    wait_until(lambda: len(gw.filed()) == 3, what="three filed")
    assert gw.stop() == 0
    rejected = json.loads(gw.cli("submissions", "--status", "rejected", "--json").stdout)
    assert [r["name"] for r in rejected] == ["bad.csv"]
    mine = json.loads(gw.cli("submissions", "--submitter", "clinic-b", "--json").stdout)
    assert [r["name"] for r in mine] == ["other.csv"]
    assert json.loads(gw.cli("submissions", "--since", "2000-01-01", "--until", "2000-12-31",
                             "--json").stdout) == []
    table = gw.cli("submissions").stdout
    assert table.splitlines()[0].split()[:3] == ["submission_id", "submitter", "status"]
    assert len(table.splitlines()) == 4
    shown = gw.cli("submissions", rejected[0]["submission_id"]).stdout
    assert "quarantine" in shown
    assert [line.split()[-1] for line in shown.splitlines() if line.startswith("  ")] == [
        "claimed", "validated", "receipt_written", "filed"]
