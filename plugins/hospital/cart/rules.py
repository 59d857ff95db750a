"""CART file rules: required measures by hospital type, counts, rates, one measure per id."""

from __future__ import annotations

from collections.abc import Iterable

from gateway_plugins.hospital.cart.reader import official
from gateway_plugins.hospital.common.rules import (
    NoDuplicates,
    NotAbove,
    OneValue,
    QuarterInYear,
    RateMatches,
)

from gateway.contract import (
    CollectedRule,
    FileRule,
    Finding,
    Manifest,
    Route,
    RuleContext,
    lazy_module,
)

pd = lazy_module("pandas")

HOSPITAL_TYPES = ("PPS", "CAH")


def hospital_type(context: RuleContext) -> str | None:
    """The hospital type (PPS or CAH): the sending hospital's registry entry, else the operator
    option ``hospital_type`` (validating without a registry); None when neither gives it."""
    if context.submitter is not None and context.submitter.hospital_type:
        return context.submitter.hospital_type
    value = (context.options.get("hospital_type") or "").strip().upper()
    return value if value in HOSPITAL_TYPES else None


class RequiredMeasures(CollectedRule):
    """Every measure required of the hospital's type is in the file.

    Without a known hospital type the measures required of every type are errors when missing,
    and those required only of PPS hospitals are warnings (a CAH reports them voluntarily).
    """

    code = "E-RULE-MISSING-MEASURE"
    title = "Every measure required of the hospital's type (PPS or CAH) is present."
    where_missing = "/hospital-measures"

    def __init__(self, manifest: Manifest, kind: str | None) -> None:
        super().__init__()
        self.measures = manifest.data["abstracted"]
        self.kind = kind

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        have = set(table["measure_id"].dropna().astype(str))
        every = set(HOSPITAL_TYPES)
        for measure, spec in self.measures.items():
            if measure.upper() in have:
                continue
            required_of = set(spec["required_of"])
            if self.kind is not None and self.kind in required_of:
                yield self.nowhere(f"{measure} ({spec['name']}) is missing; it is required of "
                                   f"{self.kind} hospitals every quarter.", "measure_id")
            elif self.kind is None and required_of >= every:
                yield self.nowhere(f"{measure} ({spec['name']}) is missing; it is required of "
                                   "every hospital every quarter.", "measure_id")
            elif self.kind is None:
                yield self.nowhere(
                    f"{measure} is missing; it is required of "
                    f"{' and '.join(sorted(required_of))} hospitals. The hospital type was not "
                    "given, so this is not an error yet.", "measure_id", "W-RULE-MISSING-MEASURE")


def _label(row: pd.Series) -> str:
    return f"measure {official(str(row['measure_id']))}"


def cart_rules(manifest: Manifest, route: Route, context: RuleContext) -> list[FileRule]:
    """Fresh rules for one CART file."""
    rates = [m.upper() for m, s in manifest.data["abstracted"].items() if s["kind"] == "rate"]
    rates += [m.upper() for m in manifest.data["retired"]]
    rule = NoDuplicates(["measure_id"], "Measure")
    rule.title = "One <measure> per id."
    return [
        OneValue(["provider_id", "discharge_quarter"]),
        rule,
        NotAbove([("numerator", "denominator")], _label),
        RateMatches("numerator", "denominator", "rate", label=_label, decimals=1,
                    applies=lambda t: t["measure_id"].isin(rates)),
        QuarterInYear("discharge_quarter", route.reporting_year, str(manifest.deadline_rule)),
        RequiredMeasures(manifest, hospital_type(context)),
    ]
