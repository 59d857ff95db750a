"""The one-page report as a reader sees it: one US Letter page, copyable text with the NPI,
rates and averages, and nothing overlapping or off the page even for the longest names."""

from __future__ import annotations

import html
import re
import subprocess
import unicodedata
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import pytest
from gateway_opioid.program import program
from gateway_opioid.report.data import PrescriberReport, report
from gateway_opioid.report.pdf import BOLD, REGULAR, render
from gateway_opioid.stats import percent, shown
from reportlab.pdfbase.pdfmetrics import getFont

RULES = program().years[2021]
LONGEST_SPECIALTY = max(program().specialties, key=lambda c: len(program().specialties[c]))
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                  r"(.*?)</word>")


def sample(name: str, health_system: str | None = "river-health") -> PrescriberReport:
    counts = {"M1": [41, 120], "M2": [19, 20], "M3": [3, 40], "M4": [999, 1000],
              "M5": [2, 4], "M6": [0, 0], "M7": [12, 77]}
    groups = {LONGEST_SPECIALTY: {
        m: {"compared": 9, "average": 0.1234 + i / 100,
            "threshold": 0.4449 if m in RULES.qi_measures else None}
        for i, m in enumerate(counts)}}
    value = {"name": name, "specialty": LONGEST_SPECIALTY, "health_system": health_system,
             "measures": counts, "qi_required": ["M2"]}
    return report("1234567893", value, groups, RULES)


def words(pdf: Path, pdftotext: str) -> list[tuple[float, float, float, float, str]]:
    out = subprocess.run([pdftotext, "-bbox", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    return [(float(a), float(b), float(c), float(d), html.unescape(w))
            for a, b, c, d, w in WORD.findall(out)]


@pytest.mark.parametrize("name", [
    "Ann Lee",
    "W" * 200,  # the widest letter at the schema's 200-character limit
    " ".join(["Maximiliana-Wilhelmina Featherstonehaugh-Cholmondeley"] * 4)[:200],
])
def test_one_page_that_reads_cleanly(tmp_path: Path, poppler: dict[str, str], name: str
                                     ) -> None:
    page = sample(name)
    pdf = tmp_path / "report.pdf"
    render(page, RULES, pdf, health_system_name="River Health Partners of the Upper "
                                                "Mississippi Valley and Lake Superior Region "
                                                "Integrated Delivery Network")
    info = subprocess.run([poppler["pdfinfo"], str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M)
    assert "612 x 792 pts (letter)" in info
    text = subprocess.run([poppler["pdftotext"], "-layout", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "1234567893" in text
    assert program().specialties[LONGEST_SPECIALTY] in text
    for line in page.lines:  # every rate and average, as displayed
        assert line.measure.name.split()[0] in text
        if line.rate is not None:
            assert shown(percent(line.rate)) in text
        assert shown(percent(line.average)) in text
    assert "95.0%" in text and "44.5%" in text  # M2's rate and the QI threshold
    assert "status: required on M2" in text
    assert "cancer" in text and "hospice" in text and "pharmacy claims" in text
    boxes = words(pdf, poppler["pdftotext"])
    # texts drawn side by side stay apart (touching ones come back as one word)
    assert {"2021", "Numerator", "Denominator"} <= {box[4] for box in boxes}
    for x0, y0, x1, y1, word in boxes:
        assert x0 >= 30 and x1 <= 612 - 30 and y0 >= 30 and y1 <= 792 - 30, word
    for a, b in combinations(boxes, 2):
        overlap_x = min(a[2], b[2]) - max(a[0], b[0])
        overlap_y = min(a[3], b[3]) - max(a[1], b[1])
        assert overlap_x <= 0.5 or overlap_y <= 0.5, (a[4], b[4])


def test_page_renders_to_an_image(tmp_path: Path, poppler: dict[str, str]) -> None:
    """The PNG a person looks at (kept by ``--basetemp`` runs for inspection)."""
    pdf = tmp_path / "longest.pdf"
    render(sample("W" * 200), RULES, pdf, health_system_name="R" * 120)
    subprocess.run([poppler["pdftoppm"], "-png", "-r", "90", "-singlefile", str(pdf),
                    str(tmp_path / "longest")], check=True)
    png = (tmp_path / "longest.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000


# Names, specialties and health systems outside Windows-1252 (what the standard Helvetica
# faces cover): Vietnamese, Polish, Cyrillic, Greek, Turkish/Romanian/Czech and Yoruba letters
# with combining marks, as a prescriber's own record may carry them.
@pytest.mark.parametrize(("name", "specialty", "health_system"), [
    ("Nguyễn Thị Hương", "Y học gia đình", "Bệnh viện Đa khoa Hưng Yên"),
    ("Łukasz Wróbel-Żółć", "Medycyna rodzinna", "Szpital Świętej Łucji"),
    ("Ольга Петровна Щукина", "Семейная медицина", "Клиника «Здоровье»"),
    ("Γεώργιος Παπαδόπουλος", "Οικογενειακή ιατρική", "Νοσοκομείο Ευαγγελισμός"),
    ("Ğülşen Ţepeș Řehoř", "Medicină de familie", "Nemocnice Ústí nad Labem"),
    ("Adéṣọlá Ṣọ̀pẹ́", "Ìṣègùn ìdílé", "Ilé ìwòsàn Ọ̀yọ́"),
], ids=["vietnamese", "polish", "cyrillic", "greek", "turkish-romanian-czech", "yoruba"])
def test_text_outside_windows_1252_reads_as_sent(tmp_path: Path, poppler: dict[str, str],
                                                 name: str, specialty: str,
                                                 health_system: str) -> None:
    """A prescriber reads their own name, specialty and health system exactly as sent: the
    page's fonts are embedded and have the glyphs, and the text copies back unchanged."""
    page = replace(sample(name), specialty_name=specialty)
    pdf = tmp_path / "report.pdf"
    render(page, RULES, pdf, health_system_name=health_system)
    text = subprocess.run([poppler["pdftotext"], str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert name in text
    assert f"Specialty group: {specialty}" in text
    assert f"Health system: {health_system} (river-health)" in text
    listing = subprocess.run([poppler["pdffonts"], str(pdf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]  # below the two header lines
    fonts = {row.split()[0].partition("+")[2]: row.split()[-5] for row in listing}
    assert fonts == {"DejaVuSans": "yes", "DejaVuSans-Bold": "yes"}, listing


def test_faces_cover_the_letters_of_names() -> None:
    """Every letter of Latin-1, Latin Extended-A and -B, Latin Extended Additional (Vietnamese),
    Greek and Cyrillic has a glyph in both faces, so no name comes out as a box."""
    blocks = ((0x00A0, 0x024F), (0x0370, 0x04FF),
              (0x1E00, 0x1EFB))  # not U+1EFC-1EFF (Middle Welsh), which DejaVu lacks
    wanted = {code for low, high in blocks for code in range(low, high + 1)
              if unicodedata.category(chr(code)) != "Cn"}
    for face in (REGULAR, BOLD):
        missing = wanted - getFont(face).face.charToGlyph.keys()
        assert not missing, (face, sorted(f"U+{code:04X}" for code in missing))


def test_status_words() -> None:
    assert sample("A").status_words == "required on M2"
    base = sample("A")
    quiet = report("1234567893", {"name": "B", "specialty": LONGEST_SPECIALTY,
                                  "health_system": None, "qi_required": [],
                                  "measures": {"M2": [1, 3]}}, {}, RULES)
    assert quiet.status_words == "too few patients to compare"
    assert base.status == "required"
