"""Schemas and rules in words: what a person filling in a file must know about each column, each
required-if rule and each file rule, read off the same schema and hooks the validator uses.

The template's ``notes`` sheet and the generated specification pages both print these, so they
say the same thing in both places.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gateway.authoring.layouts import Layout
from gateway.contract.records import RuleContext
from gateway.engine.plugins import Plugins
from gateway.engine.records import Column

# The value forms of gateway.contract.formats, as the specification (README section 1) states them.
FORMAT_WORDS = {
    "date": "date YYYY-MM-DD (MM/DD/YYYY and M/D/YYYY accepted)",
    "local-date-time": "date-time YYYY-MM-DDTHH:MM or MM/DD/YYYY HH:MM, 24-hour local time",
    "npi": "10 digits with a valid NPI check digit",
    "zip": "5-digit ZIP code (ZIP+4 accepted and cut to 5)",
    "zip-or-all": "5-digit ZIP code (ZIP+4 accepted), or ALL",
    "quarter": "quarter YYYYQn, e.g. 2015Q1",
}
_KIND_WORDS = {"integer": "whole number", "number": "decimal number", "string": "text",
               "boolean": "Y/N"}
_FORMAT_KIND = {"date": "date", "local-date-time": "date-time"}

REQUIRED, CONDITIONAL, OPTIONAL = "required", "conditional", "optional"


@dataclass(frozen=True)
class ColumnDoc:
    """One column as a submitter reads it: every field is plain text, empty when it does not
    apply."""

    name: str
    type: str
    requirement: str
    codes: str
    range: str
    format: str
    description: str

    @property
    def allowed(self) -> str:
        """Codes, range and form in one phrase, for the template's one ``allowed`` column."""
        return "; ".join(part for part in (self.codes, self.range, self.format) if part)


@dataclass(frozen=True)
class RecordRule:
    """A required-if branch of the schema: when ``condition`` holds, ``effect``."""

    condition: str
    effect: str
    message: str


def _number(value: Any) -> str:
    """A bound as a person writes it: 3.0 prints as 3."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def value_range(schema: dict[str, Any]) -> str:
    """Bounds and lengths of a property in words ("0 to 100", "at least 1 character")."""
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    parts = []
    if low is not None and high is not None and "exclusiveMinimum" not in schema \
            and "exclusiveMaximum" not in schema:
        parts.append(f"from {_number(low)} to {_number(high)}")
    else:
        if low is not None:
            word = "more than" if "exclusiveMinimum" in schema else "at least"
            parts.append(f"{word} {_number(low)}")
        if high is not None:
            word = "less than" if "exclusiveMaximum" in schema else "at most"
            parts.append(f"{word} {_number(high)}")
    shortest, longest = schema.get("minLength"), schema.get("maxLength")
    if shortest is not None and longest is not None:
        parts.append(f"{shortest} to {longest} characters")
    elif longest is not None:
        parts.append(f"at most {longest} characters")
    elif shortest is not None:
        parts.append(f"at least {shortest} characters")
    return ", ".join(parts)


def value_format(column: Column) -> str:
    """The column's form: a named format in words, else its pattern."""
    if column.format:
        return FORMAT_WORDS.get(column.format, column.format)
    pattern = column.schema.get("pattern")
    return f"matches {pattern}" if pattern else ""


def column_type(column: Column) -> str:
    """The column's type in a data abstractor's words; a date is a date, not "text"."""
    return _FORMAT_KIND.get(column.format or "") or _KIND_WORDS.get(column.kind, column.kind)


def _walk_rules(node: Any) -> Iterator[dict[str, Any]]:
    """Every subschema that carries a required-if rule, in schema order (``allOf`` nests)."""
    if not isinstance(node, dict):
        return
    if "if" in node or "dependentRequired" in node:
        yield node
    for key in ("allOf", "anyOf", "oneOf"):
        for item in node.get(key, ()):
            yield from _walk_rules(item)


def _condition(schema: dict[str, Any]) -> str:
    """An ``if`` subschema in words: "excluded is Y and cases is at least 1"."""
    parts = []
    properties = schema.get("properties", {})
    for name, prop in properties.items():
        if "const" in prop:
            parts.append(f"{name} is {prop['const']}")
        elif "enum" in prop:
            parts.append(f"{name} is one of {', '.join(str(v) for v in prop['enum'])}")
        else:
            bounds = value_range(prop)
            parts.append(f"{name} is {bounds}" if bounds else f"{name} is given")
    parts.extend(f"{name} is given" for name in schema.get("required", ())
                 if name not in properties)
    return " and ".join(parts) or "always"


def _constraint(name: str, schema: dict[str, Any]) -> str:
    """A property narrowed inside a branch: "control_score: whole number from 5 to 25"."""
    column = Column.from_schema(name, schema)
    words = [column_type(column)] if "type" in schema else []
    if column.codes is not None:
        words.append(f"one of {', '.join(column.codes)}")
    words += [w for w in (value_range(schema), value_format(column)) if w]
    return f"{name}: {' '.join(words)}"


def _effect(schema: dict[str, Any]) -> str:
    """A ``then``/``else`` subschema in words: what must be filled in, left empty or narrowed."""
    parts = []
    if schema.get("required"):
        parts.append(f"{', '.join(schema['required'])} required")
    forbidden = schema.get("not", {}).get("required")
    if forbidden:
        parts.append(f"{', '.join(forbidden)} must be empty")
    parts += [_constraint(name, prop) for name, prop in schema.get("properties", {}).items()]
    return "; ".join(parts)


def _message(branch: dict[str, Any], node: dict[str, Any]) -> str:
    """The branch's ``x-message``, else those of the properties it narrows, else the rule's."""
    if "x-message" in branch:
        return str(branch["x-message"])
    inner = [str(p["x-message"]) for p in branch.get("properties", {}).values()
             if "x-message" in p]
    return " ".join(inner) if inner else str(node.get("x-message", ""))


def record_rules(layout: Layout) -> list[RecordRule]:
    """The schema's required-if rules with the message a failing record gets."""
    rules = []
    for node in _walk_rules(layout.schema):
        if "if" in node:  # JSON Schema allows an ``if`` with only ``then`` or only ``else``
            if "then" in node:
                rules.append(RecordRule(_condition(node["if"]), _effect(node["then"]),
                                        _message(node["then"], node)))
            if "else" in node:
                rules.append(RecordRule(f"not ({_condition(node['if'])})", _effect(node["else"]),
                                        _message(node["else"], node)))
        for name, needs in node.get("dependentRequired", {}).items():
            rules.append(RecordRule(f"{name} is given", f"{', '.join(needs)} required",
                                    node.get("x-message", "")))
    return rules


def _conditional_columns(layout: Layout) -> set[str]:
    """Columns that some rule requires or empties: "conditional" rather than "optional"."""
    names: set[str] = set()
    for node in _walk_rules(layout.schema):
        for branch in (node.get("then", {}), node.get("else", {})):
            names.update(branch.get("required", ()))
            names.update(branch.get("not", {}).get("required", ()))
        for needs in node.get("dependentRequired", {}).values():
            names.update(needs)
    return names


def column_docs(layout: Layout) -> list[ColumnDoc]:
    """Every column of the layout, described for a submitter."""
    required = set(layout.schema.get("required", ()))
    conditional = _conditional_columns(layout)
    docs = []
    for column in layout.columns:
        if column.name in required:
            requirement = REQUIRED
        elif column.name in conditional:
            requirement = CONDITIONAL
        else:
            requirement = OPTIONAL
        if column.optional_column:
            requirement += " (the column may be left out)"
        docs.append(ColumnDoc(
            name=column.name, type=column_type(column), requirement=requirement,
            codes=", ".join(column.codes) if column.codes is not None else "",
            range=value_range(column.schema), format=value_format(column),
            description=" ".join(str(column.schema.get("description", "")).split())))
    return docs


def file_rules(plugins: Plugins, layout: Layout) -> list[tuple[str, str]]:
    """(code, title) of every cross-record rule the families run on a file of this layout,
    each pair once, asked through the same hook the pipeline calls."""
    route = layout.route
    found: dict[tuple[str, str], None] = {}
    batches: Iterable[list[Any]] = plugins.hook.gateway_file_rules(
        route=route, context=RuleContext(route))
    for rules in batches:
        for rule in rules:
            found[(rule.code, rule.title)] = None
    return list(found)


def target_words(bound: dict[str, Any] | None) -> str:
    """A numerator target of ``x-targets`` in words: ``below 7.0``."""
    if not bound:
        return "no target"
    ops = {"exclusiveMaximum": "below", "maximum": "at most", "exclusiveMinimum": "above",
           "minimum": "at least"}
    return " and ".join(f"{ops.get(k, k)} {v}" for k, v in bound.items())
