"""Whole-plugin conformance: what a plugin must satisfy before a program installs it.

``plugin_problems`` asks one plugin everything the gateway and its users rely on and returns
every shortfall at once (a list of ``Problem``, empty when the plugin conforms), so an author
fixes them in one pass instead of one failing assertion at a time:

- every schema it ships is valid against its metaschema, and every record schema has a title,
  a description and a description for each column;
- every declared (measure, level, year) is complete: a schema, a calendar whose last window
  closes in the reporting year, a valid and an invalid example;
- examples run in the order the families declare their measures, valid before invalid, with
  one temporary ledger: an accepted valid example's reference data is remembered, so a
  file that rests on earlier ones (an opioid QI plan on the feed) is judged as in a gateway;
- every valid example is accepted and routed to its own folder's measure, level and year;
  every invalid one is rejected with exactly the code its name starts with, each finding
  located; every routed example is claimed by exactly one family among all installed plugins;
- no ``TODO(new-measure)`` marker left by ``gateway new-measure`` in the plugin's files;
- every file the plugin generates from its data (hook ``gateway_artifacts``: schemas from a
  manifest, derived examples) is what the generator makes today, else the problem names
  ``gateway regenerate FAMILY``.

``gateway.testing.check_plugin`` is the pytest face of this module.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError as MetaschemaError

from gateway.contract.records import FamilyInfo, Route
from gateway.engine.plugins import ENTRY_POINT_GROUP, Plugins, load_plugins
from gateway.engine.schemas import SchemaError, inline_refs
from gateway.receipts.model import Receipt, Status
from gateway.receipts.schema import receipt_errors
from gateway.site.reference.store import remember

TODO_MARKER = "TODO(new-measure)"
EXAMPLE_SUFFIXES = {".csv", ".xlsx", ".xml"}
TEXT_SUFFIXES = {".py", ".toml", ".json", ".csv", ".xml", ".md", ".txt", ".cfg"}
# codes given before a file is routed: such an invalid example is claimed by no family
UNROUTED_PREFIXES = ("E-FILE-", "E-ROUTE-")


@dataclass(frozen=True)
class Problem:
    """One shortfall: where (a layout, a schema, an example) and what is wrong."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass(frozen=True)
class ExampleCase:
    """One example file and what the gateway must say about it."""

    path: Path
    valid: bool
    expected_code: str | None

    @property
    def id(self) -> str:
        return "/".join(self.path.parts[-5:])

    @property
    def folder_route(self) -> tuple[int, str, str] | None:
        """(year, measure, level) from ``<year>/<measure>/<level>/valid|invalid/<file>``."""
        year, measure, level = self.path.parts[-5:-2]
        return (int(year), measure.upper(), level) if year.isdigit() else None


def example_cases(root: Path | Traversable) -> list[ExampleCase]:
    """Every example under ``root`` (any depth), valid ones and invalid ones."""
    root = Path(str(root))
    cases = []
    for path in sorted(root.rglob("*")) if root.is_dir() else ():
        if path.suffix.lower() not in EXAMPLE_SUFFIXES or not path.is_file():
            continue
        kind = path.parent.name
        if kind == "valid":
            cases.append(ExampleCase(path, True, None))
        elif kind == "invalid":
            cases.append(ExampleCase(path, False, path.name.split("--", 1)[0]))
    return cases


def example_problems(case: ExampleCase, plugins: Plugins,
                     options: dict[str, str] | None = None, ledger: Path | None = None
                     ) -> tuple[Receipt, list[str]]:
    """Validate an example through the real pipeline (reading reference data from the SQLite
    ``ledger``, when given); what is wrong with the verdict."""
    from gateway.engine.pipeline import validate_file

    receipt = validate_file(case.path, submitter="example", plugins=plugins, options=options,
                            ledger=ledger)
    problems = [f"receipt does not match its schema: {e}"
                for e in receipt_errors(receipt.as_dict())]
    codes = sorted(receipt.findings.by_code)
    errors = [code for code in codes if code.startswith("E-")]
    if case.valid:
        if receipt.status is Status.REJECTED:
            problems.append(f"a valid example was rejected with {', '.join(errors)}: "
                            + "; ".join(f.message for f in receipt.findings.listed[:3]))
        return receipt, problems
    if receipt.status is not Status.REJECTED:
        problems.append(f"an invalid example was accepted (expected {case.expected_code})")
    elif errors != [case.expected_code]:
        problems.append(f"expected only {case.expected_code}, got {', '.join(errors)}")
    elif receipt.layer != "file":  # file-layer findings may concern the whole file
        for finding in receipt.findings.listed:
            if not (finding.row or finding.cell or finding.xpath or finding.line
                    or finding.column):
                problems.append(f"{finding.code} names no place in the file")
    return receipt, problems


def resolve_plugin(plugin: str | object, plugins: Plugins | None = None) -> tuple[str, Plugins]:
    """The registered name of ``plugin`` (an installed plugin's name, a family id it declares,
    or a plugin object) and the plugin set to check it in: every installed plugin, plus the
    object when it is not installed."""
    if not isinstance(plugin, str):
        if plugins is None or not plugins.pm.is_registered(plugin):
            plugins = with_plugin(plugin)
        return plugins.pm.get_name(plugin), plugins
    plugins = plugins or load_plugins()
    if plugins.pm.get_plugin(plugin) is not None:
        return plugin, plugins
    if plugin in plugins.owners:
        return plugins.owners[plugin], plugins
    known = ", ".join(sorted(set(plugins.owners.values())))
    raise LookupError(f"no installed plugin or family is named {plugin!r}; installed: {known}")


def with_plugin(plugin: object) -> Plugins:
    """The installed plugins plus ``plugin`` (which may itself be installed already)."""
    installed = load_plugins()
    return installed if installed.pm.is_registered(plugin) else load_plugins([plugin])


def plugin_problems(plugin: str | object, plugins: Plugins | None = None) -> list[Problem]:
    """Every way ``plugin`` falls short of the plugin contract (empty when it conforms)."""
    name, plugins = resolve_plugin(plugin, plugins)
    families = [info for family, info in plugins.families.items()
                if plugins.owners[family] == name]
    if not families:
        return [Problem(name, "declares no family (gateway_families returns none)")]
    schema_dirs = _answers(plugins, name, "gateway_schema_dirs")
    problems = list(_schema_problems(plugins, schema_dirs))
    problems.extend(_unused_schemas(plugins, families, schema_dirs))
    example_dirs = _answers(plugins, name, "gateway_example_dirs")
    if not example_dirs:
        problems.append(Problem(name, "ships no examples (implement gateway_example_dirs)"))
    cases = _in_declared_order(families, [case for folder in example_dirs
                                          for case in example_cases(folder)])
    for family in families:
        problems.extend(_layout_problems(plugins, family, cases))
    with tempfile.TemporaryDirectory(prefix="gateway-conformance-") as state:
        problems.extend(_run_examples(plugins, {f.family for f in families}, cases,
                                      Path(state) / "ledger.sqlite3"))
    problems.extend(_todo_problems(_source_folders(plugins, name, example_dirs)))
    problems.extend(stale_artifacts(plugins, name))
    return problems


def stale_artifacts(plugins: Plugins, name: str, *,
                    schemas_only: bool = False) -> Iterator[Problem]:
    """Generated files of plugin ``name`` (only its schemas, with ``schemas_only``) that differ
    from what its generator makes from the data today (or are missing), each naming the
    command that rewrites them. A file the data cannot make now is left to the other checks."""
    for artifact in _answers(plugins, name, "gateway_artifacts"):
        if schemas_only and not artifact.schema:
            continue
        path = Path(artifact.path)
        current = path.read_text("utf-8") if path.is_file() else None
        expected = artifact.render()
        if expected is None or current == expected:
            continue
        state = "is missing" if current is None else "differs from"
        yield Problem(f"generated file {'/'.join(path.parts[-5:])}",
                      f"{state} what {artifact.generator} makes from the data today (a "
                      f"manifest edited without regenerating?): run "
                      f"`{artifact.regenerate_command}`")


def _in_declared_order(families: list[FamilyInfo],
                       cases: list[ExampleCase]) -> list[ExampleCase]:
    """Examples in the order the families declare their measures, then by year, valid ones of
    a layout before its invalid ones: a family whose files build on earlier accepted files
    (reference data) declares the feeding measure first."""
    order = {m.measure.upper(): i for f in families for i, m in enumerate(f.measures)}

    def key(case: ExampleCase) -> tuple[int, int, str, bool, str]:
        year, measure, level = case.folder_route or (0, "", "")
        return order.get(measure, len(order)), year, level, not case.valid, case.path.name
    return sorted(cases, key=key)


def _answers(plugins: Plugins, name: str, hook: str) -> list[Any]:
    """One plugin's answers to a collecting, argument-free hook."""
    return [item for impl in getattr(plugins.hook, hook).get_hookimpls()
            if impl.plugin_name == name for item in impl.function() or ()]


def _walk_json(folder: Traversable) -> Iterator[Traversable]:
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from _walk_json(entry)
        elif entry.name.endswith(".json"):
            yield entry


def _schema_problems(plugins: Plugins, folders: Iterable[Traversable]) -> Iterator[Problem]:
    import json

    for folder in folders:
        if not folder.is_dir():
            yield Problem(str(folder), "schema folder does not exist")
            continue
        for entry in _walk_json(folder):
            try:
                Draft202012Validator.check_schema(json.loads(entry.read_text("utf-8")))
            except (ValueError, MetaschemaError) as err:
                yield Problem(f"schema {entry.name}", f"not a valid JSON Schema: "
                              f"{getattr(err, 'message', err)}")


def _unused_schemas(plugins: Plugins, families: list[FamilyInfo],
                    folders: Iterable[Traversable]) -> Iterator[Problem]:
    """Record schemas (those with columns) that no declared year routes to: a year left out
    of the manifest, or a file left behind."""
    import json

    used = {plugins.hook.gateway_schema_id(route=Route(f.family, m.measure, level, year))
            for f in families for m in f.measures for level in m.levels
            for year in m.reporting_years}
    for folder in folders:
        for entry in _walk_json(folder) if folder.is_dir() else ():
            try:
                document = json.loads(entry.read_text("utf-8"))
            except ValueError:
                continue  # reported as an invalid schema
            if isinstance(document, dict) and "properties" in document \
                    and document.get("$id") not in used:
                yield Problem(f"schema {entry.name}", f"{document.get('$id')} is used by no "
                              "declared year: declare the year in the manifest or remove it")


def _description_problems(schema: dict[str, Any]) -> Iterator[str]:
    for key in ("title", "description"):
        if not str(schema.get(key, "")).strip():
            yield f"the schema has no {key}"
    for column, definition in schema.get("properties", {}).items():
        if not isinstance(definition, dict) or not str(definition.get("description", "")).strip():
            yield f"column {column} has no description"


def _layout_problems(plugins: Plugins, family: FamilyInfo,
                     cases: list[ExampleCase]) -> Iterator[Problem]:
    shown = {(case.folder_route, case.valid) for case in cases}
    for measure in family.measures:
        if not measure.reporting_years:
            yield Problem(f"{family.family} {measure.measure}", "declares no reporting year")
        for level in measure.levels:
            for year in measure.reporting_years:
                route = Route(family.family, measure.measure, level, year)
                where = f"{family.family} {measure.measure} {level} {year}"
                for what in _route_problems(plugins, route):
                    yield Problem(where, what)
                for valid, kind in ((True, "valid"), (False, "invalid")):
                    if ((year, measure.measure.upper(), level), valid) not in shown:
                        yield Problem(where, f"no {kind} example (examples/{year}/"
                                      f"{measure.measure.lower()}/{level}/{kind}/)")


def _route_problems(plugins: Plugins, route: Route) -> Iterator[str]:
    schema_id = plugins.hook.gateway_schema_id(route=route)
    if not schema_id:
        yield "declared but gateway_schema_id gives no schema"
    else:
        try:
            yield from _description_problems(inline_refs(plugins.schemas.get(schema_id),
                                                         plugins.schemas))
        except SchemaError as err:
            yield str(err)
    periods = plugins.hook.gateway_calendar(route=route)
    if not periods:
        yield "no calendar (gateway_calendar gives no period for the year)"
        return
    for period in periods:
        if period.dates_of_service[0] > period.dates_of_service[1] or \
                period.window[0] > period.window[1]:
            yield f"calendar period {period.label} ends before it starts"
    if max(p.window[1] for p in periods).year != route.reporting_year:
        yield ("the calendar's last window does not close in the reporting year (the "
               "reporting year is the year the data are due)")


def _run_examples(plugins: Plugins, families: set[str], cases: list[ExampleCase],
                  ledger: Path | None = None) -> Iterator[Problem]:
    """Run the examples in order; with a SQLite ``ledger``, an accepted valid example's
    reference data is remembered there, so later examples are judged against it as in a running
    gateway."""
    for case in cases:
        receipt, problems = example_problems(case, plugins, ledger=ledger)
        if ledger is not None and case.valid and not problems:
            remember(ledger, receipt)
        for what in problems:
            yield Problem(f"example {case.id}", what)
        route = receipt.route
        unrouted = not case.valid and str(case.expected_code).startswith(UNROUTED_PREFIXES)
        if route is None:
            if not unrouted and not problems:
                yield Problem(f"example {case.id}", "claimed by no family")
            continue
        if route.family not in families:
            yield Problem(f"example {case.id}", f"routed to family {route.family}, "
                          "which is another plugin's")
        elif case.folder_route and not unrouted and case.folder_route != (
                route.reporting_year, route.measure.upper(), route.level):
            year, measure, level = case.folder_route
            yield Problem(f"example {case.id}", f"lies under {year}/{measure}/{level} but is "
                          f"routed to {route.measure} {route.level} {route.reporting_year}")


def _source_folders(plugins: Plugins, name: str,
                    example_dirs: list[Traversable]) -> list[Path]:
    """The plugin's package folder, schema folders and example folders."""
    folders = [Path(str(d)) for d in
               (*_answers(plugins, name, "gateway_schema_dirs"), *example_dirs)]
    module = _plugin_module(plugins.pm.get_plugin(name), name)
    if module is not None and getattr(module, "__file__", None):
        folders.append(Path(module.__file__).parent)
    return folders


def _plugin_module(plugin: object, name: str) -> Any:
    """The module that defines ``plugin``: itself, its entry point's module, or its class's."""
    if hasattr(plugin, "__file__"):
        return plugin
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return importlib.import_module(ep.module)
    return importlib.import_module(getattr(plugin, "package", type(plugin).__module__))


def _todo_problems(folders: Iterable[Path]) -> Iterator[Problem]:
    seen: set[Path] = set()
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path in seen or path.suffix not in TEXT_SUFFIXES or not path.is_file():
                continue
            seen.add(path)
            text = path.read_text("utf-8", errors="replace")
            if TODO_MARKER not in text:
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if TODO_MARKER in line:
                    yield Problem(f"{path.relative_to(folder.parent)} line {number}",
                                  f"unresolved scaffold marker: "
                                  f"{line.strip()[:160]}")
