"""The receipt record, in the shape the specification fixes (receipt_version "1")."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from gateway import __version__
from gateway.contract.findings import Finding, FindingList
from gateway.contract.records import Route

if TYPE_CHECKING:
    from gateway.contract.reference import ReferenceWrite

RECEIPT_VERSION = "1"


class Status(StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
    REJECTED = "rejected"


def new_submission_id(now: datetime | None = None) -> str:
    """Unique and sortable by time: UTC timestamp to the microsecond plus 48 random bits."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{now:%Y%m%dT%H%M%S.%f}Z-{secrets.token_hex(6)}"


def utc_now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Annotation:
    """An annotated copy: the file name suffix to write it under, and its bytes."""

    suffix: str
    data: bytes


@dataclass(frozen=True)
class FileFacts:
    """What the gateway knows of the file itself, before reading a record."""

    name: str
    bytes: int
    sha256: str
    format: str | None
    received_at: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.bytes, "sha256": self.sha256,
                "format": self.format, "received_at": self.received_at}


@dataclass
class Receipt:
    """One submission's outcome. ``as_dict`` is the JSON receipt validated against
    ``schemas/receipt/receipt-1.schema.json``."""

    submission_id: str
    submitter: str
    file: FileFacts
    route: Route | None = None
    layer: str | None = None
    records: int = 0
    records_rejected: int = 0
    findings: FindingList = field(default_factory=FindingList)
    results: dict[str, Any] | None = None
    duplicate_of: str | None = None
    replaces: str | None = None
    created_at: str = field(default_factory=utc_now_text)
    timings: dict[str, float] = field(default_factory=dict)
    # the submitter layer: what the file answers (family, measure, period, due, timing) and the
    # registry entry that judged it (kept in the ledger, not written into the receipt)
    obligations: list[dict[str, Any]] = field(default_factory=list)
    registry_entry: dict[str, Any] | None = None
    # the annotated copy of the upload, made where the upload was read (a worker); not JSON
    annotation: Annotation | None = field(default=None, repr=False, compare=False)
    # What the family remembers if the file is accepted (``gateway.contract.reference``); never
    # in the JSON receipt: the daemon and ``gateway validate`` apply it to the reference store.
    reference_writes: list[ReferenceWrite] = field(default_factory=list)

    @property
    def status(self) -> Status:
        if self.layer is not None or self.findings.errors:
            return Status.REJECTED
        if self.findings.warnings:
            return Status.ACCEPTED_WITH_WARNINGS
        return Status.ACCEPTED

    def reject(self, layer: str, *findings: Finding) -> Receipt:
        """Mark the submission rejected at ``layer`` with the findings that caused it."""
        self.layer = layer
        self.findings.extend(findings)
        return self

    def as_dict(self) -> dict[str, Any]:
        listed = self.findings.listed
        return {
            "receipt_version": RECEIPT_VERSION,
            "submission_id": self.submission_id,
            "submitter": self.submitter,
            "file": self.file.as_dict(),
            "route": self.route.as_dict() if self.route else None,
            "status": self.status.value,
            "layer": self.layer if self.status is Status.REJECTED else None,
            "counts": {"records": self.records, "records_rejected": self.records_rejected,
                       "errors": self.findings.errors, "warnings": self.findings.warnings},
            "findings": [finding.as_dict() for finding in listed],
            "findings_total": self.findings.total,
            "findings_by_code": dict(sorted(self.findings.by_code.items())),
            "results": self.results if self.status is not Status.REJECTED else None,
            "duplicate_of": self.duplicate_of,
            "replaces": self.replaces,
            "obligations": self.obligations,
            "created_at": self.created_at,
            "gateway_version": __version__,
        }

    def summary(self) -> dict[str, Any]:
        """The log-safe line for operators: ids, route, status, counts and timings; no values."""
        return {
            "submission_id": self.submission_id, "submitter": self.submitter,
            "file_bytes": self.file.bytes, "format": self.file.format,
            "route": (f"{self.route.family}/{self.route.measure}/{self.route.level}/"
                      f"{self.route.reporting_year}") if self.route else None,
            "status": self.status.value, "layer": self.layer, "records": self.records,
            "records_rejected": self.records_rejected, "errors": self.findings.errors,
            "warnings": self.findings.warnings, "codes": dict(self.findings.by_code),
            "duplicate_of": self.duplicate_of, **{f"{k}_s": v for k, v in self.timings.items()},
        }
