"""A logger that loads structlog only when something is logged.

structlog (with the console renderer it brings in) costs a one-off command a noticeable part of
its start-up, and ``gateway validate`` on a good file logs nothing. The modules on the
validation path therefore log through ``LazyLogger``; a command line that wants structlog set up
its way registers that with ``before_first_log`` instead of importing structlog itself, and the
set-up runs when structlog is first needed (here, or when ``gateway.site.logs`` is imported by a
command that logs for real).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_pending: list[Callable[[], None]] = []


def before_first_log(configure: Callable[[], None]) -> None:
    """Run ``configure`` (which imports and configures structlog) before the first log line."""
    _pending.append(configure)


def apply_pending() -> None:
    """Run the registered set-ups now, once each (structlog is about to be used)."""
    while _pending:
        _pending.pop(0)()


class LazyLogger:
    """``structlog.get_logger(name)``, obtained at the first call of one of its methods."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        if self._logger is None:
            import structlog

            apply_pending()
            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, method)
