"""The daemon's commands: ``serve``, ``init``, ``submitter add``, ``status``, ``submissions`` and
``replay``, added to the main ``gateway`` command line by ``register``.

Exit codes follow the CLI's: 0 done, 2 an operational error (bad config, missing folders,
another daemon running, missing permissions); ``serve`` exits 3 when it stops on a failure it
cannot serve around (its inbox or state folder lost). ``status`` exits 1 when no daemon runs;
``replay`` exits 1 when the new receipt rejects the file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from gateway.daemon.config import CONFIG_NAME, Config, ConfigError, find_config, load_config
from gateway.daemon.layout import (
    LayoutError,
    add_submitter,
    chroot_problems,
    give_ledger,
    init_layout,
    write_config,
)
from gateway.daemon.ledger.commands import register_ledger_commands
from gateway.daemon.ledger.model import State, Submission
from gateway.daemon.lock import AlreadyRunning, InstanceLock, running_pid
from gateway.logging_setup import configure_logging, get_logger
from gateway.receipts.model import Status, new_submission_id
from gateway.submitters.commands import RegistryOption
from gateway.submitters.registry_edit import add_entry, check_entry
from gateway.submitters.registry_file import RegistryError, load_registry

EXIT_OPERATIONAL = 2
EXIT_FAILED = 3
NOT_READ = ("symlink", "hardlink", "special", "unreadable")
log = get_logger("gateway.daemon")

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", "-c", dir_okay=False,
    help=f"Config file (default: $GATEWAY_CONFIG, else ./{CONFIG_NAME} if present, else the "
         "local defaults).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


class CommandError(RuntimeError):
    """A request the operator must change (unknown id, nothing to replay)."""


def _ledger_refusals() -> tuple[type[Exception], ...]:
    """The ledger's refusals an operator fixes (a bad URL, an old schema, a non-empty copy
    target). An ``except`` clause evaluates this only when something was raised, so the
    commands that never reach the database do not load SQLAlchemy and Alembic for it."""
    from gateway.daemon.ledger.backends import LedgerUrlError
    from gateway.daemon.ledger.copy import CopyRefused
    from gateway.daemon.ledger.migrate import LedgerOutdated

    return LedgerOutdated, LedgerUrlError, CopyRefused


def _unavailable() -> tuple[type[Exception], ...]:
    """A folder, or the database server, that is not there (evaluated as above)."""
    import sqlalchemy as sa

    return OSError, sa.exc.OperationalError


@contextmanager
def operational() -> Iterator[None]:
    """Errors an operator can fix become a one-line message and exit code 2, not a traceback."""
    try:
        yield
    except (ConfigError, LayoutError, AlreadyRunning, CommandError, RegistryError,
            *_ledger_refusals()) as err:
        typer.echo(f"gateway: {err}", err=True)
        raise typer.Exit(EXIT_OPERATIONAL) from None
    except _unavailable() as err:
        typer.echo(f"gateway: {_start_error_text(err)}", err=True)
        raise typer.Exit(EXIT_OPERATIONAL) from None


def _start_error_text(err: Exception) -> str:
    if isinstance(err, OSError):
        return _os_error_text(err)
    orig = getattr(err, "orig", None)
    if orig is not None:  # the database driver's words, never the password
        return f"the ledger database is not available: {orig}"
    return str(err)


def _os_error_text(err: OSError) -> str:
    if err.filename is None:
        return str(err)
    text = f"{err.filename}: {err.strerror}"
    if isinstance(err, PermissionError) and os.geteuid() != 0:
        text += " (setting up an SFTP site needs root; see docs/operations.md)"
    return text


def register(app: typer.Typer) -> None:
    """Add the daemon's commands to ``app`` (the main ``gateway`` command line)."""
    app.command()(serve)
    app.command()(init)
    app.command()(doctor)
    app.command()(status)
    app.command()(submissions)
    app.command()(replay)
    submitter = typer.Typer(help="Manage submitters (their SFTP folders).",
                            no_args_is_help=True, rich_markup_mode=app.rich_markup_mode)
    submitter.command("add")(submitter_add)
    app.add_typer(submitter, name="submitter")
    register_ledger_commands(app, operational, _config)


def serve(config: ConfigOption = None, registry: RegistryOption = None) -> None:
    """Run the daemon in the foreground.

    Watches every upload folder, validates each file once it has settled and writes its
    receipt. SIGTERM or SIGINT finish the files in hand and exit 0; exit 2 means it could not
    start, 3 that it stopped on a failure it cannot serve around (the log says which).
    """
    from gateway.daemon.service import Service, record_failure  # imports the pipeline

    with operational():
        source = find_config(config)
        settings = _named_registry(load_config(source), registry)
    configure_logging(settings.log_format, settings.log_level)
    try:
        if source is None:
            init_layout(settings)  # a local run on the defaults needs no `gateway init`
        service = Service(settings)
    except (ConfigError, LayoutError, *_ledger_refusals(), *_unavailable()) as err:
        log.error("cannot_start", reason=_start_error_text(err))
        record_failure(settings, f"cannot start: {_start_error_text(err)}")
        raise typer.Exit(EXIT_OPERATIONAL) from None
    except Exception as err:  # anything else on the way up (a plugin that fails to load...)
        log.exception("cannot_start", reason=f"{type(err).__name__}: {err}")
        record_failure(settings, f"cannot start: {type(err).__name__}: {err}")
        raise typer.Exit(EXIT_FAILED) from None
    try:
        service.run()
    except AlreadyRunning as err:
        log.error("cannot_start", reason=str(err))
        raise typer.Exit(EXIT_OPERATIONAL) from None
    except Exception:  # logged by the service as one JSON line; no raw traceback on stderr
        raise typer.Exit(EXIT_FAILED) from None


def doctor(
    config: ConfigOption = None,
    account: Annotated[str | None, typer.Option(
        help="The service account (default: the owner of the state folder).")] = None,
    sshd_config_dir: Annotated[Path, typer.Option(
        help="Where setup-site.sh put the sshd fragment.")] = Path("/etc/ssh/sshd_config.d"),
    sshd_config: Annotated[Path | None, typer.Option(
        help="sshd's main configuration for `sshd -t` (default: the system's).")] = None,
    as_account_only: Annotated[bool, typer.Option(hidden=True)] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the site as the service account will meet it, before it serves: the interpreter
    and packages, folders, owners and modes, the ledger with the account's credentials,
    CAP_LEASE, each submitter's folders; as root also sshd, /run/sshd and the chroots. Each
    problem is printed with its fix; exit 1 when there is one."""
    from gateway.daemon import doctor as checks

    with operational():
        source = find_config(config)
        settings = load_config(source)
        if as_account_only or os.geteuid() != 0:
            findings = checks.account_checks(settings)
            if not as_account_only:
                findings.append(checks.Finding(
                    "sshd, /run/sshd and the chroots", "not checked: run as root",
                    "sudo gateway doctor (it runs the other checks as the service account)"))
        else:
            target = account or checks.service_account(settings)
            findings = [*checks.root_checks(settings, sshd_config_dir, sshd_config),
                        *checks.as_account((source or Path(CONFIG_NAME)).resolve(), target)]
    if as_json:
        typer.echo(json.dumps({"findings": [f.as_dict() for f in findings]}, indent=2))
    else:
        typer.echo(checks.render(findings), nl=False)
    raise typer.Exit(1 if any(f.problem for f in findings) else 0)


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for gateway.toml, the inbox and the "
                                                   "state.")] = Path("."),
    service_user: Annotated[str | None, typer.Option(
        help="The account `gateway serve` runs as: it gets the state folders, the inbox stays "
             "root's, as SFTP chroots need (run as root).")] = None,
) -> None:
    """Create a commented gateway.toml (unless one exists) and the folders it names."""
    from gateway.daemon.ledger import Ledger  # the database layer, only where it is used

    target = directory / CONFIG_NAME
    with operational():
        created = [target] if write_config(target) else []
        settings = load_config(target)
        created += init_layout(settings, service_user)
        if not settings.shared_ledger:  # PostgreSQL: `gateway ledger migrate` creates it
            Ledger(settings.ledger).close()
            give_ledger(settings, service_user)
        unsafe = chroot_problems(settings.inbox)
    for path in created:
        typer.echo(f"created {path}")
    if unsafe:
        typer.echo(f"note: sshd will not chroot submitters under {settings.inbox} until root "
                   f"owns it and every folder above it: {'; '.join(unsafe)} (fine for a local "
                   "run; for SFTP see docs/operations.md)", err=True)
    typer.echo(f"next: gateway submitter add ID --name NAME --kind clinic|hospital|program "
               f"--config {target}")


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
        "emr_since": _date(emr_since) if emr_since else None, "ccn": ccn or None,
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


def status(config: ConfigOption = None, as_json: JsonOption = False,
           submitter: Annotated[str | None, typer.Option(
               help="Count only this submitter's files.")] = None) -> None:
    """Show whether the daemon runs, intake health, queue depth, today's counts and the
    registry in force."""
    from gateway.daemon.report import render_status, status_report  # reads the ledger

    with operational():
        report = status_report(_config(config), submitter)
    typer.echo(json.dumps(report, indent=2) if as_json else render_status(report), nl=as_json)
    raise typer.Exit(0 if report["running"] else 1)


def submissions(
    submission_id: Annotated[str | None, typer.Argument(
        metavar="ID", help="Show this submission in full.")] = None,
    submitter: Annotated[str | None, typer.Option(help="Only this submitter.")] = None,
    status_: Annotated[Status | None, typer.Option("--status", help="Only this status.")]
        = None,
    since: Annotated[str | None, typer.Option(
        help="Received on or after this local date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(
        help="Received on or before this local date (YYYY-MM-DD).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List submissions from the ledger, or show one with its transitions."""
    from gateway.daemon.ledger import Ledger
    from gateway.daemon.report import local_day_start, render_list, render_one

    with operational():
        ledger = Ledger(_config(config).ledger_location, create=False)
        try:
            if submission_id is not None:
                found = ledger.get(submission_id)
                if found is None or submitter not in (None, found.submitter):
                    # on behalf of one submitter, another's submission does not exist
                    raise CommandError(f"no submission {submission_id}"
                                       f"{f' from {submitter}' if submitter else ''}")
                steps = ledger.transitions(submission_id)
                typer.echo(json.dumps(found.as_dict() | {"transitions": steps}, indent=2)
                           if as_json else render_one(found, steps), nl=as_json)
                return
            rows = ledger.search(
                submitter=submitter, status=status_.value if status_ else None,
                since=local_day_start(_date(since)) if since else None,
                until=local_day_start(_date(until) + timedelta(days=1)) if until else None,
                limit=limit)
        finally:
            ledger.close()
    typer.echo(json.dumps([row.as_dict() for row in rows], indent=2) if as_json
               else render_list(rows), nl=as_json)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {text!r}") from None


def replay(
    submission_id: Annotated[str, typer.Argument(metavar="ID",
                                                 help="The submission to validate again.")],
    wait: Annotated[float, typer.Option(help="Seconds to wait for a running daemon to answer.")]
        = 600.0,
    submitter: Annotated[str | None, typer.Option(
        help="Only when the submission is this submitter's (acting on its behalf).")] = None,
    config: ConfigOption = None,
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate a filed original again, with a new receipt that names the one it replaces.

    A running daemon does the work (this command asks it with SIGUSR1 and waits); when none
    runs, this command does it itself.
    """
    with operational():
        settings = _named_registry(_config(config), registry)
        configure_logging(settings.log_format, settings.log_level)
        replay_id = _request_replay(settings, submission_id, submitter)
        done = _carry_out(settings, replay_id, wait)
    if done is None:
        typer.echo(f"gateway: the replay was dropped: the original of {submission_id} is no "
                   "longer where the ledger says", err=True)
        raise typer.Exit(EXIT_OPERATIONAL)
    if done.state != State.FILED:
        typer.echo(f"gateway: replay {replay_id} is recorded but not finished yet; see "
                   f"`gateway submissions {replay_id}`", err=True)
        raise typer.Exit(EXIT_OPERATIONAL)
    if as_json:
        typer.echo(json.dumps(done.as_dict(), indent=2))
    else:
        typer.echo(f"{done.submission_id} replaces {submission_id}: {done.status}\n"
                   f"receipt: {done.receipt_path}")
    raise typer.Exit(1 if done.status == Status.REJECTED.value else 0)


def _request_replay(settings: Config, submission_id: str, submitter: str | None = None) -> str:
    """Record a ``requested`` row for the replay; the daemon (or ``drain``) carries it out."""
    from gateway.daemon.ledger import Ledger

    ledger = Ledger(settings.ledger_location, create=False)
    try:
        original = ledger.get(submission_id)
        if original is None or submitter not in (None, original.submitter):
            raise CommandError(f"no submission {submission_id}"
                               f"{f' from {submitter}' if submitter else ''}")
        if original.problem in NOT_READ:
            raise CommandError(f"{submission_id} was a {original.problem}, never read; there is "
                               "nothing to validate")
        if original.state != State.FILED or not original.stored_path:
            raise CommandError(f"{submission_id} is not filed yet (state {original.state})")
        replay_id = new_submission_id()
        ledger.add(Submission(
            submission_id=replay_id, submitter=original.submitter,
            upload_name=original.upload_name, name=original.name, state=State.REQUESTED,
            # received when the daemon took the original: a replay judges the same file against
            # the same deadline
            received_at=original.received_at,
            problem="name" if original.problem == "name" else None,
            replaces=submission_id))
    finally:
        ledger.close()
    return replay_id


def _carry_out(settings: Config, replay_id: str, wait: float) -> Submission | None:
    """Wait for the replay to be filed: nudge a running daemon (SIGUSR1), or, whenever none
    holds the lock, take it and do the work here. With a shared ledger any live daemon takes
    the request at its next lease renewal; when none is alive, this command does the work.
    Returns the row as it last stood (None when the request was dropped because the original
    is gone)."""
    from gateway.daemon.ledger import Ledger
    from gateway.daemon.membership import live_daemons
    from gateway.daemon.service import Service  # imports the pipeline

    ledger = Ledger(settings.ledger_location, create=False)
    nudged: set[int] = set()
    deadline = time.monotonic() + wait
    try:
        while True:
            row = ledger.get(replay_id)
            if row is None or row.state == State.FILED or time.monotonic() >= deadline:
                return row
            if settings.shared_ledger:
                if not live_daemons(ledger):
                    Service(settings, intake=False).drain()
                    continue
                time.sleep(0.2)
                continue
            pid = running_pid(settings.lock_file)
            if pid is None:
                lock = InstanceLock(settings.lock_file)
                with contextlib.suppress(AlreadyRunning):  # a daemon started meanwhile
                    lock.acquire()
                    try:
                        Service(settings, intake=False).drain()
                    finally:
                        lock.release()
                continue
            if pid > 0 and pid not in nudged:
                nudged.add(pid)
                # Not ours to signal? The daemon's next rescan picks the request up anyway.
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGUSR1)
            time.sleep(0.2)
    finally:
        ledger.close()


def _config(path: Path | None) -> Config:
    return load_config(find_config(path))


def _named_registry(settings: Config, registry: Path | None) -> Config:
    """The settings with the registry ``--registry`` names, which must exist (as for every
    command that takes it): a typo must not start a gateway that judges no submitter."""
    if registry is None:
        return settings
    if not registry.is_file():
        raise ConfigError(f"there is no registry file {registry}")
    return dataclasses.replace(settings, registry=registry.resolve(), registry_configured=True)
