"""End to end through a real ``gateway serve``: the program's feed of a few hundred prescribers
in three health systems is accepted and remembered, QI forms are judged against it, and
``gateway opip reports`` writes one page per prescriber and delivers each health system its own
prescribers only."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

from gateway_opioid import datasets
from opip_support import REGISTRY, write_form

from bench.opioid_feed import feed_rows, write_feed
from gateway.site.reference.store import reference_view
from tests.support.daemon import Gateway, settings

SYSTEMS = ("north-clinic", "lake-hospital", "river-health")
FEED = "dhs-opioid-feed"


def qi_required(gateway: Gateway, system: str) -> tuple[str, list[str]]:
    """A QI-required prescriber of ``system`` and its measures, from the reference data."""
    for entry in reference_view(gateway.var / "ledger.sqlite3").entries(datasets.prescribers(2021)):
        if entry.value["health_system"] == system and entry.value["qi_required"]:
            return entry.key, entry.value["qi_required"]
    raise AssertionError(f"no QI-required prescriber in {system}")


def drop(gateway: Gateway, submitter: str, path: Path, count: int) -> dict:
    """Upload like sftp (a temporary name, then a rename) and wait for the receipt."""
    upload = gateway.upload(submitter)
    shutil.copy(path, upload / f".{path.name}.part")
    (upload / f".{path.name}.part").rename(upload / path.name)
    return gateway.wait_receipts(submitter, count)[-1]


def test_feed_forms_and_reports_through_the_daemon(tmp_path: Path,
                                                   poppler: dict[str, str]) -> None:
    gateway = Gateway(tmp_path / "gw", settings(pipeline=None))
    (gateway.root / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    try:
        for submitter in (FEED, *SYSTEMS):
            gateway.add_submitter(submitter)
        gateway.start()
        rows = feed_rows(240, SYSTEMS)
        receipt = drop(gateway, FEED, write_feed(tmp_path / "opip-2021.csv", rows), 1)
        assert receipt["status"] == "accepted", receipt["findings"][:3]
        assert receipt["route"]["family"] == "opip"
        assert receipt["results"]["prescribers"] == 240
        required = receipt["results"]["prescribers_qi_required"]
        assert required > 0

        # a form judged by a worker against what the daemon remembered
        north = [r for r in rows if r[4] == "north-clinic"]
        river = next(r for r in rows if r[4] == "river-health")
        wrong = write_form(tmp_path, "exemption", [{"prescriber_npi": river[1]}],
                           name="exemption-wrong.csv")
        rejected = drop(gateway, "north-clinic", wrong, 1)
        assert rejected["status"] == "rejected"
        assert {f["code"] for f in rejected["findings"]} == {"E-SUBMITTER-FACILITY"}
        right = write_form(tmp_path, "exemption", [{"prescriber_npi": north[0][1]}],
                           name="exemption.csv")
        assert drop(gateway, "north-clinic", right, 2)["status"] != "rejected"

        # a complete sequence for one QI-required prescriber of north-clinic
        npi, measures = qi_required(gateway, "north-clinic")
        sequence = [
            write_form(tmp_path, "self-assessment",
                       [{"prescriber_npi": npi, "measure": m} for m in measures]),
            write_form(tmp_path, "qi-plan", [{"prescriber_npi": npi,
                                              "measures_addressed": measures[0]}]),
            write_form(tmp_path, "qi-evaluation", [{"prescriber_npi": npi}]),
        ]
        for count, path in enumerate(sequence, start=3):
            answer = drop(gateway, "north-clinic", path, count)
            assert answer["status"] != "rejected", answer["findings"][:3]
        # the program's feed cannot come from a health system's folder
        misplaced = drop(gateway, "river-health", tmp_path / "opip-2021.csv", 1)
        assert {f["code"] for f in misplaced["findings"]} == {"E-SUBMITTER-NOT-APPLICABLE"}
        assert gateway.stop() == 0

        report = tmp_path / "compliance.csv"
        gateway.cli("compliance", "--year", "2022", "--submitter", "north-clinic",
                    "--csv", str(report))
        lines = list(csv.DictReader(io.StringIO(report.read_text(encoding="utf-8"))))
        mine = {line["measure"]: line for line in lines if npi in line["measure"]}
        owed = {f"opip-self-assessment {npi} {m}" for m in measures}
        owed |= {f"opip-qi-plan {npi}", f"opip-qi-evaluation {npi}"}
        assert set(mine) == owed
        assert {line["status"] for line in mine.values()} <= {"accepted", "accepted_late"}
        others = [line for line in lines if line["family"] == "opip" and npi not in
                  line["measure"]]
        assert others and {line["status"] for line in others} == {"missing"}

        out = tmp_path / "reports"
        run = gateway.cli("opip", "reports", "--year", "2021", "--out", str(out))
        assert "240 reports" in run.stdout
        pdfs = sorted(out.glob("*.pdf"))
        assert len(pdfs) == 240
        for pdf in pdfs[:3]:
            info = subprocess.run([poppler["pdfinfo"], str(pdf)], capture_output=True,
                                  text=True, check=True).stdout
            assert re.search(r"^Pages:\s+1$", info, re.M)
            text = subprocess.run([poppler["pdftotext"], "-layout", str(pdf), "-"],
                                  capture_output=True, text=True, check=True).stdout
            assert pdf.stem in text and "Specialty" in text and "%" in text

        page = subprocess.run([poppler["pdftotext"], str(out / f"{north[0][1]}.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
        assert "North Clinic and Family Practice" in page  # the registry's name
        by_system = {s: {r[1] for r in rows if r[4] == s} for s in SYSTEMS}
        for system in SYSTEMS:
            folder = gateway.inbox / system / "reports"
            table = list(csv.DictReader(io.StringIO(
                (folder / "opip-2021.csv").read_text(encoding="utf-8"))))
            assert {row["prescriber_npi"] for row in table} == by_system[system]
            assert len(table) == 7 * len(by_system[system])
            with zipfile.ZipFile(folder / "opip-2021.zip") as archive:
                assert {Path(n).stem for n in archive.namelist()} == by_system[system]
        assert not (gateway.inbox / FEED / "reports").exists()
    finally:
        gateway.close()
