"""Two consecutive measurement years through a real ``gateway serve``: exemptions requested and
decided (compliance shows ``exempt``, ``exemption_requested``, or the ordinary status after a
denial), and ``gateway opip review`` gives the classes an independent computation here gives,
with one-page notices for the prescribers for review."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from fractions import Fraction
from pathlib import Path

from opip_support import REGISTRY, TEXT, write_form
from test_opip_end_to_end import drop

from bench.opioid_feed import feed_rows, write_feed
from tests.support.daemon import Gateway, settings

SYSTEMS = ("north-clinic", "lake-hospital", "river-health")
FEED = "dhs-opioid-feed"
MINIMUM = {"M1": 10, "M2": 10, "M3": 10, "M4": 10, "M5": 5, "M6": 5, "M7": 10}
QI = ("M2", "M3", "M5", "M6")


def groups(rows: list[list[str]]) -> dict[tuple[str, str], list[Fraction]]:
    """The compared rates of each (specialty, measure), as the spec defines them."""
    out: dict[tuple[str, str], list[Fraction]] = {}
    for row in rows:
        numerator, denominator = int(row[6]), int(row[7])
        if denominator > 0 and denominator >= MINIMUM[row[5]]:
            out.setdefault((row[3], row[5]), []).append(Fraction(numerator, denominator))
    return out


def above(rate: Fraction, rates: list[Fraction], k: int) -> bool | None:
    """rate > mean + k population SD of ``rates`` (exactly); None for a group below 5."""
    if len(rates) < 5:
        return None
    mean = sum(rates, Fraction(0)) / len(rates)
    variance = sum(((r - mean) ** 2 for r in rates), Fraction(0)) / len(rates)
    return rate - mean > 0 and (rate - mean) ** 2 > k * k * variance


def expected_classes(first: list[list[str]], second: list[list[str]], exempt: set[str]
                     ) -> dict[tuple[str, str], str]:
    before, now = groups(first), groups(second)
    counts = {(r[1], r[5]): (int(r[6]), int(r[7]), r[3]) for r in second}
    out = {}
    for row in first:
        npi, measure, numerator, denominator = row[1], row[5], int(row[6]), int(row[7])
        if measure not in QI or denominator == 0 or denominator < MINIMUM[measure]:
            continue
        if not above(Fraction(numerator, denominator), before[row[3], measure], 2):
            continue
        n2, d2, specialty = counts[npi, measure]
        if d2 == 0 or d2 < MINIMUM[measure]:
            continue
        rate = Fraction(n2, d2)
        qi = above(rate, now[specialty, measure], 2)
        if npi in exempt:
            out[npi, measure] = "exempt"
        elif qi is False:
            out[npi, measure] = "improved"
        elif rate <= Fraction(9, 10) * Fraction(numerator, denominator):
            out[npi, measure] = "improving"
        elif above(rate, now[specialty, measure], 3):
            out[npi, measure] = "for review"
        else:
            out[npi, measure] = "not improved"
    return out


def next_year(rows: list[list[str]], required: dict[str, list[str]]) -> list[list[str]]:
    """MY 2022: the same prescribers, the QI-required ones moved four ways."""
    order = {npi: index for index, npi in enumerate(sorted(required))}
    out = []
    for row in rows:
        row = [*row]
        row[0] = "2022"
        index = order.get(row[1])
        if index is not None and row[5] in required[row[1]]:
            numerator, denominator = int(row[6]), int(row[7])
            row[6] = str([0, numerator * 85 // 100, numerator, denominator][index % 4])
        out.append(row)
    return out


def compliance(gateway: Gateway, system: str) -> dict[str, str]:
    report = gateway.root / f"compliance-{system}.csv"
    gateway.cli("compliance", "--year", "2022", "--submitter", system, "--csv", str(report))
    return {line["measure"]: line["status"] for line in csv.DictReader(
        io.StringIO(report.read_text(encoding="utf-8")))}


def test_two_years_exemptions_and_the_review(tmp_path: Path, poppler: dict[str, str]) -> None:
    gateway = Gateway(tmp_path / "gw", settings(pipeline=None))
    (gateway.root / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    try:
        for submitter in (FEED, *SYSTEMS):
            gateway.add_submitter(submitter)
        gateway.start()
        first = feed_rows(240, SYSTEMS)
        receipt = drop(gateway, FEED, write_feed(tmp_path / "opip-2021.csv", first), 1)
        assert receipt["status"] == "accepted"
        required = receipt["results"]["qi_required"]
        north = sorted(npi for npi in required
                       if any(r[1] == npi and r[4] == "north-clinic" for r in first))
        granted, waiting, denied = north[:3]

        # one form accepted before the grant keeps its status; three requests
        assessed = drop(gateway, "north-clinic", write_form(tmp_path, "self-assessment", [
            {"prescriber_npi": granted, "measure": required[granted][0]}]), 1)
        assert assessed["status"] != "rejected", assessed["findings"]
        assert [o["subject"] for o in assessed["obligations"]] == [
            f"{granted} {required[granted][0]}"]
        requests = write_form(tmp_path, "exemption", [
            {"prescriber_npi": granted, "panel_size": "200", "patients_chronic_pain": "50"},
            {"prescriber_npi": waiting, "reason": "SEVERE_ACUTE_PAIN",
             "patients_severe_acute_pain": "19", "panel_size": "200"},
            {"prescriber_npi": denied, "reason": "OTHER", "description": TEXT * 2}])
        asked = drop(gateway, "north-clinic", requests, 2)
        assert asked["status"] != "rejected", asked["findings"]
        shares = asked["results"]["exemptions"]
        assert [shares[n]["criterion_met"] for n in (granted, waiting, denied)] == [
            True, False, None]
        assert shares[waiting]["share_percent"] == 9.5

        second = next_year(first, required)
        receipt = drop(gateway, FEED, write_feed(tmp_path / "opip-2022.csv", second), 2)
        assert receipt["status"] == "accepted", receipt["findings"][:3]
        assert gateway.stop() == 0

        before = compliance(gateway, "north-clinic")
        assert {s for m, s in before.items() if granted in m or waiting in m
                or denied in m} - {"accepted_late"} == {"exemption_requested"}
        gateway.cli("opip", "exemption", "decide", granted, "--year", "2021", "--grant",
                    "--note", "chronic pain panel of 25%")
        gateway.cli("opip", "exemption", "decide", denied, "--year", "2021", "--deny",
                    "--note", "no special cause shown")
        refused = gateway.cli("opip", "exemption", "decide", north[3], "--year", "2021",
                              "--grant", "--note", "x", check=False)
        assert refused.returncode == 2 and "no accepted exemption request" in refused.stderr
        after = compliance(gateway, "north-clinic")
        mine = {m: s for m, s in after.items() if granted in m}
        # sent today, long after June 15, 2022: accepted late, and kept
        assert mine.pop(f"opip-self-assessment {granted} {required[granted][0]}") == \
            "accepted_late"
        assert set(mine.values()) == {"exempt"}
        assert {s for m, s in after.items() if waiting in m} == {"exemption_requested"}
        assert {s for m, s in after.items() if denied in m} == {"missing"}

        out = tmp_path / "review"
        run = gateway.cli("opip", "review", "--year", "2022", "--out", str(out))
        table = list(csv.DictReader(io.StringIO(
            (out / "review-2022.csv").read_text(encoding="utf-8"))))
        assert list(table[0]) == ["prescriber_npi", "prescriber_name", "health_system",
                                  "measure", "rate_previous", "threshold_previous", "rate",
                                  "threshold", "review_threshold", "forms_received", "class"]
        got = {(row["prescriber_npi"], row["measure"]): row["class"] for row in table}
        expected = expected_classes(first, second, {granted})
        assert got == expected
        assert {"exempt", "improved", "improving", "for review"} <= set(got.values())
        assert f"{len(table)} review rows" in run.stdout
        flagged = {npi for (npi, _), klass in got.items() if klass == "for review"}
        assert {p.stem for p in (out / "notices").glob("*.pdf")} == flagged
        for pdf in (out / "notices").glob("*.pdf"):
            info = subprocess.run([poppler["pdfinfo"], str(pdf)], capture_output=True,
                                  text=True, check=True).stdout
            assert re.search(r"^Pages:\s+1$", info, re.M)
            text = subprocess.run([poppler["pdftotext"], str(pdf), "-"], capture_output=True,
                                  text=True, check=True).stdout
            assert pdf.stem in text and "may respond" in text and "Nothing has been decided" \
                in text
        assessed_row = next(row for row in table if row["prescriber_npi"] == granted)
        assert "self-assessment" in assessed_row["forms_received"]
        assert "exemption request" in assessed_row["forms_received"]
    finally:
        gateway.close()
