"""The commands that run and inspect the daemon: ``serve``, ``doctor``, ``init``, ``status``,
``submissions`` and ``replay`` (the replay protocol itself is ``gateway.daemon.replay``).

``serve`` exits 3 when it stops on a failure it cannot serve around (its inbox or state folder
lost); ``status`` exits 1 when no daemon runs; ``replay`` exits 1 when the new receipt rejects
the file. Other codes are the CLI's (``gateway.cli.common``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import (
    EXIT_FAILED,
    EXIT_OPERATIONAL,
    CommandError,
    ConfigOption,
    JsonOption,
    RegistryOption,
    error_text,
    load_settings,
    operational,
    operator_errors,
    parse_day,
    with_registry,
)
from gateway.daemon.lock import AlreadyRunning
from gateway.receipts.model import Status
from gateway.site.config import CONFIG_NAME, ConfigError, find_config, load_config
from gateway.site.layout import LayoutError, chroot_problems, give_ledger, init_layout, write_config
from gateway.site.ledger.model import State


def serve(config: ConfigOption = None, registry: RegistryOption = None) -> None:
    """Run the daemon in the foreground.

    Watches every upload folder, validates each file once it has settled and writes its
    receipt. SIGTERM or SIGINT finish the files in hand and exit 0; exit 2 means it could not
    start, 3 that it stopped on a failure it cannot serve around (the log says which).
    """
    from gateway.daemon.service import Service, record_failure  # imports the pipeline
    from gateway.site.logs import configure_logging, get_logger

    log = get_logger("gateway.daemon")
    with operational():
        source = find_config(config)
        settings = with_registry(load_config(source), registry)
    configure_logging(settings.log_format, settings.log_level)
    try:
        if source is None:
            init_layout(settings)  # a local run on the defaults needs no `gateway init`
        service = Service(settings)
    except (ConfigError, LayoutError, *operator_errors(), OSError) as err:
        log.error("cannot_start", reason=error_text(err))
        record_failure(settings, f"cannot start: {error_text(err)}")
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
    import os

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
    from gateway.site.ledger import Ledger  # the database layer, only where it is used

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


def status(config: ConfigOption = None, as_json: JsonOption = False,
           submitter: Annotated[str | None, typer.Option(
               help="Count only this submitter's files.")] = None) -> None:
    """Show whether the daemon runs, intake health, queue depth, today's counts and the
    registry in force."""
    from gateway.daemon.report import render_status, status_report  # reads the ledger

    with operational():
        report = status_report(load_settings(config), submitter)
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
    from gateway.daemon.report import local_day_start, render_list, render_one
    from gateway.site.ledger import Ledger

    with operational():
        ledger = Ledger(load_settings(config).ledger_location, create=False)
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
                since=local_day_start(parse_day(since)) if since else None,
                until=local_day_start(parse_day(until) + timedelta(days=1)) if until else None,
                limit=limit)
        finally:
            ledger.close()
    typer.echo(json.dumps([row.as_dict() for row in rows], indent=2) if as_json
               else render_list(rows), nl=as_json)


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
    from gateway.daemon.replay import carry_out, request_replay
    from gateway.site.logs import configure_logging

    with operational():
        settings = with_registry(load_settings(config), registry)
        configure_logging(settings.log_format, settings.log_level)
        replay_id = request_replay(settings, submission_id, submitter)
        done = carry_out(settings, replay_id, wait)
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
