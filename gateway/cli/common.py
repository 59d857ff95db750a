"""What every command shares, defined once: the options that find the installation
(``--config``, ``--registry``), the exit codes, and how an error the operator can fix becomes one
line on stderr instead of a traceback.

Exit codes: 0 done (a file accepted, with or without warnings); 1 the answer is no (a file
rejected, a registry refused, a plugin that does not conform, no daemon running); 2 an
operational error (a bad config or option, a missing file or folder, another daemon running, a
database that refuses); 3 ``serve`` stopped on a failure it cannot serve around.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.site.config import CONFIG_NAME, Config, ConfigError, find_config, load_config

if TYPE_CHECKING:
    from gateway.contract.registry import Registry
    from gateway.submitters.windows import SubmitterPolicy

EXIT_OK, EXIT_NO, EXIT_OPERATIONAL, EXIT_FAILED = 0, 1, 2, 3

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", "-c", dir_okay=False,
    help=f"Config file (default: $GATEWAY_CONFIG, else ./{CONFIG_NAME} if present, else the "
         "local defaults).")]
RegistryOption = Annotated[Path | None, typer.Option(
    "--registry", dir_okay=False,
    help="The registry file (default: the file the config names in its registry section, "
         "else registry.toml beside the config, else in the working folder).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
SubmitterOption = Annotated[str | None, typer.Option(help="Only this submitter id.")]


class CommandError(RuntimeError):
    """A request the operator must change (an unknown id, nothing to do); the message says
    what."""


# Errors an operator fixes, by the module that defines them. Only modules already imported are
# consulted: an error class whose module never loaded cannot have been raised, so a command pays
# for no import to handle errors it cannot meet (the ledger's are SQLAlchemy and Alembic).
_OPERATOR_ERRORS = (
    ("gateway.cli.common", "CommandError"),
    ("gateway.site.config", "ConfigError"),
    ("gateway.site.layout", "LayoutError"),
    ("gateway.daemon.lock", "AlreadyRunning"),
    ("gateway.daemon.replay", "ReplayRefused"),
    ("gateway.submitters.registry_file", "RegistryError"),
    ("gateway.site.ledger.backends", "LedgerUrlError"),
    ("gateway.site.ledger.copy", "CopyRefused"),
    ("gateway.site.ledger.migrate", "LedgerOutdated"),
    ("gateway.authoring.layouts", "LayoutError"),
    ("gateway.authoring.scaffold", "ScaffoldError"),
    ("gateway.kit.manifest", "ManifestError"),
    ("gateway.engine.plugins", "PluginConflict"),
)


def operator_errors() -> tuple[type[Exception], ...]:
    """The error classes ``operational`` turns into one line (those loaded so far)."""
    return tuple(getattr(sys.modules[module], name) for module, name in _OPERATOR_ERRORS
                 if module in sys.modules)


def _unavailable() -> tuple[type[Exception], ...]:
    """A folder, a file, or the database server, that is not there."""
    database = sys.modules.get("sqlalchemy.exc")
    return (OSError,) if database is None else (OSError, database.OperationalError)


@contextlib.contextmanager
def operational() -> Iterator[None]:
    """Errors an operator can fix become ``gateway: <why>`` on stderr and exit code 2."""
    try:
        yield
    except operator_errors() as err:
        typer.echo(f"gateway: {err}", err=True)
        raise typer.Exit(EXIT_OPERATIONAL) from None
    except _unavailable() as err:
        typer.echo(f"gateway: {error_text(err)}", err=True)
        raise typer.Exit(EXIT_OPERATIONAL) from None


def error_text(err: Exception) -> str:
    """One line for an operator: a file's name and the system's reason, or the database
    driver's words (never the password, which is not in them)."""
    if isinstance(err, OSError):
        if err.filename is None:
            return str(err)
        text = f"{err.filename}: {err.strerror}"
        if isinstance(err, PermissionError) and os.geteuid() != 0:
            text += " (setting up an SFTP site needs root; see docs/operations.md)"
        return text
    orig = getattr(err, "orig", None)
    if orig is not None:
        return f"the ledger database is not available: {orig}"
    return str(err)


def load_settings(config: Path | None) -> Config:
    """The config ``--config`` names, or the one found as ``gateway serve`` finds it."""
    return load_config(find_config(config))


def with_registry(settings: Config, registry: Path | None) -> Config:
    """The settings with the registry ``--registry`` names, which must exist: a typo must not
    start a gateway that judges no submitter."""
    if registry is None:
        return settings
    if not registry.is_file():
        raise ConfigError(f"there is no registry file {registry}")
    return dataclasses.replace(settings, registry=registry.resolve(), registry_configured=True)


@dataclass(frozen=True)
class Setting:
    """Where the registry is, whether it must exist, and the ``[submitter]`` switches."""

    path: Path
    required: bool
    policy: SubmitterPolicy
    config: Config


def setting(registry: Path | None, config: Path | None) -> Setting:
    """Resolve ``--registry`` and ``--config`` as the daemon would."""
    from gateway.submitters.windows import SubmitterPolicy

    settings = load_settings(config)
    policy = SubmitterPolicy(late=settings.late, timezone=settings.timezone)
    if registry is not None:
        return Setting(registry, True, policy, settings)
    return Setting(settings.registry, settings.registry_configured, policy, settings)


def registry_for(chosen: Setting) -> Registry | None:
    """The registry to judge with: None when none exists where one is only looked for; a
    named (or configured) one that is missing or broken raises ``RegistryError``."""
    from gateway.submitters.registry_file import load_registry

    if not chosen.path.exists() and not chosen.required:
        return None
    return load_registry(chosen.path)


def parse_day(text: str) -> date:
    """A ``YYYY-MM-DD`` option, or a usage error naming what was expected."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {text!r}") from None
