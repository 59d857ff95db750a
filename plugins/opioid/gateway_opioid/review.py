"""The improvement review (opioid.md, "Improvement review"): who, QI-required a year ago, has
improved since, computed from two accepted years of prescribing data.

The statute lets the program end the enrollment of prescribers who do not show improvement over
time, after due process; this module only lists the facts for staff. The review of MY covers
every prescriber QI-required on a measure in MY-1 who has the minimum denominator on that
measure in MY, one row per prescriber and measure, in the first class that fits:

- ``exempt``: an exemption was granted for MY-1;
- ``improved``: the MY rate is at or below the group's MY QI threshold;
- ``improving``: the MY rate is at most ``review_improving`` (0.9) times the MY-1 rate;
- ``for review``: the MY rate is above the group's MY mean plus ``review_sd`` (3) population SD,
  over the same prescribers and groups (of at least ``min_prescribers``) as the QI threshold;
- ``not improved``: otherwise.

Comparisons are exact: the ratio in fractions, the thresholds as ``stats.compute`` decides them
(a rate within rounding distance is decided again in fractions). A group without a threshold in
MY (too few prescribers) cannot make anybody ``improved`` or ``for review``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from gateway.contract import ReferenceView, lazy_module
from gateway_opioid import datasets
from gateway_opioid.exemptions import GRANTED
from gateway_opioid.program import (
    EXEMPTION,
    QI_EVALUATION,
    QI_PLAN,
    SELF_ASSESSMENT,
    YearRules,
    program,
)
from gateway_opioid.stats import FeedStats, GroupStat, compute, percent

pd = lazy_module("pandas")

EXEMPT, IMPROVED, IMPROVING = "exempt", "improved", "improving"
FOR_REVIEW, NOT_IMPROVED = "for review", "not improved"
CLASSES = (EXEMPT, IMPROVED, IMPROVING, FOR_REVIEW, NOT_IMPROVED)
COLUMNS = ("prescriber_npi", "prescriber_name", "health_system", "measure", "rate_previous",
           "threshold_previous", "rate", "threshold", "review_threshold", "forms_received",
           "class")
FORM_WORDS = {SELF_ASSESSMENT: "self-assessment", QI_PLAN: "QI plan",
              QI_EVALUATION: "QI evaluation", EXEMPTION: "exemption request"}


class ReviewError(RuntimeError):
    """The review cannot be made (a year without data or without review parameters)."""


@dataclass(frozen=True)
class ReviewRow:
    """One prescriber and measure of the review; rates and thresholds are shares (0-1)."""

    npi: str
    name: str
    health_system: str | None
    measure: str
    rate_previous: float
    threshold_previous: float | None
    rate: float
    threshold: float | None
    review_threshold: float | None
    forms_received: tuple[str, ...]
    klass: str

    def cells(self) -> dict[str, str]:
        """The CSV row: percentages to 0.1, empty where there is no figure."""
        def number(value: float | None) -> str:
            shown = percent(value)
            return "" if shown is None else f"{shown:.1f}"

        return {"prescriber_npi": self.npi, "prescriber_name": self.name,
                "health_system": self.health_system or "", "measure": self.measure,
                "rate_previous": number(self.rate_previous),
                "threshold_previous": number(self.threshold_previous),
                "rate": number(self.rate), "threshold": number(self.threshold),
                "review_threshold": number(self.review_threshold),
                "forms_received": ";".join(self.forms_received), "class": self.klass}


def review_rules(year: int) -> YearRules:
    """The year's parameters, with the review's; ``ReviewError`` without them."""
    rules = program().rules(year)
    if rules is None or program().rules(year - 1) is None:
        raise ReviewError(f"the program has no parameters for measurement years {year - 1} "
                          f"and {year}")
    if rules.review_improving is None or rules.review_sd is None:
        raise ReviewError(f"the program has no improvement review parameters for measurement "
                          f"year {year}")
    return rules


def review(view: ReferenceView, year: int) -> list[ReviewRow]:
    """Every row of the review of ``year``, by NPI and measure."""
    rules = review_rules(year)
    for my in (year - 1, year):
        if view.info(datasets.prescribers(my)) is None:
            raise ReviewError(f"no prescribing data for measurement year {my} has been "
                              "accepted")
    before = {e.key: e.value for e in view.entries(datasets.prescribers(year - 1))
              if e.value.get("qi_required")}
    now = {e.key: e.value for e in view.entries(datasets.prescribers(year))}
    groups_before = {e.key: e.value for e in view.entries(datasets.specialties(year - 1))}
    groups_now = {e.key: e.value for e in view.entries(datasets.specialties(year))}
    flagged = _above_review_threshold(now, rules)
    improving = rules.review_improving or Fraction(0)
    granted = {npi for npi, e in view.get_many(datasets.decisions(year - 1), before).items()
               if e.value.get("decision") == GRANTED}
    forms = _forms_received(view, year - 1, before)
    rows = []
    for npi in sorted(before):
        then, current = before[npi], now.get(npi)
        if current is None:
            continue
        for measure in then["qi_required"]:
            counts = current["measures"].get(measure)
            if not counts or counts[1] <= 0 or counts[1] < rules.min_denominator[measure]:
                continue
            old = then["measures"][measure]
            group = groups_now.get(current["specialty"], {}).get(measure, {})
            threshold = group.get("threshold")
            rows.append(ReviewRow(
                npi=npi, name=current["name"], health_system=current.get("health_system"),
                measure=measure, rate_previous=old[0] / old[1],
                threshold_previous=groups_before.get(then["specialty"], {}).get(
                    measure, {}).get("threshold"),
                rate=counts[0] / counts[1], threshold=threshold,
                review_threshold=flagged.groups.get((current["specialty"], measure),
                                                    _NO_GROUP).threshold,
                forms_received=forms.get(npi, ()),
                klass=_class(npi in granted, threshold is not None
                             and measure not in current.get("qi_required", []),
                             Fraction(counts[0], counts[1])
                             <= improving * Fraction(old[0], old[1]),
                             measure in flagged.required.get(npi, ()))))
    return rows


def _class(exempt: bool, improved: bool, improving: bool, for_review: bool) -> str:
    """The first class that fits, in the spec's order."""
    for klass, fits in ((EXEMPT, exempt), (IMPROVED, improved), (IMPROVING, improving),
                        (FOR_REVIEW, for_review)):
        if fits:
            return klass
    return NOT_IMPROVED


_NO_GROUP = GroupStat("", "", 0, None, None)


def _above_review_threshold(now: dict[str, dict[str, Any]], rules: YearRules) -> FeedStats:
    """The MY computed as the QI threshold is, with the review's multiple of the SD: each
    group's review threshold, and who is above it on which measure."""
    table = pd.DataFrame(_feed_rows(now), columns=["prescriber_npi", "specialty_group",
                                                   "measure", "numerator", "denominator"])
    return compute(table, replace(rules, threshold_sd=float(rules.review_sd or 0)))


def _feed_rows(now: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str, str, int, int]]:
    for npi, value in now.items():
        for measure, (numerator, denominator) in value["measures"].items():
            yield npi, value["specialty"], measure, int(numerator), int(denominator)


def _forms_received(view: ReferenceView, year: int, npis: dict[str, Any]
                    ) -> dict[str, tuple[str, ...]]:
    """The forms of ``year`` accepted for each prescriber, in words (self-assessments with
    their measures)."""
    out: dict[str, list[str]] = {}
    for npi, value in npis.items():
        keys = [f"{npi}:{m}" for m in value["qi_required"]]
        assessed = view.get_many(datasets.forms(SELF_ASSESSMENT, year), keys)
        measures = [key.partition(":")[2] for key in keys if key in assessed]
        if measures:
            out.setdefault(npi, []).append(f"self-assessment {' '.join(measures)}")
    for kind in (QI_PLAN, QI_EVALUATION, EXEMPTION):
        for npi in view.get_many(datasets.forms(kind, year), npis):
            out.setdefault(npi, []).append(FORM_WORDS[kind])
    return {npi: tuple(words) for npi, words in out.items()}
