"""The registry and obligations as plain data, the form plugins see them in.

``gateway.contract.records`` re-exports every name here, so a family (even one installed separately)
imports them from the contract. Everything is frozen: a rule may consult the registry, never
change it, and a registry in force in a running daemon is replaced whole, never edited.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.contract.batch import RecordBatch

KINDS = ("clinic", "hospital", "program")
HEALTH_SYSTEM_KINDS = ("clinic", "hospital")
FACILITY_KEYS = ("npi", "ccn")  # registry lists whose ids may appear inside files


RECEIPTS, DEADLINES = "receipts", "deadlines"  # what a contact may be told about
NO_DIGEST, DAILY = "none", "daily"


@dataclass(frozen=True)
class Contact:
    """A person responsible for a submitter's data (``[[submitter.contact]]``, Appendix E).

    ``notify`` says what the person is told: ``receipts`` (one message per receipt, or one
    ``daily`` digest of them) and ``deadlines`` (reminders before and after due dates)."""

    name: str
    email: str
    role: str = "data"
    notify: tuple[str, ...] = ()
    digest: str = NO_DIGEST

    def wants(self, topic: str) -> bool:
        return topic in self.notify


@dataclass(frozen=True)
class Webhook:
    """A system told about each receipt by a signed POST (``[[submitter.webhook]]``). Only the
    path of the secret is kept: the secret is read when a delivery is signed."""

    url: str
    secret_file: str
    events: tuple[str, ...] = ("receipt",)


@dataclass(frozen=True)
class Submitter:
    """One registry entry: a submitter (one inbox folder) and the facts its obligations and the
    submitter layer depend on. Fields that do not apply to its ``kind`` keep their defaults."""

    id: str
    name: str
    kind: str
    active: bool = True
    complete_marker: str | None = None  # "sha256": each file waits for its NAME.sha256
    # clinics
    npi: tuple[str, ...] = ()
    urgent_care: bool = False
    well_child: bool = False
    emr_since: date | None = None
    # hospitals
    ccn: tuple[str, ...] = ()
    hospital_type: str | None = None
    nicu_level: int = 0
    picu: bool = False
    submits_to_cms: bool = False
    admissions_last_year: int | None = None
    # who is told about receipts and deadlines (notifications.md)
    contacts: tuple[Contact, ...] = ()
    webhooks: tuple[Webhook, ...] = ()
    line: int | None = None  # where the entry starts in registry.toml, for messages

    def facility_ids(self, key: str) -> tuple[str, ...]:
        """The ids of one kind (``npi`` or ``ccn``) that may appear in this submitter's files."""
        if key not in FACILITY_KEYS:
            raise ValueError(f"unknown facility id kind {key!r}")
        return self.npi if key == "npi" else self.ccn

    def as_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready data (dates as ISO text), as the ledger records it."""
        out = asdict(self)
        for private in ("line", "contacts", "webhooks"):  # people and secrets stay out of it
            out.pop(private)
        out["npi"], out["ccn"] = list(self.npi), list(self.ccn)
        out["emr_since"] = self.emr_since.isoformat() if self.emr_since else None
        return out


@dataclass(frozen=True)
class Registry:
    """The registry in force: every submitter by id. ``digest`` identifies the file's content
    (sha256), so a log line or the ledger can say which registry judged a file."""

    submitters: Mapping[str, Submitter] = field(default_factory=dict)
    source: str | None = None
    digest: str = ""

    def get(self, submitter_id: str) -> Submitter | None:
        """The entry of a submitter id (active or not), or None when it is not registered."""
        return self.submitters.get(submitter_id)

    def active(self, submitter_id: str) -> Submitter | None:
        """The entry when the submitter may send files now (registered and not ``active =
        false``), else None."""
        entry = self.submitters.get(submitter_id)
        return entry if entry is not None and entry.active else None

    def health_system(self, submitter_id: str) -> Submitter | None:
        """The entry when ``submitter_id`` is a registered clinic or hospital submitter (what
        the opioid program calls a health system), else None."""
        entry = self.submitters.get(submitter_id)
        return entry if entry is not None and entry.kind in HEALTH_SYSTEM_KINDS else None

    def __iter__(self) -> Iterator[Submitter]:
        """Every entry, in id order."""
        return iter(sorted(self.submitters.values(), key=lambda s: s.id))

    def __len__(self) -> int:
        return len(self.submitters)


WAIVER_REQUESTED, WAIVER_GRANTED = "requested", "granted"  # Obligation.waiver


@dataclass(frozen=True)
class Obligation:
    """One submission a submitter owes, or one a file answers.

    The identity is ``key``: (family, measure, period, subject). ``period`` is the discharge
    quarter (``2015Q3``) of quarterly data and the reporting year (``2015``) otherwise;
    ``subject`` names what the obligation is about when a submitter owes one per something (a
    prescriber and measure in the opioid program), else empty. The window runs from ``opens``
    to ``due`` (both inclusive, in the program's time zone). ``levels`` are the levels that
    satisfy it (several: the submitter chooses). ``required`` False lists an obligation that is
    met elsewhere (``note`` says where), so nobody asks for it. ``waiver`` says the program was
    asked to waive it (``WAIVER_REQUESTED``: still owed while the request waits) or waived it
    (``WAIVER_GRANTED``: owed no more unless a file already answered it), e.g. an exemption.
    """

    family: str
    measure: str
    reporting_year: int
    period: str
    due: date
    opens: date | None = None
    subject: str = ""
    levels: tuple[str, ...] = ()
    required: bool = True
    note: str = ""
    waiver: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.family, self.measure, self.period, self.subject)

    @property
    def label(self) -> str:
        """How people read it: ``ODC 2015``, ``stroke 2015Q1``, ``self-assessment 2022 (...)``."""
        subject = f" ({self.subject})" if self.subject else ""
        return f"{self.measure} {self.period}{subject}"

    def as_dict(self) -> dict[str, Any]:
        return {"family": self.family, "measure": self.measure,
                "reporting_year": self.reporting_year, "period": self.period,
                "subject": self.subject, "due": self.due.isoformat(),
                "opens": self.opens.isoformat() if self.opens else None,
                "levels": list(self.levels), "required": self.required, "note": self.note}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Obligation:
        return cls(family=data["family"], measure=data["measure"],
                   reporting_year=int(data["reporting_year"]), period=data["period"],
                   due=date.fromisoformat(data["due"]),
                   opens=date.fromisoformat(data["opens"]) if data.get("opens") else None,
                   subject=data.get("subject", ""), levels=tuple(data.get("levels", ())),
                   required=bool(data.get("required", True)), note=data.get("note", ""))


class ObligationReader(ABC):
    """How one routed file maps to the obligations it answers, declared by its family.

    The core reads the declarations to run the submitter layer: ``kinds`` (submitter kinds that
    send such files), ``facility_columns`` (column -> ``npi`` or ``ccn``: every id there must be
    the sending submitter's), ``basis_column`` (FULL/SAMPLE) with ``sample_allowed`` and
    ``service_start`` (a clinic may sample only when its electronic record starts after this
    first date of service). ``not_applicable`` says why a submitter's facility type may not send
    the file. Like a result calculator it sees every valid record batch by batch; ``finish``
    returns the obligations the file answers, with their windows. A file rejected before its
    records were seen still gets ``finish`` called (the family may use the routing sample), so
    rejected submissions count against the right obligation.
    """

    kinds: tuple[str, ...] = HEALTH_SYSTEM_KINDS
    facility_columns: Mapping[str, str] = {}
    basis_column: str | None = None
    sample_allowed: bool = True
    service_start: date | None = None

    def not_applicable(self, submitter: Submitter) -> str | None:
        """Why the measure does not apply to this submitter (a sentence for its receipt), or
        None when it applies. The core checks ``kinds`` itself."""
        return None

    def observe(self, batch: RecordBatch) -> None:  # noqa: B027 - optional, default: ignore
        """Look at a batch of typed records (e.g. to learn the period)."""

    @abstractmethod
    def finish(self) -> list[Obligation]:
        """The obligations this file answers (empty when it answers none)."""
