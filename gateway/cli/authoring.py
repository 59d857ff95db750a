"""The authoring commands: ``template``, ``docs``, ``new-measure``, ``schema diff``,
``check-plugin`` and ``regenerate``.

``check-plugin`` exits 1 for a plugin that does not conform; a request that cannot be met
(unknown or ambiguous measure, a level or year the measure lacks, a template for an XML family,
a scaffold in an installed copy, an unknown plugin) is an operational error (exit 2).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import EXIT_NO, EXIT_OK, CommandError, operational
from gateway.readers.sniff import CSV, XLSX, XML

DEFAULT_DOCS = Path("docs") / "spec"


class TemplateFormat(StrEnum):
    """The formats a template can be written in (XML only for families that provide one)."""

    csv = CSV
    xlsx = XLSX
    xml = XML


def template(
    measure: Annotated[str, typer.Argument(help="The measure id, e.g. ODC (any case).")],
    level: Annotated[str | None, typer.Option(
        help="summary or patient; may be left out when the measure has one level.")] = None,
    year: Annotated[int | None, typer.Option(
        help="The reporting year (default: the latest the measure has).")] = None,
    fmt: Annotated[TemplateFormat | None, typer.Option(
        "--format", help="csv, xlsx or xml (default: xlsx, or the family's only format).")
    ] = None,
    family: Annotated[str | None, typer.Option(
        help="The family, when several families define the measure id.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Where to write (default: ./<measure>-<level>-<year>.<format>).",
        dir_okay=False)] = None,
) -> None:
    """Write a blank submission template generated from the measure's schema."""
    from gateway.authoring.layouts import find_layout
    from gateway.authoring.template import write_template
    from gateway.engine.pipeline import default_plugins

    with operational():
        plugins = default_plugins()
        layout = find_layout(plugins, measure, level=level, year=year, family=family)
        chosen = fmt.value if fmt else (XLSX if XLSX in layout.family.formats
                                        else layout.family.formats[0])
        path = write_template(layout, chosen, out or Path(f"{layout.slug}.{chosen}"), plugins)
    typer.echo(f"wrote {layout.label} template: {path}")


def docs(
    out: Annotated[Path, typer.Option(help="The folder to write the pages into.",
                                      file_okay=False)] = DEFAULT_DOCS,
) -> None:
    """Generate the submission specification (Markdown) from the plugins' schemas and rules."""
    from gateway.authoring.docs import write_docs
    from gateway.engine.pipeline import default_plugins

    written = write_docs(default_plugins(), out)
    typer.echo(f"wrote {len(written)} pages to {out}")


def new_measure(
    family: Annotated[str, typer.Argument(help="The family id, e.g. mncm (new ones allowed).")],
    measure: Annotated[str, typer.Argument(help="The measure id, e.g. ODC.")],
    year: Annotated[int, typer.Option(help="The reporting year to add.")],
    from_year: Annotated[int | None, typer.Option(
        help="The year to copy (default: the latest before --year).")] = None,
    path: Annotated[Path | None, typer.Option(
        help="The plugin's source tree (default: the working folder).", file_okay=False)] = None,
    level: Annotated[list[str], typer.Option(
        help="A new measure's levels (summary, patient; default patient).")] = [],  # noqa: B006
    package: Annotated[str | None, typer.Option(
        help="A new family's package name (default <family>_plugin).")] = None,
) -> None:
    """Scaffold a reporting year (copied from the previous one) or a new measure in a plugin's
    source tree, and print what the author must still decide."""
    from gateway.authoring.scaffold import new_measure as scaffold

    with operational():
        notes = scaffold(family, measure.upper(), year, from_year=from_year,
                         root=path or Path.cwd(), levels=level or ["patient"], package=package)
    typer.echo(f"scaffolded {family} {measure.upper()} {year}. Still to decide:")
    for note in notes:
        typer.echo(f"  - {note}")


def check_plugin(
    plugin: Annotated[str, typer.Argument(help="An installed plugin's name or a family id.")],
    disable: Annotated[list[str], typer.Option(
        "--disable", help="Leave this plugin out of the installed set the examples are routed "
                          "among (as `gateway plugins` names it); repeatable.")] = [],  # noqa: B006
    config: Annotated[Path | None, typer.Option(
        help="The gateway.toml whose [plugins] table chooses the plugins (default: "
             "$GATEWAY_CONFIG, else ./gateway.toml when it exists).", dir_okay=False)] = None,
) -> None:
    """Run the conformance kit on an installed plugin (what its tests' check_plugin runs): every
    schema, every declared year, every example, every generated file; list every problem. Exit
    1 when there are. Warns when the plugin checked is not the copy in this checkout."""
    from gateway.cli.common import load_settings
    from gateway.engine.plugin_sources import checkout_warning
    from gateway.kit import conformance

    with operational():
        choice = load_settings(config).plugin_choice.disabling(disable)
        plugins = conformance.load_plugins(choice=choice)
        try:
            problems = conformance.plugin_problems(plugin, plugins)
        except LookupError as err:  # no installed plugin or family of that name
            raise CommandError(err.args[0]) from None
    warning = checkout_warning(plugins, plugins.owners.get(plugin, plugin), Path.cwd())
    if warning:
        typer.echo(warning, err=True)
    for problem in problems:
        typer.echo(f"- {problem}")
    typer.echo(f"{plugin}: {len(problems)} problem(s)" if problems else f"{plugin}: conforms")
    raise typer.Exit(EXIT_NO if problems else EXIT_OK)


def regenerate(
    family: Annotated[str, typer.Argument(help="The family id, e.g. mncm.")],
) -> None:
    """Rewrite every file the family generates from its data (schemas from its manifest,
    derived examples) that is stale or missing, in the plugin's source tree."""
    from gateway.authoring.regenerate import regenerate as write_artifacts
    from gateway.engine.pipeline import default_plugins

    with operational():
        written, total = write_artifacts(default_plugins(), family)
    if not total:
        typer.echo(f"{family}: the family generates no files (all are written by hand)")
        return
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"{family}: {len(written)} of {total} generated file(s) rewritten"
               if written else f"{family}: all {total} generated files are up to date")


def schema_diff(
    family: Annotated[str, typer.Argument(help="The family id, e.g. mncm.")],
    measure: Annotated[str, typer.Argument(help="The measure id, e.g. ODC.")],
    old_year: Annotated[int, typer.Argument(help="The earlier reporting year.")],
    new_year: Annotated[int, typer.Argument(help="The later reporting year.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """What changed between two reporting years, in words for release notes: columns, codes,
    ranges, patterns, required-ness, rules, targets and dates."""
    import json

    from gateway.authoring.schemadiff import diff_years, render
    from gateway.engine.pipeline import default_plugins
    from gateway.kit.conformance import stale_artifacts

    plugins = default_plugins()
    with operational():
        changes = diff_years(plugins, family, measure, old_year, new_year)
    stale = list(stale_artifacts(plugins, plugins.owners[family], schemas_only=True)) \
        if family in plugins.owners else []
    if stale:
        typer.echo(f"warning: {len(stale)} generated schema(s) of {family} are not what its "
                   "generator makes from the data today, so this diff may leave changes out: "
                   f"run `gateway regenerate {family}` first", err=True)
    if as_json:
        typer.echo(json.dumps({"family": family, "measure": measure.upper(),
                               "from": old_year, "to": new_year,
                               "changes": [c.as_dict() for c in changes]}, indent=2,
                              ensure_ascii=False, default=str))
        return
    typer.echo(render(family, measure.upper(), old_year, new_year, changes), nl=False)
