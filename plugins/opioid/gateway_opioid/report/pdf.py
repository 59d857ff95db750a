"""The one-page prescriber report as a PDF (US Letter), drawn with ReportLab.

Text is set in DejaVu Sans, regular and bold, shipped in ``fonts/`` beside this module and
embedded in every file as a subset of the glyphs the page uses: a prescriber's name, specialty
and health system may carry letters outside Windows-1252 (Vietnamese, Polish, Cyrillic, Greek,
combining marks), which the standard Helvetica faces, never embedded, cannot show. Every word
on the page can be copied and searched (each subset carries its ToUnicode map). The chart
beside each measure is a ReportLab graphics drawing (two bars, the prescriber and the specialty
average, and the QI threshold as a dashed line). The layout is fixed: every element has a box,
long names and group names shrink or wrap within their box, so the page never overflows,
whatever the names (the tests render the longest to PNG).
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import registerFont, registerFontFamily, stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from gateway_opioid.program import YearRules, program
from gateway_opioid.report.data import MeasureLine, PrescriberReport, and_list
from gateway_opioid.stats import percent, shown

WIDTH, HEIGHT = letter
MARGIN = 40
CONTENT = WIDTH - 2 * MARGIN
FONTS = Path(__file__).with_name("fonts")  # package data: the TTF files and their LICENSE
REGULAR, BOLD = "DejaVuSans", "DejaVuSans-Bold"
INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#5c5c5c")
YOU = colors.HexColor("#1f4e79")
GROUP = colors.HexColor("#a6a6a6")
ALERT = colors.HexColor("#b00020")
RULE = colors.HexColor("#c8c8c8")
SHADE = colors.HexColor("#f2f2f2")

# Table columns: (title, right edge) after the measure column; the chart takes the rest.
MEASURE_WIDTH = 172
NUMBERS = (("Numerator", 48), ("Denominator", 56), ("Your\nrate", 46), ("Specialty\naverage", 52),
           ("QI\nthreshold", 50))
CHART_GAP = 8
ROW_HEIGHT = 60
PHASE_WORDS = {"ACUTE": "acute", "POST_ACUTE": "post-acute", "CHRONIC": "chronic"}


@cache
def register_fonts() -> None:
    """Register the two DejaVu Sans faces with ReportLab, once per process: parsing them takes
    some 50 ms, so each worker process pays it once, on importing this module.

    ``asciiReadable=False``: a page's subsets hold only the characters it uses, rather than all
    of ASCII besides (about 5 KB less a file). The family lets ReportLab's own bold lookup (as
    for ``<b>`` in a paragraph) find the bold face."""
    registerFont(TTFont(REGULAR, str(FONTS / "DejaVuSans.ttf"), asciiReadable=False))
    registerFont(TTFont(BOLD, str(FONTS / "DejaVuSans-Bold.ttf"), asciiReadable=False))
    registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD)


register_fonts()  # before any width is measured (fit_lines), not only before a page is drawn


@lru_cache(maxsize=512)  # measure descriptions and notes repeat on every page
def fit_lines(text: str, width: float, sizes: tuple[float, ...], max_lines: int,
              font: str = REGULAR) -> tuple[list[str], float]:
    """``text`` wrapped to ``width`` at the largest size of ``sizes`` that needs at most
    ``max_lines`` lines; at the smallest size, lines beyond the last end in an ellipsis."""
    for size in sizes:
        lines = wrap(text, width, size, font)
        if len(lines) <= max_lines:
            return lines, size
    size = sizes[-1]
    lines = wrap(text, width, size, font)[:max_lines]
    last, _ = fit_line(lines[-1] + "…", width, (size,), font)
    return [*lines[:-1], last], size


def fit_line(text: str, width: float, sizes: tuple[float, ...], font: str = REGULAR
             ) -> tuple[str, float]:
    """``text`` on one line at the largest of ``sizes`` that fits, else cut with an
    ellipsis at the smallest."""
    for size in sizes:
        if _width(text, font, size) <= width:
            return text, size
    size = sizes[-1]
    while text and _width(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…", size


def wrap(text: str, width: float, size: float, font: str = REGULAR) -> list[str]:
    """Lines of ``text`` no wider than ``width``: broken at spaces, and a word too long for a
    line (a name without spaces) broken between letters."""
    lines: list[str] = []
    for line in simpleSplit(text, font, size, width) or [""]:
        while _width(line, font, size) > width:
            cut = len(line) - 1
            while cut > 1 and _width(line[:cut], font, size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return lines


def _width(text: str, font: str, size: float) -> float:
    return stringWidth(text, font, size)


def render(report: PrescriberReport, rules: YearRules, path: Path,
           health_system_name: str | None = None) -> None:
    """Write ``report`` as a one-page PDF at ``path``."""
    # The initial font, too: ReportLab's default (Helvetica) would sit unembedded in every file.
    pdf = Canvas(str(path), pagesize=letter, pageCompression=1, initialFontName=REGULAR)
    pdf.setTitle(f"{program().title} - prescriber report {report.npi} - MY {rules.year}")
    pdf.setAuthor(program().title)
    pdf.setSubject(f"Opioid prescribing of NPI {report.npi}, measurement year {rules.year}")
    y = _header(pdf, rules)
    y = _prescriber(pdf, report, y, health_system_name)
    y = _status(pdf, report, y)
    y = _table(pdf, report, rules, y)
    _footnote(pdf, rules, y)
    pdf.showPage()
    pdf.save()


def _header(pdf: Canvas, rules: YearRules) -> float:
    top = HEIGHT - MARGIN
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 15)
    pdf.drawString(MARGIN, top - 14, program().title)
    pdf.setFont(REGULAR, 9)  # DejaVu Sans is wider than Helvetica: 10 pt would join the two
    pdf.setFillColor(MUTED)
    pdf.drawString(MARGIN, top - 29, f"One-page prescriber report  |  Measurement year "
                                     f"{rules.year}")
    pdf.drawRightString(WIDTH - MARGIN, top - 29, "Your opioid prescribing beside your "
                                                  "specialty group")
    pdf.setStrokeColor(RULE)
    pdf.setLineWidth(1)
    pdf.line(MARGIN, top - 37, WIDTH - MARGIN, top - 37)
    return top - 37


def _prescriber(pdf: Canvas, report: PrescriberReport, y: float,
                health_system_name: str | None) -> float:
    lines, size = fit_lines(report.name, CONTENT, (14, 12, 10.5, 9), 2, BOLD)
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, size)
    for line in lines:
        y -= size + 3
        pdf.drawString(MARGIN, y, line)
    details = f"NPI {report.npi}   |   Specialty group: {report.specialty_name}"
    y -= 14
    detail, detail_size = fit_line(details, CONTENT, (9.5, 8.5, 7.5))
    pdf.setFont(REGULAR, detail_size)
    pdf.drawString(MARGIN, y, detail)
    system = "none on record"
    if report.health_system:
        system = (f"{health_system_name} ({report.health_system})" if health_system_name
                  else report.health_system)
    system_line, system_size = fit_line(f"Health system: {system}", CONTENT, (9.5, 8.5, 7.5))
    y -= 13
    pdf.setFont(REGULAR, system_size)
    pdf.drawString(MARGIN, y, system_line)
    return y - 8


def _status(pdf: Canvas, report: PrescriberReport, y: float) -> float:
    height = 42
    bottom = y - height
    alert = report.status == "required"
    pdf.setFillColor(colors.HexColor("#fbe9eb") if alert else SHADE)
    pdf.setStrokeColor(ALERT if alert else RULE)
    pdf.roundRect(MARGIN, bottom, CONTENT, height, 4, stroke=1, fill=1)
    pdf.setFillColor(ALERT if alert else INK)
    pdf.setFont(BOLD, 11)
    pdf.drawString(MARGIN + 10, y - 16,
                   f"Quality improvement (QI) status: {report.status_words}")
    if alert:
        explain = (f"Your rate is above your specialty group's QI threshold on "
                   f"{and_list(report.required)}. Take part in the program's quality "
                   "improvement: send a self-assessment for each, then a QI plan.")
    elif report.status == "not_required":
        explain = ("Your rates are at or below your specialty group's QI thresholds on every "
                   "measure where you had enough patients to compare.")
    else:
        explain = ("You had too few patients on the QI measures (or your group too few "
                   "prescribers) for a comparison with a QI threshold.")
    lines, size = fit_lines(explain, CONTENT - 20, (8.5, 7.5), 2)
    pdf.setFillColor(INK)
    pdf.setFont(REGULAR, size)
    for index, line in enumerate(lines):
        pdf.drawString(MARGIN + 10, y - 28 - index * (size + 1.5), line)
    return bottom - 10


def _table(pdf: Canvas, report: PrescriberReport, rules: YearRules, y: float) -> float:
    header = 24
    chart_x = MARGIN + MEASURE_WIDTH + sum(w for _, w in NUMBERS) + CHART_GAP
    chart_width = WIDTH - MARGIN - chart_x
    pdf.setFillColor(SHADE)
    pdf.setStrokeColor(SHADE)
    pdf.rect(MARGIN, y - header, CONTENT, header, stroke=0, fill=1)
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 7)  # "Denominator" in DejaVu Sans Bold 8 pt is wider than its column
    pdf.drawString(MARGIN + 4, y - 15, "Measure (lower is better)")
    right = MARGIN + MEASURE_WIDTH
    for title, width in NUMBERS:
        right += width
        parts = title.split("\n")
        for index, part in enumerate(parts):
            pdf.drawRightString(right - 4, y - 10 - index * 9 - (4 if len(parts) == 1 else 0),
                                part)
    pdf.drawString(chart_x, y - 15, "You and your group")
    y -= header
    for index, line in enumerate(report.lines):
        _row(pdf, line, y, chart_x, chart_width, index)
        y -= ROW_HEIGHT
    pdf.setStrokeColor(RULE)
    pdf.line(MARGIN, y, WIDTH - MARGIN, y)
    return y


def _row(pdf: Canvas, line: MeasureLine, top: float, chart_x: float, chart_width: float,
         index: int) -> None:
    bottom = top - ROW_HEIGHT
    if index % 2:
        pdf.setFillColor(colors.HexColor("#fafafa"))
        pdf.rect(MARGIN, bottom, CONTENT, ROW_HEIGHT, stroke=0, fill=1)
    pdf.setStrokeColor(RULE)
    pdf.setLineWidth(0.5)
    pdf.line(MARGIN, top, WIDTH - MARGIN, top)
    measure = line.measure
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 9)
    pdf.drawString(MARGIN + 4, top - 12, measure.id)
    pdf.setFont(REGULAR, 7)
    pdf.setFillColor(MUTED)
    qi = "QI measure" if line.qi_measure else "reported only"
    pdf.drawString(MARGIN + 22, top - 12, f"{PHASE_WORDS[measure.phase]} pain  |  {qi}")
    words, size = fit_lines(measure.name, MEASURE_WIDTH - 8, (7.5, 7, 6.5), 4)
    pdf.setFillColor(INK)
    pdf.setFont(REGULAR, size)
    for number, text in enumerate(words):
        pdf.drawString(MARGIN + 4, top - 23 - number * (size + 1.6), text)
    rate = line.rate_percent
    cells = (
        "—" if line.numerator is None else f"{line.numerator:,}",
        "—" if line.denominator is None else f"{line.denominator:,}",
        shown(rate),
        shown(percent(line.average)),
        "n/a" if not line.qi_measure else shown(percent(line.threshold)),
    )
    middle = top - ROW_HEIGHT / 2 - 3
    right = MARGIN + MEASURE_WIDTH
    for column, ((_, width), text) in enumerate(zip(NUMBERS, cells, strict=True)):
        right += width
        your_rate = column == 2
        pdf.setFont(BOLD if your_rate else REGULAR, 9)
        pdf.setFillColor(ALERT if your_rate and line.required else INK)
        pdf.drawRightString(right - 4, middle, text)
        if your_rate:
            note = ("above threshold" if line.required
                    else "too few patients" if line.denominator is not None
                    and not line.compared else "")
            if note:
                pdf.setFont(REGULAR, 6.5)
                pdf.drawRightString(right - 4, middle - 10, note)
    drawing = chart(line, chart_width, ROW_HEIGHT - 12)
    renderPDF.draw(drawing, pdf, chart_x, bottom + 6)


def chart(line: MeasureLine, width: float, height: float) -> Drawing:
    """Two horizontal bars (the prescriber, the group average) on a common scale, with the QI
    threshold as a dashed line; the scale's end is labelled."""
    values = [v for v in (line.rate, line.average, line.threshold) if v is not None]
    top = scale_end(max(values, default=0.0))
    drawing = Drawing(width, height, initialFontName=REGULAR)  # not ReportLab's Helvetica
    label_width, bar_height = 30, 11
    span = width - label_width - 4
    rows = ((line.rate, "You", ALERT if line.required else YOU),
            (line.average, "Group", GROUP))
    for number, (value, label, colour) in enumerate(rows):
        y = height - 6 - (number + 1) * (bar_height + 4)
        drawing.add(String(0, y + 2.5, label, fontName=REGULAR, fontSize=7, fillColor=MUTED))
        if value is not None:  # a zero rate still shows as a hairline; no rate shows nothing
            drawing.add(Rect(label_width, y, max(span * min(value / top, 1.0), 0.6),
                             bar_height, fillColor=colour, strokeColor=None))
    axis_y = height - 6 - 2 * (bar_height + 4) - 3
    drawing.add(Line(label_width, axis_y, label_width + span, axis_y, strokeColor=RULE,
                     strokeWidth=0.5))
    drawing.add(String(label_width, axis_y - 8, "0%", fontName=REGULAR, fontSize=6,
                       fillColor=MUTED))
    drawing.add(String(label_width + span, axis_y - 8, f"{top * 100:g}%", fontName=REGULAR,
                       fontSize=6, fillColor=MUTED, textAnchor="end"))
    if line.qi_measure and line.threshold is not None:
        x = label_width + span * min(line.threshold / top, 1.0)
        drawing.add(Line(x, axis_y, x, height - 4, strokeColor=ALERT, strokeWidth=0.8,
                         strokeDashArray=[2, 1.5]))
    return drawing


SCALE_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0)


def scale_end(largest: float) -> float:
    """The chart's scale: the first round share above the largest value (at most 100%)."""
    return next((step for step in SCALE_STEPS if largest <= step * 0.95), 1.0)


def _footnote(pdf: Canvas, rules: YearRules, y: float) -> None:
    minimums = sorted({v for v in rules.min_denominator.values()}, reverse=True)
    low = and_list([m for m, v in rules.min_denominator.items() if v == minimums[-1]])
    text = (
        f"How to read this report. Rate = numerator / denominator, shown as a percentage "
        f"rounded to 0.1 (comparisons use the exact rates). Specialty average = the mean rate "
        f"of the prescribers in your specialty group with at least {minimums[0]} in the "
        f"denominator ({minimums[-1]} for {low}). QI threshold = that average plus "
        f"{rules.threshold_sd:g} standard deviations, for the measures with a QI requirement "
        f"({and_list(list(rules.qi_measures))}), in groups with at least "
        f"{rules.min_prescribers} such prescribers; a rate above it makes QI required. "
        f"\"—\" means no figure (no patients, or too few to compare); \"n/a\" means the "
        f"measure has no QI requirement. In the chart the dashed line is the QI threshold.")
    source = (f"Data source: {program().source}, prescriptions of calendar year "
              f"{rules.year}. Exclusions: {program().exclusions}")
    pdf.setFillColor(MUTED)
    y -= 12
    for block, size in ((text, 7), (source, 7)):
        lines, size = fit_lines(block, CONTENT, (size, 6.5, 6), 5)
        pdf.setFont(REGULAR, size)
        for line in lines:
            pdf.drawString(MARGIN, y, line)
            y -= size + 2
        y -= 3
