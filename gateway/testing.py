"""The plugin author's conformance kit, a pytest plugin (``pytest_plugins = "gateway.testing"``;
it is also registered through the ``pytest11`` entry point, so installing the gateway enables it).

- ``check_plugin(name)``: one call that checks a whole installed plugin (see
  ``gateway.kit.conformance``) and fails with every shortfall listed;
- fixtures ``only_plugins`` (a plugin set holding only the given plugins) and
  ``register_plugin`` (an installed set plus one plugin, for one test, seen by every command);
- ``assert_accepted`` / ``assert_rejected`` / ``assert_receipt``: receipt checks with messages
  that show the findings;
- ``example_params`` and ``check_example``: one example file at a time, as parametrised tests.

A family's examples live in ``examples/<year>/<measure>/<level>/valid/`` and ``.../invalid/``;
an invalid file is named ``<EXPECTED-CODE>--what-it-breaks.<ext>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from gateway.engine.plugins import Plugins, load_plugins
from gateway.kit.conformance import (
    ExampleCase,
    Problem,
    example_cases,
    example_problems,
    plugin_problems,
    resolve_plugin,
    with_plugin,
)
from gateway.receipts.model import Receipt, Status

__all__ = [
    "ExampleCase", "assert_accepted", "assert_receipt", "assert_rejected", "check_example",
    "check_plugin", "example_cases", "example_params", "gateway_validate", "only_plugins",
    "register_plugin",
]


def check_plugin(plugin: str | object, plugins: Plugins | None = None) -> list[ExampleCase]:
    """Fail with every conformance problem of ``plugin`` (its entry-point name, a family id it
    declares, or a plugin object); return the examples that were run when it conforms.

    ``plugins`` defaults to every installed plugin (plus ``plugin`` when it is an object), so
    "claimed by exactly one family" is judged against what a real gateway would load.
    """
    name, plugins = resolve_plugin(plugin, plugins)
    problems = plugin_problems(name, plugins)
    if problems:
        raise AssertionError(_problem_text(name, problems))
    return [case for impl in plugins.hook.gateway_example_dirs.get_hookimpls()
            if impl.plugin_name == name for folder in impl.function() or ()
            for case in example_cases(folder)]


def _problem_text(name: str, problems: list[Problem]) -> str:
    lines = [f"plugin {name!r} fails {len(problems)} conformance check(s):"]
    lines += [f"  - {problem}" for problem in problems]
    return "\n".join(lines)


def example_params(root: Path) -> list[Any]:
    """``example_cases`` as pytest parameters with readable ids."""
    return [pytest.param(case, id=case.id) for case in example_cases(root)]


def check_example(case: ExampleCase, plugins: Plugins | None = None,
                  options: dict[str, str] | None = None) -> Receipt:
    """Validate an example and assert what a submitter would rely on: the verdict, exactly the
    expected code, a location for every finding and the receipt's schema."""
    from gateway.engine.pipeline import default_plugins

    receipt, problems = example_problems(case, plugins or default_plugins(), options)
    assert not problems, f"{case.id}: " + "; ".join(problems)
    return receipt


def _findings_text(receipt: Receipt) -> str:
    listed = [f"{f.code} at {f.cell or f.xpath or f.row or f.column or 'file'}: {f.message}"
              for f in receipt.findings.listed[:10]]
    return "\n  ".join(listed) or "no findings"


def assert_accepted(receipt: Receipt, *, warnings: Iterable[str] | None = None,
                    results: Mapping[str, Any] | None = None) -> Receipt:
    """The file was accepted; with ``warnings``, exactly those warning codes were given; with
    ``results``, those top-level result entries equal the given values."""
    assert receipt.status is not Status.REJECTED, (
        f"{receipt.file.name} was rejected at the {receipt.layer} layer:\n  "
        + _findings_text(receipt))
    if warnings is not None:
        got = sorted(c for c in receipt.findings.by_code if c.startswith("W-"))
        assert got == sorted(warnings), f"{receipt.file.name}: warnings {got}, expected " \
                                        f"{sorted(warnings)}"
    for key, value in (results or {}).items():
        actual = (receipt.results or {}).get(key)
        assert actual == value, f"{receipt.file.name}: results[{key!r}] is {actual!r}, " \
                                f"expected {value!r}"
    return receipt


def assert_rejected(receipt: Receipt, code: str, *, layer: str | None = None,
                    row: int | None = None, column: str | None = None,
                    only: bool = True) -> Receipt:
    """The file was rejected with ``code`` (and, when ``only``, no other error code); with
    ``row`` or ``column``, some finding of that code is located there."""
    errors = sorted(c for c in receipt.findings.by_code if c.startswith("E-"))
    assert receipt.status is Status.REJECTED, f"{receipt.file.name} was accepted " \
                                              f"(expected {code})"
    assert code in errors, f"{receipt.file.name}: expected {code}, got:\n  " \
                           + _findings_text(receipt)
    if only:
        assert errors == [code], f"{receipt.file.name}: expected only {code}, got {errors}"
    if layer is not None:
        assert receipt.layer == layer, f"{receipt.file.name}: rejected at the " \
                                       f"{receipt.layer} layer, expected {layer}"
    located = [f for f in receipt.findings.listed if f.code == code
               and (row is None or f.row == row) and (column is None or f.column == column)]
    assert located, f"{receipt.file.name}: no {code} at row={row} column={column}:\n  " \
                    + _findings_text(receipt)
    return receipt


def assert_receipt(receipt: Receipt, *, status: Status | str | None = None,
                   codes: Iterable[str] | None = None,
                   route: tuple[str, str, str, int] | None = None,
                   results: Mapping[str, Any] | None = None) -> Receipt:
    """Several receipt facts at once: ``status``, exactly the finding ``codes`` (errors and
    warnings), the ``route`` as (family, measure, level, year) and top-level ``results``."""
    name = receipt.file.name
    if status is not None:
        assert receipt.status == Status(status), (
            f"{name}: status {receipt.status.value}, expected {Status(status).value}:\n  "
            + _findings_text(receipt))
    if codes is not None:
        assert sorted(receipt.findings.by_code) == sorted(codes), (
            f"{name}: codes {sorted(receipt.findings.by_code)}, expected {sorted(codes)}")
    if route is not None:
        got = receipt.route and (receipt.route.family, receipt.route.measure,
                                 receipt.route.level, receipt.route.reporting_year)
        assert got == tuple(route), f"{name}: routed to {got}, expected {tuple(route)}"
    if results is not None:
        assert_accepted(receipt, results=results)
    return receipt


@pytest.fixture
def only_plugins() -> Callable[..., Plugins]:
    """A factory: ``only_plugins(plugin, ...)`` is a plugin set holding just those plugin
    objects (modules or objects with ``@hookimpl`` methods) and the core's own table reader,
    with no installed plugin loaded. Pass it as ``plugins=`` to ``validate_file`` or the kit."""
    def build(*plugins: object) -> Plugins:
        return load_plugins(plugins, entry_points=False)
    return build


@pytest.fixture
def register_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[object], Plugins]]:
    """A factory: ``register_plugin(plugin)`` loads the installed plugins plus ``plugin`` and
    makes that set this process's default (``gateway validate`` and ``gateway plugins`` run
    through typer's ``CliRunner``, ``validate_file`` without ``plugins=``, ``gateway_validate``
    see it) until the test ends. Worker processes the daemon starts load installed plugins."""
    import gateway.engine.pipeline

    def register(plugin: object) -> Plugins:
        plugins = with_plugin(plugin)
        monkeypatch.setattr(gateway.engine.pipeline, "default_plugins", lambda: plugins)
        return plugins
    yield register


@pytest.fixture
def gateway_validate() -> Callable[..., Receipt]:
    """Validate a path with the process's plugins (installed, or as ``register_plugin`` set
    them) and return the receipt; keyword arguments are operator options."""
    from gateway.engine.pipeline import validate_file

    def run(path: Path, submitter: str = "test", **options: str) -> Receipt:
        return validate_file(path, submitter=submitter, options=options)
    return run
