"""Reference data a check may add for itself, in memory only.

``gateway validate`` (and the web console's check) judge files against what a site accepted
but never change it: only ``gateway serve`` remembers. When several files are checked together
(a feed, then forms that rest on it) what an accepted earlier file would have remembered must
still count for the later ones, so the check reads through an ``Overlay``: the site's data
underneath, the earlier files' writes on top, applied with the store's rules (``replace``
empties a dataset first, otherwise the latest write of a key counts) and forgotten when the
command ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.contract.reference import DatasetInfo, ReferenceEntry, ReferenceView, ReferenceWrite

if TYPE_CHECKING:
    from gateway.receipts.model import Receipt


@dataclass
class _Layer:
    """One dataset as the overlay changed it."""

    replaced: bool = False  # True: the base's entries no longer count
    entries: dict[str, ReferenceEntry] = field(default_factory=dict)
    writer: ReferenceEntry | None = None  # the latest write (its source fills DatasetInfo)


class Overlay(ReferenceView):
    """``base`` as seen after the in-memory writes of the files checked so far."""

    def __init__(self, base: ReferenceView) -> None:
        self._base = base
        self._layers: dict[str, _Layer] = {}

    def remember(self, receipt: Receipt) -> bool:
        """Take in an accepted receipt's writes (a rejected one's are ignored); True when
        something was added."""
        if not receipt.reference_writes or receipt.status.value == "rejected":
            return False
        self.apply(receipt.reference_writes, submission_id=receipt.submission_id,
                   submitter=receipt.submitter, received_at=receipt.file.received_at)
        return True

    def apply(self, writes: Sequence[ReferenceWrite], *, submission_id: str, submitter: str,
              received_at: str) -> None:
        """Apply one file's writes in memory, as the store would on acceptance."""
        for write in writes:
            layer = self._layers.setdefault(write.dataset, _Layer())
            if write.replace:
                layer.replaced, layer.entries = True, {}
            for key, value in write.entries.items():
                layer.entries[str(key)] = ReferenceEntry(write.dataset, str(key), value,
                                                         submission_id, submitter, received_at)
            layer.writer = ReferenceEntry(write.dataset, "", None, submission_id, submitter,
                                          received_at)

    def info(self, dataset: str) -> DatasetInfo | None:
        layer = self._layers.get(dataset)
        if layer is None or layer.writer is None:
            return self._base.info(dataset)
        count = len(layer.entries)
        if not layer.replaced:
            below = self._base.info(dataset)
            if below is not None:
                shadowed = self._base.get_many(dataset, layer.entries)
                count += below.entries - len(shadowed)
        source = layer.writer
        return DatasetInfo(dataset, count, source.submission_id, source.submitter,
                           source.received_at)

    def get_many(self, dataset: str, keys: Iterable[str]) -> dict[str, ReferenceEntry]:
        wanted = list(dict.fromkeys(str(k) for k in keys))
        layer = self._layers.get(dataset)
        if layer is None:
            return self._base.get_many(dataset, wanted)
        found = {k: layer.entries[k] for k in wanted if k in layer.entries}
        if not layer.replaced:
            rest = [k for k in wanted if k not in found]
            found.update(self._base.get_many(dataset, rest))
        return found

    def entries(self, dataset: str) -> Iterator[ReferenceEntry]:
        layer = self._layers.get(dataset)
        if layer is None:
            yield from self._base.entries(dataset)
            return
        merged = {} if layer.replaced else {e.key: e for e in self._base.entries(dataset)}
        merged.update(layer.entries)
        for key in sorted(merged):
            yield merged[key]
