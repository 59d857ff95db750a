"""The ``template`` and ``docs`` commands, added to the main ``gateway`` command line by
``register`` (as the daemon's commands are).

Exit codes follow the CLI's: 0 written, 2 a request that cannot be met (unknown or ambiguous
measure, a level or year the measure lacks, a template for an XML family).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gateway.authoring.layouts import LayoutError
from gateway.readers.sniff import CSV, XLSX, XML

EXIT_USAGE = 2
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
    from gateway.pipeline import default_plugins

    try:
        plugins = default_plugins()
        layout = find_layout(plugins, measure, level=level, year=year, family=family)
        chosen = fmt.value if fmt else (XLSX if XLSX in layout.family.formats
                                        else layout.family.formats[0])
        path = write_template(layout, chosen, out or Path(f"{layout.slug}.{chosen}"), plugins)
    except LayoutError as err:
        typer.echo(f"gateway: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    typer.echo(f"wrote {layout.label} template: {path}")


def docs(
    out: Annotated[Path, typer.Option(help="The folder to write the pages into.",
                                      file_okay=False)] = DEFAULT_DOCS,
) -> None:
    """Generate the submission specification (Markdown) from the plugins' schemas and rules."""
    from gateway.authoring.docs import write_docs
    from gateway.pipeline import default_plugins

    written = write_docs(default_plugins(), out)
    typer.echo(f"wrote {len(written)} pages to {out}")


def register(app: typer.Typer) -> None:
    """Add ``template`` and ``docs`` to the ``gateway`` command line."""
    app.command("template")(template)
    app.command("docs")(docs)
