"""The ``demo_copy`` fixture (a private, editable copy of the demo data family for each test
that breaks it) and the reporting-year comparison in the terminal summary."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest

from tests.support.demo import DEMO, DemoCopy

_numbers = count()


@pytest.fixture
def demo_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoCopy]:
    name = f"demo_copy_{next(_numbers)}"
    shutil.copytree(DEMO, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield DemoCopy(name, tmp_path / name)
    for key in [k for k in sys.modules if k == name or k.startswith(f"{name}.")]:
        del sys.modules[key]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show ODC 2015 and 2016 side by side (numerator/denominator and rate per component)
    when the reporting-year tests ran, so CI's log carries the comparison."""
    from tests.kit.test_reporting_years import SIDE_BY_SIDE

    if len(SIDE_BY_SIDE) < 2:
        return
    terminalreporter.write_sep("-", "ODC on the same patients, each year under its own rules")
    terminalreporter.write_line(f"{'component':<10}" + "".join(
        f"{year:>22}" for year in sorted(SIDE_BY_SIDE)))
    for name in SIDE_BY_SIDE[min(SIDE_BY_SIDE)]:
        cells = "".join(f"{_cell(*SIDE_BY_SIDE[year][name]):>22}"
                        for year in sorted(SIDE_BY_SIDE))
        terminalreporter.write_line(f"{name:<10}{cells}")


def _cell(numerator: int, denominator: int, rate: float) -> str:
    return f"{numerator}/{denominator} = {rate:.1f}%"
