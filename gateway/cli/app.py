"""The ``gateway`` command line: one table of every core command, registered one way.

A command lives in the module of what the operator is doing (``validate``: files and plugins;
``daemon``: running and inspecting the daemon; ``submitters``: the folders, the registry and
what submitters owe; ``ledger``: the database; ``notify``: the notifications' outbox;
``authoring``: templates, specifications and plugins); options, exit codes and error handling
are ``gateway.cli.common``'s. Plugins add their command groups through the ``gateway_commands``
hook.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer

from gateway.cli import authoring, daemon, ledger, notify, submitters, validate, web
from gateway.cli.common import EXIT_OPERATIONAL
from gateway.contract.lazylog import before_first_log

# Plain help (no Rich panels): Rich help labels every flag ``<bool>``, which reads as noise.
HELP_STYLE = None

# group -> its help; a command whose group is None sits at the top level
GROUPS: dict[str, str] = {
    "submitter": "Manage submitters (their SFTP folders).",
    "ledger": "Create, upgrade and move the ledger database.",
    "schema": "Compare the schemas of a measure's reporting years.",
    "registry": "Check the submitter registry (registry.toml).",
    "user": "Accounts of the web console and API.",
    "notify": "E-mail and webhook notifications: the outbox and the calendar.",
}

# (group, name, function), in the order ``gateway --help`` lists them
COMMANDS: list[tuple[str | None, str, Callable[..., Any]]] = [
    (None, "serve", daemon.serve),
    (None, "doctor", daemon.doctor),
    (None, "init", daemon.init),
    (None, "status", daemon.status),
    (None, "submissions", daemon.submissions),
    (None, "replay", daemon.replay),
    (None, "template", authoring.template),
    (None, "docs", authoring.docs),
    (None, "new-measure", authoring.new_measure),
    (None, "check-plugin", authoring.check_plugin),
    (None, "regenerate", authoring.regenerate),
    (None, "compliance", submitters.compliance),
    (None, "calendar", submitters.calendar),
    (None, "validate", validate.validate),
    (None, "plugins", validate.plugins),
    ("submitter", "add", submitters.submitter_add),
    ("ledger", "migrate", ledger.migrate),
    ("ledger", "copy", ledger.copy),
    ("schema", "diff", authoring.schema_diff),
    ("registry", "check", submitters.registry_check),
    (None, "web", web.web),
    ("user", "add", web.user_add),
    ("user", "list", web.user_list),
    ("user", "disable", web.user_disable),
    ("user", "password", web.user_password),
    ("user", "token", web.user_token),
    ("notify", "status", notify.notify_status),
    ("notify", "show", notify.notify_show),
    ("notify", "retry", notify.notify_retry),
    ("notify", "reminders", notify.notify_reminders),
    ("notify", "digest", notify.notify_digest),
]


def build(only: str | None = None) -> typer.Typer:
    """The command line with every core command of ``COMMANDS``; with ``only``, just the
    top-level command or group of that name, which is all that running it needs (typer reads the
    signature and annotations of every command it holds: some 25 ms for all of them)."""
    root = typer.Typer(help="Validating gateway for statewide quality reporting files.",
                       no_args_is_help=True, add_completion=False, rich_markup_mode=HELP_STYLE)
    if only is not None:
        root.callback()(_one_of_many)
    groups = {name: typer.Typer(help=text, no_args_is_help=True, rich_markup_mode=HELP_STYLE)
              for name, text in GROUPS.items() if only in (None, name)}
    for group, name, function in COMMANDS:
        if only in (None, group or name):
            (root if group is None else groups[group]).command(name)(function)
    for name, group_app in groups.items():
        root.add_typer(group_app, name=name)
    return root


def _one_of_many() -> None:
    """Keeps a lone command a subcommand: without a callback typer would run a one-command
    application as that command, reading its name as the command's first argument."""


app = build()
# the first words of the core's command lines: top-level commands and groups
CORE = {name for group, name, _ in COMMANDS if group is None} | set(GROUPS)


def _add_plugin_commands() -> None:
    """Plugins' command groups (hook ``gateway_commands``), loaded only when the command line
    is not one of the core's, so ``gateway status`` does not import every family."""
    from gateway.engine.pipeline import default_plugins
    from gateway.engine.plugins import PluginConflict

    try:
        default_plugins().hook.gateway_commands(cli=app)
    except PluginConflict as err:  # a local plugin that cannot load, two plugins clash
        typer.echo(f"gateway: {err}", err=True)
        sys.exit(EXIT_OPERATIONAL)


def _default_choice() -> None:
    """The plugins of the installation found as ``serve`` finds it ($GATEWAY_CONFIG or
    ./gateway.toml), for every command; one with ``--config`` chooses again. A config that
    cannot be read is left to the command that needs it to report."""
    from gateway.site import plugin_choice
    from gateway.site.config import ConfigError, find_config, load_config

    try:
        plugin_choice.choose(load_config(find_config(None)).plugin_choice)
    except ConfigError:
        return


def _warnings_to_stderr() -> None:
    """stdout carries the receipt; warnings and errors go to stderr (``serve`` configures its
    own JSON logging)."""
    import logging

    import structlog

    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr),
                        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def main() -> None:
    """Console entry point; typer's usage errors already exit 2."""
    before_first_log(_warnings_to_stderr)
    try:
        _default_choice()
        first = sys.argv[1] if len(sys.argv) > 1 else None
        if first in CORE:
            build(only=first)()
        else:
            _add_plugin_commands()
            app()
    except KeyboardInterrupt:
        sys.exit(EXIT_OPERATIONAL)
