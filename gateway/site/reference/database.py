"""The reference store on the ledger's database: three tables, SQLAlchemy Core, the same SQL
for SQLite and PostgreSQL (see ``gateway.site.reference.store`` for why the data live there)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from gateway.contract.reference import DatasetInfo, ReferenceEntry, ReferenceView, ReferenceWrite
from gateway.site.ledger.backends import READ_ONLY
from gateway.site.ledger.model import now_text
from gateway.site.ledger.schema import reference_applied, reference_datasets, reference_entries

if TYPE_CHECKING:
    from gateway.receipts.model import Receipt

_KEYS = 500  # keys per IN (...) query, below SQLite's variable limit
_ROWS = 5000  # rows per INSERT batch and per page of ``entries``
_ENTRY = (reference_entries.c.key, reference_entries.c.value, reference_entries.c.submission_id,
          reference_entries.c.submitter, reference_entries.c.received_at)


class ReferenceStore(ReferenceView):
    """The reference data of the ledger database behind ``engine``."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    # -- writing -------------------------------------------------------------------------------

    def remember(self, receipt: Receipt) -> bool:
        """Apply the reference writes a receipt carries, if the file was accepted; True when
        something was written."""
        if not receipt.reference_writes or receipt.status.value == "rejected":
            return False
        return self.apply(receipt.reference_writes, submission_id=receipt.submission_id,
                          submitter=receipt.submitter, received_at=receipt.file.received_at)

    def apply(self, writes: Sequence[ReferenceWrite], *, submission_id: str, submitter: str,
              received_at: str) -> bool:
        """Apply one accepted submission's writes; False when they were applied before."""
        with self._engine.begin() as db:
            first = db.execute(
                self._insert(reference_applied)
                .values(submission_id=submission_id, applied_at=now_text())
                .on_conflict_do_nothing()
                .returning(reference_applied.c.submission_id)).first() is not None
            if first:
                for write in writes:
                    _apply_one(db, self._insert, write,
                               {"submission_id": submission_id, "submitter": submitter,
                                "received_at": received_at})
        return first

    def _insert(self, table: sa.Table) -> Any:
        """An INSERT that can skip or update a row whose key exists."""
        return (postgresql if self._engine.dialect.name == "postgresql" else sqlite).insert(table)

    # -- reading -------------------------------------------------------------------------------

    def info(self, dataset: str) -> DatasetInfo | None:
        with self._read() as db:
            row = db.execute(sa.select(reference_datasets.c.submission_id,
                                       reference_datasets.c.submitter,
                                       reference_datasets.c.received_at)
                             .where(reference_datasets.c.dataset == dataset)).first()
            if row is None:
                return None
            count = db.scalar(sa.select(sa.func.count()).select_from(reference_entries)
                              .where(reference_entries.c.dataset == dataset))
        return DatasetInfo(dataset, int(count or 0), *row)

    def get_many(self, dataset: str, keys: Iterable[str]) -> dict[str, ReferenceEntry]:
        wanted = list(dict.fromkeys(str(k) for k in keys))
        found: dict[str, ReferenceEntry] = {}
        with self._read() as db:
            for start in range(0, len(wanted), _KEYS):
                rows = db.execute(sa.select(*_ENTRY).where(
                    reference_entries.c.dataset == dataset,
                    reference_entries.c.key.in_(wanted[start:start + _KEYS])))
                for row in rows:
                    found[row[0]] = _entry(dataset, row)
        return found

    def entries(self, dataset: str) -> Iterator[ReferenceEntry]:
        after: str | None = None
        while True:
            query = (sa.select(*_ENTRY).where(reference_entries.c.dataset == dataset)
                     .order_by(reference_entries.c.key).limit(_ROWS))
            if after is not None:
                query = query.where(reference_entries.c.key > after)
            with self._read() as db:
                page = db.execute(query).all()
            yield from (_entry(dataset, row) for row in page)
            if len(page) < _ROWS:
                return
            after = page[-1][0]

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """A short read-only transaction (on SQLite it never takes the write lock)."""
        with self._engine.connect() as db, db.execution_options(**{READ_ONLY: True}).begin():
            yield db


def _apply_one(db: sa.Connection, insert: Any, write: ReferenceWrite,
               source: dict[str, str]) -> None:
    if write.replace:
        db.execute(reference_entries.delete().where(reference_entries.c.dataset == write.dataset))
    upsert = insert(reference_entries)
    upsert = upsert.on_conflict_do_update(
        index_elements=[reference_entries.c.dataset, reference_entries.c.key],
        set_={name: upsert.excluded[name]
              for name in ("value", "submission_id", "submitter", "received_at")})
    batch: list[dict[str, str]] = []
    for key, value in write.entries.items():
        batch.append({"dataset": write.dataset, "key": str(key),
                      "value": json.dumps(value, separators=(",", ":")), **source})
        if len(batch) == _ROWS:
            db.execute(upsert, batch)
            batch = []
    if batch:
        db.execute(upsert, batch)
    latest = insert(reference_datasets).values(dataset=write.dataset, **source)
    db.execute(latest.on_conflict_do_update(index_elements=[reference_datasets.c.dataset],
                                            set_=source))


def _entry(dataset: str, row: Any) -> ReferenceEntry:
    key, value, submission_id, submitter, received_at = row
    return ReferenceEntry(dataset, key, json.loads(value), submission_id, submitter,
                          received_at)
