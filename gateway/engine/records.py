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

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from typing import TYPE_CHECKING, Any, Protocol

from gateway.contract.findings import Finding
from gateway.contract.formats import FORMAT_CHECKS, NORMALISERS
from gateway.contract.lazy import lazy_module
from gateway.contract.lazylog import LazyLogger
from gateway.contract.records import RecordBatch
from gateway.engine.dates import date_hint, explain_date
from gateway.engine.schemas import SchemaStore
from gateway.engine.synonyms import suggest_code
from gateway.engine.typed_columns import typed_values
from gateway.readers.columnwise import (
    INTEGER_PATTERN,
    NUMBER_PATTERN,
    CompiledFilter,
    FormatCheck,
    Suspects,
    Unsupported,
    as_text,
    compile_filter,
    distinct,
    filled,
    map_distinct,
)

if TYPE_CHECKING:
    from gateway.readers.columnwise import Text

jsonschema_rs = lazy_module("jsonschema_rs")
np = lazy_module("numpy")
pd = lazy_module("pandas")
pa = lazy_module("pyarrow")
pc = lazy_module("pyarrow.compute")

log = LazyLogger("gateway.records")

_INTEGER = re.compile(INTEGER_PATTERN)
_NUMBER = re.compile(NUMBER_PATTERN)
# What jsonschema-rs calls back: the same checks, remembered per text (pure functions; a file
# repeats its clinic NPI and dates on every row, and each call crosses from Rust to Python).
_ENGINE_FORMATS: dict[str, FormatCheck] = {
    name: lru_cache(maxsize=4096)(func) for name, func in FORMAT_CHECKS.items()}


def json_value(kind: str, text: str) -> Any:
    """A cell's value as the schema sees it: integer and number texts become numbers, anything
    else stays text so the schema reports it. Python's ``re`` and ``int``/``float`` decide,
    in both the record layer and its oracle."""
    if kind == "integer" and _INTEGER.fullmatch(text):
        return int(text)
    if kind == "number" and _NUMBER.fullmatch(text):
        return float(text)
    return text


class SchemaError(Protocol):
    """What ``describe`` reads of a schema error; the reference ``jsonschema`` errors have it,
    and ``EngineError`` gives it to jsonschema-rs errors."""

    validator: Any
    validator_value: Any
    path: Sequence[Any]
    schema: Any


@dataclass(frozen=True)
class EngineError:
    """A jsonschema-rs error in the reference package's terms, located in the resolved schema."""

    validator: str
    validator_value: Any
    path: tuple[Any, ...]
    schema: Any
    order: tuple[int, ...]
    missing: str | None = None  # the absent property of a ``required`` error


def _locate(schema: Any, schema_path: Sequence[Any]) -> tuple[Any, tuple[int, ...]]:
    """The subschema holding the failing keyword, and a sort key that orders errors as the
    reference validator yields them (keywords in schema order, items in list order)."""
    node, order = schema, []
    for step in schema_path[:-1]:
        order.append(list(node).index(step) if isinstance(node, dict) else int(step))
        node = node[step]
    last = schema_path[-1]
    order.append(list(node).index(last) if isinstance(node, dict) and last in node else 0)
    return node, tuple(order)

# A batch of at most this many records goes straight to the per-record engine: the column-wise
# filter costs a few milliseconds a batch whatever its length (a few dozen Arrow and numpy calls
# a column), more than the engine takes for a hundred records. Both find the same errors
# (``tests/engine/test_differential.py`` holds the engine to the reference validator on small
# batches, ``test_small_batches.py`` the filter on the same batches).
ENGINE_ROWS = 100
_WORDING_CACHE = 100_000  # distinct (subschema, column, value) wordings kept per layer
_VERDICT_CACHE = 100_000  # distinct cells and record shapes whose engine errors are kept

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
_TYPE_EXAMPLES = {"integer": " such as 12", "number": " such as 12 or 12.5"}
_REQUIRED_KEYWORDS = frozenset({"required", "dependentRequired"})
# keywords about the record (a cell required or forbidden by a rule), not a cell's own form
_RECORD_KEYWORDS = frozenset({"required", "dependentRequired", "not"})
_LISTED_CODES = 30  # a hint lists the allowed codes when there are at most this many


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
        # the reference validator: meta-validates the schema, and is the differential oracle
        self.validator = store.validator(schema_id)
        self.schema = resolved
        # per schema path of an engine error: its subschema, sort key, keyword, keyword value
        self._located: dict[tuple[Any, ...], tuple[Any, tuple[int, ...], str, Any]] = {}
        self._wording: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self.engine = _engine(resolved)
        try:
            self.filter: CompiledFilter | None = compile_filter(resolved)
        except Unsupported as why:
            # every record then goes to the per-record engine: slower, never less exact
            log.info("columnwise_unsupported", schema=schema_id, construct=str(why))
            self.filter = None
        # With the filter, a record's errors are its flagged cells' errors (each cell against
        # its property alone) and, when a rule is flagged, the errors of the schema's
        # top-level keywords, which read only which cells are present and the condition
        # columns' values: both are asked once per distinct cell and record shape.
        self._cell_engines: dict[str, Any] = {}
        self._cell_errors: dict[tuple[Any, ...], list[EngineError]] = {}
        self._record_errors: dict[tuple[Any, ...], list[EngineError]] = {}
        self._record_engine = _engine({**resolved, "properties": dict.fromkeys(
            resolved.get("properties", {}), True)}) if self.filter is not None else None

    # -- typing ------------------------------------------------------------------------------
    def _normalised(self, column: Column, text: Text) -> Text:
        """Codes upper case, dates/ZIP codes canonical: Python's own ``str.upper`` and the
        normalisers, once per distinct text (Arrow's Unicode case rules differ from Python's)."""
        if column.codes is not None and column.kind == "string":
            text = map_distinct(text, str.upper, text.type)
        normalise = NORMALISERS.get(column.format or "")
        if normalise is not None:
            text = map_distinct(text, lambda v, f=normalise: f(v) if v != "" else v, text.type)
        return text

    @staticmethod
    def _typed_column(column: Column, text: Text, keep: np.ndarray | None
                      ) -> pd.api.extensions.ExtensionArray:
        """The typed column the file rules see, rows ``keep`` kept: text columns stay in
        Arrow (empty -> <NA>); the others are typed once per distinct text of the *whole*
        column (``typed_values``), so the dtype is the one pandas chooses for the column."""
        if column.kind == "string" and column.format not in ("date", "local-date-time"):
            if keep is not None:
                text = text.filter(pa.array(keep))
            return pd.arrays.ArrowStringArray(pa.chunked_array(
                [_empty_as_null(text).cast(pa.large_string())]))
        indices, uniques = distinct(text)
        if keep is not None:
            indices = indices[keep]
        return typed_values(column.kind, column.format, uniques).take(indices)

    # A batch of at most ``ENGINE_ROWS`` records is typed in Python: its texts are few, and
    # each Arrow call above costs more than Python's work on a whole column of them. The
    # functions are the same (``str.upper``, the normalisers, ``typed_values`` on the distinct
    # texts), so are the texts and typed columns.
    @staticmethod
    def _normalised_list(column: Column, texts: list[str]) -> list[str]:
        """``_normalised`` of a column in Python."""
        steps: list[Callable[[str], str]] = []
        if column.codes is not None and column.kind == "string":
            steps.append(str.upper)
        normalise = NORMALISERS.get(column.format or "")
        if normalise is not None:
            steps.append(lambda v, f=normalise: f(v) if v != "" else v)
        for step in steps:
            mapped = {text: step(text) for text in set(texts)}
            texts = [mapped[text] for text in texts]
        return texts

    @staticmethod
    def _typed_list(column: Column, texts: list[str], keep: np.ndarray | None
                    ) -> pd.api.extensions.ExtensionArray:
        """``_typed_column`` of a column in Python."""
        if column.kind == "string" and column.format not in ("date", "local-date-time"):
            if keep is not None:
                texts = list(compress(texts, keep.tolist()))
            return pd.arrays.ArrowStringArray(pa.chunked_array(
                [pa.array([text or None for text in texts], type=pa.large_string())]))
        positions: dict[str, int] = {}  # distinct texts in order of first appearance
        indices = np.array([positions.setdefault(text, len(positions)) for text in texts],
                           dtype=np.int64)
        if keep is not None:
            indices = indices[keep]
        return typed_values(column.kind, column.format, list(positions)).take(indices)

    # -- validation --------------------------------------------------------------------------
    def check(self, batch: RecordBatch) -> tuple[RecordBatch, np.ndarray, list[Finding]]:
        """Validate a raw batch: (typed batch of the valid records, mask of bad records,
        findings). Every failing record is reported, each failure located at its cell."""
        texts, bad, findings = self._judged(batch)
        return self._typed_batch(batch, texts, bad), bad, findings

    def judge(self, batch: RecordBatch) -> tuple[np.ndarray, list[Finding]]:
        """``check`` without the typed batch, for a file that has already failed the record
        layer (the later layers, which read typed records, will not run)."""
        _texts, bad, findings = self._judged(batch)
        return bad, findings

    def _judged(self, batch: RecordBatch) -> tuple[dict[str, Text], np.ndarray, list[Finding]]:
        """The batch's normalised texts, its bad records and their findings."""
        raw = batch.frame
        bad = np.zeros(len(raw), dtype=bool)
        if len(raw) <= ENGINE_ROWS:  # in Python, every record through the engine
            # every cell at once: one call for a frame of Python strings (a reader's small file)
            cells = raw.to_numpy(dtype=object).T.tolist()
            lists = {name: self._normalised_list(self.columns[name], texts)
                     for name, texts in zip(raw.columns, cells, strict=True)
                     if name in self.columns}
            return lists, bad, self._check_every(batch, lists, bad)
        texts: dict[str, Text] = {}
        for name in raw.columns:
            column = self.columns.get(name)
            if column is None:
                continue
            texts[name] = self._normalised(column, as_text(raw[name]))
        if self.filter is not None:
            findings = self._check_suspects(
                batch, texts, self.filter.suspect(texts, len(raw), FORMAT_CHECKS), bad)
        else:
            findings = self._check_every(batch, {n: t.to_pylist() for n, t in texts.items()},
                                         bad)
        return texts, bad, findings

    def _typed_batch(self, batch: RecordBatch, texts: dict[str, Text] | dict[str, list[str]],
                     bad: np.ndarray) -> RecordBatch:
        """The valid records typed for the file rules; every layout column is present,
        optional ones left out as all-empty. ``texts`` are ``_judged``'s: Arrow arrays, or
        Python lists for a small batch."""
        raw = batch.frame
        keep = ~bad
        kept = keep if bad.any() else None
        index = raw.index[keep] if kept is not None else raw.index
        if len(raw) <= ENGINE_ROWS:
            empty = [""] * len(raw)
            columns = {n: self._typed_list(c, texts.get(n, empty), kept)
                       for n, c in self.columns.items()}
        else:
            blank = pa.array([""] * len(raw), type=pa.string())
            columns = {n: self._typed_column(c, texts.get(n, blank), kept)
                       for n, c in self.columns.items()}
        typed = pd.DataFrame(columns, index=index, copy=False)  # arrays: nothing to align
        rows = batch.rows if batch.rows is None or kept is None else batch.rows[keep]
        lines = batch.lines if batch.lines is None or kept is None else batch.lines[keep]
        xpaths = batch.xpaths if batch.xpaths is None or kept is None else [
            x for x, k in zip(batch.xpaths, keep.tolist(), strict=True) if k]
        elements = batch.elements if kept is None else {
            c: (name, at[keep]) for c, (name, at) in batch.elements.items()}
        typed_batch = RecordBatch(frame=typed, rows=rows, xpaths=xpaths, lines=lines,
                                  cells=batch.cells, places=batch.places, elements=elements,
                                  names=batch.names)
        return typed_batch

    def _check_every(self, batch: RecordBatch, texts: dict[str, list[str]],
                     bad: np.ndarray) -> list[Finding]:
        """Every record through jsonschema-rs: a small batch, or a schema the filter does not
        compile. ``texts``: the normalised columns as Python lists."""
        findings: list[Finding] = []
        names = list(texts)
        kinds = [self.columns[n].kind for n in names]
        taken = pa.array(np.arange(len(bad)), type=pa.int64())
        # JSON values of every row, column by column; an empty cell ("" in every kind, and
        # only then) is left out of the record
        values = [[json_value(kind, t) for t in column] if kind in ("integer", "number")
                  else column for kind, column in
                  zip(kinds, (texts[n] for n in names), strict=True)]
        as_written = _AsWritten(batch.frame, taken)
        for i, row in enumerate(zip(*values, strict=True)):
            instance = {n: v for n, v in zip(names, row, strict=True) if v != ""}
            errors = self.engine_errors(instance)
            if errors:
                bad[i] = True
                self._report(errors, batch, i, instance, as_written.cells(i, _echoed(errors)),
                             findings)
        return findings

    def _check_suspects(self, batch: RecordBatch, texts: dict[str, Text],
                        suspects: Suspects, bad: np.ndarray) -> list[Finding]:
        """The records the filter flagged, each judged from its flagged cells and, when a
        rule is flagged, from the shape of the record (which cells it has)."""
        findings: list[Finding] = []
        rows = suspects.rows()
        if len(rows) == 0:
            return findings
        taken = pa.array(rows, type=pa.int64())
        cells = _SuspectCells(texts, taken, {n: self.columns[n].kind for n in texts},
                              {n: present[rows] for n, present in suspects.present.items()})
        flagged: list[list[str]] = [[] for _ in range(len(rows))]
        for name, cell_flags in suspects.cells.items():
            for k in np.flatnonzero(cell_flags[rows]).tolist():
                flagged[k].append(name)
        shapes = self._shapes(cells, np.flatnonzero(suspects.rules[rows]))
        as_written = _AsWritten(batch.frame, taken)
        for k, i in enumerate(rows.tolist()):
            errors = [error for name in flagged[k]
                      for error in self.cell_errors(name, cells.value(name, k))]
            shape = shapes.get(k)
            if shape is not None:
                errors.extend(self._shape_errors(shape))
            if not errors:
                continue
            if len(errors) > 1:
                errors.sort(key=_order_of)
            bad[i] = True
            self._report(errors, batch, i, cells.record(k),
                         as_written.cells(k, _echoed(errors)), findings)
        return findings

    def _report(self, errors: list[EngineError], batch: RecordBatch, i: int,
                instance: Mapping[str, Any], written: Mapping[str, str],
                findings: list[Finding]) -> None:
        described = [self._described(error, batch, i, instance, error.missing, written)
                     for error in errors]
        findings.extend(described if len(described) == 1 else one_per_cell(described))

    def _shapes(self, cells: _SuspectCells, ruled: np.ndarray) -> dict[int, tuple[Any, ...]]:
        """Of each suspect row ``ruled`` (by position among the suspects): which columns it
        has (packed bits) and the values of the columns a rule's condition reads."""
        if len(ruled) == 0:
            return {}
        names = cells.names
        packed = np.packbits(np.column_stack([cells.present[n][ruled] for n in names]),
                             axis=1)
        conditions = [n for n in self.filter.condition_columns if n in cells.kinds] \
            if self.filter is not None else []
        columns = tuple(names)
        return {k: (columns, packed[j].tobytes(), tuple(cells.value(n, k) for n in conditions))
                for j, k in enumerate(ruled.tolist())}

    def _shape_errors(self, shape: tuple[Any, ...]) -> list[EngineError]:
        """The top-level keywords' errors of a record of this shape, asked once per shape:
        a stand-in value for each cell it has, the real value for a condition column."""
        known = self._record_errors.get(shape)
        if known is None:
            names, packed, values = shape
            has = np.unpackbits(np.frombuffer(packed, dtype=np.uint8))[:len(names)]
            conditions = dict(zip((n for n in self.filter.condition_columns if n in names),
                                  values, strict=True)) if self.filter is not None else {}
            instance = {n: conditions.get(n, 0) for n, h in zip(names, has.tolist(),
                                                                 strict=True) if h}
            if len(self._record_errors) > _VERDICT_CACHE:
                self._record_errors.clear()
            known = self._record_errors[shape] = self._errors(
                self._record_engine, instance, (), ())
        return known

    def cell_errors(self, name: str, value: Any) -> list[EngineError]:
        """The errors of one cell against its column's property schema, located in the whole
        schema (asked once per distinct value)."""
        key = (name, type(value), value)
        known = self._cell_errors.get(key)
        if known is None:
            engine = self._cell_engines.get(name)
            if engine is None:
                engine = self._cell_engines[name] = _engine(self.columns[name].schema)
            if len(self._cell_errors) > _VERDICT_CACHE:
                self._cell_errors.clear()
            known = self._cell_errors[key] = self._errors(
                engine, value, ("properties", name), (name,))
        return known

    def engine_errors(self, instance: dict[str, Any]) -> list[EngineError]:
        """Every error of one record from jsonschema-rs, in the reference validator's order
        (a valid record, the usual one, is only asked whether it is valid)."""
        if self.engine.is_valid(instance):
            return []
        errors = self._errors(self.engine, instance, (), ())
        errors.sort(key=_order_of)
        return errors

    def _errors(self, engine: Any, instance: Any, schema_prefix: tuple[Any, ...],
                path_prefix: tuple[Any, ...]) -> list[EngineError]:
        """jsonschema-rs's errors of ``instance`` (which sits at ``path_prefix`` of the record,
        validated by the subschema at ``schema_prefix``), located in the whole schema."""
        errors = []
        for error in engine.iter_errors(instance):
            schema_path = (*schema_prefix, *error.schema_path)
            located = self._located.get(schema_path)
            if located is None:
                node, order = _locate(self.schema, schema_path)
                keyword = str(schema_path[-1])
                located = self._located[schema_path] = (
                    node, order, keyword,
                    node.get(keyword) if isinstance(node, dict) else None)
            node, order, keyword, validator_value = located
            errors.append(EngineError(
                validator=keyword, validator_value=validator_value,
                path=(*path_prefix, *error.instance_path), schema=node, order=order,
                missing=getattr(error.kind, "property", None)
                if keyword in _REQUIRED_KEYWORDS else None))
        return errors

    def _described(self, error: EngineError, batch: RecordBatch, i: int,
                   instance: Mapping[str, Any], missing: str | None,
                   written: Mapping[str, str]) -> Finding:
        """``describe``, remembering the wording of errors located at a cell: a bad file
        repeats the same few mistakes, and the wording depends only on the failing subschema,
        the column and its value as written."""
        if not error.path:
            return self.describe(error, batch, i, instance, missing, written)
        column = str(error.path[0])
        value = instance.get(column)
        key = (id(error.schema), error.validator, column, type(value), value,
               written.get(column))
        parts = self._wording.get(key)
        if parts is None:
            if len(self._wording) > _WORDING_CACHE:
                self._wording.clear()
            found = self.describe(error, batch, i, instance, written=written)
            self._wording[key] = (found.code, found.message, found.column, found.value,
                                  found.hint, found.suggestion)
            return found
        code, message, column, shown, hint, suggestion = parts
        if batch.rows is not None and batch.xpaths is None and batch.lines is None \
                and column not in batch.places:
            # a table's cell, as ``batch.finding`` places it, in one step (a bad file has
            # tens of thousands)
            row = int(batch.rows[i])
            letter = batch.cells.get(column) if column else None
            return Finding(code, message, hint, row, column,
                           f"{letter}{row}" if letter else None, shown, None, None, None,
                           suggestion or None)
        found = batch.finding(i, code, message, column=column, value=shown, hint=hint)
        return found.suggesting(suggestion) if suggestion else found

    def describe(self, error: SchemaError, batch: RecordBatch, i: int,
                 instance: Mapping[str, Any], missing: str | None = None,
                 written: Mapping[str, str] | None = None) -> Finding:
        """Turn one schema error into a finding a data abstractor can act on. ``missing`` is
        the absent column a ``required`` error is about (one error per absent column);
        ``written`` the record's cells as the submitter wrote them, echoed for a code or a
        date (``Medicaid``, not the upper-cased ``MEDICAID`` the schema saw).

        The advice is the failing rule's: a column's own ``x-message``/``x-hint`` speak of its
        form (how to write a date) and are used only when its form failed, never for a cell
        that is required, or forbidden, by a rule about the record."""
        keyword = str(error.validator)
        column = str(error.path[0]) if error.path else (
            missing or self._column_of(error, instance))
        spec = self.columns.get(column) if column else None
        about_record = keyword in _RECORD_KEYWORDS
        own = {} if about_record or spec is None else spec.schema
        annotations = {**own, **_annotations(error)}
        concealed = bool(annotations.get("x-conceal") or (spec and spec.schema.get("x-conceal")))
        # x-conceal: a value that must not travel even to its submitter (an SSN)
        value = instance.get(column) if column and not concealed else None
        if value is not None and written and keyword in ("enum", "const", "format") \
                and isinstance(value, str) and column in written:
            value = written[column]
        code = annotations.get("x-code") or (
            _CODE_BY_FORMAT.get(str(error.validator_value), "E-RECORD-FORMAT")
            if keyword == "format" else _CODE_BY_KEYWORD.get(keyword, "E-RECORD-FORMAT"))
        template = annotations.get("x-message")
        message = (template.format(column=column, value=value) if template
                   else _message(keyword, error, column or "the record", value, spec))
        hint = annotations.get("x-hint") or _hint(keyword, error, column or "the record", spec)
        suggestion = None
        if keyword in ("enum", "const") and spec is not None and value is not None:
            suggestion = suggest_code(column or "", value, spec.codes or ())
            if suggestion:
                message += f" Did you mean {suggestion}?"
        elif keyword == "format" and isinstance(value, str) and error.validator_value in (
                "date", "local-date-time") and not concealed:
            trouble = explain_date(value, with_time=error.validator_value != "date")
            if trouble is not None:
                message = f"{column}: {trouble.reason}."
                hint = date_hint(trouble)
                suggestion = trouble.suggestion
        found = batch.finding(i, code, message, column=column, value=value, hint=hint)
        return found.suggesting(suggestion) if suggestion else found

    @staticmethod
    def _column_of(error: SchemaError, instance: Mapping[str, Any]) -> str | None:
        if str(error.validator) in _REQUIRED_KEYWORDS:
            missing = _missing(error, instance)
            return missing[0] if missing else None
        if error.validator == "not" and isinstance(error.validator_value, dict):
            required = error.validator_value.get("required") or []
            return required[0] if required else None
        return error.schema.get("x-column") if isinstance(error.schema, dict) else None


def _empty_as_null(text: Text) -> pa.Array:
    """The column with its empty cells null: a validity bitmap laid over the same offsets
    and texts (nothing copied)."""
    present = filled(text)
    if present.all():
        return text
    bits = np.concatenate([np.zeros(text.offset, dtype=bool), present]) \
        if text.offset else present
    _validity, offsets, data = text.buffers()
    return pa.Array.from_buffers(text.type, len(text), [pa.array(bits).buffers()[1], offsets,
                                                        data],
                                 null_count=int(len(text) - present.sum()), offset=text.offset)


def _engine(schema: Any) -> Any:
    """A jsonschema-rs validator with the gateway's format checks (remembered per text)."""
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True,
                                              formats=dict(_ENGINE_FORMATS))


def _order_of(error: EngineError) -> tuple[int, ...]:
    """The sort key that puts errors in the reference validator's order."""
    return error.order


class _SuspectCells:
    """The cells of the suspect rows (``taken``) as the schema sees them, read a column at a
    time and only for the columns asked for; ``present``: per column, which of them hold text."""

    def __init__(self, texts: Mapping[str, Text], taken: pa.Array, kinds: Mapping[str, str],
                 present: Mapping[str, np.ndarray]) -> None:
        self.texts, self.taken, self.kinds, self.present = texts, taken, kinds, present
        self.names = list(texts)
        self._columns: dict[str, list[str]] = {}

    def value(self, name: str, k: int) -> Any:
        """The JSON value of the ``k``-th suspect row's cell of ``name`` ("" when empty)."""
        column = self._columns.get(name)
        if column is None:
            column = self._columns[name] = self.texts[name].take(self.taken).to_pylist()
        return json_value(self.kinds[name], column[k])

    def record(self, k: int) -> _Record:
        return _Record(self, k)


class _Record(Mapping[str, Any]):
    """The ``k``-th suspect row as the record the schema saw (empty cells left out), reading
    only the cells a finding asks for."""

    def __init__(self, cells: _SuspectCells, k: int) -> None:
        self.cells, self.k = cells, k

    def __getitem__(self, name: str) -> Any:
        present = self.cells.present.get(name)
        if present is None or not present[self.k]:
            raise KeyError(name)
        return self.cells.value(name, self.k)

    def __iter__(self) -> Iterator[str]:
        return (n for n in self.cells.names if self.cells.present[n][self.k])

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _echoed(errors: Sequence[SchemaError]) -> list[str]:
    """The columns whose value a finding echoes as written: codes and dates."""
    return [str(e.path[0]) for e in errors
            if e.path and str(e.validator) in ("enum", "const", "format")]


class _AsWritten:
    """Cells of the suspect rows as the submitter wrote them (before upper-casing codes),
    read a column at a time, and only for the columns a finding echoes."""

    def __init__(self, raw: pd.DataFrame, taken: pa.Array) -> None:
        self.raw, self.taken = raw, taken
        self.columns: dict[str, list[str]] = {}

    def cells(self, k: int, names: Sequence[str]) -> dict[str, str]:
        """The ``k``-th suspect row's cells of ``names``."""
        out = {}
        for name in names:
            if name not in self.raw.columns:
                continue
            column = self.columns.get(name)
            if column is None:
                column = self.columns[name] = as_text(self.raw[name]).take(
                    self.taken).to_pylist()
            out[name] = str(column[k]).strip()
        return out


def _missing(error: SchemaError, instance: Mapping[str, Any]) -> list[str]:
    """The absent columns a ``required``-like error is about, in the schema's order."""
    if error.validator == "required":
        return [p for p in error.validator_value if p not in instance]
    if error.validator == "dependentRequired":
        return [need for trigger, needs in error.validator_value.items()
                if trigger in instance for need in needs if need not in instance]
    return []





def once_per_place(findings: Iterable[Finding], places: Mapping[str, tuple[str, int]],
                   reported: set[tuple[Any, ...]]) -> Iterator[Finding]:
    """Findings at a place every record shares (an XML header element) once per file;
    ``reported`` remembers them across batches (a few per header column at most)."""
    for finding in findings:
        if finding.column in places and finding.row is None:
            key = (finding.code, finding.column, finding.message)
            if key in reported:
                continue
            reported.add(key)
        yield finding


def once_per_missing_column(findings: Iterable[Finding], absent: set[str],
                            reported: set[tuple[Any, ...]]) -> Iterator[Finding]:
    """A column the header lacks but some rows need (``sample_size`` in a SAMPLE file) is one
    problem, not one per row (specs README section 1): its first finding is kept, saying the
    column is missing, the others are dropped; ``reported`` remembers it across batches."""
    for finding in findings:
        if finding.column not in absent or finding.code != "E-RECORD-REQUIRED":
            yield finding
            continue
        key = (finding.code, finding.column)
        if key in reported:
            continue
        reported.add(key)
        yield dataclasses.replace(
            finding, cell=None, value=None,
            message=f"The file has no {finding.column} column, which this file needs (first "
                    f"at row {finding.row}): {finding.message}",
            hint=f"Add the {finding.column} column to the header (the measure's template has "
                 f"it) and fill it where the rule above says.")


def one_per_cell(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per (column, code) of a record: two schema keywords failing on the same
    cell for the same reason (a column required twice over) are one problem to fix."""
    out: list[Finding] = []
    seen: set[tuple[Any, ...]] = set()
    for finding in findings:
        key = (finding.code, finding.column) if finding.column else (
            finding.code, finding.message)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


def _annotations(error: SchemaError) -> dict[str, Any]:
    """``x-*`` annotations of the subschema that failed, or of the ``then`` branch holding it."""
    found: dict[str, Any] = {}
    if isinstance(error.schema, dict):
        found.update({k: v for k, v in error.schema.items() if k.startswith("x-")})
    return found


def _message(keyword: str, error: SchemaError, column: str, value: Any,
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


def _hint(keyword: str, error: SchemaError, column: str, spec: Column | None) -> str | None:
    """How to fix one schema error, as specific as the schema allows (the allowed codes, the
    range); None leaves the catalog's fix for the code."""
    schema = spec.schema if spec else {}
    if keyword == "dependentRequired" or (keyword == "required" and isinstance(
            error.schema, dict) and "properties" not in error.schema):
        return (f"Fill in {column}, or clear the value it goes with if that was entered by "
                "mistake (the message names it).")
    if keyword == "required":
        return f"Fill in {column}; it may not be left empty."
    if keyword == "not":
        return (f"Clear {column}, or fill in the value it goes with (the message names it) "
                "if both belong in the record.")
    if keyword == "type":
        kind = str(error.validator_value)
        return f"Enter {column} as {_TYPE_WORDS.get(kind, kind)}{_TYPE_EXAMPLES.get(kind, '')}."
    if keyword in ("enum", "const"):
        allowed = spec.codes if spec and spec.codes else (
            error.validator_value if keyword == "enum" else [error.validator_value])
        if len(allowed) <= _LISTED_CODES:
            return (f"Enter one of: {', '.join(str(a) for a in allowed)} "
                    "(upper or lower case).")
        return f"Enter one of the {len(allowed)} codes the specification lists for {column}."
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"Enter a value from {low} to {high}; check it against the source record."
        return "Check the value against the source record; the message gives the limit."
    if keyword in ("maxLength", "minLength"):
        return (f"Enter {column} with {schema.get('minLength', 0)} to "
                f"{schema.get('maxLength', 'any number of')} characters.")
    description = schema.get("description")
    if keyword in ("pattern", "format") and description:
        return f"Correct {column}: {description}"
    return None
