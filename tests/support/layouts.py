"""Layouts of the installed plugins and the shipped valid examples that fill their templates."""

from __future__ import annotations

import csv
from importlib.metadata import distribution
from pathlib import Path

import pytest

from gateway.authoring.layouts import Layout, all_layouts
from gateway.engine.pipeline import default_plugins
from gateway.engine.plugins import ENTRY_POINT_GROUP
from tests.support.paths import shipped

PLUGINS = default_plugins()
# Templates are filled with the families' valid examples: those this distribution ships. An
# outside plugin installed beside them (plugins/opioid, whose forms are valid only after its
# feed was accepted) tests its own templates.
FIRST_PARTY = {ep.name for ep in distribution("sqrms-gateway").entry_points
               if ep.group == ENTRY_POINT_GROUP}
LAYOUTS = all_layouts(PLUGINS)
TABLE_LAYOUTS = [layout for layout in LAYOUTS if layout.table_formats
                 and PLUGINS.owners[layout.family.family] in FIRST_PARTY]


def layout_params(layouts: list[Layout]) -> list[pytest.param]:
    return [pytest.param(layout, id=layout.label.replace(" ", "-")) for layout in layouts]


def valid_example(layout: Layout) -> Path | None:
    """The first valid CSV example of a layout, found by the kit's folder convention
    ``examples/<year>/<measure>/<level>/valid/`` (measure folders in any case)."""
    for path in shipped(f"**/examples/{layout.year}/*/{layout.level}/valid/*.csv"):
        if path.parents[2].name.lower() == layout.measure.measure.lower():
            return path
    return None


def example_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)
