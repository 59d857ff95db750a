"""Check a file: the daemon's pipeline on a copy, as ``gateway validate --registry`` runs it,
as if received now. Nothing is recorded in the ledger, no reference data is remembered, no
receipt is filed and no obligation counted: the receipt goes back to the asker only.

The annotated copy of a check is kept in memory for a short while so the asker can download
it; at most ``KEEP`` of them, each for ``TTL`` seconds, each only for the account that asked.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.web.site import Site

KEEP = 64
TTL = 15 * 60.0


@dataclass(frozen=True)
class CheckResult:
    receipt: dict[str, Any]
    text: str
    annotated: bytes | None
    annotated_name: str | None


def run_check(site: Site, path: Path, name: str, submitter: str) -> CheckResult:
    """Validate the file at ``path`` (sent as ``name``) for ``submitter`` and return its
    receipt; the pipeline never raises for a bad file."""
    from gateway.engine.pipeline import default_plugins, validate_file
    from gateway.receipts.annotated import annotate
    from gateway.receipts.text import render_text

    plugins = default_plugins()
    registry = site.registry()
    receipt = validate_file(path, submitter=submitter, display_name=name, plugins=plugins,
                            registry=registry, policy=site.policy,
                            ledger=site.config.ledger_location)
    receipt.reference_writes.clear()  # a check remembers nothing
    receipt.findings.give_hints(plugins.catalog, receipt.file.format)
    if receipt.annotation is None:
        annotate(receipt, path)
    annotation = receipt.annotation
    return CheckResult(
        receipt=receipt.as_dict(), text=render_text(receipt, plugins.catalog),
        annotated=annotation.data if annotation else None,
        annotated_name=f"check.{name}{annotation.suffix}" if annotation else None)


class RecentChecks:
    """Annotated copies of recent checks, for their asker only, for a short while."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[float, str, CheckResult]] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, account: str, result: CheckResult) -> str:
        check_id = secrets.token_urlsafe(12)
        with self._lock:
            self._items[check_id] = (time.monotonic() + TTL, account, result)
            while len(self._items) > KEEP:
                self._items.popitem(last=False)
        return check_id

    def get(self, account: str, check_id: str) -> CheckResult | None:
        with self._lock:
            item = self._items.get(check_id)
            if item is None or item[0] < time.monotonic():
                self._items.pop(check_id, None)
                return None
            return item[2] if item[1] == account else None
