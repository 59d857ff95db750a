"""``gateway opip reports`` as an operator runs it in a gateway's folder: from what the daemon
accepted (never from what ``gateway validate`` only checked), every page, and each registered
health system's own files."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import zipfile
from pathlib import Path

from opip_support import REGISTRY

from bench.opioid_feed import feed_rows, write_feed
from gateway.engine.pipeline import validate_file
from gateway.site.reference.store import remember

GATEWAY = [sys.executable, "-m", "gateway"]


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GATEWAY, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_reports_from_validated_data_with_a_registry(tmp_path: Path) -> None:
    (tmp_path / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    none = run(tmp_path, "opip", "reports", "--year", "2021", "--out", "out")
    assert none.returncode == 2 and "no prescribing data" in none.stderr
    rows = feed_rows(30, ["north-clinic", "lake-hospital"])  # river-health has nobody
    feed = write_feed(tmp_path / "feed.csv", rows)
    accepted = run(tmp_path, "validate", str(feed), "--submitter", "dhs-opioid-feed")
    assert accepted.returncode == 0, accepted.stdout
    checked = run(tmp_path, "opip", "reports", "--year", "2021", "--out", "out")
    assert checked.returncode == 2 and "no prescribing data" in checked.stderr  # only checked
    # accepted as the daemon accepts it: the receipt's reference data applied to the ledger
    assert remember(tmp_path / "var" / "ledger.sqlite3",
                    validate_file(feed, submitter="dhs-opioid-feed"))

    one = run(tmp_path, "opip", "reports", "--year", "2021", "--out", "one", "--npi", rows[0][1])
    assert one.returncode == 0, one.stderr
    assert [p.name for p in (tmp_path / "one").iterdir()] == [f"{rows[0][1]}.pdf"]
    assert not (tmp_path / "inbox").exists()  # a partial run delivers nothing
    unknown = run(tmp_path, "opip", "reports", "--year", "2021", "--out", "x",
                  "--npi", "1234567893")
    assert unknown.returncode == 2 and "1234567893" in unknown.stderr

    nowhere = run(tmp_path, "opip", "reports", "--year", "2021")
    assert nowhere.returncode == 2 and "--out" in nowhere.stderr and "--send" in nowhere.stderr
    unlisted = run(tmp_path, "opip", "reports", "--year", "2021", "--send", "--out", "mailed")
    assert unlisted.returncode == 2 and "no sign-up list" in unlisted.stderr
    assert not (tmp_path / "mailed").exists()  # refused before anything was drawn

    done = run(tmp_path, "opip", "reports", "--year", "2021", "--out", "out")
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "out").glob("*.pdf"))) == 30
    for system, expected in (("north-clinic", 15), ("lake-hospital", 15), ("river-health", 0)):
        folder = tmp_path / "inbox" / system / "reports"
        table = list(csv.DictReader(io.StringIO((folder / "opip-2021.csv").read_text())))
        assert len({row["prescriber_npi"] for row in table}) == expected
        assert all(row["measurement_year"] == "2021" for row in table)
        with zipfile.ZipFile(folder / "opip-2021.zip") as archive:
            assert len(archive.namelist()) == expected
    assert not (tmp_path / "inbox" / "dhs-opioid-feed").exists()
