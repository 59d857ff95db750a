"""The generated specification: built here as CI builds it, one page per layout, every column,
record rule, file rule and finding code in it, and no schema property left undescribed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.authoring.describe import FORMAT_WORDS, file_rules, record_rules
from gateway.authoring.docs import ERROR_CODES, INDEX, write_docs
from gateway.authoring.layouts import Layout
from gateway.cli import app
from gateway.engine.records import FORMAT_CHECKS
from tests.support.layouts import LAYOUTS, PLUGINS, layout_params


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spec")
    write_docs(PLUGINS, out)
    return out


def test_every_declared_measure_level_and_year_has_a_page(spec: Path) -> None:
    declared = {(f.family, m.measure, level, year) for f in PLUGINS.families.values()
                for m in f.measures for level in m.levels for year in m.reporting_years}
    assert {(lay.family.family, lay.measure.measure, lay.level, lay.year)
            for lay in LAYOUTS} == declared
    index = (spec / INDEX).read_text(encoding="utf-8")
    for layout in LAYOUTS:
        assert (spec / layout.spec_page).is_file(), layout.label
        assert f"]({layout.spec_page})" in index, f"{layout.label} not linked from the index"


@pytest.mark.parametrize("layout", layout_params(LAYOUTS))
def test_page_lists_columns_record_rules_and_file_rules(spec: Path, layout: Layout) -> None:
    page = (spec / layout.spec_page).read_text(encoding="utf-8")
    for column in layout.columns:
        assert f"| `{column.name}` |" in page, f"column {column.name} missing"
    for rule in record_rules(layout):
        assert rule.message, f"a required-if rule of {layout.label} has no x-message"
        row = [" ".join(text.split()).replace("<", "&lt;")
               for text in (rule.condition, rule.effect, rule.message)]
        assert f"| {' | '.join(row)} |" in page, f"record rule missing: {row}"
    for code, title in file_rules(PLUGINS, layout):
        assert code and title, f"a file rule of {layout.label} lacks a code or title"
        assert code in PLUGINS.catalog, f"file rule code {code} is not in the catalog"
        assert f"| `{code}` |" in page
    assert f"](../../{ERROR_CODES})" in page


def test_error_codes_page_has_every_code_with_meaning_and_fix(spec: Path) -> None:
    page = (spec / ERROR_CODES).read_text(encoding="utf-8")
    for code in PLUGINS.catalog:
        line = next((x for x in page.splitlines() if x.startswith(f"| `{code.code}` |")), None)
        assert line is not None, f"{code.code} missing"
        assert code.severity.value in line and code.meaning.split()[0] in line


def test_every_schema_property_has_a_description() -> None:
    """The pages and the template notes print each column's description; none may be blank."""
    missing = [f"{layout.schema_id} -> {name}" for layout in LAYOUTS
               for name, prop in layout.schema.get("properties", {}).items()
               if not str(prop.get("description", "")).strip()]
    assert not missing, "schema properties without a description:\n" + "\n".join(missing)


def test_every_value_form_is_described_in_words() -> None:
    used = {c.format for layout in LAYOUTS for c in layout.columns if c.format}
    assert used | set(FORMAT_CHECKS) <= set(FORMAT_WORDS)


def test_docs_command_writes_the_pages(tmp_path: Path) -> None:
    run = CliRunner().invoke(app, ["docs", "--out", str(tmp_path / "spec")])
    assert run.exit_code == 0, run.output
    assert (tmp_path / "spec" / INDEX).is_file()
    assert len(list((tmp_path / "spec").rglob("*.md"))) == len(LAYOUTS) + 2
