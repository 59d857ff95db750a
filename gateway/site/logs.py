"""Logging for the gateway: structlog over the standard library, after pypi/warehouse.

One set of processors renders both structlog events and standard-library records (watchdog's,
for instance): JSON lines in production, readable console output on a terminal. Each submission's
steps carry a bound ``submission_id``, and each submission ends in one summary line built from
``Receipt.summary()``, which is log-safe by construction: ids, route, status, counts, codes and
timings, never a value from the file nor a finding's message (messages quote values).
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Any, TextIO

import structlog

from gateway.contract.lazylog import apply_pending
from gateway.receipts.model import Receipt

SUMMARY_EVENT = "submission"
# a command line's own set-up (gateway.cli) comes first; ``configure_logging`` may then replace it
apply_pending()

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def configure_logging(fmt: str = "auto", level: str = "info",
                      stream: TextIO | None = None) -> None:
    """Route every log record to ``stream`` (standard error by default), as JSON or, with
    ``fmt="auto"`` on a terminal, as console text. Safe to call again (a worker process does)."""
    stream = stream or sys.stderr
    console = fmt == "console" or (fmt == "auto" and stream.isatty())
    renderer: Any = (structlog.dev.ConsoleRenderer() if console
                     else structlog.processors.JSONRenderer(sort_keys=False))
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *([] if console else [structlog.processors.format_exc_info]),
                    renderer],
    ))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # Python warnings (watchdog raises RuntimeWarnings from its thread) become log records
    # too, so every line on the stream is rendered alike: one JSON object in production.
    logging.captureWarnings(True)
    # watchdog's inotify observer warns when a folder created under a recursive watch is
    # reached twice (by the folder walk and by its own event); the watch is still right.
    warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning,
                            module="watchdog")
    # watchdog narrates every inotify event at debug level; keep its warnings only.
    logging.getLogger("watchdog").setLevel(max(root.level, logging.WARNING))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)


def log_submission(log: structlog.stdlib.BoundLogger, receipt: Receipt,
                   **timings: float) -> None:
    """The one summary line per submission. ``timings`` are seconds (queue, validate, total)."""
    summary = receipt.summary()
    summary.update({f"{key}_s": round(value, 4) for key, value in timings.items()})
    if receipt.replaces:
        summary["replaces"] = receipt.replaces
    log.info(SUMMARY_EVENT, **summary)
