"""AHRQ QI file rules: indicators present, composites with all their parts, software version,
per-100 and per-1,000 rates."""

from __future__ import annotations

import re
from collections.abc import Iterable

from gateway_plugins.hospital.common.rules import (
    NoDuplicates,
    NotAbove,
    OneValue,
    RateMatches,
    RequiredValues,
    SameValue,
)

from gateway.contract import (
    CollectedRule,
    FileRule,
    Finding,
    Manifest,
    Route,
    RuleContext,
    lazy_module,
    show,
)

pd = lazy_module("pandas")

_VERSION = re.compile(r"[vV]?(\d+)((?:\.\d+)*)([a-zA-Z]?)")


def version_key(text: str) -> tuple[tuple[int, ...], str] | None:
    """``4.5a`` -> ((4, 5), 'a'): numbers compare numerically, then the letter (none < a)."""
    match = _VERSION.fullmatch(text.strip())
    if not match:
        return None
    numbers = (int(match.group(1)), *(int(p) for p in match.group(2).split(".") if p))
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers = numbers[:-1]
    return numbers, match.group(3).lower()


def _label(row: pd.Series) -> str:
    return f"indicator {row['indicator']}"


class CompositesComplete(CollectedRule):
    """A composite is only comparable when computed over all its parts, so each part must be
    in the file with it."""

    code, title = "E-RULE-COMPOSITE", "Every composite arrives with all its parts."

    def __init__(self, indicators: dict) -> None:
        super().__init__()
        self.composites = {k: v["parts"] for k, v in indicators.items()
                           if v["kind"] == "composite"}

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        have = set(table["indicator"].dropna().astype(str))
        for _, row in table[table["indicator"].isin(list(self.composites))].iterrows():
            missing = [p for p in self.composites[row["indicator"]] if p not in have]
            if missing:
                yield self.at(row, f"{row['indicator']} is a composite of "
                              f"{', '.join(self.composites[row['indicator']])}; the file lacks "
                              f"{', '.join(missing)}. Send every part with the composite.",
                              "indicator")


class SoftwareVersion(CollectedRule):
    """Older AHRQ QI software uses retired specifications; results from it are not comparable."""

    code = "E-RULE-SOFTWARE-VERSION"

    def __init__(self, minimum: str) -> None:
        super().__init__()
        self.minimum = minimum
        self.title = f"software_version is {minimum} or later."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        row = table.iloc[0]
        found, least = version_key(str(row["software_version"])), version_key(self.minimum)
        if found is not None and least is not None and found < least:
            yield self.at(row, f"software_version {show(row['software_version'])} is older than "
                          f"{self.minimum}; the program accepts results from AHRQ QI software "
                          f"{self.minimum} or later.", "software_version")


def ahrq_rules(manifest: Manifest, route: Route, context: RuleContext) -> list[FileRule]:
    """Fresh rules for one AHRQ QI file."""
    indicators = manifest.data["indicators"]
    rated = [k for k, v in indicators.items() if v["kind"] == "rate"]
    return [
        OneValue(["ccn"]),
        SameValue("software_version", "one run of the software computes the whole file"),
        NoDuplicates(["indicator"], "Indicator"),
        RequiredValues("indicator", [k for k, v in indicators.items() if v.get("reported")],
                       "indicator"),
        CompositesComplete(indicators),
        NotAbove([("numerator", "denominator")], _label),
        RateMatches("numerator", "denominator", "observed_rate", label=_label,
                    scale=lambda row: float(indicators[row["indicator"]]["per"]),
                    applies=lambda t: t["indicator"].isin(rated)),
        SoftwareVersion(str(manifest.data["family"]["minimum_software_version"])),
    ]
