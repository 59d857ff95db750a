"""``gateway web`` (the console and API) and ``gateway user`` (its accounts).

Like every command they take ``--config`` and open the site's ledger as ``serve`` does (a
local SQLite ledger is created and migrated; a PostgreSQL one must be current). A password is
read from standard input with ``--password-stdin``, or generated and printed once.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import EXIT_OPERATIONAL, ConfigOption
from gateway.cli.common import operational as site_operational

PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from standard input (else one is generated "
                             "and printed once).")]


@contextmanager
def _operational() -> Iterator[None]:
    from gateway.web.accounts import AccountError

    with site_operational():
        try:
            yield
        except AccountError as err:
            typer.echo(f"gateway: {err}", err=True)
            raise typer.Exit(EXIT_OPERATIONAL) from None


def _password(from_stdin: bool) -> tuple[str, bool]:
    """(password, generated)."""
    if not from_stdin:
        return secrets.token_urlsafe(15), True
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 12:
        typer.echo("gateway: a password is at least 12 characters", err=True)
        raise typer.Exit(EXIT_OPERATIONAL)
    return password, False


def web(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: [web] host, "
                                                  "127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: [web] port, 8080).")] = None,
) -> None:
    """Serve the web console and the JSON API for the site the config names.

    Its own process beside `gateway serve` (which does the validating); put it behind a
    TLS-terminating reverse proxy in production (docs/operations.md)."""
    import uvicorn

    from gateway.site.logs import configure_logging
    from gateway.web.app import NoTracebacks, create_app
    from gateway.web.site import load_site

    with _operational():
        site = load_site(config)
    from gateway.site import plugin_choice

    plugin_choice.choose(site.config.plugin_choice)  # the checks run on the site's plugins
    configure_logging(site.config.log_format, site.config.log_level)
    from gateway.engine.pipeline import default_plugins

    # Loaded before the console listens, as `gateway serve` does: a broken plugin set stops
    # the start instead of the first check or compliance page, and that page does not wait
    # for the engine's import (half a second). The registry and the report are warmed after.
    with _operational():
        default_plugins()
    app = NoTracebacks(create_app(site))
    try:
        uvicorn.run(app, host=host or site.config.web_host, port=port or site.config.web_port,
                    log_config=None, access_log=True, server_header=False,
                    proxy_headers=False)
    finally:
        site.ledger.close()


def _accounts(config: Path | None):
    from gateway.web.accounts import Accounts
    from gateway.web.site import load_site

    site = load_site(config)
    return site, Accounts(site.engine)


def user_add(
    name: Annotated[str, typer.Argument(help="The account's user name.")],
    role: Annotated[str, typer.Option(help="operator or submitter.")],
    submitter: Annotated[str | None, typer.Option(
        help="The submitter id a submitter account acts for (in the registry).")] = None,
    password_stdin: PasswordStdin = False,
    config: ConfigOption = None,
) -> None:
    """Add an account of the web console."""
    from gateway.web.accounts import AccountError

    password, generated = _password(password_stdin)
    with _operational():
        site, accounts = _accounts(config)
        try:
            if submitter is not None:
                registry = site.registry()
                if registry is None or registry.get(submitter) is None:
                    raise AccountError(f"{submitter!r} is not a submitter in the registry")
            accounts.add(name, role, submitter, password)
        finally:
            site.ledger.close()
    typer.echo(f"added {role} {name}" + (f" for {submitter}" if submitter else ""))
    if generated:
        typer.echo(f"password (shown once): {password}")


def user_list(config: ConfigOption = None) -> None:
    """List the console's accounts."""
    with _operational():
        site, accounts = _accounts(config)
        try:
            rows = accounts.all()
        finally:
            site.ledger.close()
    for account in rows:
        state = "disabled" if account.disabled else "active"
        typer.echo(f"{account.name}\t{account.role}\t{account.submitter or '-'}\t{state}")


def user_disable(name: Annotated[str, typer.Argument()], config: ConfigOption = None) -> None:
    """Disable an account: its sessions end and its tokens stop working."""
    with _operational():
        site, accounts = _accounts(config)
        try:
            accounts.disable(name)
            accounts.audit("account_disabled", None, detail=f"account {name} (command line)")
        finally:
            site.ledger.close()
    typer.echo(f"disabled {name}")


def user_password(name: Annotated[str, typer.Argument()],
                  password_stdin: PasswordStdin = False, config: ConfigOption = None) -> None:
    """Set a new password (the account's sessions end, its lock is lifted)."""
    password, generated = _password(password_stdin)
    with _operational():
        site, accounts = _accounts(config)
        try:
            accounts.set_password(name, password)
        finally:
            site.ledger.close()
    typer.echo(f"new password set for {name}")
    if generated:
        typer.echo(f"password (shown once): {password}")


def user_token(name: Annotated[str, typer.Argument()],
               label: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
               config: ConfigOption = None) -> None:
    """Create an API token for an account and print it once."""
    from gateway.web.accounts import AccountError

    with _operational():
        site, accounts = _accounts(config)
        try:
            account = accounts.get(name)
            if account is None:
                raise AccountError(f"there is no account {name!r}")
            token_id, token = accounts.create_token(account, label)
            accounts.audit("token_created", name, detail=f"token {token_id} (command line)")
        finally:
            site.ledger.close()
    typer.echo(token)
