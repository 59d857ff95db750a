"""Findings of an XML file in the file's own words.

The record layer and the rules speak of columns (``median_minutes``); an abstractor fixing a
CART file sees elements (``<median-minutes>``). A reader gives each column's element (or
``element/@attribute``) as the file writes it (``RecordBatch.names``); this pass renames the
finding's ``column`` and the columns its message and hint mention (specs README section 4).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

from gateway.contract.findings import Finding


def _shown(name: str) -> tuple[str, str]:
    """(the finding's column, how a message names it) for an element or an attribute."""
    if "/@" in name:
        element, attribute = name.split("/@", 1)
        return attribute, f"the {attribute} of <{element}>"
    return name, f"<{name}>"


class XmlWords:
    """Renames columns to elements in findings (compiled once per file)."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self.names = {column: _shown(name) for column, name in names.items()}
        ordered = sorted(self.names, key=len, reverse=True)  # longest first: measure_id
        self.pattern = re.compile(
            r"(?<![\w<>@/-])(" + "|".join(re.escape(c) for c in ordered) + r")(?![\w>/-])"
        ) if ordered else None

    def _text(self, text: str | None) -> str | None:
        if text is None or self.pattern is None:
            return text
        return self.pattern.sub(lambda m: self.names[m.group(1)][1], text)

    def finding(self, finding: Finding) -> Finding:
        if self.pattern is None:
            return finding
        column = self.names[finding.column][0] if finding.column in self.names \
            else finding.column
        return dataclasses.replace(finding, column=column, message=self._text(
            finding.message) or finding.message, hint=self._text(finding.hint))

    def findings(self, findings: Iterable[Finding]) -> list[Finding]:
        return [self.finding(f) for f in findings]
