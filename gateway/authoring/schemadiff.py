"""``gateway schema diff``: what changed for submitters between two reporting years of a measure,
in the words of release notes.

It compares what the validator itself uses, asked through the same hooks as for a file: each
level's record schema (``$ref``s inlined), the family's file rules and its calendar. Wording
(titles, descriptions, messages, hints), the schema's ``$id`` and the reporting-year column's
own value are expected to differ from year to year and are not changes; everything else is:
columns added or removed, codes, ranges, patterns and lengths, required-ness, record rules,
numerator targets (``x-targets``), file rules, code lists, ranges and limits the family
declares as data outside the schema (hook ``gateway_year_data``), and moved dates of service or
windows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from gateway.authoring.describe import target_words
from gateway.authoring.layouts import LayoutError, find_measure, layout_for
from gateway.contract.records import Route, RuleContext
from gateway.engine.plugins import Plugins

PROSE = {"title", "description", "x-message", "x-hint", "$comment", "examples"}
IDENTITY = {"$id", "$schema"}
RANGE = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
LENGTH = ("minLength", "maxLength")
HANDLED = {"properties", "required", "allOf", "x-targets", *IDENTITY}
COLUMN_HANDLED = {"enum", "pattern", "type", "format", "x-optional-column", *RANGE, *LENGTH}


@dataclass(frozen=True)
class Change:
    """One change a submitter or plugin author must know about."""

    kind: str
    subject: str
    text: str
    levels: tuple[str, ...] = ()
    before: Any = None
    after: Any = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _plain(node: Any) -> Any:
    """The schema without wording, so only what the validator checks is compared."""
    if isinstance(node, list):
        return [_plain(n) for n in node]
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items() if k not in PROSE}
    return node


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(
        value, str | int | float) else str(value)


def _bounds(definition: dict[str, Any]) -> str:
    low = definition.get("minimum", definition.get("exclusiveMinimum"))
    high = definition.get("maximum", definition.get("exclusiveMaximum"))
    if low is None and high is None:
        return "no range"
    left = "(" if "exclusiveMinimum" in definition else "["
    right = ")" if "exclusiveMaximum" in definition else "]"
    return f"{left}{'' if low is None else low}..{'' if high is None else high}{right}"


def _column_changes(name: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    old_codes, new_codes = old.get("enum"), new.get("enum")
    if old_codes != new_codes and old_codes is not None and new_codes is not None:
        added = [c for c in new_codes if c not in old_codes]
        removed = [c for c in old_codes if c not in new_codes]
        if added:
            yield Change("codes", name, f"{name}: codes added: {', '.join(map(str, added))}",
                         after=added)
        if removed:
            yield Change("codes", name, f"{name}: codes removed: "
                         f"{', '.join(map(str, removed))}", before=removed)
    elif old_codes != new_codes:
        yield Change("codes", name, f"{name}: coded values {_show(old_codes)} -> "
                     f"{_show(new_codes)}", before=old_codes, after=new_codes)
    if any(old.get(k) != new.get(k) for k in RANGE):
        yield Change("range", name, f"{name}: allowed range {_bounds(old)} -> {_bounds(new)}",
                     before={k: old[k] for k in RANGE if k in old},
                     after={k: new[k] for k in RANGE if k in new})
    for key, words in (("pattern", "pattern"), ("format", "format"), ("type", "type"),
                       ("minLength", "shortest length"), ("maxLength", "longest length")):
        if old.get(key) != new.get(key):
            yield Change(key if key in ("pattern", "format", "type") else "length", name,
                         f"{name}: {words} {_show(old.get(key, 'none'))} -> "
                         f"{_show(new.get(key, 'none'))}", before=old.get(key),
                         after=new.get(key))
    if bool(old.get("x-optional-column")) != bool(new.get("x-optional-column")):
        now = "may be left out of the header" if new.get("x-optional-column") else \
            "must be in the header"
        yield Change("header", name, f"{name}: the column now {now}")
    rest_old = {k: v for k, v in old.items() if k not in COLUMN_HANDLED}
    rest_new = {k: v for k, v in new.items() if k not in COLUMN_HANDLED}
    for key in sorted(set(rest_old) | set(rest_new)):
        if rest_old.get(key) != rest_new.get(key):
            yield Change("column", name, f"{name}: {key} {_show(rest_old.get(key, 'none'))} -> "
                         f"{_show(rest_new.get(key, 'none'))}", before=rest_old.get(key),
                         after=rest_new.get(key))


def _target_changes(old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    for part in sorted(set(old) | set(new)):
        before, after = old.get(part, {}), new.get(part, {})
        for column in sorted(set(before) | set(after)):
            was, now = before.get(column), after.get(column)
            if was == now:
                continue
            yield Change("target", f"{part}.{column}", (
                f"numerator target {part}: {column} {target_words(now)} (was {target_words(was)})"),
                before=was, after=now)


def schema_changes(old: dict[str, Any], new: dict[str, Any], old_year: int,
                   new_year: int) -> Iterator[Change]:
    """Changes between two record schemas of one layout ($refs inlined)."""
    worded_old, worded_new = old, new
    old, new = _plain(old), _plain(new)
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name in new_props:
        if name not in old_props:
            yield Change("column", name, f"column {name} added", after=new_props[name])
    for name in old_props:
        if name not in new_props:
            yield Change("column", name, f"column {name} removed", before=old_props[name])
    for name in (n for n in old_props if n in new_props):
        was, now = dict(old_props[name]), dict(new_props[name])
        if was.get("const") == old_year and now.get("const") == new_year:
            was.pop("const"), now.pop("const")  # the reporting-year column names its year
        yield from _column_changes(name, was, now)
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    for name in sorted(new_required - old_required):
        yield Change("required", name, f"{name} is now required")
    for name in sorted(old_required - new_required):
        yield Change("required", name, f"{name} is no longer required")
    old_rules, new_rules = old.get("allOf", []), new.get("allOf", [])
    for rule, worded in zip(new_rules, worded_new.get("allOf", []), strict=True):
        if rule not in old_rules:
            yield Change("record rule", "allOf", f"record rule added: {_rule_words(worded)}",
                         after=rule)
    for rule, worded in zip(old_rules, worded_old.get("allOf", []), strict=True):
        if rule not in new_rules:
            yield Change("record rule", "allOf", f"record rule removed: "
                         f"{_rule_words(worded)}", before=rule)
    yield from _target_changes(old.get("x-targets", {}), new.get("x-targets", {}))
    for key in sorted((set(old) | set(new)) - HANDLED):
        if old.get(key) != new.get(key):
            yield Change("schema", key, f"{key} {_show(old.get(key, 'none'))} -> "
                         f"{_show(new.get(key, 'none'))}", before=old.get(key),
                         after=new.get(key))


def _rule_words(rule: dict[str, Any]) -> str:
    """A record rule in its own message's words when it has one (the message a submitter
    sees), otherwise as JSON."""
    messages = [branch.get("x-message") for branch in (rule, rule.get("then") or {},
                                                        rule.get("else") or {})
                if isinstance(branch, dict) and branch.get("x-message")]
    return " / ".join(messages) if messages else _show(_plain(rule))


def _rule_changes(plugins: Plugins, old: Route, new: Route) -> Iterator[Change]:
    def rules(route: Route) -> dict[str, str]:
        found = plugins.hook.gateway_file_rules(route=route, context=RuleContext(route=route))
        return {rule.code: rule.title for batch in found for rule in batch}

    before, after = rules(old), rules(new)
    for code in after:
        if code not in before:
            yield Change("file rule", code, f"file rule {code} added: {after[code]}")
    for code in before:
        if code not in after:
            yield Change("file rule", code, f"file rule {code} removed: {before[code]}")


def _calendar_changes(plugins: Plugins, old: Route, new: Route) -> Iterator[Change]:
    before = plugins.hook.gateway_calendar(route=old) or []
    after = plugins.hook.gateway_calendar(route=new) or []
    if len(before) == 1 and len(after) == 1:
        for key, words in (("dates_of_service", "dates of service"),
                           ("window", "submission window")):
            was, now = getattr(before[0], key), getattr(after[0], key)
            if was != now:
                yield Change("dates", key, f"{words} moved from {was[0]}..{was[1]} to "
                             f"{now[0]}..{now[1]}", before=[d.isoformat() for d in was],
                             after=[d.isoformat() for d in now])
    elif [p.as_dict() for p in before] != [p.as_dict() for p in after]:
        def listed(periods: list[Any]) -> str:
            return "; ".join(f"{p.label} {p.dates_of_service[0]}..{p.dates_of_service[1]} "
                             f"due {p.window[0]}..{p.window[1]}" for p in periods) or "none"
        yield Change("dates", "calendar", f"calendar changed from {listed(before)} to "
                     f"{listed(after)}", before=[p.as_dict() for p in before],
                     after=[p.as_dict() for p in after])


def _data_changes(plugins: Plugins, old: Route, new: Route) -> Iterator[Change]:
    """Code lists, ranges and limits the family declares as data (hook ``gateway_year_data``)."""
    before = plugins.hook.gateway_year_data(route=old) or {}
    after = plugins.hook.gateway_year_data(route=new) or {}
    for name in sorted(set(before) | set(after)):
        was, now = before.get(name), after.get(name)
        if was == now:
            continue
        if isinstance(was, list | tuple) and isinstance(now, list | tuple):
            added = [v for v in now if v not in was]
            removed = [v for v in was if v not in now]
            words = "; ".join(part for part in (
                f"added {', '.join(map(str, added))}" if added else "",
                f"removed {', '.join(map(str, removed))}" if removed else "") if part) \
                or f"{_show(list(was))} -> {_show(list(now))}"
            yield Change("data", name, f"{name}: {words}", before=list(was), after=list(now))
        else:
            yield Change("data", name, f"{name}: {_show('none' if was is None else was)} -> "
                         f"{_show('none' if now is None else now)}", before=was, after=now)


def diff_years(plugins: Plugins, family: str, measure: str, old_year: int,
               new_year: int) -> list[Change]:
    """Every change between two reporting years of a measure; a change shared by several
    levels is listed once, naming the levels."""
    family_info, measure_info = find_measure(plugins, measure, family)
    for year in (old_year, new_year):
        if year not in measure_info.reporting_years:
            raise LayoutError(f"{measure_info.measure} has no reporting year {year}; years: "
                              f"{', '.join(map(str, measure_info.reporting_years))}")
    merged: dict[tuple[str, str], tuple[Change, list[str]]] = {}
    for level in measure_info.levels:
        old = layout_for(plugins, family_info, measure_info, level, old_year)
        new = layout_for(plugins, family_info, measure_info, level, new_year)
        found = [*schema_changes(old.schema, new.schema, old_year, new_year),
                 *_rule_changes(plugins, old.route, new.route),
                 *_data_changes(plugins, old.route, new.route)]
        if level == measure_info.levels[0]:
            found += _calendar_changes(plugins, old.route, new.route)
        for change in found:
            key = (change.kind, change.text)
            merged.setdefault(key, (change, []))[1].append(level)
    every = list(measure_info.levels)
    return [Change(c.kind, c.subject, c.text,
                   () if c.kind == "dates" or levels == every else tuple(levels),
                   c.before, c.after) for c, levels in merged.values()]


def render(family: str, measure: str, old_year: int, new_year: int,
           changes: list[Change]) -> str:
    """The release-notes text."""
    head = f"{family} {measure}: reporting year {old_year} -> {new_year}"
    if not changes:
        return f"{head}: no change\n"
    lines = [f"{head}, {len(changes)} change(s):"]
    for change in changes:
        where = f" ({', '.join(change.levels)} level only)" if change.levels else ""
        lines.append(f"- {change.text}{where}")
    return "\n".join(lines) + "\n"
