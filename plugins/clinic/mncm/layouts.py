"""Which schema describes each (measure, level, reporting year), and its columns.

Schemas live in ``schemas/mncm/<year>/<measure>.<level>.schema.json`` with ``$id``
``urn:mn-sqrms:schema:mncm:<year>:<measure>:<level>``; a year exists for a measure when its
schema file does.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources.abc import Traversable

from gateway_schemas import schema_root


def schema_file(measure: str, level: str, year: int) -> Traversable:
    return schema_root() / "mncm" / str(year) / f"{measure.lower()}.{level}.schema.json"


def schema_id(measure: str, level: str, year: int) -> str:
    return f"urn:mn-sqrms:schema:mncm:{year}:{measure.lower()}:{level}"


@cache
def columns(measure: str, level: str, year: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(every column, the columns the header must have) of a layout; empty if none exists."""
    path = schema_file(measure, level, year)
    if not path.is_file():
        return (), ()
    schema = json.loads(path.read_text("utf-8"))
    properties = schema.get("properties", {})
    required = tuple(n for n, p in properties.items() if not p.get("x-optional-column"))
    return tuple(properties), required


@cache  # asked for every clinic of a compliance report; the schema files never change
def has_layout(measure: str, level: str, year: int) -> bool:
    return schema_file(measure, level, year).is_file()
