"""Family manifests: measures, reporting years and deadline tables as TOML data files.

"Next year's measure should be data": a family's ``manifest.toml`` names its reporting years,
its deadline rule and the seeded deadline table (kept for the submitter layer, which needs the
registry before it can use them).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any


@dataclass(frozen=True)
class Manifest:
    """A family's declarations, read once per process."""

    family: str
    title: str
    formats: tuple[str, ...]
    years: tuple[int, ...]
    deadline_rule: str | None
    data: dict[str, Any]

    def schema_id(self, name: str, year: int) -> str:
        """The ``$id`` of one of the family's schemas for a reporting year."""
        return f"urn:mn-sqrms:schema:{self.family}:{year}:{name}"


@cache
def load_manifest(package: str) -> Manifest:
    """The ``manifest.toml`` beside a family's plugin module."""
    data = tomllib.loads((files(package) / "manifest.toml").read_text(encoding="utf-8"))
    family = data["family"]
    return Manifest(family=family["id"], title=family["title"],
                    formats=tuple(family["formats"]), years=tuple(family["reporting_years"]),
                    deadline_rule=family.get("deadline_rule"), data=data)
