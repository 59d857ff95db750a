"""The program's sign-up list for reports by e-mail (``opip-subscribers``): one row per
prescriber who asked for the one-page report by e-mail, with the address and the day of
sign-up.

The list has no measurement year: each accepted list replaces the one before it whole (the
latest accepted list is the list), so a prescriber who left it gets no more e-mail. It is
routed under the program's newest reporting year only because every route names one; the
dataset it is remembered in has no year.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.contract import (
    FileRule,
    Finding,
    ReferenceCollector,
    ReferenceView,
    ReferenceWrite,
    lazy_module,
)
from gateway_opioid import datasets
from gateway_opioid.collect import CollectsColumns, NarrowRule, repeated_rows

pd = lazy_module("pandas")

COLUMNS = ("prescriber_npi", "email", "signed_up")


@dataclass(frozen=True)
class Subscriber:
    """A prescriber on the sign-up list."""

    npi: str
    email: str
    signed_up: str  # ISO date


class DuplicateRule(NarrowRule):
    code = "E-RULE-DUPLICATE"
    title = "One row per prescriber."
    columns = ("prescriber_npi",)

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        for row, first in repeated_rows(table, ("prescriber_npi",)):
            yield self.at(row, f"prescriber {row['prescriber_npi']} has a second row (the "
                               f"first is row {first}); list each prescriber once, with the "
                               "address the report goes to.", column="prescriber_npi")


def subscriber_rules() -> list[FileRule]:
    return [DuplicateRule()]


def _day(value: Any) -> str:
    return value.date().isoformat() if hasattr(value, "date") else str(value)


class SubscriberMemory(CollectsColumns, ReferenceCollector):
    """On acceptance: the list, replacing the one before."""

    def __init__(self) -> None:
        super().__init__(COLUMNS)

    def finish(self, results: Mapping[str, Any] | None) -> list[ReferenceWrite]:
        entries = {str(row["prescriber_npi"]): {"email": str(row["email"]).strip(),
                                                 "signed_up": _day(row["signed_up"])}
                   for _, row in self.collected.table().iterrows()}
        return [ReferenceWrite(datasets.subscribers(), entries, replace=True)]


def signed_up(view: ReferenceView) -> dict[str, Subscriber]:
    """The prescribers on the latest accepted list, by NPI (empty when none was accepted)."""
    return {entry.key: Subscriber(entry.key, entry.value["email"], entry.value["signed_up"])
            for entry in view.entries(datasets.subscribers())}
