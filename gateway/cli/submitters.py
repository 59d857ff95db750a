"""The operator's commands about submitters: ``submitter add`` (its folders and registry
entry), ``registry check``, ``compliance`` and ``calendar``.

``registry check`` exits 1 when it refuses the file; other codes are the CLI's
(``gateway.cli.common``).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli.common import (
    EXIT_NO,
    ConfigOption,
    RegistryOption,
    Setting,
    SubmitterOption,
    operational,
    parse_day,
    registry_for,
    setting,
)
from gateway.receipts.text import plural
from gateway.site.config import find_config, load_config
from gateway.site.layout import add_submitter, init_layout
from gateway.submitters.registry_edit import add_entry, check_entry
from gateway.submitters.registry_file import RegistryError, load_registry
from gateway.submitters.windows import today

if TYPE_CHECKING:
    from gateway.contract.registry import Registry
    from gateway.submitters.compliance import Line


def submitter_add(
    submitter_id: Annotated[str, typer.Argument(metavar="ID", help="The submitter id.")],
    user: Annotated[str | None, typer.Option(
        help="The SFTP account of this submitter: owns upload/, reads receipts/ (needs root).")]
        = None,
    name: Annotated[str | None, typer.Option(
        help="Add the registry entry too: the organisation's name (with --kind).")] = None,
    kind: Annotated[str | None, typer.Option(help="clinic, hospital or program.")] = None,
    npi: Annotated[list[str], typer.Option(help="A clinic NPI (repeat for several).")]
        = [],  # noqa: B006
    urgent_care: Annotated[bool | None, typer.Option(help="Clinic: an urgent care center.")]
        = None,
    well_child: Annotated[bool | None, typer.Option(help="Clinic: provides well-child visits.")]
        = None,
    emr_since: Annotated[str | None, typer.Option(
        help="Clinic: first day of its electronic record (YYYY-MM-DD).")] = None,
    ccn: Annotated[list[str], typer.Option(help="A hospital CCN (repeat for several).")]
        = [],  # noqa: B006
    hospital_type: Annotated[str | None, typer.Option(help="Hospital: PPS or CAH.")] = None,
    nicu_level: Annotated[int | None, typer.Option(help="Hospital: NICU level 0-3.")] = None,
    picu: Annotated[bool | None, typer.Option(help="Hospital: has a PICU.")] = None,
    submits_to_cms: Annotated[bool | None, typer.Option(
        help="Hospital: submits CART and NHSN to CMS (not owed here).")] = None,
    admissions_last_year: Annotated[int | None, typer.Option(
        help="Hospital: admissions last year.")] = None,
    complete_marker: Annotated[str | None, typer.Option(
        help="sha256: each file waits for its NAME.sha256 and is checked against it.")] = None,
    registry: RegistryOption = None,
    config: ConfigOption = None,
) -> None:
    """Create inbox/ID/upload/ and inbox/ID/receipts/ with the modes SFTP needs and, with
    --name and --kind, add the submitter's entry to the registry (checked first, so a refused
    entry changes nothing)."""
    fields = None if kind is None and name is None else {
        "id": submitter_id, "name": name, "kind": kind, "npi": npi or None,
        "urgent_care": urgent_care, "well_child": well_child,
        "emr_since": parse_day(emr_since) if emr_since else None, "ccn": ccn or None,
        "hospital_type": hospital_type, "nicu_level": nicu_level, "picu": picu,
        "submits_to_cms": submits_to_cms, "admissions_last_year": admissions_last_year,
        "complete_marker": complete_marker}
    with operational():
        source = find_config(config)
        settings = load_config(source)
        if source is None:
            init_layout(settings)  # the local quick start: no `gateway init` needed
        path = registry or settings.registry
        if fields is not None:
            check_entry(path, fields)
        folders = add_submitter(settings, submitter_id, user)
        if fields is not None:
            add_entry(path, fields)
    typer.echo(f"uploads:  {folders.upload}\nreceipts: {folders.receipts}")
    if fields is not None:
        typer.echo(f"registry: {path} (entry {submitter_id!r} added)")
    elif not _registered(path, submitter_id):
        typer.echo(f"gateway: {submitter_id!r} is not in the registry {path}; its files are "
                   "rejected until it is (add --name and --kind)", err=True)


def _registered(path: Path, submitter_id: str) -> bool:
    try:
        return load_registry(path).get(submitter_id) is not None
    except RegistryError:
        return False


def registry_check(
    file: Annotated[Path | None, typer.Argument(
        help="The registry file to check (default: the one the gateway uses).",
        dir_okay=False)] = None,
    registry: RegistryOption = None,
    config: ConfigOption = None,
) -> None:
    """Check a registry file before it goes live: exit 0 when the gateway would take it, 1 with
    every problem and its line when it would refuse it. The file may be named as FILE or, like
    every other command, with --registry."""
    if file is not None and registry is not None and file != registry:
        raise typer.BadParameter("name the registry once, as FILE or with --registry",
                                 param_hint="--registry")
    with operational():
        path = file or registry or setting(None, config).path
        if not path.exists():
            raise FileNotFoundError(f"there is no registry file {path}")
    try:
        registry = load_registry(path)
    except RegistryError as err:
        for problem in err.problems:
            typer.echo(f"{path}: {problem}", err=True)
        typer.echo(f"{path}: refused ({plural(len(err.problems), 'problem')}); the gateway "
                   "keeps the registry it has", err=True)
        raise typer.Exit(EXIT_NO) from None
    kinds = {kind: sum(1 for s in registry if s.kind == kind)
             for kind in ("clinic", "hospital", "program")}
    inactive = sum(1 for s in registry if not s.active)
    if not len(registry):
        typer.echo(f"{path}: OK, 0 submitters (no folder may submit yet)")
        return
    detail = ", ".join(f"{n} {kind}" for kind, n in kinds.items() if n)
    typer.echo(f"{path}: OK, {plural(len(registry), 'submitter')} ({detail}"
               f"{f'; {inactive} inactive' if inactive else ''})")


def _day(text: str | None, fallback: date) -> date:
    if text is None:
        return fallback
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {text!r}") from None


def _lines(chosen: Setting, registry: Registry, years: list[int], submitter: str | None,
           as_of: date) -> list[Line]:
    from gateway.engine.obligations import owed
    from gateway.engine.pipeline import default_plugins
    from gateway.site.ledger import Ledger
    from gateway.site.reference.store import reference_view
    from gateway.submitters.compliance import answers_from, report

    if submitter is not None and registry.active(submitter) is None:
        raise FileNotFoundError(f"{submitter!r} is not an active submitter in the registry")
    rows: list = []
    if chosen.config.shared_ledger or chosen.config.ledger.exists():
        ledger = Ledger(chosen.config.ledger_location, create=False)
        try:
            rows = [(r.submitter, r.submission_id, r.received_at, r.obligations, r.status)
                    for r in ledger.answers(submitter)]
        finally:
            ledger.close()
    else:
        typer.echo(f"gateway: no ledger at {chosen.config.ledger}: nothing has been received "
                   "here", err=True)
    reference = reference_view(chosen.config.ledger_location)
    return report(owed(default_plugins(), registry, years, submitter, reference),
                  answers_from(rows), as_of, chosen.policy.timezone)


def _required_registry(chosen: Setting) -> Registry:
    registry = registry_for(chosen)
    if registry is None:
        raise FileNotFoundError(f"there is no registry at {chosen.path}; name one with "
                                "--registry")
    return registry


def compliance(
    year: Annotated[int | None, typer.Option(
        help="The reporting year (default: the year of --as-of, i.e. this year).")] = None,
    submitter: SubmitterOption = None,
    csv_file: Annotated[Path | None, typer.Option(
        "--csv", dir_okay=False, help="Also write the lines as CSV to this file ('-': print "
                                      "the CSV instead of the table).")] = None,
    as_of: Annotated[str | None, typer.Option(
        help="Judge missing/not due on this day (YYYY-MM-DD; default today).")] = None,
    registry: RegistryOption = None,
    config: ConfigOption = None,
) -> None:
    """Every required submission of every active submitter for a reporting year, with its
    status: accepted, accepted_late, rejected, missing, not_due, not_required, exempt or
    exemption_requested.

    Without --year the report is of the reporting year the day falls in (the year whose
    deadlines are running), which is what an operator asks about on an ordinary day."""
    from gateway.submitters.compliance import render_csv, render_terminal

    with operational():
        chosen = setting(registry, config)
        day = _day(as_of, today(chosen.policy.timezone))
        lines = _lines(chosen, _required_registry(chosen), [year or day.year], submitter, day)
        if csv_file is not None and str(csv_file) != "-":
            csv_file.write_text(render_csv(lines), encoding="utf-8", newline="")
    printed = render_csv(lines) if str(csv_file) == "-" else render_terminal(lines)
    typer.echo(printed, nl=False)


def calendar(
    submitter: SubmitterOption = None,
    from_: Annotated[str | None, typer.Option(
        "--from", help="First day (YYYY-MM-DD; default today).")] = None,
    days: Annotated[int, typer.Option(min=1, max=3660, help="How many days ahead.")] = 60,
    registry: RegistryOption = None,
    config: ConfigOption = None,
) -> None:
    """The deadlines in the coming days and what each submitter still owes for them."""
    from gateway.submitters.calendar import render_calendar, upcoming

    with operational():
        chosen = setting(registry, config)
        start = _day(from_, today(chosen.policy.timezone))
        end = start + timedelta(days=days)
        # obligations of a reporting year fall due within it, so the years of the span suffice
        years = list(range(start.year, end.year + 1))
        lines = upcoming(_lines(chosen, _required_registry(chosen), years, submitter, start),
                         start, end)
    typer.echo(render_calendar(lines, start, end), nl=False)
