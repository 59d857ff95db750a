"""``gateway opip reports``: the one-page reports of a measurement year, and each health
system's CSV and ZIP.

PDFs are drawn by worker processes (one per core, or ``--jobs``) in chunks of prescribers:
ReportLab draws a page in a few milliseconds, so 30,000 pages take a few minutes on two cores
(``bench/opioid_reports.py``; figure in docs/performance.md).
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from gateway_opioid import datasets
from gateway_opioid.program import program
from gateway_opioid.report.data import PrescriberReport

if TYPE_CHECKING:
    from gateway.contract import ReferenceView, Site
    from gateway_opioid.subscribers import Subscriber

EXIT_OPERATIONAL = 2
CHUNK = 250


def group() -> typer.Typer:
    """The ``opip`` command group."""
    app = typer.Typer(help="Opioid Prescribing Improvement Program (family opip).",
                      no_args_is_help=True)
    from gateway_opioid.exemptions import group as exemption_group

    app.command("reports")(reports)
    app.command("review")(review)
    app.add_typer(exemption_group(), name="exemption")
    return app


def reports(
    year: Annotated[int, typer.Option(help="Measurement year of the prescribing data.")],
    out: Annotated[Path | None, typer.Option(
        help="Folder for <npi>.pdf, one page per prescriber (optional with --send).",
        file_okay=False)] = None,
    send: Annotated[bool, typer.Option(
        "--send", help="Queue each prescriber on the latest accepted sign-up list "
                       "(opip-subscribers) an e-mail with its own PDF; the running daemons "
                       "send it, once per prescriber and year however often this runs.")
    ] = False,
    npi: Annotated[list[str] | None, typer.Option(
        help="Only this prescriber (repeatable). Health systems' files are then not "
             "delivered, so a partial run never replaces a complete one.")] = None,
    jobs: Annotated[int, typer.Option(help="Processes drawing PDFs (0: one per core).")] = 0,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", dir_okay=False,
        help="gateway.toml of the installation (default: as for serve).")] = None,
    registry: Annotated[Path | None, typer.Option(
        "--registry", dir_okay=False,
        help="The registry (default: the one the config names, as for serve).")] = None,
) -> None:
    """Write one-page prescriber reports from the latest accepted prescribing data of a year,
    deliver each health system of the registry its own prescribers' CSV and ZIP of PDFs, and
    with --send queue each signed-up prescriber its own report by e-mail."""
    if out is None and not send:
        _fail("give --out (where the PDFs go), --send (e-mail them), or both")
    with tempfile.TemporaryDirectory(prefix="opip-reports-") as scratch:
        _reports(year, out or Path(scratch), out is not None, send, npi, jobs, config,
                 registry)


def _reports(year: int, out: Path, keep: bool, send: bool, npi: list[str] | None, jobs: int,
             config: Path | None, registry: Path | None) -> None:
    from gateway.contract import SiteError, open_site
    from gateway_opioid.report.data import reports as load_reports
    from gateway_opioid.report.delivery import deliver

    try:
        site = open_site(config, registry)
        known = site.registry()
    except SiteError as err:
        _fail(str(err))
    rules = program().rules(year)
    if rules is None:
        _fail(f"the program has no parameters for measurement year {year}; years: "
              f"{', '.join(str(y) for y in sorted(program().years))}")
    view = site.reference()
    info = view.info(datasets.prescribers(year))
    if info is None:
        _fail(f"no prescribing data for measurement year {year} has been accepted")
    wanted = list(dict.fromkeys(npi)) if npi else None
    found = list(load_reports(view, year, wanted))
    if wanted:
        missing = sorted(set(wanted) - {r.npi for r in found})
        if missing:
            _fail(f"not in the accepted prescribing data of {year}: {', '.join(missing)}")
    listed = _signed_up(view) if send else {}
    names = {s.id: s.name for s in known} if known is not None else {}
    out.mkdir(parents=True, exist_ok=True)
    draw_all(found, year, out, jobs, names)
    if keep:
        typer.echo(f"{len(found)} reports in {out} (prescribing data {info.submission_id})")
    if send:
        _send(site, year, found, listed, out)
    if wanted:
        return
    if known is not None:
        systems = [s.id for s in known if known.health_system(s.id) is not None]
    else:  # no registry: the health systems the feed names
        systems = sorted({r.health_system for r in found if r.health_system})
    for system in systems:
        for path in deliver(site, system, year, found, out):
            typer.echo(f"delivered {path}")


def _signed_up(view: ReferenceView) -> dict[str, Subscriber]:
    """The latest accepted sign-up list; none is an error before anything is drawn."""
    from gateway_opioid.subscribers import signed_up

    listed = signed_up(view)
    if not listed:
        _fail("no sign-up list (opip-subscribers) has been accepted: nobody to e-mail")
    return listed


def _send(site: Site, year: int, found: list[PrescriberReport],
          listed: dict[str, Subscriber], out: Path) -> None:
    """Queue the signed-up prescribers' reports into the site's outbox."""
    from gateway.contract import SiteError
    from gateway_opioid.report.mail import queue_reports

    try:
        queued, before, absent = queue_reports(site, year, found, listed, out)
    except SiteError as err:
        _fail(str(err))
    typer.echo(f"{queued} report e-mails queued, {before} queued before; {absent} signed-up "
               f"prescribers have no report for {year}")


def review(
    year: Annotated[int, typer.Option(help="Measurement year under review (its prescribers "
                                           "QI-required the year before).")],
    out: Annotated[Path, typer.Option(help="Folder for review-<MY>.csv and notices/<npi>.pdf.",
                                      file_okay=False)],
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", dir_okay=False,
        help="gateway.toml of the installation (default: as for serve).")] = None,
) -> None:
    """The improvement review: every prescriber QI-required on a measure the year before, with
    enough patients this year, classed exempt, improved, improving, for review or not
    improved; a one-page notice for each prescriber with a row for review. It decides
    nothing."""
    import csv

    from gateway.contract import SiteError, open_site
    from gateway_opioid.report.delivery import inert
    from gateway_opioid.report.notice import render_notice
    from gateway_opioid.review import CLASSES, COLUMNS, FOR_REVIEW, ReviewError
    from gateway_opioid.review import review as make_review

    try:
        site = open_site(config)
        known = site.registry()
        rows = make_review(site.reference(), year)
    except (SiteError, ReviewError) as err:
        _fail(str(err))
    names = {s.id: s.name for s in known} if known is not None else {}
    out.mkdir(parents=True, exist_ok=True)
    with (out / f"review-{year}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            cells = row.cells()
            cells["prescriber_name"] = inert(cells["prescriber_name"])
            writer.writerow(cells)
    by_npi: dict[str, list] = {}
    for row in rows:
        by_npi.setdefault(row.npi, []).append(row)
    flagged = [npi for npi, mine in by_npi.items() if any(r.klass == FOR_REVIEW for r in mine)]
    if flagged:
        (out / "notices").mkdir(exist_ok=True)
    rules = program().years[year]
    for npi in flagged:
        mine = by_npi[npi]
        render_notice(mine, rules, out / "notices" / f"{npi}.pdf",
                      names.get(mine[0].health_system or ""))
    counts = {klass: sum(r.klass == klass for r in rows) for klass in CLASSES}
    typer.echo(f"{len(rows)} review rows in {out / f'review-{year}.csv'}: "
               + ", ".join(f"{klass} {count}" for klass, count in counts.items())
               + f"; {len(flagged)} notices")


def _fail(message: str) -> NoReturn:
    typer.echo(f"gateway: {message}", err=True)
    raise typer.Exit(EXIT_OPERATIONAL)


def draw_all(found: list[PrescriberReport], year: int, out: Path, jobs: int = 0,
             names: dict[str, str] | None = None) -> None:
    """Draw every report (``names``: health system names by id), in worker processes when
    there are many."""
    jobs = jobs or os.cpu_count() or 1
    names = names or {}
    if jobs == 1 or len(found) <= CHUNK:
        _draw_chunk(found, year, out, names)
        return
    chunks = [found[i:i + CHUNK] for i in range(0, len(found), CHUNK)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for _ in pool.map(_draw_chunk, chunks, [year] * len(chunks), [out] * len(chunks),
                          [names] * len(chunks)):
            pass


def _draw_chunk(chunk: list[PrescriberReport], year: int, out: Path,
                names: dict[str, str]) -> int:
    from gateway_opioid.report.pdf import render

    rules = program().years[year]
    for report in chunk:
        render(report, rules, out / f"{report.npi}.pdf",
               names.get(report.health_system or ""))
    return len(chunk)
