"""Who owes what in the program, for the registry's submitter layer and ``gateway compliance``.

Each QI-required prescriber's health system owes, for the reporting year MY + 1, a
self-assessment per required measure (subject ``<npi> <measure>``), a QI plan and a QI
evaluation (subject ``<npi>``), as the latest accepted feed of the MY says. While an accepted
exemption request for the prescriber waits for a decision those obligations carry the waiver
``requested``; once granted, ``granted`` (a denial returns them to normal). Exemption requests
are owed by nobody but keep their window (a late one warns): a request answers the window of
each of the sender's own prescribers it names. A form file answers only obligations that exist
(no row for a prescriber or measure nobody owes). The feed itself comes from a ``program``
submitter and answers nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from gateway.contract import (
    HEALTH_SYSTEM_KINDS,
    FileSample,
    Obligation,
    ObligationReader,
    RecordBatch,
    ReferenceView,
    Route,
    RuleContext,
    Submitter,
)
from gateway_opioid import datasets
from gateway_opioid.exemptions import waivers
from gateway_opioid.program import (
    EXEMPTION,
    FAMILY,
    PROGRAM_FILES,
    QI_EVALUATION,
    QI_PLAN,
    SELF_ASSESSMENT,
    measurement_year,
    program,
)

NPI = "prescriber_npi"


def obligation(kind: str, reporting_year: int, subject: str, waiver: str = ""
               ) -> Obligation | None:
    """One form owed (or answered) for a prescriber, with the year's window."""
    rules = program().rules(measurement_year(reporting_year))
    if rules is None:
        return None
    return Obligation(FAMILY, kind, reporting_year, str(reporting_year), rules.due[kind],
                      opens=rules.forms_open, subject=subject, waiver=waiver)


def owed(submitter: Submitter, reporting_year: int, reference: ReferenceView
         ) -> list[Obligation]:
    """The forms a health system owes for its QI-required prescribers."""
    if submitter.kind not in HEALTH_SYSTEM_KINDS:
        return []
    year = measurement_year(reporting_year)
    info = reference.info(datasets.prescribers(year))
    if info is None or program().rules(year) is None:
        return []
    required = _required_by_system(reference, year, info.submission_id).get(submitter.id, ())
    waived = waivers(reference, year, (npi for npi, _ in required))
    out: list[Obligation] = []
    for npi, measures in required:
        subjects = [(SELF_ASSESSMENT, f"{npi} {m}") for m in measures]
        subjects += [(QI_PLAN, npi), (QI_EVALUATION, npi)]
        out += [o for kind, subject in subjects
                if (o := obligation(kind, reporting_year, subject, waived.get(npi, "")))
                is not None]
    return out


@lru_cache(maxsize=4)
def _required_by_system(reference: ReferenceView, year: int, feed: str
                        ) -> dict[str, list[tuple[str, list[str]]]]:
    """QI-required prescribers per health system, read once per accepted feed (``feed`` is
    its submission id, so a newer feed is read anew)."""
    systems: dict[str, list[tuple[str, list[str]]]] = {}
    for entry in reference.entries(datasets.prescribers(year)):
        value = entry.value
        if value.get("qi_required") and value.get("health_system"):
            systems.setdefault(value["health_system"], []).append(
                (entry.key, list(value["qi_required"])))
    return systems


class FormObligations(ObligationReader):
    """A form file answers one obligation per row (per prescriber and measure for
    self-assessments) that exists: the sender's prescriber, QI-required (on that measure) in the
    latest accepted feed; an exemption request, the window of each of the sender's prescribers.
    Prescriber ownership is checked by the family's own rule (``E-SUBMITTER-FACILITY``) against
    the feed, not against registry NPIs."""

    kinds = HEALTH_SYSTEM_KINDS
    facility_columns: dict[str, str] = {}  # noqa: RUF012 - read-only declaration

    def __init__(self, route: Route, sample: FileSample, context: RuleContext) -> None:
        self.route = route
        self.subjects: dict[str, None] = {}
        self.sample = sample
        self.reference = context.reference
        self.sender = context.sender

    def observe(self, batch: RecordBatch) -> None:
        frame = batch.frame
        if NPI not in frame.columns:
            return
        measures = frame["measure"] if self.route.measure == SELF_ASSESSMENT else None
        for i, npi in enumerate(frame[NPI]):
            if isinstance(npi, str):
                subject = npi if measures is None else f"{npi} {measures.iat[i]}"
                self.subjects.setdefault(subject)

    def finish(self) -> list[Obligation]:
        subjects = self._existing(self.subjects or self._sampled())
        return [o for s in subjects
                if (o := obligation(self.route.measure, self.route.reporting_year, s))
                is not None]

    def _existing(self, subjects: Iterable[str]) -> list[str]:
        """The subjects somebody owes (or, for exemptions, the sender's own prescribers)."""
        subjects = list(subjects)
        year = measurement_year(self.route.reporting_year)
        found = self.reference.get_many(datasets.prescribers(year),
                                        {s.split(" ")[0] for s in subjects})
        out = []
        for subject in subjects:
            npi, _, measure = subject.partition(" ")
            entry = found.get(npi)
            if entry is None or entry.value.get("health_system") != self.sender:
                continue
            required = entry.value.get("qi_required") or []
            if self.route.measure == EXEMPTION or (
                    measure in required if self.route.measure == SELF_ASSESSMENT else required):
                out.append(subject)
        return out

    def _sampled(self) -> list[str]:
        """For a file rejected before its records were read: the rows routing saw."""
        out = []
        for row in self.sample.rows:
            npi = (row.get(NPI) or "").strip()
            measure = (row.get("measure") or "").strip().upper()
            if npi:
                out.append(f"{npi} {measure}" if self.route.measure == SELF_ASSESSMENT
                           else npi)
        return list(dict.fromkeys(out))


class FeedObligations(ObligationReader):
    """The program's own files (the feed, the sign-up list): only ``program`` submitters
    send them, and they answer nothing."""

    kinds = ("program",)
    facility_columns: dict[str, str] = {}  # noqa: RUF012 - read-only declaration

    def finish(self) -> list[Obligation]:
        return []


def reader(route: Route, sample: FileSample, context: RuleContext) -> ObligationReader:
    if route.measure in PROGRAM_FILES:
        return FeedObligations()
    return FormObligations(route, sample, context)



