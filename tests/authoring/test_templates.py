"""Templates as a submitter uses them: filled with a valid example's rows they are accepted,
left blank they are rejected as empty, and the workbook's drop-downs and notes come from the
schema and cannot be turned into formulas."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from lxml import etree
from typer.testing import CliRunner

from gateway.authoring.layouts import Layout, LayoutError, find_layout, find_measure
from gateway.authoring.template import (
    CODES_SHEET,
    NOTES_HEADER,
    NOTES_SHEET,
    TemplateUnavailable,
    safe_text,
    write_template,
)
from gateway.cli import app
from gateway.contract.hooks import hookimpl
from gateway.contract.records import FamilyInfo, MeasureInfo
from gateway.engine.pipeline import validate_file
from gateway.engine.plugins import load_plugins
from gateway.engine.records import Column
from gateway.readers.tables import DATA_SHEET
from gateway.receipts.model import Status
from tests.support.layouts import (
    PLUGINS,
    TABLE_LAYOUTS,
    example_rows,
    layout_params,
    valid_example,
)
from tests.support.paths import ROOT

FORMATS = ("csv", "xlsx")


def _cell(column: Column | None, text: str) -> object:
    """A value as a person types it into Excel: numbers as numbers, everything else as text."""
    if text == "":
        return None
    try:
        if column is not None and column.kind == "integer":
            return int(text)
        if column is not None and column.kind == "number":
            return float(text)
    except ValueError:
        pass
    return text


def _fill(layout: Layout, template: Path, rows: list[dict[str, str]]) -> None:
    """Write rows under the template's own header, in its column order."""
    if template.suffix == ".csv":
        with template.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle))
        with template.open("a", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerows([row.get(name, "") for name in header] for row in rows)
        return
    book = openpyxl.load_workbook(template)
    sheet = book[DATA_SHEET]
    header = [cell.value for cell in sheet[1]]
    columns = {c.name: c for c in layout.columns}
    for row in rows:
        sheet.append([_cell(columns.get(name), row.get(name, "")) for name in header])
    book.save(template)


def test_every_table_layout_has_a_valid_example_to_fill() -> None:
    missing = [layout.label for layout in TABLE_LAYOUTS if valid_example(layout) is None]
    assert not missing, f"no valid example to fill the template of: {missing}"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layout", layout_params(TABLE_LAYOUTS))
def test_template_filled_with_the_valid_example_is_accepted(layout: Layout, fmt: str,
                                                            tmp_path: Path) -> None:
    example = valid_example(layout)
    assert example is not None
    names, rows = example_rows(example)
    template_columns = [c.name for c in layout.columns]
    assert set(names) <= set(template_columns), set(names) - set(template_columns)
    path = write_template(layout, fmt, tmp_path / f"{layout.slug}.{fmt}", PLUGINS)
    _fill(layout, path, rows)
    receipt = validate_file(path, submitter="template-test", plugins=PLUGINS)
    assert receipt.status is not Status.REJECTED, [
        (f.code, f.cell, f.message) for f in receipt.findings.listed]
    assert receipt.route is not None and receipt.route.schema == layout.schema_id
    assert receipt.records == len(rows)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layout", layout_params(TABLE_LAYOUTS))
def test_blank_template_is_rejected_as_empty(layout: Layout, fmt: str, tmp_path: Path) -> None:
    path = write_template(layout, fmt, tmp_path / f"{layout.slug}.{fmt}", PLUGINS)
    receipt = validate_file(path, submitter="template-test", plugins=PLUGINS)
    assert receipt.status is Status.REJECTED
    assert sorted(receipt.findings.by_code) == ["E-FILE-EMPTY"]


def test_workbook_has_data_notes_and_a_drop_down_per_coded_column(tmp_path: Path) -> None:
    layout = find_layout(PLUGINS, "odc", level="patient", year=2015)
    book = openpyxl.load_workbook(write_template(layout, "xlsx", tmp_path / "odc.xlsx", PLUGINS))
    assert book.sheetnames[:2] == [DATA_SHEET, NOTES_SHEET]
    data = book[DATA_SHEET]
    header = [cell.value for cell in data[1]]
    assert header == [c.name for c in layout.columns]
    lists = {}
    for check in data.data_validations.dataValidation:
        assert check.type == "list"
        for ranges in check.sqref.ranges:
            lists[header[ranges.min_col - 1]] = (check.formula1, ranges.min_row)
    coded = {c.name: c.codes for c in layout.columns if c.codes}
    assert set(lists) == set(coded)
    assert lists["payer_type"] == ('"' + ",".join(coded["payer_type"]) + '"', 2)
    notes = list(book[NOTES_SHEET].iter_rows(values_only=True))
    assert notes[0] == NOTES_HEADER
    assert [row[0] for row in notes[1:]] == header
    by_name = {row[0]: row for row in notes[1:]}
    assert by_name["clinic_npi"][2] == "required"
    assert by_name["exclusion_reason"][2] == "conditional"
    assert "HOSPICE" in by_name["exclusion_reason"][3]
    assert all(row[4] for row in notes[1:]), "a column has no description"


def _synthetic(properties: dict, formats: tuple[str, ...] = ("csv", "xlsx")) -> Layout:
    family = FamilyInfo("test", "Test family", formats,
                        (MeasureInfo("T", "Test measure", ("summary",), (2015,)),))
    schema = {"title": "Test", "description": "A test layout.", "properties": properties}
    return Layout(family, family.measures[0], "summary", 2015, "urn:test", schema)


def test_long_code_list_is_a_range_on_the_hidden_codes_sheet(tmp_path: Path) -> None:
    codes = [f"INDICATOR-{i:03d}" for i in range(40)] + ["=SUM(A1)"]
    layout = _synthetic({"indicator": {"type": "string", "enum": codes, "description": "x"},
                         "short": {"type": "string", "enum": ["A", "B"], "description": "y"}})
    book = openpyxl.load_workbook(write_template(layout, "xlsx", tmp_path / "t.xlsx", PLUGINS))
    assert book.sheetnames == [DATA_SHEET, NOTES_SHEET, CODES_SHEET]
    assert book[CODES_SHEET].sheet_state == "hidden"
    formulas = sorted(v.formula1 for v in book[DATA_SHEET].data_validations.dataValidation)
    assert formulas == ['"A,B"', f"{CODES_SHEET}!$A$2:$A${len(codes) + 1}"]
    cells = [cell for (cell,) in book[CODES_SHEET].iter_rows(min_row=2, max_col=1)]
    assert [c.value for c in cells] == codes
    assert all(c.data_type != "f" for c in cells), "a code became a formula"


def test_notes_that_look_like_formulas_are_neutralised(tmp_path: Path) -> None:
    layout = _synthetic({
        "a": {"type": "string", "description": '=HYPERLINK("http://x","click")'},
        "b": {"type": "integer", "minimum": -5, "description": "-1 means unknown"},
        "c": {"type": "string", "description": "+1 or @here"}})
    book = openpyxl.load_workbook(write_template(layout, "xlsx", tmp_path / "t.xlsx", PLUGINS))
    for row in book[NOTES_SHEET].iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"
            assert not str(cell.value or "").startswith(("=", "+", "-", "@"))
    assert safe_text("=1+1") == "'=1+1" and safe_text("plain") == "plain"


def test_xml_family_writes_its_own_skeleton_and_refuses_tables(tmp_path: Path) -> None:
    cart = find_layout(PLUGINS, "cart", year=2015)
    path = write_template(cart, "xml", tmp_path / "cart.xml", PLUGINS)
    root = etree.parse(str(path)).getroot()
    assert root.tag == "{urn:mn-sqrms:cart:1}hospital-measures"
    ids = [m.get("id") for m in root.iter("{urn:mn-sqrms:cart:1}measure")]
    assert len(ids) == 10 and "AMI-7a" in ids and "HF-2" not in ids  # current measures only
    # filled with a valid example's values, the skeleton is accepted
    example = etree.parse(str(next(ROOT.glob(
        "plugins/hospital/cart/examples/2015/*/summary/valid/*2015q1*.xml")))).getroot()
    values = {(el.getparent().get("id"), etree.QName(el).localname): el.text
              for el in example.iter() if el.getparent() is not None}
    for element in root.iter():
        parent = element.getparent()
        if parent is None or not isinstance(element.tag, str):
            continue
        key = (parent.get("id"), etree.QName(element).localname)
        if key in values:
            element.text = values[key]
        elif parent.get("id") and element.text == "":
            parent.remove(element)  # a field the example leaves out (rate when denominator 0)
    for header in ("provider-id", "npi", "discharge-quarter"):
        root.find(f"{{urn:mn-sqrms:cart:1}}{header}").text = values[(None, header)]
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    receipt = validate_file(path, submitter="template-test", plugins=PLUGINS,
                            options={"hospital_type": "PPS"})
    assert receipt.status is not Status.REJECTED, [
        (f.code, f.xpath, f.message) for f in receipt.findings.listed]
    with pytest.raises(TemplateUnavailable, match="not as a table") as raised:
        write_template(cart, "xlsx", tmp_path / "x.xlsx", PLUGINS)
    assert cart.spec_page in str(raised.value)
    csv_only = _synthetic({"a": {"type": "string", "description": "x"}}, formats=("csv",))
    with pytest.raises(TemplateUnavailable, match="accepts csv, not xlsx"):
        write_template(csv_only, "xlsx", tmp_path / "y.xlsx", PLUGINS)


class _Clash:
    """A second family that also defines ODC, to exercise --family."""

    @hookimpl
    def gateway_families(self) -> list[FamilyInfo]:
        return [FamilyInfo("clash", "Clash", ("csv",),
                           (MeasureInfo("ODC", "Other ODC", ("summary",), (2015,)),))]


def test_measure_lookup_names_what_exists() -> None:
    with pytest.raises(LayoutError, match=r"unknown measure NOPE; known: .*ODC"):
        find_measure(PLUGINS, "NOPE")
    with pytest.raises(LayoutError, match="choose one with --level"):
        find_layout(PLUGINS, "ODC")
    with pytest.raises(LayoutError, match="no reporting year 1999; years: 2015"):
        find_layout(PLUGINS, "ODC", level="summary", year=1999)
    assert find_layout(PLUGINS, "stroke").level == "patient"  # one level: no --level needed
    clashing = load_plugins([_Clash()])
    with pytest.raises(LayoutError, match=r"several families .*--family"):
        find_measure(clashing, "odc")
    assert find_measure(clashing, "odc", family="mncm")[0].family == "mncm"


def test_template_command_writes_and_refuses(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "odc.csv"
    run = runner.invoke(app, ["template", "odc", "--level", "patient", "--year", "2015",
                              "--format", "csv", "--family", "mncm", "--out", str(out)])
    assert run.exit_code == 0, run.output
    with out.open(encoding="utf-8-sig", newline="") as handle:
        assert next(csv.reader(handle))[:3] == ["clinic_npi", "measure_id", "reporting_year"]
    run = runner.invoke(app, ["template", "cart", "--format", "xlsx", "--out",
                              str(tmp_path / "c.xlsx")])
    assert run.exit_code == 2 and "no CSV/XLSX template" in run.output
    run = runner.invoke(app, ["template", "cart", "--out", str(tmp_path / "c.xml")])
    assert run.exit_code == 0 and (tmp_path / "c.xml").read_bytes().startswith(b"<?xml")
    run = runner.invoke(app, ["template", "odc"])
    assert run.exit_code == 2 and "--level" in run.output
