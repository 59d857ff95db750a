"""The record layer: type each record from its schema, validate it, locate every failure.

A schema's top-level ``properties`` are the file's columns. Text from the reader is normalised
as the specification allows (codes upper case, ``M/D/YYYY`` to ISO dates, ZIP+4 cut to five
digits), turned into JSON values for the schema, and into typed columns for the file rules.
Schema annotations a plugin author may use on a property or an ``if``/``then`` branch:

- ``x-code``: the finding code (otherwise chosen from the failing keyword);
- ``x-message``: the message, with ``{column}`` and ``{value}`` placeholders;
- ``x-hint``: how to fix it, for this column;
- ``x-optional-column``: the column may be left out of the header;
- ``x-conceal``: never echo the value (it may be a social security number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from jsonschema import ValidationError

from gateway.contract import RecordBatch
from gateway.engine.formats import NORMALISERS
from gateway.findings import Finding
from gateway.schemas import SchemaStore

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")

_CODE_BY_KEYWORD = {
    "type": "E-RECORD-TYPE", "enum": "E-RECORD-CODE", "const": "E-RECORD-CODE",
    "minimum": "E-RECORD-RANGE", "maximum": "E-RECORD-RANGE",
    "exclusiveMinimum": "E-RECORD-RANGE", "exclusiveMaximum": "E-RECORD-RANGE",
    "required": "E-RECORD-REQUIRED", "dependentRequired": "E-RECORD-REQUIRED",
    "not": "E-RECORD-NOT-ALLOWED", "pattern": "E-RECORD-FORMAT",
    "minLength": "E-RECORD-FORMAT", "maxLength": "E-RECORD-FORMAT",
    "multipleOf": "E-RECORD-FORMAT",
}
_CODE_BY_FORMAT = {"date": "E-RECORD-DATE", "local-date-time": "E-RECORD-DATE",
                   "npi": "E-RECORD-NPI"}
_TYPE_WORDS = {"integer": "a whole number", "number": "a number", "string": "text"}


@dataclass(frozen=True)
class Column:
    """One column of a layout, read off the schema property that defines it."""

    name: str
    kind: str
    format: str | None
    codes: tuple[str, ...] | None
    optional_column: bool
    schema: dict[str, Any]

    @classmethod
    def from_schema(cls, name: str, schema: dict[str, Any]) -> Column:
        kind = schema.get("type", "string")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "string")
        codes = schema.get("enum")
        if codes is None and "const" in schema:
            codes = [schema["const"]]
        return cls(name=name, kind=kind, format=schema.get("format"),
                   codes=tuple(str(c) for c in codes) if codes is not None else None,
                   optional_column=bool(schema.get("x-optional-column")), schema=schema)


class RecordLayer:
    """A compiled schema: columns, validator, and the typing rules derived from them."""

    def __init__(self, store: SchemaStore, schema_id: str) -> None:
        self.schema_id = schema_id
        resolved = store.resolved(schema_id)
        self.title = resolved.get("title", schema_id)
        self.columns = {name: Column.from_schema(name, prop)
                        for name, prop in resolved.get("properties", {}).items()}
        self.header_required = [c.name for c in self.columns.values() if not c.optional_column]
        self.validator = store.validator(schema_id)

    # -- typing ------------------------------------------------------------------------------
    def _normalised(self, column: Column, text: pd.Series) -> pd.Series:
        if column.codes is not None and column.kind == "string":
            text = text.str.upper()
        normalise = NORMALISERS.get(column.format or "")
        if normalise is not None:
            filled = text != ""
            if filled.any():
                text = text.copy()
                text[filled] = text[filled].map(normalise)
        return text

    @staticmethod
    def _json_values(column: Column, text: pd.Series) -> pd.Series:
        """Values as the schema sees them; text that is not of the type stays text so the
        schema reports it."""
        if column.kind == "integer":
            ok = text.str.fullmatch(_INTEGER.pattern)
            return text.where(~ok, text[ok].map(int) if ok.any() else text)
        if column.kind == "number":
            ok = text.str.fullmatch(_NUMBER.pattern)
            return text.where(~ok, text[ok].map(float) if ok.any() else text)
        return text

    @staticmethod
    def _typed(column: Column, text: pd.Series) -> pd.Series:
        empty = text == ""
        if column.kind == "integer":
            return pd.to_numeric(text.where(~empty), errors="coerce").astype("Int64")
        if column.kind == "number":
            return pd.to_numeric(text.where(~empty), errors="coerce").astype("Float64")
        if column.format == "date":
            return pd.to_datetime(text.where(~empty), format="%Y-%m-%d", errors="coerce")
        if column.format == "local-date-time":
            return pd.to_datetime(text.where(~empty), format="%Y-%m-%dT%H:%M", errors="coerce")
        return text.where(~empty, pd.NA).astype("string")

    # -- validation --------------------------------------------------------------------------
    def check(self, batch: RecordBatch) -> tuple[RecordBatch, np.ndarray, list[Finding]]:
        """Validate a raw batch: (typed batch of the valid records, mask of bad records,
        findings). Every failing record is reported, each failure located at its cell."""
        raw = batch.frame
        normalised = {}
        values = {}
        for name in raw.columns:
            column = self.columns.get(name)
            if column is None:
                continue
            normalised[name] = self._normalised(column, raw[name])
            values[name] = self._json_values(column, normalised[name])
        bad = np.zeros(len(raw), dtype=bool)
        findings: list[Finding] = []
        names = list(values)
        columns_of_values = [values[n].tolist() for n in names]
        texts = [normalised[n].tolist() for n in names]
        for i in range(len(raw)):
            instance = {n: columns_of_values[j][i] for j, n in enumerate(names)
                        if texts[j][i] != ""}
            errors = list(self.validator.iter_errors(instance))
            if errors:
                bad[i] = True
                findings.extend(self.describe(error, batch, i, instance) for error in errors)
        # every layout column is present for the rules, optional ones left out as all-empty
        typed = pd.DataFrame({
            n: self._typed(c, normalised[n] if n in normalised
                           else pd.Series("", index=raw.index, dtype=object))
            for n, c in self.columns.items()}, index=raw.index)
        typed_batch = RecordBatch(frame=typed, rows=batch.rows, xpaths=batch.xpaths,
                                  lines=batch.lines, cells=batch.cells)
        return typed_batch.where(~bad) if bad.any() else typed_batch, bad, findings

    def describe(self, error: ValidationError, batch: RecordBatch, i: int,
                 instance: dict[str, Any]) -> Finding:
        """Turn one schema error into a finding a data abstractor can act on."""
        keyword = str(error.validator)
        column = str(error.path[0]) if error.path else self._column_of(error, instance)
        spec = self.columns.get(column) if column else None
        annotations = {**(spec.schema if spec else {}), **_annotations(error)}
        # x-conceal: a value that must not travel even to its submitter (an SSN)
        value = instance.get(column) if column and not annotations.get("x-conceal") else None
        code = annotations.get("x-code") or (
            _CODE_BY_FORMAT.get(str(error.validator_value), "E-RECORD-FORMAT")
            if keyword == "format" else _CODE_BY_KEYWORD.get(keyword, "E-RECORD-FORMAT"))
        template = _annotations(error).get("x-message") or (
            spec.schema.get("x-message") if spec and keyword != "required" else None)
        message = (template.format(column=column, value=value) if template
                   else _message(keyword, error, column or "the record", value, spec))
        return batch.finding(i, code, message, column=column, value=value,
                             hint=annotations.get("x-hint"))

    @staticmethod
    def _column_of(error: ValidationError, instance: dict[str, Any]) -> str | None:
        if error.validator == "required":
            missing = [p for p in error.validator_value if p not in instance]
            return missing[0] if missing else None
        if error.validator == "dependentRequired":
            missing = [need for trigger, needs in error.validator_value.items()
                       if trigger in instance for need in needs if need not in instance]
            return missing[0] if missing else None
        if error.validator == "not" and isinstance(error.validator_value, dict):
            required = error.validator_value.get("required") or []
            return required[0] if required else None
        return error.schema.get("x-column") if isinstance(error.schema, dict) else None


def _annotations(error: ValidationError) -> dict[str, Any]:
    """``x-*`` annotations of the subschema that failed, or of the ``then`` branch holding it."""
    found: dict[str, Any] = {}
    if isinstance(error.schema, dict):
        found.update({k: v for k, v in error.schema.items() if k.startswith("x-")})
    return found


def _message(keyword: str, error: ValidationError, column: str, value: Any,
             spec: Column | None) -> str:
    shown = f"'{value}'" if isinstance(value, str) else str(value)
    if keyword == "required":
        return f"{column} is empty; a value is required."
    if keyword == "not":
        return f"{column} must be empty here, but it is {shown}."
    if keyword == "type":
        expected = _TYPE_WORDS.get(str(error.validator_value), str(error.validator_value))
        return f"{column} must be {expected}; {shown} is not."
    if keyword in ("enum", "const"):
        allowed = spec.codes if spec and spec.codes else (
            error.validator_value if keyword == "enum" else [error.validator_value])
        return f"{column} {shown} is not an allowed code; use one of: " \
               f"{', '.join(str(a) for a in allowed)}."
    if keyword in ("minimum", "exclusiveMinimum"):
        word = "at least" if keyword == "minimum" else "more than"
        return f"{column} is {shown}; it must be {word} {error.validator_value}."
    if keyword in ("maximum", "exclusiveMaximum"):
        word = "at most" if keyword == "maximum" else "less than"
        return f"{column} is {shown}; it must be {word} {error.validator_value}."
    if keyword == "format":
        if error.validator_value == "date":
            return f"{column} {shown} is not a real date written YYYY-MM-DD or MM/DD/YYYY."
        if error.validator_value == "local-date-time":
            return (f"{column} {shown} is not a real date and 24-hour time written "
                    "YYYY-MM-DDTHH:MM or MM/DD/YYYY HH:MM.")
        if error.validator_value == "npi":
            return f"{column} {shown} is not a valid NPI: 10 digits with a correct check digit."
        if error.validator_value == "zip-or-all":
            return f"{column} {shown} is not a ZIP code (5 digits) or ALL."
        if error.validator_value == "zip":
            return f"{column} {shown} is not a ZIP code (5 digits, or ZIP+4 as 55455-0392)."
        if error.validator_value == "quarter":
            return f"{column} {shown} is not a quarter written like 2015Q1."
    if keyword in ("maxLength", "minLength"):
        return (f"{column} must be {spec.schema.get('minLength', 0) if spec else 0} to "
                f"{spec.schema.get('maxLength', '') if spec else ''} characters long; "
                f"{shown} is not.")
    description = spec.schema.get("description", "") if spec else ""
    return f"{column} {shown} does not have the required form. {description}".strip()
