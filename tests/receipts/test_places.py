"""Every finding at its own place: the cell (tables) or element and line (XML) to fix."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gateway.contract.findings import column_letter
from tests.receipts.files import (
    EDTC,
    ODC_PATIENT,
    ODC_SUMMARY,
    ROOT,
    STROKE,
    check,
    read_rows,
    write_table,
)

CORRUPT = "@@@"
# Bounded for CI as tests/engine/test_differential.py: fixed examples, derandomised, no shrinking.
BOUNDED = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                   phases=(Phase.explicit, Phase.generate),
                   suppress_health_check=[HealthCheck.too_slow,
                                          HealthCheck.function_scoped_fixture])


def _places(receipt: object) -> list[tuple[int | None, str | None]]:
    return [(f.row, f.cell) for f in receipt.findings.listed]  # type: ignore[attr-defined]


def test_three_empty_cells_in_one_row_are_three_findings_at_three_cells(tmp_path: Path) -> None:
    rows = read_rows(ODC_PATIENT)
    header = rows[0]
    emptied = ("payer_type", "identification_method", "tobacco_status")
    for name in emptied:
        rows[1][header.index(name)] = ""
    for suffix in (".csv", ".xlsx"):
        receipt = check(write_table(rows, tmp_path / f"odc{suffix}"))
        expected = sorted((2, f"{column_letter(header.index(n))}2") for n in emptied)
        assert sorted(_places(receipt)) == expected, suffix
        assert {f.column for f in receipt.findings.listed} == set(emptied)


def _strings(node: object) -> set[str]:
    if isinstance(node, str):
        return {node}
    if isinstance(node, dict):
        return {t for k, v in node.items() for t in (_strings(k) | _strings(v))}
    if isinstance(node, list):
        return {t for v in node for t in _strings(v)}
    return set()


@cache
def _pool(source: Path, value: str) -> tuple[str, ...]:
    """Columns the property test may set to ``value``: required everywhere and named in no
    conditional rule of the schema (so one change is one problem, whatever the row), and
    where ``value`` on the first two data rows is found alone at its own cell (a routing
    column, free text that takes any value, are not among them)."""
    import tempfile

    from gateway.engine.pipeline import default_plugins, record_layer

    route = check(source).route
    assert route is not None
    schema = record_layer(default_plugins(), route.schema).schema
    conditional = _strings({k: v for k, v in schema.items() if k not in ("properties",
                                                                         "required")})
    rows = read_rows(source)
    out = []
    with tempfile.TemporaryDirectory() as folder:
        for j, name in enumerate(rows[0]):
            if name not in schema.get("required", ()) or name in conditional:
                continue
            good = True
            for r in (1, 2):
                changed = [list(row) for row in rows]
                changed[r][j] = value
                receipt = check(write_table(changed, Path(folder) / source.name))
                if _places(receipt) != [(r + 1, f"{column_letter(j)}{r + 1}")]:
                    good = False
                    break
            if good:
                out.append(name)
    return tuple(out)


FAMILIES = [(ODC_PATIENT, ".csv"), (ODC_PATIENT, ".xlsx"), (STROKE, ".csv"), (EDTC, ".csv"),
            (EDTC, ".xlsx")]


@pytest.mark.parametrize(("source", "suffix"), FAMILIES,
                         ids=[f"{s.stem}{x}" for s, x in FAMILIES])
@BOUNDED
@given(data=st.data())
def test_k_changed_cells_are_exactly_the_cells_named(source: Path, suffix: str,
                                                     tmp_path: Path, data: st.DataObject
                                                     ) -> None:
    """Empty or corrupt k random cells of a valid file: the receipt names exactly those k
    cells, each once per rule it breaks."""
    rows = read_rows(source)
    header = rows[0]
    pools = {"": _pool(source, ""), CORRUPT: _pool(source, CORRUPT)}
    assert pools[""] and pools[CORRUPT], "no column can be changed: the examples changed?"
    k = data.draw(st.integers(1, min(8, 2 * (len(rows) - 1))), label="k")
    changed: dict[tuple[int, int], str] = {}
    while len(changed) < k:
        value = data.draw(st.sampled_from(["", CORRUPT]), label="value")
        row = data.draw(st.integers(1, len(rows) - 1), label="row")
        column = header.index(data.draw(st.sampled_from(pools[value]), label="column"))
        changed[(row, column)] = value
    for (row, column), value in changed.items():
        rows[row][column] = value
    receipt = check(write_table(rows, tmp_path / f"{source.stem}{suffix}"))
    expected = {(r + 1, f"{column_letter(c)}{r + 1}") for r, c in changed}
    assert set(_places(receipt)) == expected
    # once per (cell, rule): a cell may break two rules (a bad date where none is allowed)
    rules = [(f.cell, f.code) for f in receipt.findings.listed]
    assert len(rules) == len(set(rules))
    assert receipt.layer == "record"


def test_cart_blank_template_names_each_empty_element_once_where_it_is(tmp_path: Path) -> None:
    from gateway_plugins.hospital.cart.template import cart_template

    path = tmp_path / "cart-template.xml"
    path.write_bytes(cart_template(2015))
    receipt = check(path)
    listed = [f.as_dict() for f in receipt.findings.listed]
    keys = [(f["code"], f["xpath"], f["column"]) for f in listed]
    assert len(keys) == len(set(keys)), "a finding is listed twice"
    lines = path.read_text().splitlines()
    header = {f["column"]: f for f in listed if f["column"] in ("provider-id",
                                                               "discharge-quarter")}
    assert header["provider-id"]["xpath"] == "/hospital-measures/provider-id"
    assert "<provider-id" in lines[header["provider-id"]["line"] - 1]
    assert header["discharge-quarter"]["xpath"] == "/hospital-measures/discharge-quarter"
    assert "<discharge-quarter" in lines[header["discharge-quarter"]["line"] - 1]
    assert sum(f["column"] == "provider-id" for f in listed) == 1
    from gateway.engine.pipeline import default_plugins
    from gateway.receipts.text import render_text

    text = render_text(receipt, default_plugins().catalog)
    assert text.count("/hospital-measures/provider-id") == 1
    assert "<denominator> is missing" in text and text.count("<denominator> is missing") == 1
    for finding in listed:  # every empty measure field at its own element and line
        if finding["column"] in ("denominator", "numerator", "cases"):
            element = finding["xpath"].rsplit("/", 1)[-1]
            assert element == finding["column"]
            assert f"<{element}" in lines[finding["line"] - 1]


def test_xml_route_findings_carry_xpath_and_line() -> None:
    path = ROOT / ("plugins/hospital/cart/examples/2015/CART/summary/invalid/"
                   "E-ROUTE-YEAR--reporting-year-2013.xml")
    finding = check(path).findings.listed[0].as_dict()
    assert finding["code"] == "E-ROUTE-YEAR"
    assert finding["xpath"] == "/hospital-measures/reporting-year"
    assert "<reporting-year>" in path.read_text().splitlines()[finding["line"] - 1]
    assert "row" not in finding and "cell" not in finding


def test_unrecognised_xml_is_located_at_its_root(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text('<?xml version="1.0"?>\n<other-root><a>1</a></other-root>\n')
    finding = check(path).findings.listed[0].as_dict()
    assert (finding["code"], finding["xpath"], finding["line"]) == (
        "E-ROUTE-UNRECOGNISED", "/other-root", 2)


def test_encoding_problem_of_a_csv_names_row_and_line(tmp_path: Path) -> None:
    rows = read_rows(ODC_PATIENT)
    rows[2][3] = "MRN01\n002"  # a quoted line break: row 3 spans lines 3 and 4
    lines = ["\n".join(",".join(f'"{c}"' if "\n" in c else c for c in r) for r in rows[:4])]
    bad = ",".join(rows[4]).replace("MHCP", "M\xe9CP").replace("PRIVATE", "PRIV\xc9")
    path = tmp_path / "latin.csv"
    path.write_bytes(lines[0].encode() + b"\n" + bad.encode("cp1252") + b"\n")
    receipt = check(path)
    finding = receipt.findings.listed[0].as_dict()
    assert finding["code"] == "E-FILE-ENCODING"
    assert (finding["row"], finding["line"]) == (5, 6)
    assert receipt.file.format == "csv"
    assert "Windows-1252" in finding["message"]


def test_encoding_problem_of_xml_keeps_its_format_and_an_xml_fix(tmp_path: Path) -> None:
    source = ROOT / "plugins/hospital/cart/examples/2015/CART/summary/valid/cart-2015q1-pps.xml"
    text = source.read_bytes().replace(b"<measure ", "<!-- r\xe9sum\xe9 -->\n  <measure ".encode(
        "cp1252"), 1)
    path = tmp_path / "cart.xml"
    path.write_bytes(text)
    receipt = check(path)
    finding = receipt.findings.listed[0].as_dict()
    assert finding["code"] == "E-FILE-ENCODING"
    assert receipt.file.format == "xml"
    assert finding["xpath"] == "/hospital-measures" and finding["line"] >= 2
    assert "CSV" not in finding["hint"] and "CSV" not in finding["message"]


def test_extra_cell_on_the_first_data_row_is_a_malformed_row(tmp_path: Path) -> None:
    for index in (1, 9):
        rows = read_rows(ODC_PATIENT)
        rows[index].append("extra")
        receipt = check(write_table(rows, tmp_path / "extra.csv"))
        [finding] = receipt.findings.listed
        assert finding.code == "E-FILE-MALFORMED"
        assert (finding.row, finding.line) == (index + 1, index + 1)
        assert f"has {len(rows[0]) + 1} cells but the header has {len(rows[0])}" in \
            finding.message


def test_short_row_is_said_and_its_missing_required_cells_named(tmp_path: Path) -> None:
    rows = read_rows(ODC_PATIENT)
    header = rows[0]
    rows[3] = rows[3][:15]
    receipt = check(write_table(rows, tmp_path / "short.csv"))
    short = [f for f in receipt.findings.listed if f.code == "W-RECORD-SHORT-ROW"]
    assert [(f.row, f.cell) for f in short] == [(4, f"{column_letter(15)}4")]
    assert "15 cells but the header has 21" in short[0].message
    required = {f.cell for f in receipt.findings.listed if f.code == "E-RECORD-REQUIRED"}
    assert required == {f"{column_letter(header.index(n))}4" for n in ("ivd", "tobacco_status")}


def test_short_row_missing_only_empty_optional_cells_is_accepted_with_a_warning(
        tmp_path: Path) -> None:
    rows = read_rows(ODC_SUMMARY)
    index = next(i for i, r in enumerate(rows) if i and r[-1] == "" and r[-2] == "")
    rows[index] = rows[index][:-2]  # the trailing empty cells left out, as some exports do
    receipt = check(write_table(rows, tmp_path / "short.csv"))
    assert receipt.status.value == "accepted_with_warnings"
    assert [(f.code, f.row) for f in receipt.findings.listed] == [
        ("W-RECORD-SHORT-ROW", index + 1)]


def test_unclosed_quote_names_the_row_and_line_it_begins_on(tmp_path: Path) -> None:
    rows = read_rows(ODC_PATIENT)
    lines = [",".join(r) for r in rows[:6]]
    lines[3] = lines[3].replace("MRN", '"MRN', 1)  # row 4's quote is never closed
    path = tmp_path / "quote.csv"
    path.write_text("\n".join(lines) + "\n")
    [finding] = check(path).findings.listed
    assert (finding.code, finding.row, finding.line) == ("E-FILE-MALFORMED", 4, 4)


def test_the_recognised_format_is_in_the_receipt_of_a_file_rejected_for_it(tmp_path: Path
                                                                            ) -> None:
    misnamed = tmp_path / "cart.csv"
    misnamed.write_text('<?xml version="1.0"?>\n<hospital-measures/>\n')
    assert check(misnamed).file.format == "xml"
    malformed = ROOT / ("plugins/hospital/cart/examples/2015/CART/summary/invalid/"
                        "E-FILE-MALFORMED--unclosed-element.xml")
    receipt = check(malformed)
    assert receipt.file.format == "xml"
    assert receipt.findings.listed[0].as_dict()["xpath"] == "/hospital-measures"
