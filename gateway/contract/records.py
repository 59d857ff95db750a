"""The types a measure-family plugin exchanges with the core.

Plugins receive and return these dataclasses; the hooks that carry them are in
``gateway.contract.hooks``. Everything here is plain data or a small abstract base, so a family
can be written and tested without the rest of the gateway running.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.contract.batch import RecordBatch
from gateway.contract.findings import Finding
from gateway.contract.reference import EMPTY, ReferenceView
from gateway.contract.registry import (  # the registry and obligations, as plugins see them
    HEALTH_SYSTEM_KINDS,
    KINDS,
    WAIVER_GRANTED,
    WAIVER_REQUESTED,
    Obligation,
    ObligationReader,
    Registry,
    Submitter,
)

if TYPE_CHECKING:  # records are pandas frames, but importing pandas costs a command 0.3 s
    pass

LEVELS = ("summary", "patient")
__all__ = ["HEALTH_SYSTEM_KINDS", "KINDS", "LEVELS", "WAIVER_GRANTED", "WAIVER_REQUESTED",
           "Artifact", "Candidate", "Document", "FamilyInfo", "FileRule", "FileSample",
           "MeasureInfo", "Obligation", "ObligationReader", "RecordBatch", "Registry",
           "ResultCalculator", "Route", "RuleContext", "Submitter"]


@dataclass(frozen=True)
class MeasureInfo:
    """One measure a family accepts, with the levels and reporting years it has schemas for."""

    measure: str
    name: str
    levels: tuple[str, ...]
    reporting_years: tuple[int, ...]


@dataclass(frozen=True)
class FamilyInfo:
    """A measure family: the unit that recognises, parses and checks a kind of file."""

    family: str
    title: str
    formats: tuple[str, ...]
    measures: tuple[MeasureInfo, ...]

    def measure(self, measure_id: str) -> MeasureInfo | None:
        return next((m for m in self.measures if m.measure == measure_id), None)


@dataclass(frozen=True)
class FileSample:
    """What routing sees of a file: its format, header and first records (or XML root).

    ``columns`` are header names as normalised by the core (trimmed, lower case); ``rows`` are the
    first data rows as raw text keyed by those names. For XML, ``xml_root`` is the root element in
    Clark notation (``{namespace}local``) and ``xml_fields`` the text of the root's leaf children
    that come before the first element with children.
    """

    format: str
    columns: tuple[str, ...] = ()
    rows: tuple[Mapping[str, str], ...] = ()
    xml_root: str | None = None
    xml_fields: Mapping[str, str] = field(default_factory=dict)

    def first_value(self, column: str) -> str | None:
        """The first non-empty value of a column among the sampled rows."""
        for row in self.rows:
            value = (row.get(column) or "").strip()
            if value:
                return value
        return None


@dataclass(frozen=True)
class Candidate:
    """A family's answer to "is this file yours?".

    A candidate with nothing in ``lacks`` claims the file. One with ``lacks`` is a near miss that
    the core may name in an E-ROUTE-UNRECOGNISED receipt ("looks like ... but lacks ...").
    ``refusal`` marks data that is recognised but not submitted here; its text says where it goes.
    """

    family: str
    measure: str
    level: str
    reporting_year: int | None
    lacks: tuple[str, ...] = ()
    refusal: str | None = None

    @property
    def claims(self) -> bool:
        return not self.lacks

    @property
    def label(self) -> str:
        year = self.reporting_year if self.reporting_year is not None else "(year unknown)"
        return f"{self.family} {self.measure} {self.level}-level {year}"


@dataclass(frozen=True)
class Artifact:
    """A file a plugin generates from its own data (a schema from a manifest, an example
    derived from another example): where it lives and what the generator makes of the data
    today. The conformance kit fails when the file differs; ``gateway regenerate FAMILY``
    writes every artifact of the family (``regenerate_command``). ``render`` makes the text
    when asked, so a command that needs only the schemas never derives the examples."""

    family: str
    path: Path
    generator: str  # what makes it, in words: "schema generator", "summary derived from ..."
    render: Callable[[], str | None]  # the text; None when the data cannot make it now

    @property
    def schema(self) -> bool:
        """A JSON Schema (what ``schema diff`` reads), not an example."""
        return self.path.name.endswith(".json")

    @property
    def regenerate_command(self) -> str:
        return f"gateway regenerate {self.family}"


@dataclass(frozen=True)
class Route:
    """Where a file was routed: (family, measure, level, reporting year) and its schema's id."""

    family: str
    measure: str
    level: str
    reporting_year: int
    schema: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"family": self.family, "measure": self.measure, "level": self.level,
                "reporting_year": self.reporting_year, "schema": self.schema}


@dataclass(frozen=True)
class RuleContext:
    """What file rules may know besides the records: the route, operator options (such as a
    hospital type given on the command line when no registry is in use), the registry in force
    (read-only; None when validating without one), the sending submitter's entry (None when
    there is no registry), and the reference data remembered from earlier accepted files
    (``gateway.contract.reference``)."""

    route: Route
    options: Mapping[str, str] = field(default_factory=dict)
    registry: Registry | None = None
    submitter: Submitter | None = None
    reference: ReferenceView = EMPTY
    # the sending submitter's id (its inbox folder), known even without a registry
    sender: str = ""


class FileRule(ABC):
    """A cross-record rule that sees every valid record once, batch by batch, and keeps only
    compact aggregates, so memory does not grow with the file.

    ``code`` and ``title`` document the rule (the generated spec lists them).
    """

    code: str = ""
    title: str = ""

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        """Look at a batch of typed records; may return findings located in it at once."""
        return ()

    @abstractmethod
    def finish(self) -> Iterable[Finding]:
        """Findings that need the whole file (totals, duplicates, missing rows)."""

    def explain(self, findings: list[Finding]) -> list[Finding]:
        """Every rule's findings of the file, once all have finished, told as the abstractor
        must fix them: a rule that knows how its checks depend on each other may mark the
        findings that follow from another (``caused_by``: the index in ``findings``) and
        say what was meant (``suggestion``). The list keeps its length and order. Default:
        unchanged."""
        return findings


class ResultCalculator(ABC):
    """Computes the measure figures of an accepted file (rates, counts), streaming."""

    @abstractmethod
    def observe(self, batch: RecordBatch) -> None:
        """Add a batch of typed records."""

    @abstractmethod
    def finish(self) -> dict[str, Any]:
        """The figures for the receipt's ``results``."""


class Document(ABC):
    """An opened, sniffed and safety-checked file, as the core hands it to a family's reader."""

    format: str
    path: Any
    limits: Any  # the caps a reader must respect (``gateway.readers.limits.Limits``)

    @abstractmethod
    def sample(self) -> FileSample:
        """The header and first records (or the XML root), for routing."""


@dataclass(frozen=True)
class ReportingPeriod:
    """One period whose data are due in a reporting year, and when they may be sent.

    ``label`` names the period as submitters know it (``2015``, ``2014Q3``); both ranges are
    inclusive. A clinic measure has one period per reporting year; a quarterly hospital family
    has one per quarter due that year.
    """

    label: str
    dates_of_service: tuple[date, date]
    window: tuple[date, date]

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label,
                "dates_of_service": [d.isoformat() for d in self.dates_of_service],
                "window": [d.isoformat() for d in self.window]}
