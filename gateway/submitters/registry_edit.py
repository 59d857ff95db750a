"""Adding an entry to ``registry.toml`` (``gateway submitter add``) without disturbing the rest.

The new ``[[submitter]]`` table is appended as text, so the operator's comments and layout stay
as they were; the whole new text must pass the same checks as any edit before it replaces the
file (atomically: a running daemon sees the old registry or the new one, never half a file).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from gateway.contract.registry import Registry
from gateway.submitters.registry_file import RegistryError, parse_registry

HEADER = 'registry_version = "1"\n'
_PROBLEM_LINE = re.compile(r"line (?P<line>\d+): (?P<rest>.*)", re.DOTALL)
# the order keys are written in, as the spec's example has them
ORDER = ("id", "name", "kind", "active", "npi", "urgent_care", "well_child", "emr_since", "ccn",
         "hospital_type", "nicu_level", "picu", "submits_to_cms", "admissions_last_year",
         "complete_marker")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def entry_text(fields: dict[str, Any]) -> str:
    """One ``[[submitter]]`` table; keys whose value is None are left out."""
    lines = ["", "[[submitter]]"]
    lines += [f"{key} = {_value(fields[key])}" for key in ORDER if fields.get(key) is not None]
    return "\n".join(lines) + "\n"


def add_entry(path: Path, fields: dict[str, Any]) -> Registry:
    """Append an entry to the registry at ``path`` (created when missing) and return the new
    registry. Raises ``RegistryError`` (the file unchanged) when the result would be refused."""
    current = _current(path)
    registry = _checked(path, current, fields)  # a taken id is refused here
    _replace(path, current + entry_text(fields))
    return registry


def _checked(path: Path, current: str, fields: dict[str, Any]) -> Registry:
    """The registry that ``current`` with the new entry appended makes, or ``RegistryError``.
    A problem of the new entry is said to be in it, not on a line number: the operator looking
    for that line in the file would not find it, since the entry was never written."""
    try:
        return parse_registry((current + entry_text(fields)).encode("utf-8"), str(path))
    except RegistryError as err:
        last_line = current.count("\n")  # the lines after it are the new entry's
        raise RegistryError(str(path), [_placed(problem, last_line, fields.get("id"))
                                        for problem in err.problems]) from None


def _placed(problem: str, last_line: int, ident: Any) -> str:
    """``problem`` as the operator can find it: beyond ``last_line`` it is the new entry's."""
    found = _PROBLEM_LINE.match(problem)
    if found is None or int(found["line"]) <= last_line:
        return problem
    return f"the new entry {ident!r}: {found['rest']}"


def _current(path: Path) -> str:
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return HEADER
    return current if current.endswith("\n") else current + "\n"


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # keep the mode of the file replaced; a new one is readable by the daemon's account
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_entry(path: Path, fields: dict[str, Any]) -> None:
    """Raise ``RegistryError`` when ``fields`` would not be taken into the registry at
    ``path``; the file is not touched."""
    _checked(path, _current(path), fields)

