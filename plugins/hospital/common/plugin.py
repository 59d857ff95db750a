"""Hooks shared by the hospital families (entry point ``hospital``): the hospital schema
definitions and the codes the families add.

The refusal of data that is not sent as a file (hospital.md, "Not file submissions": CMS
computes 30-day mortality from claims, HCAHPS and CG-CAHPS come through certified survey
vendors, the HIT surveys are web surveys) is three plugins of its own in ``refusals.py``
(entry points ``refuse-mortality``, ``refuse-hcahps``, ``refuse-hit``), so an installation can
disable one without the others.
"""

from __future__ import annotations

from importlib.resources.abc import Traversable
from pathlib import Path

from gateway_schemas import schema_root

from gateway.contract import ErrorCode, Layer, hookimpl

summary = "hospital schema definitions and the codes the hospital families add"


@hookimpl
def gateway_schema_dirs() -> list[Traversable]:
    return [schema_root() / "hospital"]


@hookimpl
def gateway_error_codes() -> list[ErrorCode]:
    return [
        ErrorCode("W-RULE-MISSING-MEASURE", Layer.FILE_RULES,
                  "A measure required of some hospital types is missing and the hospital's type "
                  "is not known yet.",
                  "Add the measure if your hospital is of the type named; otherwise no change."),
        ErrorCode("E-RULE-SOFTWARE-VERSION", Layer.FILE_RULES,
                  "The results were computed with software older than the program accepts.",
                  "Rerun the indicators with the software version named in the message or later."),
        ErrorCode("E-RULE-TIME-ORDER", Layer.FILE_RULES,
                  "A time is before the time it must follow (imaging or treatment before arrival).",
                  "Check both times against the chart; the message shows them."),
    ]


@hookimpl
def gateway_scaffold(family: str, measure: str, year: int, from_year: int | None,
                     root: Path) -> list[str] | None:
    from gateway_plugins.hospital.common.scaffold import scaffold_year

    return scaffold_year(family, measure, year, from_year, root)
