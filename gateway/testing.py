"""The plugin author's test kit, a pytest plugin (``pytest_plugins = "gateway.testing"``; it is
also registered through the ``pytest11`` entry point).

A family's examples live in ``examples/<year>/<measure>/<level>/valid/`` and ``.../invalid/``;
an invalid file is named ``<EXPECTED-CODE>--what-it-breaks.<ext>``. ``example_cases`` turns such
a tree into parametrised cases and ``check_example`` runs one through the real pipeline, checking
the verdict, the expected code, a location for every finding and the receipt's schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.pipeline import validate_file
from gateway.plugin_manager import Plugins
from gateway.receipts.model import Receipt, Status
from gateway.receipts.schema import receipt_errors

EXAMPLE_SUFFIXES = {".csv", ".xlsx", ".xml"}


@dataclass(frozen=True)
class ExampleCase:
    """One example file and what the gateway must say about it."""

    path: Path
    valid: bool
    expected_code: str | None

    @property
    def id(self) -> str:
        return "/".join(self.path.parts[-5:])


def example_cases(root: Path) -> list[ExampleCase]:
    """Every example under ``root`` (any depth), valid ones and invalid ones."""
    cases = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in EXAMPLE_SUFFIXES or not path.is_file():
            continue
        kind = path.parent.name
        if kind == "valid":
            cases.append(ExampleCase(path, True, None))
        elif kind == "invalid":
            cases.append(ExampleCase(path, False, path.name.split("--", 1)[0]))
    return cases


def example_params(root: Path) -> list[pytest.param]:
    """``example_cases`` as pytest parameters with readable ids."""
    return [pytest.param(case, id=case.id) for case in example_cases(root)]


def check_example(case: ExampleCase, plugins: Plugins | None = None,
                  options: dict[str, str] | None = None) -> Receipt:
    """Validate an example and assert what a submitter would rely on."""
    receipt = validate_file(case.path, submitter="example", plugins=plugins, options=options)
    document = receipt.as_dict()
    assert receipt_errors(document) == [], receipt_errors(document)
    codes = sorted(receipt.findings.by_code)
    if case.valid:
        assert receipt.status is not Status.REJECTED, f"{case.id} rejected: {codes}"
        return receipt
    assert receipt.status is Status.REJECTED, f"{case.id} was accepted"
    errors = sorted(code for code in codes if code.startswith("E-"))
    assert errors == [case.expected_code], \
        f"{case.id}: expected only {case.expected_code}, got {errors}"
    if receipt.layer != "file":  # file-layer findings may concern the whole file
        for finding in receipt.findings.listed:
            located = (finding.row or finding.cell or finding.xpath or finding.line
                       or finding.column)
            assert located, f"{case.id}: {finding.code} names no place in the file"
    return receipt


@pytest.fixture
def gateway_validate():
    """Validate a path with the installed plugins and return the receipt."""
    def run(path: Path, submitter: str = "test", **options: str) -> Receipt:
        return validate_file(path, submitter=submitter, options=options)
    return run
