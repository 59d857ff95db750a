"""Every rate and tolerance check of every family compares exactly: a rate exactly on the
tolerance (``8.8`` for 100 x 7 / 80 = 8.75) is right, one a hundredth beyond is wrong."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from gateway.contract.arithmetic import decimal_text, exact, ratio, within
from gateway.contract.records import RuleContext
from gateway.engine.pipeline import default_plugins, record_layer
from gateway.engine.routing import choose_route
from gateway.kit.collected_rules import CollectedRule
from gateway.readers.limits import Limits
from gateway.readers.upload import inspect_upload, open_document
from tests.receipts.files import check
from tests.support.paths import ROOT

EXAMPLES = [ROOT / "plugins" / p for p in (
    "clinic/mncm/examples/2015/odc/summary/valid/odc-summary-full.csv",
    "clinic/mncm/examples/2015/ldl/summary/valid/ldl-summary-full.csv",
    "hospital/cart/examples/2015/CART/summary/valid/cart-2015q1-pps.xml",
    "hospital/edtc/examples/2015/EDTC/summary/valid/edtc-2015q1-full.csv",
    "hospital/von/examples/2015/VON/summary/valid/von-2014-infants.csv",
    "hospital/nhsn/examples/2015/CLABSI/summary/valid/clabsi-2015q1.csv",
    "hospital/ahrq/examples/2015/AHRQ-QI/summary/valid/ahrq-2014-discharges.csv")]
TOLERANCE_CODES = ("E-RULE-RATE-MISMATCH", "E-RULE-AVERAGE-MISMATCH")


def _rules_with_table(path: Path) -> list[tuple[CollectedRule, pd.DataFrame]]:
    """The file's rate and tolerance rules, each with the typed table it collected."""
    plugins = default_plugins()
    facts = inspect_upload(path, Limits())
    document = open_document(path, path.name, facts, Limits())
    route = choose_route(plugins, document.sample())
    layer = record_layer(plugins, route.schema)
    rules = [r for found in plugins.hook.gateway_file_rules(route=route,
                                                            context=RuleContext(route))
             for r in found if r.code in TOLERANCE_CODES]
    for raw in plugins.hook.gateway_read_records(route=route, document=document):
        typed, bad, _ = layer.check(raw)
        assert not bad.any()
        for rule in rules:
            rule.observe(typed)
    assert rules and all(isinstance(r, CollectedRule) for r in rules)
    return [(r, pd.concat(r._parts, ignore_index=True)) for r in rules]


def _on_the_edge(scale: Fraction, tolerance: Fraction) -> tuple[int, int, str, str]:
    """Counts whose rate lies a half step between two values of the tolerance's precision,
    and where floating point puts the rounded value beyond the tolerance (the bug)."""
    places = _places(tolerance)
    for denominator in range(8, 4000):
        for numerator in range(1, min(denominator, 60)):
            expected = scale * numerator / denominator
            if (expected * 10 ** places).denominator != 1 or expected <= tolerance:
                continue
            above = decimal_text(expected + tolerance, places)
            below = decimal_text(expected - tolerance, places)
            as_float = float(scale) * numerator / denominator
            if abs(float(above) - as_float) > float(tolerance) or \
                    abs(float(below) - as_float) > float(tolerance):
                return numerator, denominator, above, below
    raise AssertionError("no edge case found")


def _places(tolerance: Fraction) -> int:
    return len(decimal_text(tolerance, 6).rstrip("0").split(".")[1])


def test_the_issue_example_is_exact() -> None:
    assert within(8.8, ratio(100, 7, 80), "0.05")
    assert abs(8.8 - 100 * 7 / 80) > 0.05  # what floating point said
    assert not within(8.81, ratio(100, 7, 80), "0.05")
    assert decimal_text(ratio(100, 7, 80), 1) == "8.8" and exact(93.4) == Fraction("93.4")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_rate_rule_accepts_a_rate_exactly_on_its_tolerance(path: Path) -> None:
    for rule, table in _rules_with_table(path):
        if rule.code == "E-RULE-AVERAGE-MISMATCH":
            _check_average(rule, table)
            continue
        numerator, denominator, rate = (getattr(rule, "numerator", "numerator"),
                                        getattr(rule, "denominator", "denominator"),
                                        getattr(rule, "rate", "reported_rate"))
        # a hospital rule's row filter (a clinic rule's ``applies`` is about the measure)
        applies = getattr(rule, "applies", None) if hasattr(rule, "numerator") else None
        rated = table[table[rate].notna() & (table[denominator] > 0)]
        if applies is not None:
            rated = rated[applies(rated).fillna(False)]
        row = rated.iloc[[0]].copy()
        scale = getattr(rule, "scale", 100)
        scale = scale(row.iloc[0]) if callable(scale) else scale
        tolerance = exact(getattr(rule, "tolerance", "0.05"))
        n, d, above, below = _on_the_edge(exact(scale), tolerance)
        row[numerator], row[denominator] = n, d
        for reported, right in ((above, True), (below, True),
                                (decimal_text(Fraction(above) + tolerance / 5,
                                              _places(tolerance) + 1), False)):
            row[rate] = float(reported)
            found = list(rule.judge(row))
            assert (not found) is right, (path.name, n, d, reported, found)


def _check_average(rule: CollectedRule, table: pd.DataFrame) -> None:
    """Strata averaging 8.75 (weighted) against a total of 8.8 and of 8.7: both right."""
    component = table["component"].iloc[0]
    part = table[table["component"] == component].copy()
    strata = part.columns[part.columns.isin(rule.strata)]
    total = (part[strata] == "ALL").all(axis=1)
    part.loc[~total, "average_change"] = 8.75
    for reported, right in ((8.8, True), (8.7, True), (8.81, False)):
        part.loc[total, "average_change"] = reported
        assert (not list(rule.judge(part))) is right, reported


def test_a_cart_rate_on_the_tolerance_is_accepted_end_to_end(tmp_path: Path) -> None:
    source = EXAMPLES[2].read_text(encoding="utf-8")
    edited = source.replace(
        "<denominator>4</denominator><numerator>3</numerator><rate>75.0</rate>",
        "<denominator>80</denominator><numerator>7</numerator><rate>8.8</rate>")
    assert edited != source
    path = tmp_path / "cart.xml"
    path.write_text(edited, encoding="utf-8")
    assert check(path).as_dict()["status"] == "accepted"
    path.write_text(edited.replace("<rate>8.8</rate>", "<rate>8.9</rate>"), encoding="utf-8")
    [finding] = check(path).as_dict()["findings"]
    assert finding["suggestion"] == "8.8"  # in the template's one decimal
