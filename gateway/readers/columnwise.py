"""A column-wise filter compiled from a record schema: which rows might be invalid.

Validating a million records one at a time costs a Python dict and an engine call per record.
Almost every record is valid, so the record layer first runs this filter: it checks the schema's
constraints on whole columns of text at once (Arrow compute kernels and numpy) and flags every
row that *might* fail. Only flagged rows go to the per-record JSON Schema engine, which decides
and describes.

The filter must be *sound*: a row it passes must be valid for the per-record engine. It may
over-flag (the engine then finds nothing). So every construct it does not understand exactly
makes the whole schema ``unsupported``; the record layer then sends every row to the engine.
Nothing is skipped silently. Where Arrow's kernels and Python could read a text differently
(non-ASCII digits, Unicode case, regex dialects) the filter either flags the row or asks Python,
once per *distinct* text of the column.

Understood (everything the measure schemas use): per column ``type`` (string, integer, number),
``enum``, ``const``, ``minimum``/``maximum`` (and exclusive), ``minLength``/``maxLength``,
``pattern``, ``not: {pattern}``, ``format`` (any format with a checker), ``allOf`` of those;
at the top level ``type: object``, ``properties``, ``additionalProperties: false``,
``required``, ``dependentRequired`` and ``allOf`` items / ``if``-``then``-``else`` whose
condition is ``required`` plus ``const``/``enum`` on text columns and whose branches are
``required`` or ``not: {required}``.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from gateway.contract.lazy import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")
pa = lazy_module("pyarrow")
pc = lazy_module("pyarrow.compute")

INTEGER_PATTERN = r"[+-]?\d+"
NUMBER_PATTERN = r"[+-]?(?:\d+\.?\d*|\.\d+)"
# The same forms over ASCII digits only, for Arrow's RE2: a subset of what Python's ``\d``
# accepts, so a text outside it (say Arabic-Indic digits) is flagged, never passed.
_ASCII_INTEGER = r"^[+-]?[0-9]+$"
_ASCII_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$"

# Keywords that never change a verdict.
_ANNOTATIONS = frozenset({"title", "description", "$comment", "examples", "default",
                          "deprecated", "readOnly", "writeOnly", "$schema", "$id", "$defs",
                          "$anchor"})
_COLUMN_KEYWORDS = frozenset({"type", "enum", "const", "minimum", "maximum", "exclusiveMinimum",
                              "exclusiveMaximum", "minLength", "maxLength", "pattern", "format",
                              "allOf", "not"})
_TOP_KEYWORDS = frozenset({"type", "properties", "additionalProperties", "required",
                           "dependentRequired", "allOf", "if", "then", "else"})
# Text a Python ``re`` and the Rust regex engine might read differently (non-ASCII, controls,
# newlines: Python's ``$`` matches before a trailing newline, Rust's does not).
_UNSAFE_FOR_REGEX = r"[^\x20-\x7e]"
# Pattern syntax that means the same to RE2 (Arrow), Python ``re`` and ECMA 262 on printable
# ASCII text: literals, classes, ``\d``-style escapes, groups, alternation and counted repeats.
_RE2_TOKEN = re.compile(r"\\[dDwWsS.\-\\/()\[\]{}^$|?*+]|\(\?:|\{\d+(?:,\d*)?\}|[^\\({}]|\((?!\?)")
# Integers beyond this are not exact as floats; such rows are flagged for the exact engine.
_EXACT_FLOAT_DIGITS = 15

FormatCheck = Callable[[str], bool]
if TYPE_CHECKING:
    Text: TypeAlias = pa.Array  # a string column without nulls: an empty cell is ""


def as_text(values: pd.Series | pa.Array | pa.ChunkedArray | Sequence[str]) -> pa.Array:
    """One contiguous Arrow string array of a column's texts (no copy for Arrow-backed data)."""
    if isinstance(values, pd.Series):
        inner = values.array
        values = pa.array(inner) if hasattr(inner, "__arrow_array__") else pa.array(
            values.to_numpy(dtype=object), type=pa.string())
    elif not isinstance(values, pa.Array | pa.ChunkedArray):
        values = pa.array(list(values), type=pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values


def bools(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow boolean (or numeric) result as a numpy array."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.to_numpy(zero_copy_only=False)


def filled(text: Text) -> np.ndarray:
    """Which cells hold any text (byte lengths: far cheaper than comparing with "")."""
    return bools(pc.binary_length(text)) > 0


@dataclass(frozen=True)
class Encoding:
    """A column as the index of each row's text into ``texts`` (also as the Arrow array
    ``dictionary``). The texts are distinct unless the array came from ``map_distinct``, which
    may map two texts to one; callers work element-wise, so a repeated text only costs a
    repeated call."""

    indices: np.ndarray
    texts: list[str]
    dictionary: pa.Array


# Encodings of live arrays, by id: a column is normalised, checked and typed, each needing its
# distinct texts. Weak references, so an entry never keeps a batch's column alive.
_ENCODINGS: dict[int, tuple[weakref.ref[pa.Array], Encoding]] = {}


def _remember(text: Text, encoding: Encoding) -> None:
    key = id(text)
    _ENCODINGS[key] = (weakref.ref(text, lambda _ref, k=key: _ENCODINGS.pop(k, None)),
                       encoding)


def known_encoding(text: Text) -> Encoding | None:
    """The column's encoding if one was already made (``encode``, ``map_distinct``)."""
    known = _ENCODINGS.get(id(text))
    return known[1] if known is not None and known[0]() is text else None


def encode(text: Text) -> Encoding:
    """The column's distinct texts and each row's index into them (made once per array)."""
    known = known_encoding(text)
    if known is not None:
        return known
    encoded = pc.dictionary_encode(text)
    made = Encoding(encoded.indices.to_numpy(zero_copy_only=False),
                    encoded.dictionary.to_pylist(), encoded.dictionary)
    _remember(text, made)
    return made


def distinct(text: Text) -> tuple[np.ndarray, list[str]]:
    """The column as (index of each row's text, its texts): most columns hold a few codes,
    dates or numbers, so Python-only work on the distinct texts stays cheap."""
    made = encode(text)
    return made.indices, made.texts


def map_distinct(text: Text, func: Callable[[str], Any], type: pa.DataType) -> pa.Array:
    """``func`` over each distinct text once, spread back to every row as an Arrow array
    (``text`` itself when ``func`` changes no text: codes already upper case, dates already
    ISO)."""
    if len(text) == 0:
        return pa.array([], type=type)
    made = encode(text)
    mapped = [func(u) for u in made.texts]
    if type == text.type and mapped == made.texts:
        return text
    dictionary = pa.array(mapped, type=type)
    result = dictionary.take(pa.array(made.indices))
    if pa.types.is_string(type) or pa.types.is_large_string(type):
        _remember(result, Encoding(made.indices, mapped, dictionary))
    return result


def test_distinct(text: Text, func: Callable[[str], bool]) -> np.ndarray:
    """A per-text Python test, run once per distinct text, as a numpy mask of every row."""
    if len(text) == 0:
        return np.zeros(0, dtype=bool)
    indices, uniques = distinct(text)
    return np.fromiter((bool(func(u)) for u in uniques), bool, len(uniques))[indices]


def _same(text: Text, values: Sequence[str]) -> pa.Array:
    return pa.array(list(values), type=text.type)


def _re2_safe(pattern: str) -> bool:
    """True when RE2 reads the pattern as Python and ECMA 262 do on printable ASCII text."""
    if "[:" in pattern or "[[" in pattern:
        return False
    position = 0
    while position < len(pattern):
        match = _RE2_TOKEN.match(pattern, position)
        if match is None:
            return False
        position = match.end()
    return True


class Unsupported(Exception):
    """The schema uses a construct this compiler does not decide exactly."""


def _is_annotation(key: str) -> bool:
    return key in _ANNOTATIONS or key.startswith("x-")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class ColumnCheck:
    """The constraints on one column, flattened from its property schema and ``allOf``."""

    name: str
    kind: str  # "string", "integer", "number", or "other" (every present value is wrong)
    constraints: tuple[tuple[str, Any], ...]

    def suspect(self, text: Text, present: np.ndarray,
                formats: Mapping[str, FormatCheck]) -> np.ndarray:
        """Rows whose (present) value might break a constraint of this column. A verdict
        depends on the text alone, so a column already encoded (its codes upper-cased, its
        dates normalised) is judged once per distinct text and the verdicts spread back;
        number columns are encoded here (their typed column is made from the same encoding)."""
        known = encode(text) if self.kind in ("integer", "number") and len(text) \
            else known_encoding(text)
        if known is not None and len(known.texts) < len(text):
            dictionary = known.dictionary
            return self._suspect(dictionary, filled(dictionary), formats)[known.indices]
        return self._suspect(text, present, formats)

    def _suspect(self, text: Text, present: np.ndarray,
                 formats: Mapping[str, FormatCheck]) -> np.ndarray:
        if self.kind == "other":
            return present.copy()
        flagged = np.zeros(len(text), dtype=bool)
        numbers: np.ndarray | None = None
        if self.kind in ("integer", "number"):
            pattern = _ASCII_INTEGER if self.kind == "integer" else _ASCII_NUMBER
            typed_ok = bools(pc.match_substring_regex(text, pattern)) & present
            flagged |= present & ~typed_ok
            numbers = np.full(len(text), np.nan)
            if typed_ok.any():
                digits = text.filter(pa.array(typed_ok))
                # correctly rounded, as Python's float() builds the engine's values
                numbers[typed_ok] = pc.cast(digits, pa.float64()).to_numpy(
                    zero_copy_only=False)
                if self.kind == "integer":  # huge integers: the exact engine decides
                    flagged[typed_ok] |= bools(pc.utf8_length(digits)) > _EXACT_FLOAT_DIGITS
            flagged |= typed_ok & ~np.isfinite(numbers)
        string = self.kind == "string"
        for keyword, value in self.constraints:
            if keyword in ("enum", "const"):
                members = list(value) if keyword == "enum" else [value]
                if string:
                    allowed = [m for m in members if isinstance(m, str)]
                    flagged |= present & ~bools(pc.is_in(text, value_set=_same(text, allowed)))
                else:
                    allowed_numbers = [float(m) for m in members if _is_number(m)]
                    assert numbers is not None
                    with np.errstate(invalid="ignore"):
                        hit = np.isin(numbers, allowed_numbers)
                    flagged |= present & ~hit
            elif keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                if string:
                    continue  # applies to numbers only
                assert numbers is not None
                with np.errstate(invalid="ignore"):
                    bad = {"minimum": numbers < value, "maximum": numbers > value,
                           "exclusiveMinimum": numbers <= value,
                           "exclusiveMaximum": numbers >= value}[keyword]
                flagged |= present & bad
            elif keyword in ("minLength", "maxLength", "pattern", "not-pattern", "format"):
                if not string:
                    continue  # string keywords ignore numbers; a non-number is flagged above
                flagged |= present & self._string_suspect(keyword, value, text, formats)
        return flagged

    @staticmethod
    def _string_suspect(keyword: str, value: Any, text: Text,
                        formats: Mapping[str, FormatCheck]) -> np.ndarray:
        if keyword in ("minLength", "maxLength"):
            # code points, as JSON Schema counts them
            lengths = bools(pc.utf8_length(text))
            return lengths < value if keyword == "minLength" else lengths > value
        if keyword in ("pattern", "not-pattern"):
            unsafe = bools(pc.match_substring_regex(text, _UNSAFE_FOR_REGEX))
            found: np.ndarray | None = None
            if _re2_safe(value):
                try:
                    found = bools(pc.match_substring_regex(text, value))
                except pa.ArrowInvalid:
                    found = None  # RE2 refuses it: Python decides
            if found is None:
                value_re = re.compile(value)
                found = test_distinct(text, lambda t: value_re.search(t) is not None)
            return unsafe | (found if keyword == "not-pattern" else ~found)
        check = formats.get(value)
        if check is None:
            return np.zeros(len(text), dtype=bool)  # unknown formats are annotations
        return test_distinct(text, lambda t: not check(t))


def compile_column(name: str, schema: Mapping[str, Any]) -> ColumnCheck:
    """Flatten one property schema (``$ref``s already inlined) into a ``ColumnCheck``."""
    kind = "string"
    constraints: list[tuple[str, Any]] = []

    def walk(node: Mapping[str, Any], top: bool) -> None:
        nonlocal kind
        for key, value in node.items():
            if _is_annotation(key):
                continue
            if key not in _COLUMN_KEYWORDS:
                raise Unsupported(f"{name}: keyword {key}")
            if key == "type":
                if not top:
                    raise Unsupported(f"{name}: type inside allOf")
                kinds = [value] if isinstance(value, str) else list(value)
                real = [k for k in kinds if k != "null"]
                if len(real) != 1:
                    raise Unsupported(f"{name}: type {value!r}")
                kind = real[0] if real[0] in ("string", "integer", "number") else "other"
            elif key == "allOf":
                for item in value:
                    walk(item, top=False)
            elif key == "not":
                rest = {k: v for k, v in value.items() if not _is_annotation(k)}
                if set(rest) != {"pattern"}:
                    raise Unsupported(f"{name}: not {sorted(rest)}")
                constraints.append(("not-pattern", _python_pattern(rest["pattern"])))
            elif key == "pattern":
                constraints.append(("pattern", _python_pattern(value)))
            elif key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                if not _is_number(value) or not math.isfinite(value):
                    raise Unsupported(f"{name}: {key} {value!r}")
                constraints.append((key, value))
            else:
                constraints.append((key, value))

    walk(schema, top=True)
    if "type" not in schema:
        raise Unsupported(f"{name}: no type")
    return ColumnCheck(name=name, kind=kind, constraints=tuple(constraints))


def _python_pattern(pattern: str) -> str:
    """The pattern for Python ``re``; refuse syntax that differs between ECMA 262 and Python."""
    if not isinstance(pattern, str) or re.search(r"\\[pPuxcks]|\(\?[<!=]?[<!=]|\(\?[a-zP]",
                                                 pattern):
        raise Unsupported(f"pattern {pattern!r}")
    try:
        re.compile(pattern)
    except re.error:
        raise Unsupported(f"pattern {pattern!r}") from None
    return pattern


@dataclass(frozen=True)
class Condition:
    """An ``if`` the filter decides exactly: columns present, text columns equal to codes."""

    present: tuple[str, ...]
    codes: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Branch:
    """A ``then``/``else`` the filter decides: ``required`` or ``not: {required}``."""

    required: tuple[str, ...] = ()
    forbidden_together: tuple[str, ...] | None = None  # ``not: {required}``: not all present


@dataclass(frozen=True)
class RowRule:
    condition: Condition | None  # None: always applies
    then: Branch
    otherwise: Branch | None = None


@dataclass(frozen=True)
class Suspects:
    """The rows that might be invalid, and why. ``cells``: per column, the rows whose cell
    might break the column's own schema (its property); ``rules``: the rows that might break
    the record's rules (the schema's top-level keywords: required cells, if/then); a row
    flagged by neither is valid. ``present``: per column, the rows where it holds text."""

    cells: dict[str, np.ndarray]
    rules: np.ndarray
    present: dict[str, np.ndarray]

    def rows(self) -> np.ndarray:
        """The indices of every row flagged for any reason."""
        flagged = self.rules.copy()
        for cells in self.cells.values():
            flagged |= cells
        return np.flatnonzero(flagged)


@dataclass(frozen=True)
class CompiledFilter:
    """The whole schema as column checks plus row rules over which cells are present."""

    columns: dict[str, ColumnCheck]
    rules: tuple[RowRule, ...]
    # the columns whose *value* (not only presence) a row rule's condition reads
    condition_columns: tuple[str, ...] = ()

    def suspect(self, texts: Mapping[str, Text], length: int,
                formats: Mapping[str, FormatCheck]) -> Suspects:
        """Every row that might be invalid. ``texts`` are the normalised text columns; a
        column absent from the file is empty on every row."""
        present = {name: filled(texts[name]) for name in texts}
        none = np.zeros(length, dtype=bool)
        cells = {name: check.suspect(texts[name], present[name], formats)
                 for name, check in self.columns.items() if name in texts}
        flagged = none.copy()

        def has(name: str) -> np.ndarray:
            return present.get(name, none)

        for rule in self.rules:
            applies = np.ones(length, dtype=bool)
            if rule.condition is not None:
                for name in rule.condition.present:
                    applies &= has(name)
                for name, codes in rule.condition.codes:
                    if name in texts:
                        applies &= bools(pc.is_in(texts[name],
                                                  value_set=_same(texts[name], codes)))
                    else:
                        applies &= none
            flagged |= applies & _broken(rule.then, has, length)
            if rule.otherwise is not None:
                flagged |= ~applies & _broken(rule.otherwise, has, length)
        return Suspects(cells=cells, rules=flagged, present=present)


def _broken(branch: Branch, has: Callable[[str], np.ndarray], length: int) -> np.ndarray:
    broken = np.zeros(length, dtype=bool)
    for name in branch.required:
        broken |= ~has(name)
    if branch.forbidden_together is not None:
        together = np.ones(length, dtype=bool)
        for name in branch.forbidden_together:
            together &= has(name)
        broken |= together
    return broken


def compile_filter(schema: Mapping[str, Any]) -> CompiledFilter:
    """Compile a resolved record schema; raises ``Unsupported`` for anything not decided
    exactly (the caller then validates every record with the per-record engine)."""
    properties = schema.get("properties", {})
    kinds = {}
    columns = {}
    for name, prop in properties.items():
        if not isinstance(prop, Mapping):
            raise Unsupported(f"{name}: boolean schema")
        columns[name] = compile_column(name, prop)
        kinds[name] = columns[name].kind
    rules: list[RowRule] = []
    for key, value in schema.items():
        if _is_annotation(key):
            continue
        if key not in _TOP_KEYWORDS:
            raise Unsupported(f"top-level keyword {key}")
        if key == "type" and value != "object":
            raise Unsupported(f"top-level type {value!r}")
        if key == "additionalProperties" and value is not False:
            raise Unsupported("additionalProperties other than false")
        if key == "required":
            rules.append(RowRule(None, Branch(required=tuple(value))))
        if key == "dependentRequired":
            rules.extend(_dependent(value))
        if key == "allOf":
            for item in value:
                rules.extend(_top_item(item, kinds))
    if "if" in schema:
        rules.extend(_top_item({k: schema[k] for k in ("if", "then", "else") if k in schema},
                               kinds))
    elif "then" in schema or "else" in schema:
        pass  # then/else without if are ignored by JSON Schema
    conditions = dict.fromkeys(name for rule in rules if rule.condition is not None
                               for name, _codes in rule.condition.codes)
    return CompiledFilter(columns=columns, rules=tuple(rules),
                          condition_columns=tuple(conditions))


def _dependent(value: Mapping[str, list[str]]) -> list[RowRule]:
    return [RowRule(Condition(present=(trigger,), codes=()), Branch(required=tuple(needs)))
            for trigger, needs in value.items()]


def _top_item(item: Mapping[str, Any], kinds: Mapping[str, str]) -> list[RowRule]:
    keys = {k for k in item if not _is_annotation(k)}
    if keys == {"required"}:
        return [RowRule(None, Branch(required=tuple(item["required"])))]
    if keys == {"dependentRequired"}:
        return _dependent(item["dependentRequired"])
    if keys == {"not"}:
        return [RowRule(None, _branch({"not": item["not"]}))]
    if "if" in keys and keys <= {"if", "then", "else"}:
        condition = _condition(item["if"], kinds)
        then = _branch(item["then"]) if "then" in item else Branch()
        otherwise = _branch(item["else"]) if "else" in item else None
        return [RowRule(condition, then, otherwise)]
    raise Unsupported(f"allOf item with {sorted(keys)}")


def _condition(node: Any, kinds: Mapping[str, str]) -> Condition:
    if not isinstance(node, Mapping):
        raise Unsupported("boolean if")
    keys = {k for k in node if not _is_annotation(k)}
    if not keys <= {"required", "properties"}:
        raise Unsupported(f"if with {sorted(keys)}")
    required = tuple(node.get("required", ()))
    codes = []
    for name, sub in node.get("properties", {}).items():
        sub_keys = {k for k in sub if not _is_annotation(k)}
        # a property test only decides the condition when the property must be present
        if name not in required or kinds.get(name) != "string":
            raise Unsupported(f"if on {name}")
        if sub_keys == {"const"} and isinstance(sub["const"], str):
            codes.append((name, (sub["const"],)))
        elif sub_keys == {"enum"} and all(isinstance(c, str) for c in sub["enum"]):
            codes.append((name, tuple(sub["enum"])))
        else:
            raise Unsupported(f"if on {name} with {sorted(sub_keys)}")
    return Condition(present=required, codes=tuple(codes))


def _branch(node: Any) -> Branch:
    if not isinstance(node, Mapping):
        raise Unsupported("boolean branch")
    keys = {k for k in node if not _is_annotation(k)}
    if keys == {"required"}:
        return Branch(required=tuple(node["required"]))
    if keys == {"not"} and isinstance(node["not"], Mapping):
        inner = {k for k in node["not"] if not _is_annotation(k)}
        if inner == {"required"}:
            return Branch(forbidden_together=tuple(node["not"]["required"]))
    raise Unsupported(f"branch with {sorted(keys)}")
