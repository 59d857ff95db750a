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
LAYERS = ("file", "record", "file_rules", "submitter")  # the specification's order
NO_REGISTRY = "no registry is configured, so who may submit the file was not checked"


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
    # whether a registry judged the sender (None: not known, as for a receipt made outside
    # the pipeline); without one the submitter layer is reported as not checked
    registry_used: bool | None = None
    # layers that did not run although the file got that far, set by the pipeline when it
    # knows better than the rejecting layer (an unknown submitter stops before the file)
    skipped: list[dict[str, str]] | None = None

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

    def not_checked(self) -> list[dict[str, str]]:
        """The layers that did not run, each with why (specs README section 4): those after
        the layer that rejected the file, and the submitter layer when no registry is used."""
        if self.skipped is not None:
            return self.skipped
        if self.duplicate_of:
            return [{"layer": name, "reason": "the file is identical to submission "
                     f"{self.duplicate_of} and was not validated again"} for name in LAYERS]
        out: list[dict[str, str]] = []
        rejected = self.layer if self.status is Status.REJECTED else None
        if rejected in LAYERS:
            why = _why_stopped(rejected, self.findings.errors, self.records_rejected)
            out += [{"layer": name, "reason": why}
                    for name in LAYERS[LAYERS.index(rejected) + 1:]]
        if self.registry_used is False and not any(o["layer"] == "submitter" for o in out):
            out.append({"layer": "submitter", "reason": NO_REGISTRY})
        return out

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
            "findings": [finding.as_dict(self.file.format) for finding in listed],
            "findings_total": self.findings.total,
            "findings_by_code": dict(sorted(self.findings.by_code.items())),
            "results": self.results if self.status is not Status.REJECTED else None,
            "duplicate_of": self.duplicate_of,
            "not_checked": self.not_checked(),
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


_STOPPED_BY = {"file": "the file itself could not be read as a valid layout",
               "file_rules": "the rules across records found errors"}


def _why_stopped(layer: str, errors: int, records_rejected: int) -> str:
    """Why the layers after ``layer`` did not run, in the abstractor's terms."""
    if layer == "record":
        count = records_rejected or errors
        return (f"the record checks failed ({count:,} record{'s' if count != 1 else ''} with "
                "errors); the later checks run only on a file that passes them")
    if layer == "submitter":
        return "the submitter checks failed"
    return f"{_STOPPED_BY.get(layer, layer)}; the later checks run only on a file that passes"
