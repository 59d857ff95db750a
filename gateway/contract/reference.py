"""The types of the reference-data service, shared by the core and the families."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the contract's RuleContext carries a ReferenceView: no runtime import back
    from gateway.contract.batch import RecordBatch


@dataclass(frozen=True)
class ReferenceWrite:
    """What an accepted file adds to one dataset.

    ``dataset`` names the data and starts with the family id (``opip/prescribers/2021``);
    ``entries`` map a key to a JSON-serialisable value. With ``replace`` the dataset becomes
    exactly these entries (a newer yearly feed supersedes the older one); without it each entry
    replaces only the entry of the same key (the latest accepted form per prescriber counts).
    """

    dataset: str
    entries: Mapping[str, Any]
    replace: bool = False


@dataclass(frozen=True)
class ReferenceEntry:
    """One remembered value and the accepted submission it came from."""

    dataset: str
    key: str
    value: Any
    submission_id: str
    submitter: str
    received_at: str


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset's size and the accepted submission that last wrote it."""

    dataset: str
    entries: int
    submission_id: str
    submitter: str
    received_at: str


class ReferenceView(ABC):
    """Read-only access to the reference data, as file rules and plugin commands see it."""

    @abstractmethod
    def info(self, dataset: str) -> DatasetInfo | None:
        """The dataset's size and last writer, or ``None`` when nothing was ever accepted."""

    @abstractmethod
    def get_many(self, dataset: str, keys: Iterable[str]) -> dict[str, ReferenceEntry]:
        """The entries of ``keys`` that exist (absent keys are left out)."""

    @abstractmethod
    def entries(self, dataset: str) -> Iterator[ReferenceEntry]:
        """Every entry of the dataset, in key order."""

    def get(self, dataset: str, key: str) -> ReferenceEntry | None:
        """One entry, or ``None``."""
        return self.get_many(dataset, [key]).get(key)


class _Empty(ReferenceView):
    """The view when no state folder is known: nothing was ever accepted."""

    def info(self, dataset: str) -> DatasetInfo | None:
        return None

    def get_many(self, dataset: str, keys: Iterable[str]) -> dict[str, ReferenceEntry]:
        return {}

    def entries(self, dataset: str) -> Iterator[ReferenceEntry]:
        return iter(())


EMPTY: ReferenceView = _Empty()


class ReferenceCollector(ABC):
    """Gathers, while a file streams past, what the family remembers if it is accepted.

    ``observe`` sees the same typed, valid batches as the file rules; ``finish`` runs only when
    the file rules found no error and gets the receipt's ``results``. Its writes are applied
    only if the file is finally accepted (the submitter layer may still reject it).
    """

    @abstractmethod
    def observe(self, batch: RecordBatch) -> None:
        """Add a batch of typed records."""

    @abstractmethod
    def finish(self, results: Mapping[str, Any] | None) -> list[ReferenceWrite]:
        """The writes to apply on acceptance."""
