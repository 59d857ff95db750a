"""The receipt's own JSON Schema (``schemas/receipt/receipt-1.schema.json``), so every receipt the
gateway writes can be checked against the contract published to submitters."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from gateway_schemas import schema_root
from jsonschema import Draft202012Validator


@cache
def receipt_validator() -> Draft202012Validator:
    schema = json.loads((schema_root() / "receipt" / "receipt-1.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def receipt_errors(document: dict[str, Any]) -> list[str]:
    """Where a receipt breaks its schema (empty when it conforms)."""
    return [f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}"
            for e in receipt_validator().iter_errors(document)]
