"""A check never changes the program's data (opioid.md, second edition): ``gateway validate`` in
a site reads what the site accepted and writes nothing, and several files given together are
judged in order, each seeing what the accepted earlier ones would have remembered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from gateway_opioid import datasets
from opip_support import REGISTRY, write_form

from bench.opioid_feed import feed_rows, write_feed
from gateway.contract.reference import EMPTY
from gateway.engine.pipeline import validate_file
from gateway.receipts.model import Status
from gateway.site.reference.overlay import Overlay
from gateway.site.reference.store import reference_view, remember

GATEWAY = [sys.executable, "-m", "gateway"]
FEED = "dhs-opioid-feed"


def gateway(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GATEWAY, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def rows_of(ledger: Path) -> dict[str, list[tuple]]:
    """Every row of every table of the ledger's database, in a stable order."""
    engine = sa.create_engine(f"sqlite:///{ledger}")
    try:
        tables = sa.MetaData()
        tables.reflect(engine)
        with engine.connect() as db:
            return {name: sorted(map(tuple, db.execute(sa.select(table)).all()), key=repr)
                    for name, table in tables.tables.items()}
    finally:
        engine.dispose()


def required_prescriber(ledger: Path | None, rows: list[list[str]], system: str,
                        view=None) -> tuple[str, list[str]]:
    view = view or reference_view(ledger)
    for entry in view.entries(datasets.prescribers(2021)):
        if entry.value["health_system"] == system and entry.value["qi_required"]:
            return entry.key, entry.value["qi_required"]
    raise AssertionError("no QI-required prescriber")


def every_form(folder: Path, npi: str, measures: list[str]) -> list[Path]:
    """A valid self-assessment, plan, evaluation and exemption for one prescriber."""
    return [
        write_form(folder, "self-assessment",
                   [{"prescriber_npi": npi, "measure": m} for m in measures]),
        write_form(folder, "qi-plan", [{"prescriber_npi": npi,
                                        "measures_addressed": measures[0]}]),
        write_form(folder, "qi-evaluation", [{"prescriber_npi": npi}]),
        write_form(folder, "exemption", [{"prescriber_npi": npi}]),
    ]


def test_validate_in_a_site_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    ledger = tmp_path / "var" / "ledger.sqlite3"
    systems = ["north-clinic", "lake-hospital"]
    accepted = write_feed(tmp_path / "feed.csv", feed_rows(300, systems))
    receipt = validate_file(accepted, submitter=FEED)
    assert receipt.status is Status.ACCEPTED
    assert remember(ledger, receipt)  # as the daemon remembers an accepted feed
    npi, measures = required_prescriber(ledger, [], "north-clinic")
    before = rows_of(ledger)
    assert before["reference_entries"]

    # a smaller feed of the same year and every form kind, each accepted by the check
    smaller = write_feed(tmp_path / "small.csv", feed_rows(10, systems, first_serial=500))
    assert gateway(tmp_path, "validate", str(smaller), "--submitter", FEED).returncode == 0
    forms = every_form(tmp_path, npi, measures)
    run = gateway(tmp_path, "validate", "--submitter", "north-clinic", "--json",
                  *map(str, forms))
    assert run.returncode == 0, run.stdout
    assert [r["status"] != "rejected" for r in json.loads(run.stdout)] == [True] * 4
    assert rows_of(ledger) == before  # nothing was written at all
    # and the site's feed still decides: the smaller one was only checked
    assert reference_view(ledger).info(datasets.prescribers(2021)).entries == 300


def test_plan_alone_in_a_site_misses_its_self_assessments(tmp_path: Path) -> None:
    """What a check accepted is not remembered: a plan checked after its self-assessments were
    only checked still finds them missing."""
    (tmp_path / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    ledger = tmp_path / "var" / "ledger.sqlite3"
    feed = write_feed(tmp_path / "feed.csv", feed_rows(300, ["north-clinic"]))
    assert remember(ledger, validate_file(feed, submitter=FEED))
    npi, measures = required_prescriber(ledger, [], "north-clinic")
    assessment, plan, *_ = every_form(tmp_path, npi, measures)
    first = gateway(tmp_path, "validate", str(assessment), "--submitter", "north-clinic")
    assert first.returncode == 0, first.stdout
    second = gateway(tmp_path, "validate", str(plan), "--submitter", "north-clinic", "--json")
    assert second.returncode == 1
    codes = {f["code"] for f in json.loads(second.stdout)["findings"]}
    assert "E-OPIP-SELF-ASSESSMENT-MISSING" in codes


def test_a_feed_and_its_forms_checked_together_without_a_site(tmp_path: Path) -> None:
    rows = feed_rows(300, ["north-clinic"])
    feed = write_feed(tmp_path / "feed.csv", rows)
    seen = Overlay(EMPTY)  # the test's own reading of the feed, to choose a prescriber
    seen.remember(validate_file(feed, submitter=FEED))
    npi, measures = required_prescriber(None, rows, "north-clinic", view=seen)
    forms = every_form(tmp_path, npi, measures)
    alone = gateway(tmp_path, "validate", str(forms[1]), "--submitter", "north-clinic",
                    "--json")
    assert {f["code"] for f in json.loads(alone.stdout)["findings"]} >= {"E-OPIP-NO-DATA"}

    together = gateway(tmp_path, "validate", "--json", f"{FEED}:{feed}",
                       *(f"north-clinic:{form}" for form in forms))
    assert together.returncode == 0, together.stdout
    receipts = json.loads(together.stdout)
    assert [r["submitter"] for r in receipts] == [FEED, *["north-clinic"] * 4]
    assert [r["route"]["measure"] for r in receipts] == [
        "opip-prescribing", "opip-self-assessment", "opip-qi-plan", "opip-qi-evaluation",
        "opip-exemption"]
    assert all(r["status"] != "rejected" for r in receipts)
    assert not (tmp_path / "var").exists()  # no site, and none made

    # the plan against that feed, given right after it, lacks its self-assessments
    pair = gateway(tmp_path, "validate", "--json", "--submitter", "north-clinic",
                   f"{FEED}:{feed}", str(forms[1]))
    plan = json.loads(pair.stdout)[1]
    assert pair.returncode == 1 and plan["status"] == "rejected"
    assert {f["code"] for f in plan["findings"]} == {"E-OPIP-SELF-ASSESSMENT-MISSING"}
