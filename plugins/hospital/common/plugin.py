"""Hooks shared by the hospital families (entry point ``hospital``): the hospital schema
definitions, the codes the families add, and the refusal of data that is not sent as a file.

Refusals (hospital.md, "Not file submissions"): CMS computes 30-day mortality from claims,
HCAHPS and CG-CAHPS come through certified survey vendors, and the HIT surveys are web surveys.
A table is taken for one of them by its content (see ``refusals.py``) and rejected with
E-ROUTE-NOT-ACCEPTED-HERE naming where the data go instead.
"""

from __future__ import annotations

from importlib.resources.abc import Traversable

from gateway_plugins.hospital.common.refusals import refuse
from gateway_schemas import schema_root

from gateway.contract import Candidate, ErrorCode, FileSample, Layer, hookimpl


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
def gateway_recognise(sample: FileSample) -> list[Candidate]:
    return refuse(sample)
