"""The operator's commands about submitters: ``registry check``, ``compliance`` and
``calendar``, added to the main command line by ``register``; and how ``validate`` finds the
registry and the ``[submitter]`` switches (the same way the daemon does).

Exit codes: 0 done, 1 ``registry check`` refused the file, 2 an operational error (no registry,
a broken one named with ``--registry``, a bad config).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.daemon.config import CONFIG_NAME, Config, ConfigError, find_config, load_config
from gateway.receipts.text import plural
from gateway.submitters.model import Registry
from gateway.submitters.registry_file import RegistryError, load_registry
from gateway.submitters.windows import SubmitterPolicy, today

if TYPE_CHECKING:
    from gateway.submitters.compliance import Line

EXIT_REFUSED, EXIT_OPERATIONAL = 1, 2

RegistryOption = Annotated[Path | None, typer.Option(
    "--registry", dir_okay=False,
    help="The registry file (default: the file the config names in its registry section, "
         "else registry.toml beside the config, else in the working folder).")]
ConfigOption = Annotated[Path | None, typer.Option(
    "--config", "-c", dir_okay=False,
    help=f"Config file (default: $GATEWAY_CONFIG, else ./{CONFIG_NAME} if present).")]
SubmitterOption = Annotated[str | None, typer.Option(help="Only this submitter id.")]


@dataclass(frozen=True)
class Setting:
    """Where the registry is, whether it must exist, and the ``[submitter]`` switches."""

    path: Path
    required: bool
    policy: SubmitterPolicy
    config: Config


def setting(registry: Path | None, config: Path | None) -> Setting:
    """Resolve ``--registry`` and ``--config`` as the daemon would."""
    settings = load_config(find_config(config))
    policy = SubmitterPolicy(late=settings.late, timezone=settings.timezone)
    if registry is not None:
        return Setting(registry, True, policy, settings)
    return Setting(settings.registry, settings.registry_configured, policy, settings)


@contextlib.contextmanager
def operational() -> Iterator[None]:
    """A problem the operator must fix becomes one line on stderr and exit code 2."""
    try:
        yield
    except (ConfigError, RegistryError, FileNotFoundError) as err:
        typer.echo(f"gateway: {err}", err=True)
        raise typer.Exit(EXIT_OPERATIONAL) from None


def registry_for(chosen: Setting) -> Registry | None:
    """The registry to judge with: None when none exists where one is only looked for; a
    named (or configured) one that is missing or broken raises ``RegistryError``."""
    if not chosen.path.exists() and not chosen.required:
        return None
    return load_registry(chosen.path)


def register(app: typer.Typer) -> None:
    """Add ``registry check``, ``compliance`` and ``calendar`` to ``app``."""
    group = typer.Typer(help="Check the submitter registry (registry.toml).",
                        no_args_is_help=True, rich_markup_mode=app.rich_markup_mode)
    group.command("check")(registry_check)
    app.add_typer(group, name="registry")
    app.command()(compliance)
    app.command()(calendar)


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
        raise typer.Exit(EXIT_REFUSED) from None
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
    from gateway.daemon.ledger import Ledger
    from gateway.pipeline import default_plugins
    from gateway.reference.store import reference_view
    from gateway.submitters.compliance import answers_from, report
    from gateway.submitters.obligations import owed

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
