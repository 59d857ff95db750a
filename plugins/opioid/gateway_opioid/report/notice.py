"""The one-page notice of the improvement review for a prescriber with a row ``for review``:
the facts of both years, and that the prescriber may respond before anything is decided."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import letter
from reportlab.pdfgen.canvas import Canvas

from gateway_opioid.program import YearRules, program
from gateway_opioid.report.data import and_list
from gateway_opioid.report.pdf import (
    ALERT,
    BOLD,
    CONTENT,
    HEIGHT,
    INK,
    MARGIN,
    MUTED,
    REGULAR,
    RULE,
    SHADE,
    WIDTH,
    fit_line,
    fit_lines,
)
from gateway_opioid.review import FOR_REVIEW, ReviewRow
from gateway_opioid.stats import percent, shown

COLUMNS = (("Measure", 0), ("Rate\n{before}", 226), ("QI threshold\n{before}", 284),
           ("Rate\n{year}", 354), ("QI threshold\n{year}", 412), ("Review\nthreshold", 482))


def facts(rows: list[ReviewRow], rules: YearRules) -> list[str]:
    """The paragraphs of the notice."""
    before = rules.year - 1
    flagged = [row.measure for row in rows if row.klass == FOR_REVIEW]
    received = sorted({form for row in rows for form in row.forms_received})
    return [
        f"In measurement year {before} your opioid prescribing rate was above your specialty "
        f"group's quality improvement (QI) threshold on {and_list([r.measure for r in rows])}. "
        f"The program's improvement review of measurement year {rules.year} compares your "
        f"rates of both years (table below).",
        f"On {and_list(flagged)} your {rules.year} rate is above the review threshold: your "
        f"specialty group's average plus {rules.review_sd:g} standard deviations. It is neither "
        f"at or below the QI threshold nor {float((1 - (rules.review_improving or 1)) * 100):g}"
        f"% or more below your {before} rate.",
        "Forms received for " + str(before) + ": "
        + (", ".join(received) if received else "none") + ".",
        "Nothing has been decided. The law lets the program end the enrollment of prescribers "
        "who do not show improvement over time, and only after due process. You may respond "
        "before any decision: send the program, in writing, anything it should consider "
        "(patients, practice, changes made or planned).",
    ]


def render_notice(rows: list[ReviewRow], rules: YearRules, path: Path,
                  health_system_name: str | None = None, issued: str | None = None) -> None:
    """Write the notice of one prescriber (``rows``: all its review rows) at ``path``."""
    first = rows[0]
    pdf = Canvas(str(path), pagesize=letter, pageCompression=1, initialFontName=REGULAR)
    pdf.setTitle(f"{program().title} - improvement review notice {first.npi} - MY {rules.year}")
    pdf.setAuthor(program().title)
    y = HEIGHT - MARGIN - 14
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 15)
    pdf.drawString(MARGIN, y, program().title)
    y -= 16
    pdf.setFont(REGULAR, 9.5)
    pdf.setFillColor(MUTED)
    pdf.drawString(MARGIN, y, f"Improvement review, measurement year {rules.year}: notice"
                   + (f"  |  issued {issued}" if issued else ""))
    pdf.setStrokeColor(RULE)
    pdf.line(MARGIN, y - 8, WIDTH - MARGIN, y - 8)
    y -= 30
    name, size = fit_line(first.name, CONTENT, (13, 11, 9), BOLD)
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, size)
    pdf.drawString(MARGIN, y, name)
    system = first.health_system or "none on record"
    if first.health_system and health_system_name:
        system = f"{health_system_name} ({first.health_system})"
    detail, size = fit_line(f"NPI {first.npi}   |   Health system: {system}", CONTENT,
                            (9.5, 8.5, 7.5))
    y -= 14
    pdf.setFont(REGULAR, size)
    pdf.drawString(MARGIN, y, detail)
    y -= 12
    paragraphs = facts(rows, rules)
    for text in paragraphs[:3]:
        y = _paragraph(pdf, text, y)
    y = _table(pdf, rows, rules, y - 6)
    _paragraph(pdf, paragraphs[3], y - 10, bold=True)
    pdf.showPage()
    pdf.save()


def _paragraph(pdf: Canvas, text: str, y: float, bold: bool = False) -> float:
    lines, size = fit_lines(text, CONTENT, (9.5, 9, 8.5), 6, BOLD if bold else REGULAR)
    pdf.setFillColor(INK)
    pdf.setFont(BOLD if bold else REGULAR, size)
    for line in lines:
        y -= size + 3
        pdf.drawString(MARGIN, y, line)
    return y - 6


def _table(pdf: Canvas, rows: list[ReviewRow], rules: YearRules, y: float) -> float:
    pdf.setFillColor(SHADE)
    pdf.rect(MARGIN, y - 24, CONTENT, 24, stroke=0, fill=1)
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 7.5)
    for title, x in COLUMNS:
        for index, part in enumerate(title.format(before=rules.year - 1,
                                                  year=rules.year).split("\n")):
            pdf.drawString(MARGIN + 4 + x, y - 10 - index * 9, part)
    y -= 24
    for row in rows:
        y -= 16
        measure = program().measures[row.measure]
        name, size = fit_line(f"{row.measure} {measure.name}", 218, (8, 7, 6.5))
        pdf.setFont(REGULAR, size)
        pdf.setFillColor(ALERT if row.klass == FOR_REVIEW else INK)
        pdf.drawString(MARGIN + 4, y, name)
        pdf.setFont(REGULAR, 8.5)
        for (_, x), value in zip(COLUMNS[1:], (row.rate_previous, row.threshold_previous,
                                               row.rate, row.threshold, row.review_threshold),
                                 strict=True):
            pdf.drawString(MARGIN + 4 + x, y, shown(percent(value)))
        pdf.setStrokeColor(RULE)
        pdf.line(MARGIN, y - 5, WIDTH - MARGIN, y - 5)
    return y - 6
