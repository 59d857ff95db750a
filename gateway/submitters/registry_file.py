"""Reading ``registry.toml``: TOML, then its JSON Schema, then the rules across entries.

A registry is taken whole or not at all: any problem refuses the file, and every problem is
reported with the line it is on, so an operator can fix them in one edit. ``tomllib`` gives the
line of a syntax error but not of a parsed value, so the lines of entries and keys are found
again in the text (``_Lines``): a ``[[submitter]]`` header starts the n-th entry and a key is
the first ``key =`` line inside it. No TOML library keeps positions while parsing to plain data.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway_schemas import schema_root

from gateway.contract.registry import (
    DEADLINES,
    KINDS,
    RECEIPTS,
    Contact,
    Registry,
    Submitter,
    Webhook,
)

if TYPE_CHECKING:  # jsonschema is imported when a registry is read, not by `gateway --help`
    from jsonschema import ValidationError

REGISTRY_NAME = "registry.toml"
SCHEMA_FILE = ("registry", "registry-1.schema.json")
_HEADER = re.compile(r"\s*\[\[\s*submitter\s*\]\]")
_SUB_HEADER = re.compile(r"\s*\[\[\s*submitter\s*\.\s*(?P<table>[A-Za-z_]+)\s*\]\]")
SUB_TABLES = ("contact", "webhook")  # [[submitter.contact]], [[submitter.webhook]]
_TABLE = re.compile(r"\s*\[")
_SYNTAX_AT = re.compile(r"\(at line (?P<line>\d+), column (?P<column>\d+)\)")
_AT_END = "(at end of document)"


class RegistryError(ValueError):
    """The registry file cannot be used; ``problems`` are one line of text each, every one
    naming the file and line."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(f"{source}: registry refused: " + "; ".join(self.problems))


@cache
def registry_schema() -> dict[str, Any]:
    """The JSON Schema of ``registry.toml`` (``schemas/registry/registry-1.schema.json``)."""
    folder, name = SCHEMA_FILE
    return json.loads((schema_root() / folder / name).read_text(encoding="utf-8"))


def load_registry(path: Path, checked_digest: str | None = None) -> Registry:
    """Read and check a registry file; raise ``RegistryError`` naming every problem's line.
    ``checked_digest``: as for ``parse_registry``."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise RegistryError(str(path), [f"cannot be read: {err.strerror or err}"]) from err
    return parse_registry(data, str(path), checked_digest)


def parse_registry(data: bytes, source: str, checked_digest: str | None = None) -> Registry:
    """Check registry text (``source`` names it in messages) and build the ``Registry``.

    ``checked_digest``: the SHA-256 of a text the site's daemon already checked and put in
    force (it says so in the ledger). When ``data`` is that very text, its JSON Schema pass
    is not run again: it is nine tenths of the time of a load (0.4 s for 2,000 entries) and
    its verdict on the same bytes is the same; the rules across entries still run."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8")
        document = tomllib.loads(text)
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise RegistryError(source, [f"line {line}: not UTF-8 text (byte {err.start})"]) from None
    except tomllib.TOMLDecodeError as err:
        raise RegistryError(source, [_syntax_problem(str(err), text)]) from None
    lines = _Lines(text)
    checked = [] if digest == checked_digest else _schema_problems(document, lines)
    problems = sorted(set(checked + _cross_problems(document, lines)))
    if problems:
        raise RegistryError(source, [f"line {line}: {message}" for line, message in problems])
    entries = [_entry(raw, lines.entry(i)) for i, raw in enumerate(document.get("submitter", []))]
    return Registry(submitters={entry.id: entry for entry in entries}, source=source,
                    digest=digest)


def _syntax_problem(message: str, text: str) -> str:
    """A TOML syntax error worded like every other problem, ``line N: ...`` first, so an
    operator (or a script) finds the line the same way whatever went wrong; an error "at end
    of document" (an unclosed list, say) is on the last line."""
    found = _SYNTAX_AT.search(message)
    if found is not None:
        return f"line {found['line']}: not valid TOML: {message[:found.start()].rstrip()} " \
               f"(column {found['column']})"
    if message.endswith(_AT_END):
        last = max(len(text.splitlines()), 1)
        return f"line {last}: not valid TOML: {message.removesuffix(_AT_END).rstrip()} " \
               "(the file ends before it is complete)"
    return f"not valid TOML: {message}"


class _Lines:
    """Where entries and keys are in the text (1-based line numbers)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.starts = [i for i, line in enumerate(self.lines) if _HEADER.match(line)]

    def entry(self, index: int) -> int:
        return self.starts[index] + 1 if index < len(self.starts) else 1

    def key(self, index: int | None, key: str) -> int:
        """The line of ``key`` in entry ``index`` (None: the top of the file, before any
        table); the entry's header line when the key is not written there."""
        if index is None:
            begin = 0
        else:
            if index >= len(self.starts):
                return 1
            begin = self.starts[index] + 1
        return self._key_from(begin, key) or (begin if index is not None else 1)

    def sub_table(self, index: int, table: str, position: int) -> int:
        """The header line of the ``position``-th ``[[submitter.<table>]]`` of entry ``index``
        (the entry's header line when it cannot be found)."""
        if index >= len(self.starts):
            return 1
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.lines)
        found = [i for i in range(self.starts[index] + 1, end)
                 if (m := _SUB_HEADER.match(self.lines[i])) and m["table"] == table]
        return found[position] + 1 if position < len(found) else self.starts[index] + 1

    def sub_key(self, index: int, table: str, position: int, key: str) -> int:
        """The line of ``key`` inside a ``[[submitter.<table>]]`` (its header when absent)."""
        header = self.sub_table(index, table, position)
        return self._key_from(header, key) or header

    def _key_from(self, begin: int, key: str) -> int | None:
        """The first ``key =`` line from ``begin`` (0-based) up to the next table header."""
        end = next((i for i in range(begin, len(self.lines)) if _TABLE.match(self.lines[i])),
                   len(self.lines))
        pattern = re.compile(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for i in range(begin, end):
            if pattern.match(self.lines[i]):
                return i + 1
        return None


def _jsonable(value: Any) -> Any:
    """TOML values as JSON Schema sees them: dates become ISO text (a datetime keeps its time,
    so the schema's date format refuses it)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if not isinstance(value, str | int | float | bool):
        return str(value)
    return value


def _schema_problems(document: dict[str, Any], lines: _Lines) -> list[tuple[int, str]]:
    from jsonschema import Draft202012Validator, FormatChecker, validators

    # JSON Schema counts 3.0 as an integer; in TOML it is a float, which the operator did not
    # mean for `nicu_level` or `admissions_last_year`: a wrong type, refused like any other.
    checker = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))
    strict = validators.extend(Draft202012Validator, type_checker=checker)
    validator = strict(registry_schema(), format_checker=FormatChecker())
    problems = []
    for error in validator.iter_errors(_jsonable(document)):
        for leaf in _leaves(error):
            problems.append(_explain(leaf, document, lines))
    return sorted(set(problems))


def _leaves(error: ValidationError) -> Iterable[ValidationError]:
    """The most specific errors: an ``allOf``/``if-then`` failure stands for its causes."""
    if error.context:
        for child in error.context:
            yield from _leaves(child)
    else:
        yield error


def _explain(error: ValidationError, document: dict[str, Any],
             lines: _Lines) -> tuple[int, str]:
    path = list(error.absolute_path)
    index = path[1] if len(path) >= 2 and path[0] == "submitter" else None
    where = _entry_label(document, index)
    if index is not None and len(path) >= 4 and path[2] in SUB_TABLES \
            and isinstance(path[3], int):
        return _explain_sub_table(error, index, str(path[2]), path[3], where, lines)
    if "propertyNames" in error.relative_schema_path or error.validator == "additionalProperties":
        key = str(error.instance) if error.validator != "additionalProperties" else \
            _extra_key(error)
        kind = _kind(document, index)
        scope = f"a {kind} submitter" if kind else "this file"
        return lines.key(index, key), f"unknown key {key!r} for {scope}{where}"
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        key = missing[0] if missing else "?"
        return lines.entry(index) if index is not None else 1, \
            f"missing key {key!r}{where}"
    key = next((str(p) for p in reversed(path) if isinstance(p, str)), "")
    line = lines.key(index, key) if key else (lines.entry(index) if index is not None else 1)
    return line, f"{key or 'value'}: {_requirement(error)}{where}"


def _explain_sub_table(error: ValidationError, index: int, table: str, position: int,
                       where: str, lines: _Lines) -> tuple[int, str]:
    """A problem inside a ``[[submitter.contact]]`` or ``[[submitter.webhook]]`` table, on the
    line of the key (or of the table's header)."""
    path = list(error.absolute_path)
    what = f"[[submitter.{table}]] #{position + 1}{where}"
    if error.validator == "additionalProperties":
        key = _extra_key(error)
        return lines.sub_key(index, table, position, key), f"unknown key {key!r} in {what}"
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        return lines.sub_table(index, table, position), \
            f"missing key {missing[0] if missing else '?'!r} in {what}"
    key = str(path[4]) if len(path) >= 5 and isinstance(path[4], str) else ""
    line = lines.sub_key(index, table, position, key) if key \
        else lines.sub_table(index, table, position)
    if len(path) == 4 and error.validator == "type":
        return line, f"{table} entries must be written as [[submitter.{table}]] tables{where}"
    return line, f"{key or table}: {_requirement(error)} in {what}"


def _extra_key(error: ValidationError) -> str:
    found = re.findall(r"'([^']+)' was unexpected", error.message)
    return found[0] if found else "?"


def _requirement(error: ValidationError) -> str:
    """What a key's value must be, in words (never the whole instance)."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    validator = error.validator
    if validator == "type":
        if list(error.absolute_path) == ["submitter"]:
            return "entries must be written as [[submitter]] tables"
        return f"must be {_type_word(schema.get('type'))}"
    if validator == "enum":
        return "must be one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    if validator == "const":
        return f"must be {json.dumps(schema['const'])}"
    if validator == "pattern":
        return f"{json.dumps(error.instance)} does not have the required form " \
               f"({(schema.get('description') or schema['pattern']).rstrip('.')})"
    if validator == "format":
        return "must be a date written YYYY-MM-DD (without quotes or time)"
    if validator in ("minimum", "maximum"):
        return f"must be between {_range(error)}"
    if validator == "minItems":
        return "must list at least one id"
    if validator == "uniqueItems":
        return "lists the same id twice"
    if validator in ("minLength", "maxLength"):
        return "must not be empty (and at most 200 characters)"
    return error.message


def _type_word(kind: Any) -> str:
    return {"string": "text in quotes", "boolean": "true or false", "integer": "a whole number",
            "array": "a list [...]", "object": "a table"}.get(str(kind), str(kind))


def _range(error: ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    parent = error.parent.schema if error.parent else {}
    low = schema.get("minimum", parent.get("minimum") if isinstance(parent, dict) else None)
    high = schema.get("maximum", parent.get("maximum") if isinstance(parent, dict) else None)
    return f"{low} and {high}" if high is not None else f"{low} and any larger number"


def _entry_label(document: dict[str, Any], index: int | None) -> str:
    if index is None:
        return ""
    entries = document.get("submitter") or []
    raw = entries[index] if index < len(entries) and isinstance(entries[index], dict) else {}
    ident = raw.get("id")
    return f" (submitter {ident!r})" if isinstance(ident, str) else f" (submitter #{index + 1})"


def _kind(document: dict[str, Any], index: int | None) -> str | None:
    if index is None:
        return None
    raw = (document.get("submitter") or [])[index]
    return raw.get("kind") if isinstance(raw, dict) else None


def _cross_problems(document: dict[str, Any], lines: _Lines) -> list[tuple[int, str]]:
    """Rules across entries: ids unique, every NPI/CCN under one submitter, NPI check digits."""
    from gateway.contract.formats import npi_is_valid

    problems: list[tuple[int, str]] = []
    seen_ids: dict[str, int] = {}
    seen_facilities: dict[tuple[str, str], str] = {}
    entries = document.get("submitter", [])
    for index, raw in enumerate(entries if isinstance(entries, list) else []):
        problems += _keys_of_unknown_kind(raw, index, document, lines)
        ident = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(ident, str):
            continue  # the schema's problem
        if ident in seen_ids:
            problems.append((lines.key(index, "id"), f"duplicate id {ident!r}: it is already "
                             f"used on line {seen_ids[ident]}"))
        else:
            seen_ids[ident] = lines.key(index, "id")
        for key in ("npi", "ccn"):
            values = raw.get(key, ())
            for value in values if isinstance(values, list) else ():
                if not isinstance(value, str):
                    continue
                if key == "npi" and len(value) == 10 and not npi_is_valid(value):
                    problems.append((lines.key(index, key), f"npi {value} has a wrong check "
                                     f"digit (submitter {ident!r})"))
                owner = seen_facilities.setdefault((key, value), ident)
                if owner != ident:
                    problems.append((lines.key(index, key), f"{key} {value} is listed under "
                                     f"two submitters, {owner!r} and {ident!r}"))
    return problems


def _keys_of_unknown_kind(raw: Any, index: int, document: dict[str, Any],
                          lines: _Lines) -> list[tuple[int, str]]:
    """Unknown keys of an entry whose ``kind`` is missing or wrong. The schema checks keys per
    kind, so without a kind it says nothing about them; keys no kind knows are named here, so
    one edit fixes every problem."""
    if not isinstance(raw, dict) or raw.get("kind") in KINDS:
        return []
    known = registry_schema()["$defs"]["submitter"]["properties"]
    where = _entry_label(document, index)
    return [(lines.key(index, key), f"unknown key {key!r}{where}")
            for key in raw if key not in known]


def _entry(raw: dict[str, Any], line: int) -> Submitter:
    return Submitter(
        id=raw["id"], name=raw["name"], kind=raw["kind"], active=raw.get("active", True),
        complete_marker=raw.get("complete_marker"),
        npi=tuple(raw.get("npi", ())), urgent_care=raw.get("urgent_care", False),
        well_child=raw.get("well_child", False), emr_since=_date(raw.get("emr_since")),
        ccn=tuple(raw.get("ccn", ())), hospital_type=raw.get("hospital_type"),
        nicu_level=raw.get("nicu_level", 0), picu=raw.get("picu", False),
        submits_to_cms=raw.get("submits_to_cms", False),
        admissions_last_year=raw.get("admissions_last_year"),
        contacts=tuple(Contact(name=c["name"], email=c["email"], role=c.get("role", "data"),
                               notify=tuple(c.get("notify", (RECEIPTS, DEADLINES))),
                               digest=c.get("digest", "none"))
                       for c in raw.get("contact", ())),
        webhooks=tuple(Webhook(url=w["url"], secret_file=w["secret_file"],
                               events=tuple(w.get("events", ("receipt",))))
                       for w in raw.get("webhook", ())),
        line=line)


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)  # quoted ISO text, already checked by the schema


def find_registry(explicit: Path | None, config_source: Path | None,
                  configured: Path | None) -> Path:
    """Where the registry is: ``--registry``, else ``[registry] file`` of the config, else
    ``registry.toml`` beside the config file, else in the working folder."""
    if explicit is not None:
        return explicit
    if configured is not None:
        return configured
    if config_source is not None:
        return config_source.resolve().parent / REGISTRY_NAME
    return Path(REGISTRY_NAME)
