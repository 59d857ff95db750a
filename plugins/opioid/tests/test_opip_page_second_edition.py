"""The page, second edition (opioid.md): one scale, where the prescriber stands among peers,
small groups private, last year's trend, what happens next with due dates and the exemption,
and a reason with numbers for every row without a comparison; still exactly one US Letter page
for every prescriber of a generated year, long names and every measure included."""

from __future__ import annotations

import csv
import io
import math
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from gateway_opioid import datasets
from gateway_opioid.exemptions import decision
from gateway_opioid.program import program
from gateway_opioid.report.command import draw_all
from gateway_opioid.report.data import reports
from gateway_opioid.report.delivery import csv_bytes
from gateway_opioid.report.pdf import page_scale
from opip_support import write_form

from bench.opioid_feed import feed_rows, write_feed
from gateway.contract import ReferenceWrite
from gateway.contract.reference import EMPTY
from gateway.engine.pipeline import validate_file
from gateway.receipts.model import Status
from gateway.site.reference.overlay import Overlay

SYSTEMS = ("north-clinic", "lake-hospital")
LONG = "Maximiliana-Wilhelmina Featherstonehaugh-Cholmondeley Nguyễn Thị Hương"


def shape(rows: list[list[str]]) -> dict[str, str]:
    """Give the feed the prescribers the page must show: one above threshold on M2, M3 and M5
    (with a long name), one at 0% on every measure, three alone in Urology, one with a
    denominator below the minimum; every prescriber has all seven measures."""
    by: dict[str, list[list[str]]] = {}
    for row in rows:
        by.setdefault(row[1], []).append(row)
    npis = list(by)
    hot, cool, low, urology = npis[0], npis[1], npis[2], npis[3:6]
    for row in by[hot]:
        row[2], row[3], row[7] = LONG, "FAMILY_MEDICINE", "60"
        row[6] = "50" if row[5] in ("M2", "M3", "M5") else "3"
    for row in by[cool]:
        row[3], row[6], row[7] = "FAMILY_MEDICINE", "0", "40"
    for row in by[low]:
        row[3], row[6], row[7] = "FAMILY_MEDICINE", "1", "4"
    for npi in urology:
        for row in by[npi]:
            row[3] = "UROLOGY"
            row[7] = str(max(int(row[7]), 20))
    for npi in npis:  # nobody else in Urology, and every measure present for everyone
        for row in by[npi]:
            if npi not in urology and row[3] == "UROLOGY":
                row[3] = "FAMILY_MEDICINE"
    return {"hot": hot, "cool": cool, "low": low, "urology": urology[0]}


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> tuple[Overlay, dict[str, str], Path]:
    """Two accepted years (2021, 2022) and an exemption granted for 2022, in memory."""
    folder = tmp_path_factory.mktemp("year")
    view = Overlay(EMPTY)
    who: dict[str, str] = {}
    for my, seed in ((2021, 11), (2022, 12)):
        rows = feed_rows(160, SYSTEMS, year=my, seed=seed)
        who = shape(rows)
        receipt = validate_file(write_feed(folder / f"feed-{my}.csv", rows), submitter="feed")
        assert receipt.status is Status.ACCEPTED, receipt.findings.by_code
        view.remember(receipt)
    exempt = next(e.key for e in view.entries(datasets.prescribers(2022))
                  if e.value["qi_required"] and e.key not in who.values())
    system = view.get(datasets.prescribers(2022), exempt).value["health_system"]
    form = write_form(folder, "exemption", [{"prescriber_npi": exempt,
                                             "measurement_year": "2022"}])
    request = validate_file(form, submitter=system, reference=view)
    assert request.status is not Status.REJECTED, request.findings.by_code
    view.remember(request)
    view.apply([ReferenceWrite(datasets.decisions(2022), {exempt: decision(
        request.submission_id, True, "panel of chronic pain", "staff")})],
        submission_id="decision-1", submitter="staff", received_at="2023-05-02T00:00:00Z")
    who["exempt"] = exempt
    return view, who, folder


def text_of(pdf: Path, poppler: dict[str, str], *layout: str) -> str:
    """The page's words, whitespace collapsed (lines wrap where the layout decides)."""
    raw = subprocess.run([poppler["pdftotext"], *layout, str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    return re.sub(r"\s+", " ", raw)


def test_every_page_of_a_generated_year_is_one_letter_page(year, poppler) -> None:
    view, _, folder = year
    found = list(reports(view, 2022))
    assert len(found) == 160
    out = folder / "pages"
    out.mkdir()
    draw_all(found, 2022, out, jobs=1, names={s: "North Clinic and Family Practice Associates "
                                              "of the Upper Mississippi" for s in SYSTEMS})
    for pdf in sorted(out.glob("*.pdf")):
        info = subprocess.run([poppler["pdfinfo"], str(pdf)], capture_output=True, text=True,
                              check=True).stdout
        assert re.search(r"^Pages:\s+1$", info, re.M), pdf.name
        assert "612 x 792 pts (letter)" in info


def render_one(year, label: str, poppler) -> tuple[str, object, str]:
    view, who, folder = year
    (page,) = reports(view, 2022, [who[label]])
    out = folder / label
    out.mkdir(exist_ok=True)
    draw_all([page], 2022, out, jobs=1)
    pdf = out / f"{page.npi}.pdf"
    subprocess.run([poppler["pdftoppm"], "-png", "-r", "80", "-singlefile", str(pdf),
                    str(out / label)], check=True)  # the image a person looks at
    return text_of(pdf, poppler), page, text_of(pdf, poppler, "-layout")


def test_above_threshold_on_three_measures_with_last_year(year, poppler) -> None:
    text, page, laid_out = render_one(year, "hot", poppler)
    assert page.required == ("M2", "M3", "M5") and page.last_required == ("M2", "M3", "M5")
    assert "status: required on M2, M3 and M5" in text
    assert "In 2021 you were QI-required on M2, M3 and M5; this year again on M2, M3 and M5" \
        in text
    assert "Forms owed: a self-assessment for M2, M3 and M5 and a QI plan by June 15, 2023; a " \
           "QI evaluation by November 1, 2023." in text
    assert "request one by June 15, 2023 if at least 25% of your panel has chronic pain, at " \
           "least 10% has severe acute pain" in text
    assert "may end your enrollment" in text and "after due process" in text
    assert "83.3%" in text and "+0.0 pts" in text
    assert all(line.standing is not None for line in page.lines)
    assert len(re.findall(r"\b\d+(st|nd|rd|th) percentile", text)) == 7
    assert page_scale(page) == 0.9  # 83.3% is the largest figure: one axis to 90%
    assert "scale 0% 45% 90%" in laid_out


def test_below_on_every_measure(year, poppler) -> None:
    text, page, laid_out = render_one(year, "cool", poppler)
    assert page.status == "not_required"
    assert "No action is needed" in text and "Forms owed" not in text
    assert all(line.rate == 0 for line in page.lines)
    figures = [v for line in page.lines for v in (line.rate, line.shown_average,
                                                  line.shown_threshold, line.last_rate)
               if v is not None]
    end = max(50, 10 * math.ceil(max(figures) * 10))  # the next 10%, at least 50%
    assert page_scale(page) * 100 == pytest.approx(end)
    assert f"scale 0% {end // 2}% {end}%" in laid_out


def test_small_group_stays_private(year, poppler) -> None:
    text, page, _ = render_one(year, "urology", poppler)
    assert {line.group_compared for line in page.lines} == {3}
    assert all(line.shown_average is None and line.average is not None for line in page.lines)
    # the specialty average column (its title's place on the page) holds only dashes
    (pdf,) = (year[2] / "urology").glob("*.pdf")
    boxes = subprocess.run([poppler["pdftotext"], "-bbox", str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout
    words = [(float(x0), float(x1), float(y0), w) for x0, y0, x1, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">(.*?)</word>',
        boxes)]
    header = next(w for w in words if w[3] == "Numerator")
    title = next(w for w in words if w[3] == "Specialty" and abs(w[2] - header[2]) < 2)
    column = [w[3] for w in words if w[0] >= title[0] - 5 and w[1] <= title[1] + 5
              and w[2] > title[2] + 15 and w[2] < title[2] + 7 * 54 + 30]
    assert column == ["—"] * 7
    # every row, and the QI status once for each of the four QI measures
    assert text.count("3 Urology prescribers had enough patients; 5 are needed to compare") \
        == 7 + 4
    table = csv.DictReader(io.StringIO(csv_bytes(2022, [page]).decode()))
    assert {row["specialty_average_percent"] for row in table} == {""}


def test_row_below_the_minimum_says_so_with_numbers(year, poppler) -> None:
    text, page, _ = render_one(year, "low", poppler)
    assert "your denominator 4 is below the minimum 10" in text
    assert "your denominator 4 is below the minimum 5" in text  # M5 and M6
    assert page.status == "too_few"
    assert "No QI measure could be compared" in text


def test_exempted_prescriber(year, poppler) -> None:
    text, page, _ = render_one(year, "exempt", poppler)
    assert page.exemption == "granted" and page.status == "required"
    assert "granted your exemption request" in text
    assert "no QI forms are owed for this year" in text and "Forms owed" not in text


def test_parameters_of_the_page_come_from_the_year() -> None:
    rules = program().years[2022]
    assert rules.due["opip-qi-evaluation"].isoformat() == "2023-11-01"
    assert rules.min_prescribers == 5


def test_a_waiting_request_leaves_the_forms_owed(year, poppler) -> None:
    view, who, folder = year
    (page,) = reports(view, 2022, [who["hot"]])
    waiting = replace(page, exemption="requested")
    out = folder / "waiting"
    out.mkdir()
    draw_all([waiting], 2022, out, jobs=1)
    text = text_of(out / f"{page.npi}.pdf", poppler)
    assert "Your exemption request is being decided" in text
    assert "Forms owed: a self-assessment for M2, M3 and M5" in text
