"""``gateway validate``'s judging, in one place: files through the whole pipeline in order,
writing nothing, as the daemon would judge them.

Two processes run it: the command itself (``gateway validate --local``, or when no daemon
answers) and a warm process of the running daemon (``gateway.daemon.validate_service``). Both
call ``preview`` and ``shown`` here, so that the receipts and the text they print cannot drift
apart between the two ways.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.contract.catalog import Catalog
from gateway.contract.registry import Registry
from gateway.engine.pipeline import validate_file
from gateway.engine.plugins import Plugins
from gateway.receipts.model import Receipt
from gateway.receipts.shown import Shown
from gateway.receipts.text import render_text
from gateway.site.reference.overlay import Overlay
from gateway.site.reference.store import Location, reference_view
from gateway.submitters.layer import skipped
from gateway.submitters.windows import SubmitterPolicy


@dataclass(frozen=True)
class Sent:
    """One file to judge: who sent it, where it can be read, and the name it was sent as."""

    submitter: str
    path: Path
    name: str


def preview(files: Sequence[Sent], *, plugins: Plugins, registry: Registry | None,
            policy: SubmitterPolicy, ledger: Location, options: Mapping[str, str],
            received_at: str | None) -> list[Receipt]:
    """The receipts of ``files``, judged in order against the reference data the site
    accepted, with what an accepted earlier file would remember counting (in memory only) for
    the later ones. Without a registry the receipt says once that the submitter layer was
    skipped."""
    checked = Overlay(reference_view(ledger))
    receipts = []
    for sent in files:
        receipt = validate_file(sent.path, submitter=sent.submitter, display_name=sent.name,
                                options=options, plugins=plugins, received_at=received_at,
                                registry=registry, policy=policy, reference=checked)
        checked.remember(receipt)
        receipts.append(receipt)
    for receipt in receipts:
        if registry is None and receipt.layer is None:
            receipt.findings.add(skipped())
            receipt.findings.give_hints(plugins.catalog, receipt.file.format)
    return receipts


def shown(receipts: Sequence[Receipt], catalog: Catalog) -> Shown:
    """The JSON receipts and the texts of ``receipts``, as the command prints them."""
    return Shown([r.as_dict() for r in receipts], [render_text(r, catalog) for r in receipts])
