"""Validation layer 4, ``submitter``: the file against the registry, in the spec's order.

1. facility: every facility id in the file is one of the sending submitter's own (each foreign
   id is named once, at its first row; the owner is never looked up, so never named);
2. applicability: the submitter's kind and facility type may send this measure;
3. sampling: SAMPLE only where the measure allows it and, for a clinic, only when its electronic
   record started after the period's first date of service;
4. window: late (a warning, or an error under ``[submitter] late = "reject"``) or early.

The first step with an error decides; the window runs only for a file that passed the others.
The layer watches the records while they stream (like the file rules), keeping only the first
row of each foreign id and of the first SAMPLE row, so memory does not grow with the file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from gateway.contract.catalog import Catalog
from gateway.contract.findings import Finding
from gateway.contract.lazy import lazy_module
from gateway.contract.records import RecordBatch, Route
from gateway.contract.registry import Obligation, ObligationReader, Registry, Submitter
from gateway.submitters.windows import LATE_REJECT, SubmitterPolicy, Timing, program_day, timing

np = lazy_module("numpy")

MAX_FOREIGN_IDS = 50  # distinct foreign ids named; more means the whole file is someone else's
SAMPLE = "SAMPLE"


def admitted(registry: Registry | None, submitter_id: str) -> bool:
    """The unknown-folder rule, decided here only: with no registry the submitter layer is off
    and every folder is served; with one, only a registered, active submitter's folder is. A
    file from any other folder is answered with ``unknown_submitter`` and never read."""
    return registry is None or registry.active(submitter_id) is not None


def unknown_submitter(submitter_id: str) -> Finding:
    """The only thing a file from an unregistered (or inactive) folder is told. It carries its
    hint itself: the pipeline returns this receipt before findings are given the catalog's
    hints, and every finding of a receipt must say how to fix it (specs/README.md)."""
    code = "E-SUBMITTER-UNKNOWN"
    return Finding(code, f"The folder {submitter_id!r} is not registered to submit files, so "
                   "this file was not validated.", hint=Catalog()[code].hint)


def skipped() -> Finding:
    """Said once by ``gateway validate`` when it found no registry."""
    return Finding("W-SUBMITTER-SKIPPED", "No registry was found, so the submitter checks "
                   "(your facility ids, whether the measure applies to you, sampling and the "
                   "deadline) were skipped.")


class SubmitterLayer:
    """Layer 4 for one file of a registered, active submitter."""

    def __init__(self, submitter: Submitter, route: Route, reader: ObligationReader | None,
                 policy: SubmitterPolicy, received_at: str) -> None:
        self.submitter = submitter
        self.route = route
        self.reader = reader
        self.policy = policy
        self.received_at = received_at
        columns: Mapping[str, str] = reader.facility_columns if reader else {}
        self.allowed = {column: set(submitter.facility_ids(key))
                        for column, key in columns.items()}
        self.foreign: dict[tuple[str, str], list[Any]] = {}  # (column, id) -> [finding, rows]
        self.first_sample: Finding | None = None
        self._obligations: list[Obligation] | None = None

    # -- while the records stream --------------------------------------------------------------

    def observe(self, batch: RecordBatch) -> None:
        if self.reader is None:
            return
        for column, allowed in self.allowed.items():
            if column in batch.frame.columns:
                self._observe_facility(batch, column, allowed)
        basis = self.reader.basis_column
        if self.first_sample is None and basis and basis in batch.frame.columns:
            sampled = (batch.frame[basis].astype("string").str.upper() == SAMPLE).fillna(False)
            if sampled.any():
                i = int(sampled.to_numpy().argmax())
                self.first_sample = batch.finding(i, "E-SUBMITTER-SAMPLE", "", column=basis,
                                                  value=SAMPLE)
        self.reader.observe(batch)

    def _observe_facility(self, batch: RecordBatch, column: str, allowed: set[str]) -> None:
        values = batch.frame[column].astype("string")
        where = np.flatnonzero((~values.isin(allowed) & values.notna()).to_numpy())
        if not len(where):
            return
        foreign = values.iloc[where]
        counts = foreign.value_counts()
        first = ~foreign.duplicated().to_numpy()  # one look per distinct id, not per row
        for i, value in zip(where[first], foreign.to_numpy()[first], strict=True):
            key = (column, str(value))
            seen = self.foreign.get(key)
            if seen is not None:
                seen[1] += int(counts[value])
            elif len(self.foreign) < MAX_FOREIGN_IDS:
                self.foreign[key] = [batch.finding(int(i), "E-SUBMITTER-FACILITY", "",
                                                   column=column, value=key[1]),
                                     int(counts[value])]

    # -- once the file rules have passed --------------------------------------------------------

    def obligations(self) -> list[Obligation]:
        """What the file answers (asked once; a family bug here means no obligation, never a
        failed file)."""
        if self._obligations is None:
            try:
                self._obligations = list(self.reader.finish()) if self.reader else []
            except Exception:
                self._obligations = []
        return self._obligations

    def judge(self) -> list[Finding]:
        """Findings of the four steps; the first step with an error ends the layer."""
        for step in (self._facility, self._applicability, self._sampling):
            findings = step()
            if findings:
                return findings
        return self._window()

    def _facility(self) -> list[Finding]:
        out = []
        for (column, ident), (finding, rows) in self.foreign.items():
            more = f" It appears on {rows - 1:,} more rows." if rows > 1 else ""
            out.append(dataclasses.replace(finding, message=(
                f"{column} {ident} is not one of your organisation's registered facilities, "
                f"so you may not submit data for it.{more}")))
        return out

    def _applicability(self) -> list[Finding]:
        if self.reader is None:
            return []
        what = f"{self.route.measure} ({self.route.family}) files"
        if self.submitter.kind not in self.reader.kinds:
            return [Finding("E-SUBMITTER-NOT-APPLICABLE", f"{what} are sent by "
                            f"{' or '.join(self.reader.kinds)} submitters; the registry lists "
                            f"your organisation as a {self.submitter.kind}.")]
        reason = self.reader.not_applicable(self.submitter)
        return [Finding("E-SUBMITTER-NOT-APPLICABLE", reason)] if reason else []

    def _sampling(self) -> list[Finding]:
        reader, sample = self.reader, self.first_sample
        if reader is None or sample is None:
            return []
        if not reader.sample_allowed:
            message = (f"{self.route.measure} may not be reported from a sample; send the full "
                       "population (population_basis FULL).")
        elif (self.submitter.kind == "clinic" and reader.service_start is not None
              and self.submitter.emr_since is not None
              and self.submitter.emr_since <= reader.service_start):
            message = (f"Your clinic's electronic medical record covers the whole period (since "
                       f"{self.submitter.emr_since.isoformat()}; the period starts "
                       f"{reader.service_start.isoformat()}), so {self.route.measure} must be "
                       "reported for the full population (population_basis FULL), not a "
                       "sample.")
        else:
            return []
        return [dataclasses.replace(sample, message=message)]

    def _window(self) -> list[Finding]:
        """One finding per deadline missed (or window not yet open), however many obligations
        share it: a form listing 500 prescribers is one late file, not 500."""
        day = program_day(self.received_at, self.policy.timezone)
        late: dict[str, list[Obligation]] = {}
        early: dict[str, list[Obligation]] = {}
        for obligation in self.obligations():
            when = timing(obligation, day)
            if when is Timing.LATE:
                late.setdefault(obligation.due.isoformat(), []).append(obligation)
            elif when is Timing.EARLY and obligation.opens is not None:
                early.setdefault(obligation.opens.isoformat(), []).append(obligation)
        code = "E-SUBMITTER-LATE" if self.policy.late == LATE_REJECT else "W-SUBMITTER-LATE"
        received = day.isoformat()
        return [
            *(Finding(code, f"Received {received}, after the deadline of {_what(owed)} "
                            f"({due}).") for due, owed in late.items()),
            *(Finding("W-SUBMITTER-EARLY", f"Received {received}, before the window for "
                                           f"{_what(owed)} opens on {opens}.")
              for opens, owed in early.items()),
        ]

    def answered(self) -> list[dict[str, Any]]:
        """The obligations the file answers, as the receipt and the ledger record them, with
        the file's timing against each."""
        day = program_day(self.received_at, self.policy.timezone)
        return [{**o.as_dict(), "level": self.route.level, "timing": timing(o, day).value}
                for o in self.obligations()]


def _what(obligations: list[Obligation]) -> str:
    """``ODC 2015``, or ``3 obligations (self-assessment 2022 (...), ...)`` for several."""
    if len(obligations) == 1:
        return obligations[0].label
    shown = ", ".join(o.label for o in obligations[:3])
    more = ", ..." if len(obligations) > 3 else ""
    return f"{len(obligations)} obligations ({shown}{more})"
