"""The operator's pages: overview, compliance matrix and its CSV, calendar, submitters, replay
(with a confirmation step) and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.submitters.compliance import DONE, render_csv
from gateway.web import queries
from gateway.web.auth import Refusal, check_csrf
from gateway.web.lookups import submission_for
from gateway.web.notices import outbox_shown
from gateway.web.site import (
    Line,
    RegistryError,
    ReplayRefused,
    Site,
    without_cycle_collection,
)

CALENDAR_DAYS = 60

if TYPE_CHECKING:
    from gateway.web.console import Console


def _registry_state(site: Site) -> tuple[Any, str | None]:
    try:
        return site.registry(), None
    except RegistryError as err:
        return None, str(err)


def compliance_matrix(lines: list[Line]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Submitters down, obligations across: (column names, rows of (submitter, one cell's
    HTML per column)). Each cell is the status as the CSV says it, shown with spaces, linked
    to the deciding submission when there is one; ``-`` where the submitter owes nothing in
    that column. 2,000 submitters give 24,000 cells: they are written here as strings (a
    Jinja loop over them took longer than everything else), escaped like the template would,
    and the few distinct unlinked cells are made once."""
    columns: dict[str, int] = {}
    by_submitter: dict[str, dict[int, str]] = {}
    plain: dict[str, str] = {}
    for line in lines:
        obligation, answer = line.owed.obligation, line.decided_by
        measure = f"{obligation.measure} {obligation.subject}" if obligation.subject \
            else obligation.measure
        column = columns.setdefault(f"{obligation.family} {measure} {obligation.period}",
                                    len(columns))
        status = line.status
        if answer is not None and answer.submission_id:
            cell = (f'<a class="status status-{escape(status)}" '
                    f'href="/submissions/{escape(answer.submission_id)}">'
                    f'{escape(status.replace("_", " "))}</a>')
        else:
            cell = plain.get(status) or plain.setdefault(
                status, f'<span class="status status-{escape(status)}">'
                        f'{escape(status.replace("_", " "))}</span>')
        by_submitter.setdefault(line.owed.submitter.id, {})[column] = cell
    return list(columns), [(submitter, [cells.get(n, "-") for n in range(len(columns))])
                           for submitter, cells in sorted(by_submitter.items())]


def matrix_table(columns: list[str], rows: list[tuple[str, list[str]]]) -> Markup:
    """The matrix's ``<table>`` as one string, for the compliance page to place as it is."""
    parts = ['<table class="matrix">\n  <thead><tr><th scope="col">Submitter</th>']
    parts.extend(f'<th scope="col">{escape(c)}</th>' for c in columns)
    parts.append("</tr></thead>\n  <tbody>\n")
    for submitter, cells in rows:
        parts.append(f'  <tr><th scope="row">{escape(submitter)}</th>\n')
        parts.extend(f"    <td>{cell}</td>\n" for cell in cells)
        parts.append("  </tr>\n")
    parts.append("  </tbody>\n</table>")
    return Markup("".join(parts))


def _table(lines: list[Line]) -> Markup | None:
    with without_cycle_collection():
        return matrix_table(*compliance_matrix(lines)) if lines else None


def _csv(lines: list[Line]) -> str:
    with without_cycle_collection():
        return render_csv(lines)


@dataclass
class _Rendered:
    """The matrix table and the CSV last made, with the lines they were made from: the site
    hands out the same list until something it depends on changes, so a reload between
    receipts sends the strings again instead of writing 24,000 cells."""

    lines: list[Line] | None = None
    table: Markup | None = None
    csv: str | None = None

    def for_lines(self, lines: list[Line]) -> _Rendered:
        if lines is not self.lines:
            self.lines, self.table, self.csv = lines, None, None
        return self


def routes(console: Console) -> list[Route]:
    site: Site = console.site

    async def overview(request: Request) -> Response:
        principal = console.require(request, operator=True)
        status = site.status()
        registry, refused = _registry_state(site)
        since = queries.utc_start(site.today() - timedelta(days=1), site.config.timezone)
        last_day = site.ledger.count_by_status(since)
        return console.render(request, "overview.html", principal, daemon=status,
                              registry=registry, refused=refused, last_day=last_day,
                              outbox=outbox_shown(site.engine),
                              mail_on=site.config.smtp_url is not None)

    async def _lines(request: Request) -> tuple[int, list]:
        """The year asked for and its lines, made in a worker thread: a cold report (or the
        warm-up it waits for) does not hold up the console's other requests."""
        text = request.query_params.get("year") or str(site.today().year)
        if not text.isdigit() or not 2000 <= int(text) <= 2100:
            raise Refusal(400, "bad_request", "year must be a year, e.g. 2015")
        try:
            return int(text), await run_in_threadpool(site.compliance, [int(text)], None)
        except RegistryError as err:
            raise Refusal(400, "bad_request", f"the registry is refused: {err}") from None

    rendered: dict[int, _Rendered] = {}  # by year

    def _rendered(year: int, lines: list[Line]) -> _Rendered:
        if year not in rendered and len(rendered) >= 4:
            rendered.clear()
        return rendered.setdefault(year, _Rendered()).for_lines(lines)

    async def compliance(request: Request) -> Response:
        principal = console.require(request, operator=True)
        year, lines = await _lines(request)
        made = _rendered(year, lines)
        if made.table is None:
            made.table = await run_in_threadpool(_table, lines)
        return console.render(request, "compliance.html", principal, year=year,
                              table=made.table)

    async def compliance_csv(request: Request) -> Response:
        principal = console.require(request, operator=True)
        year, lines = await _lines(request)
        made = _rendered(year, lines)
        if made.csv is None:
            made.csv = await run_in_threadpool(_csv, lines)
        console.audit(request, principal, "download", detail=f"compliance {year} CSV")
        return Response(made.csv, media_type="text/csv", headers={
            "content-disposition": f'attachment; filename="compliance-{year}.csv"'})

    async def calendar(request: Request) -> Response:
        principal = console.require(request, operator=True)
        start = site.today()
        end = start + timedelta(days=CALENDAR_DAYS)
        try:
            lines = await run_in_threadpool(site.compliance,
                                            list(range(start.year, end.year + 1)), None, start)
        except RegistryError:
            lines = []
        due = sorted((line for line in lines if line.owed.obligation.required
                      and start <= line.owed.obligation.due <= end),
                     key=lambda line: (line.owed.obligation.due, line.owed.submitter.id))
        deadlines: dict[tuple, dict[str, Any]] = {}
        for line in due:
            cells = line.cells()
            key = (cells["due"], cells["family"], cells["measure"], cells["period"])
            entry = deadlines.setdefault(key, {"due": cells["due"], "family": cells["family"],
                                               "measure": cells["measure"],
                                               "period": cells["period"], "owing": [],
                                               "received": 0})
            if line.status in DONE:
                entry["received"] += 1
            else:
                entry["owing"].append((cells["submitter"], line.status))
        return console.render(request, "calendar.html", principal, start=start, end=end,
                              deadlines=list(deadlines.values()))

    async def submitters(request: Request) -> Response:
        principal = console.require(request, operator=True)
        registry, refused = _registry_state(site)
        status = site.status()
        blocked = status.get("blocked_submitters") or {}
        entries = []
        for entry in registry or []:
            folder = site.config.inbox / entry.id
            last = site.ledger.search(submitter=entry.id, limit=1)
            entries.append({"entry": entry, "folder": "present" if (folder / "upload").is_dir()
                            else "missing", "blocked": blocked.get(entry.id),
                            "last": last[0] if last else None})
        return console.render(request, "submitters.html", principal, entries=entries,
                              refused=refused)

    async def replay_confirm(request: Request) -> Response:
        principal = console.require(request, operator=True)
        row = submission_for(site, principal, request.path_params["submission_id"])
        return console.render(request, "replay.html", principal, row=row)

    async def replay(request: Request) -> Response:
        principal = console.require(request, operator=True)
        form = await request.form(max_files=0, max_fields=5)
        check_csrf(principal, str(form.get("csrf_token") or ""))
        row = submission_for(site, principal, request.path_params["submission_id"])
        if form.get("confirm") != "yes":
            raise Refusal(400, "bad_request", "Confirm the replay on its page first.")
        try:
            replay_id = site.request_replay(row)
        except ReplayRefused as err:
            raise Refusal(409, "conflict", str(err)) from None
        console.audit(request, principal, "replay", submitter=row.submitter,
                      submission_id=row.submission_id, detail=f"replay {replay_id}")
        return console.redirect(request, f"/submissions/{replay_id}")

    async def audit(request: Request) -> Response:
        principal = console.require(request, operator=True)
        before = request.query_params.get("before")
        events = console.accounts.audit_page(
            before=int(before) if before and before.isdigit() else None,
            account=request.query_params.get("account") or None,
            action=request.query_params.get("action") or None)
        return console.render(request, "audit.html", principal, events=events)

    return [
        Route("/overview", overview),
        Route("/compliance", compliance),
        Route("/compliance.csv", compliance_csv),
        Route("/calendar", calendar),
        Route("/submitters", submitters),
        Route("/submissions/{submission_id}/replay", replay_confirm, methods=["GET"]),
        Route("/submissions/{submission_id}/replay", replay, methods=["POST"]),
        Route("/audit", audit),
    ]
