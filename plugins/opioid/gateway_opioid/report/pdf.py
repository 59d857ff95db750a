"""The one-page prescriber report as a PDF (US Letter), drawn with ReportLab.

Text is set in DejaVu Sans, regular and bold, shipped in ``fonts/`` beside this module and
embedded in every file as a subset of the glyphs the page uses: a prescriber's name, specialty
and health system may carry letters outside Windows-1252 (Vietnamese, Polish, Cyrillic, Greek,
combining marks), which the standard Helvetica faces, never embedded, cannot show. Every word
on the page can be copied and searched (each subset carries its ToUnicode map). The chart
beside each measure is drawn on the page's one scale (the same for every
measure, so bar lengths compare across measures): two bars, the prescriber and the specialty
average, the QI threshold as a dashed line, and a strip of the group's quartiles with the
prescriber as a dot; a row without a comparison says why instead. Below the table a box says
what happens next. The layout is fixed: every element has a box,
long names and group names shrink or wrap within their box, so the page never overflows,
whatever the names (the tests render the longest to PNG).
"""

from __future__ import annotations

import math
from datetime import date
from functools import cache, lru_cache
from pathlib import Path

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
BOX = colors.HexColor("#dcdcdc")

# Table columns: (title, width) after the measure column; the chart takes the rest.
MEASURE_WIDTH = 138
NUMBERS = (("Numerator\n/ Denominator", 62), ("Your\nrate", 54), ("Last\nyear", 48),
           ("Specialty\naverage", 46), ("QI\nthreshold", 44))
CHART_GAP = 8
ROW_HEIGHT = 54
LABEL_WIDTH = 26  # "You", "Group", "Peers" before each chart
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
    y = _status(pdf, report, rules, y)
    y = _table(pdf, report, y)
    y = _next_steps(pdf, report, rules, y)
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
    lines, size = fit_lines(report.name, CONTENT, (13, 11.5, 10, 8.5), 2, BOLD)
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, size)
    for line in lines:
        y -= size + 3
        pdf.drawString(MARGIN, y, line)
    details = f"NPI {report.npi}   |   Specialty group: {report.specialty_name}"
    y -= 12
    detail, detail_size = fit_line(details, CONTENT, (9, 8, 7))
    pdf.setFont(REGULAR, detail_size)
    pdf.drawString(MARGIN, y, detail)
    system = "none on record"
    if report.health_system:
        system = (f"{health_system_name} ({report.health_system})" if health_system_name
                  else report.health_system)
    system_line, system_size = fit_line(f"Health system: {system}", CONTENT, (9, 8, 7))
    y -= 11
    pdf.setFont(REGULAR, system_size)
    pdf.drawString(MARGIN, y, system_line)
    return y - 7


def status_explained(report: PrescriberReport, rules: YearRules) -> str:
    """The sentences under the QI status: why, and how it compares with last year."""
    if report.status == "required":
        text = (f"Your rate is above your specialty group's QI threshold on "
                f"{and_list(report.required)}.")
        if report.exemption == "granted":
            text += " The program granted your exemption request: no QI forms are owed."
    elif report.status == "not_required":
        text = ("Your rates are at or below your specialty group's QI thresholds on every QI "
                "measure that could be compared.")
    else:
        reasons = [f"{line.measure.id}: {line.reason}" for line in report.lines
                   if line.qi_measure and line.reason]
        text = "No QI measure could be compared (" + "; ".join(reasons) + ")."
    if report.last_year:
        before = rules.year - 1
        if report.last_required:
            again = [m for m in report.required if m in report.last_required]
            text += (f" In {before} you were QI-required on {and_list(report.last_required)}"
                     + (f"; this year again on {and_list(again)}." if again else
                        "; this year not on the same measures."))
        else:
            text += f" In {before} you were not QI-required."
    return text


def _status(pdf: Canvas, report: PrescriberReport, rules: YearRules, y: float) -> float:
    lines, size = fit_lines(status_explained(report, rules), CONTENT - 20, (8, 7.5, 7, 6.5), 3)
    height = 22 + len(lines) * (size + 1.5)
    bottom = y - height
    alert = report.status == "required"
    pdf.setFillColor(colors.HexColor("#fbe9eb") if alert else SHADE)
    pdf.setStrokeColor(ALERT if alert else RULE)
    pdf.roundRect(MARGIN, bottom, CONTENT, height, 4, stroke=1, fill=1)
    pdf.setFillColor(ALERT if alert else INK)
    pdf.setFont(BOLD, 10.5)
    pdf.drawString(MARGIN + 10, y - 14,
                   f"Quality improvement (QI) status: {report.status_words}")
    pdf.setFillColor(INK)
    pdf.setFont(REGULAR, size)
    for index, line in enumerate(lines):
        pdf.drawString(MARGIN + 10, y - 25 - index * (size + 1.5), line)
    return bottom - 8


def page_scale(report: PrescriberReport) -> float:
    """The one scale of every chart on the page: 0 to the page's largest figure rounded up to
    the next 10%, at least 50%."""
    values = [v for line in report.lines for v in (line.rate, line.shown_average,
                                                   line.shown_threshold, line.last_rate)
              if v is not None]
    largest = max(values, default=0.0)
    tenths = math.ceil(round(largest * 10, 9))  # 0.3 exactly stays 30%
    return min(max(tenths / 10, 0.5), 1.0)


def _table(pdf: Canvas, report: PrescriberReport, y: float) -> float:
    header = 24
    chart_x = MARGIN + MEASURE_WIDTH + sum(w for _, w in NUMBERS) + CHART_GAP
    chart_width = WIDTH - MARGIN - chart_x
    top = page_scale(report)
    pdf.setFillColor(SHADE)
    pdf.rect(MARGIN, y - header, CONTENT, header, stroke=0, fill=1)
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 7)
    pdf.drawString(MARGIN + 4, y - 15, "Measure (lower is better)")
    right = MARGIN + MEASURE_WIDTH
    for title, width in NUMBERS:
        right += width
        parts = title.split("\n")
        for index, part in enumerate(parts):
            pdf.drawRightString(right - 4, y - 10 - index * 9, part)
    pdf.drawString(chart_x, y - 10, "You, your group, your peers")
    pdf.setFont(REGULAR, 6)
    pdf.setFillColor(MUTED)
    span = chart_width - LABEL_WIDTH - 4  # as in ``chart``
    pdf.drawString(chart_x, y - 20, "scale")
    pdf.drawString(chart_x + LABEL_WIDTH, y - 20, "0%")
    pdf.drawCentredString(chart_x + LABEL_WIDTH + span / 2, y - 20, f"{top * 50:.0f}%")
    pdf.drawRightString(chart_x + LABEL_WIDTH + span, y - 20, f"{top * 100:.0f}%")
    y -= header
    for index, line in enumerate(report.lines):
        _row(pdf, line, y, chart_x, chart_width, index, top)
        y -= ROW_HEIGHT
    pdf.setStrokeColor(RULE)
    pdf.line(MARGIN, y, WIDTH - MARGIN, y)
    return y


def _ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``73rd``, ``11th``."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(
        number % 10, "th")
    return f"{number}{suffix}"


def _cell(pdf: Canvas, right: float, middle: float, lines: list[tuple[str, str, float, object]]
          ) -> None:
    """Lines of a number cell, right-aligned, from ``middle`` down: (text, font, size,
    colour)."""
    y = middle + 4 * (len(lines) - 1)
    for text, font, size, colour in lines:
        pdf.setFont(font, size)
        pdf.setFillColor(colour)
        pdf.drawRightString(right - 4, y, text)
        y -= size + 2


def _row(pdf: Canvas, line: MeasureLine, top: float, chart_x: float, chart_width: float,
         index: int, scale: float) -> None:
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
    pdf.drawString(MARGIN + 4, top - 11, measure.id)
    pdf.setFont(REGULAR, 6.5)
    pdf.setFillColor(MUTED)
    qi = "QI measure" if line.qi_measure else "reported only"
    pdf.drawString(MARGIN + 22, top - 11, f"{PHASE_WORDS[measure.phase]} pain  |  {qi}")
    words, size = fit_lines(measure.name, MEASURE_WIDTH - 8, (7, 6.5, 6), 4)
    pdf.setFillColor(INK)
    pdf.setFont(REGULAR, size)
    for number, text in enumerate(words):
        pdf.drawString(MARGIN + 4, top - 21 - number * (size + 1.5), text)
    middle = top - ROW_HEIGHT / 2 - 3
    counts = ("—" if line.numerator is None or line.denominator is None
              else f"{line.numerator:,} / {line.denominator:,}")
    rate_lines: list[tuple[str, str, float, object]] = [
        (shown(line.rate_percent), BOLD, 9, ALERT if line.required else INK)]
    if line.standing is not None:
        rate_lines.append((f"{_ordinal(line.standing.percentile)} percentile", REGULAR, 6,
                           MUTED))
    if line.required:
        rate_lines.append(("above threshold", REGULAR, 6, ALERT))
    last_lines: list[tuple[str, str, float, object]] = [(shown(percent(line.last_rate)),
                                                         REGULAR, 8.5, INK)]
    if line.change_points is not None:
        last_lines.append((f"{line.change_points:+.1f} pts", REGULAR, 6, MUTED))
    if line.last_required:
        last_lines.append(("QI-required", REGULAR, 6, ALERT))
    cells = (
        [(counts, REGULAR, 8.5, INK)],
        rate_lines,
        last_lines,
        [(shown(percent(line.shown_average)), REGULAR, 8.5, INK)],
        [("n/a" if not line.qi_measure else shown(percent(line.shown_threshold)), REGULAR,
          8.5, INK)],
    )
    right = MARGIN + MEASURE_WIDTH
    for (_, width), cell in zip(NUMBERS, cells, strict=True):
        right += width
        _cell(pdf, right, middle, cell)
    chart(pdf, line, chart_x, bottom + 3, chart_width, ROW_HEIGHT - 6, scale)


def chart(pdf: Canvas, line: MeasureLine, left: float, bottom: float, width: float,
          height: float, scale: float) -> None:
    """On the page's scale, in the box at (``left``, ``bottom``): two bars (the prescriber,
    the group average) with the QI threshold as a dashed line, then the group's quartiles as a
    strip with the prescriber as a dot, or, without a comparison, the reason in words. Drawn
    straight on the canvas: ReportLab's graphics shapes cost several times more a page."""
    span = width - LABEL_WIDTH - 4
    top = bottom + height

    def x(value: float) -> float:
        return left + LABEL_WIDTH + span * min(max(value / scale, 0.0), 1.0)

    pdf.saveState()
    pdf.setLineWidth(0.5)
    pdf.setStrokeColor(SHADE)
    for tenth in range(1, round(scale * 10)):  # faint lines every 10%
        pdf.line(x(tenth / 10), bottom + 2, x(tenth / 10), top - 2)
    bar = 8
    pdf.setFont(REGULAR, 6.5)
    for number, (value, label, colour) in enumerate((
            (line.rate, "You", ALERT if line.required else YOU),
            (line.shown_average, "Group", GROUP))):
        y = top - 3 - (number + 1) * (bar + 3)
        pdf.setFillColor(MUTED)
        pdf.drawString(left, y + 1.5, label)
        if value is not None:  # a zero rate still shows as a hairline; no rate shows nothing
            pdf.setFillColor(colour)
            pdf.rect(left + LABEL_WIDTH, y, max(x(value) - left - LABEL_WIDTH, 0.6), bar,
                     stroke=0, fill=1)
    if line.shown_threshold is not None:
        pdf.setStrokeColor(ALERT)
        pdf.setLineWidth(0.8)
        pdf.setDash(2, 1.5)
        pdf.line(x(line.shown_threshold), top - 2 * (bar + 3) - 5, x(line.shown_threshold),
                 top - 1)
        pdf.setDash()
    low = top - 2 * (bar + 3) - 8  # the top of what is under the bars
    if line.reason is not None:
        pdf.setFillColor(INK)
        pdf.setFont(REGULAR, 6)
        for number, text in enumerate(fit_lines(f"No comparison: {line.reason}.", width,
                                                (6,), 3)[0]):
            pdf.drawString(left, low - 6 - number * 7, text)
    elif line.standing is not None:
        lowest, q1, median, q3, highest = line.standing.quartiles
        middle = low - 8
        pdf.setFillColor(MUTED)
        pdf.setFont(REGULAR, 6.5)
        pdf.drawString(left, middle - 2, "Peers")
        pdf.setStrokeColor(GROUP)
        pdf.setLineWidth(0.8)
        pdf.line(x(lowest), middle, x(highest), middle)
        pdf.setLineWidth(0.5)
        pdf.setFillColor(BOX)
        pdf.rect(x(q1), middle - 3.5, max(x(q3) - x(q1), 0.6), 7, stroke=1, fill=1)
        pdf.setStrokeColor(INK)
        pdf.setLineWidth(0.8)
        pdf.line(x(median), middle - 3.5, x(median), middle + 3.5)
        if line.rate is not None:
            pdf.setStrokeColor(colors.white)
            pdf.setLineWidth(0.5)
            pdf.setFillColor(ALERT if line.required else YOU)
            pdf.circle(x(line.rate), middle, 2.6, stroke=1, fill=1)
    pdf.restoreState()


def long_date(day: date) -> str:
    """``June 15, 2022``."""
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def next_steps(report: PrescriberReport, rules: YearRules) -> list[str]:
    """The paragraphs of the "what happens next" box."""
    due = rules.due
    if report.exemption == "granted":
        return [f"Your exemption from quality improvement for measurement year {rules.year} "
                "was granted: no QI forms are owed for this year. No action is needed."]
    if report.status != "required":
        return ["No action is needed: you are not required to take part in quality "
                "improvement for this measurement year."]
    criteria = rules.exemption_criteria
    grounds = []
    if "CHRONIC_PAIN_PANEL" in criteria:
        grounds.append(f"at least {float(criteria['CHRONIC_PAIN_PANEL'] * 100):g}% of your "
                       "panel has chronic pain")
    if "SEVERE_ACUTE_PAIN" in criteria:
        grounds.append(f"at least {float(criteria['SEVERE_ACUTE_PAIN'] * 100):g}% has severe "
                       "acute pain of extended duration")
    grounds.append("another special cause you describe")
    out = []
    if report.exemption == "requested":
        out.append("Your exemption request is being decided; until the program decides, the "
                   "forms below are still owed.")
    out += [
        f"Forms owed: a self-assessment for {and_list(report.required)} and a QI plan by "
        f"{long_date(due['opip-qi-plan'])}; a QI evaluation by "
        f"{long_date(due['opip-qi-evaluation'])}.",
        "How to send them: your health system uploads each form (CSV or Excel, from the "
        "program's templates) to its folder on the program's secure file gateway; the "
        "receipt beside it says whether the form was accepted.",
        f"Exemption: your health system may request one by "
        f"{long_date(due['opip-exemption'])} if {', '.join(grounds[:-1])}, or for "
        f"{grounds[-1]}.",
        "If your prescribing does not improve over time, the program may end your enrollment "
        "as a Medicaid prescriber, after due process.",
    ]
    return out


def _next_steps(pdf: Canvas, report: PrescriberReport, rules: YearRules, y: float) -> float:
    paragraphs = [fit_lines(text, CONTENT - 20, (7.5, 7, 6.5), 3) for text in
                  next_steps(report, rules)]
    height = 20 + sum(len(lines) * (size + 1.5) + 2 for lines, size in paragraphs)
    top = y - 8
    pdf.setFillColor(colors.white)
    pdf.setStrokeColor(INK)
    pdf.setLineWidth(0.8)
    pdf.roundRect(MARGIN, top - height, CONTENT, height, 4, stroke=1, fill=1)
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 9.5)
    pdf.drawString(MARGIN + 10, top - 13, "What happens next")
    line_y = top - 24
    for lines, size in paragraphs:
        pdf.setFont(REGULAR, size)
        for text in lines:
            pdf.drawString(MARGIN + 10, line_y, text)
            line_y -= size + 1.5
        line_y -= 2
    return top - height


def _footnote(pdf: Canvas, rules: YearRules, y: float) -> None:
    minimums = sorted({v for v in rules.min_denominator.values()}, reverse=True)
    low = and_list([m for m, v in rules.min_denominator.items() if v == minimums[-1]])
    text = (
        f"How to read this report. Rate = numerator / denominator, rounded to 0.1% (comparisons "
        f"use exact rates). Specialty average = the mean rate of your group's prescribers with "
        f"at least {minimums[0]} in the denominator ({minimums[-1]} for {low}), shown only "
        f"when at least {rules.min_prescribers} prescribers qualify. QI threshold = that "
        f"average plus {rules.threshold_sd:g} standard deviations, for "
        f"{and_list(list(rules.qi_measures))}; a rate above it makes QI required. Percentile: "
        f"the share of those prescribers with a lower rate (ties count half); the strip shows "
        f"their lowest, middle half (box), median (tick) and highest rates, the dot is you. "
        f"\"—\" means no figure; \"n/a\" means no QI requirement; pts = percentage points.")
    source = (f"Data source: {program().source}, prescriptions of calendar year "
              f"{rules.year}. Exclusions: {program().exclusions}")
    pdf.setFillColor(MUTED)
    y -= 10
    for block in (text, source):
        lines, size = fit_lines(block, CONTENT, (6.5, 6, 5.5), 5)
        pdf.setFont(REGULAR, size)
        for line in lines:
            pdf.drawString(MARGIN, y, line)
            y -= size + 1.5
        y -= 2
