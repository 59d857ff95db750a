"""Suggestions for words that are not codes: ``Medicaid`` for ``MHCP``, ``Female`` for ``F``.

The word lists are data (``schemas/common/code-synonyms.data.json``), kept beside the code lists
they point into. The gateway judges a file as sent: a synonym is never applied, only shown as
the finding's ``suggestion`` (specs README section 4), so a submitter fixes the source system
rather than relying on a guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from gateway_schemas import schema_root

_IGNORED = re.compile(r"[\s\-_.]+")


def spoken(word: str) -> str:
    """A word as matched: case, spaces, hyphens, underscores and full stops ignored."""
    return _IGNORED.sub("", word).upper()


@dataclass(frozen=True)
class SynonymList:
    """One list: the columns it serves (none: any column holding all its codes), where its
    words come from, and each code's words."""

    name: str
    columns: tuple[str, ...]
    source: str
    codes: dict[str, tuple[str, ...]]

    def serves(self, column: str, allowed: Sequence[str]) -> bool:
        if self.columns:
            return column in self.columns
        return set(self.codes) <= set(allowed)


@lru_cache(maxsize=1)
def synonym_lists() -> tuple[SynonymList, ...]:
    """The shipped lists, read once."""
    data: dict[str, Any] = json.loads(
        (schema_root() / "common" / "code-synonyms.data.json").read_text(encoding="utf-8"))
    return tuple(SynonymList(name=item["name"], columns=tuple(item["columns"]),
                             source=item["source"],
                             codes={code: tuple(words) for code, words in item["codes"].items()})
                 for item in data["lists"])


def suggest_code(column: str, value: Any, allowed: Sequence[str]) -> str | None:
    """The code ``value`` is a known word for, when that code is allowed in ``column``."""
    if value is None:
        return None
    said = spoken(str(value))
    if not said:
        return None
    for candidates in synonym_lists():
        if not candidates.serves(column, allowed):
            continue
        for code, words in candidates.codes.items():
            if code in allowed and any(spoken(w) == said for w in words):
                return code
    # a code written with different spacing or punctuation ("Self pay" for SELF_PAY)
    matches = [code for code in allowed if spoken(code) == said and code != str(value)]
    return matches[0] if len(matches) == 1 else None
