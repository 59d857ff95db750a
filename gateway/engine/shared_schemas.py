"""The core's own schema folder: the definitions every family may ``$ref`` (NPI, CCN, dates,
codes), registered by the core so no family depends on another being installed."""

from __future__ import annotations

from importlib.resources.abc import Traversable

from gateway_schemas import schema_root

from gateway.contract.hooks import hookimpl


@hookimpl
def gateway_schema_dirs() -> list[Traversable]:
    return [schema_root() / "common"]
