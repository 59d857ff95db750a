"""What the ledger records, independent of the database that holds it.

States, in order (see docs/operations.md for the recovery rules of each):

``requested``        an operator asked for a replay; the original is not yet copied to the spool
``claimed``          the upload was renamed into the spool (the row is written first; a row
                     whose spool file is missing is a claim that never happened)
``validated``        the outcome is known and recorded here; the receipt is being written
``receipt_written``  the JSON receipt is in the submitter's receipts folder
``filed``            the original is in the archive or the quarantine; nothing more to do

Every unfinished row has an ``owner``: the daemon that carries it on. A daemon keeps a lease in
the ``daemons`` table alive; when the lease runs out, any other daemon may take the row over.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    REQUESTED = "requested"
    CLAIMED = "claimed"
    VALIDATED = "validated"
    RECEIPT_WRITTEN = "receipt_written"
    FILED = "filed"


UNFINISHED = (State.REQUESTED, State.CLAIMED, State.VALIDATED, State.RECEIPT_WRITTEN)


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Submission:
    """One ledger row. ``name`` is the safe spelling used in receipt and archive names;
    ``upload_name`` is what arrived. ``problem`` marks an upload rejected before reading
    (``symlink``, ``hardlink``, ``special``, ``unreadable``, ``name``); ``failure`` a worker
    crash or limit. ``upload_key`` identifies the upload taken (folder, name, inode and times),
    unique across the ledger, so that of several daemons seeing one upload only one claims it;
    ``owner`` is the daemon carrying the row on."""

    submission_id: str
    submitter: str
    upload_name: str
    name: str
    state: str
    received_at: str
    problem: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    status: str | None = None
    layer: str | None = None
    route: str | None = None
    records: int | None = None
    errors: int | None = None
    warnings: int | None = None
    failure: str | None = None
    duplicate_of: str | None = None
    replaces: str | None = None
    receipt_path: str | None = None
    stored_path: str | None = None
    updated_at: str = ""
    owner: str | None = None
    upload_key: str | None = None
    # the submitter layer: the sender's registry entry that judged the file and the obligations
    # it answers (JSON text; see gateway.submitters.compliance)
    registry_entry: str | None = None
    obligations: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


COLUMNS = tuple(f.name for f in fields(Submission))


@dataclass(frozen=True)
class Daemon:
    """A ``gateway serve`` process as the ledger knows it. ``lease_until`` is seconds since the
    epoch: past it, the daemon counts as dead and its unfinished rows may be taken over."""

    daemon_id: str
    host: str
    pid: int
    started_at: str
    lease_until: float
    stopped_at: str | None = None
    watcher: str | None = None
    intake_healthy: bool | None = None
    last_rescan_at: str | None = None
    waiting: int | None = None

    def alive(self, now: float) -> bool:
        return self.stopped_at is None and self.lease_until > now
