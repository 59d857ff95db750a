"""The shared schema definitions table of ``docs/plugins.md``, generated from the definitions
files the gateway ships (every first-party schema whose ``$id`` ends ``:defs``: the core's
common ones, the clinic and hospital families' own), so an author finds ``ccn``, ``quarter``,
``count`` or ``rate_percent`` without reading the sources.

    python -m gateway.authoring.defsdoc            # print the table
    python -m gateway.authoring.defsdoc --write    # update docs/plugins.md

The table sits between ``<!-- defs:begin -->`` and ``<!-- defs:end -->``; a test fails when it
and the definitions disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gateway.engine.plugins import Plugins

BEGIN, END = "<!-- defs:begin -->", "<!-- defs:end -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
FIRST_PARTY = "urn:mn-sqrms:schema:"  # the page lists the gateway's own, whatever else is installed
SHOWN = ("type", "format", "enum", "pattern", "minimum", "maximum", "const", "minLength",
         "maxLength")


def _checks(definition: dict[str, Any]) -> str:
    parts = []
    if "$ref" in definition:
        parts.append(f"as `{definition['$ref'].split('/')[-1]}`")
    for key in SHOWN:
        if key in definition:
            value = definition[key]
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            parts.append(f"{key} {shown}")
    return "; ".join(parts).replace("|", "\\|")


def render(plugins: Plugins) -> str:
    """The Markdown table: each shared definition, the ``$ref`` that names it, what it checks
    and its description."""
    rows = ["| `$ref` | checks | description |", "|---|---|---|"]
    for schema_id, document in sorted(plugins.schemas.documents.items()):
        if not (schema_id.startswith(FIRST_PARTY) and schema_id.endswith(":defs")):
            continue
        for name, definition in document.get("$defs", {}).items():
            words = " ".join(str(definition.get("description", "")).split()).replace("|", "\\|")
            rows.append(f"| `{schema_id}#/$defs/{name}` | {_checks(definition)} | {words} |")
    return "\n".join(rows)


def current(doc: str, table: str) -> str:
    """``doc`` with the table between the markers replaced by ``table``."""
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def main(argv: list[str]) -> None:
    from gateway.engine.plugins import load_plugins

    table = render(load_plugins())
    if "--write" in argv:
        DOC.write_text(current(DOC.read_text("utf-8"), table), encoding="utf-8")
    else:
        print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
