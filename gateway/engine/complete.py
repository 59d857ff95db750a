"""Completing findings before they go into a receipt: a fix on every one, a place in the
file's own terms.

Readers, the record layer and plugin rules locate a finding as well as they can where they make
it; some know only part of its place (the line of a CSV's bad byte, not its row; the column of
an XML file's unknown reporting year, not its element) and many rule findings carry no fix of
their own. This pass fills the gaps from the file and the catalog, so a receipt never shows an
empty ``hint`` and an XML finding always carries ``xpath`` and ``line`` where the file has them.
It runs over the listed findings only (at most ``MAX_LISTED_FINDINGS``) and reads the file again
only when a finding needs it, so its cost does not grow with a good file.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

from gateway.contract.catalog import Catalog
from gateway.contract.findings import Finding, FindingList
from gateway.contract.lazy import lazy_module
from gateway.readers.problems import FileProblem
from gateway.readers.sniff import CSV, XML
from gateway.readers.xml_safe import safe_iterparse

etree = lazy_module("lxml.etree")

_HEADER_ELEMENTS = 200  # top-level elements scanned for the header's places, at most
_PREFIX_BYTES = 1 << 20  # of a file damaged near its top, the most read again for places


def _events(path: Path) -> Iterator[tuple[str, etree._Element]]:
    """The file's parse events, and for a file damaged near its top (a stray byte that is not
    UTF-8, found before libxml2 hands out any event of the chunk it read) the events of the
    lines before the damage, so the finding about it still names the root element."""
    given = 0
    try:
        for event, element in safe_iterparse(path):
            given += 1
            yield event, element
    except FileProblem as problem:
        line = problem.findings[0].line if problem.findings else None
        if given or not line or line < 2:
            raise
        with path.open("rb") as handle:
            head = b"".join(itertools.islice(handle, line - 1))[:_PREFIX_BYTES]
        parser = etree.XMLPullParser(
            events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False,
            huge_tree=False, remove_comments=True, remove_pis=True)
        try:
            parser.feed(head)
        except etree.XMLSyntaxError:
            return
        yield from parser.read_events()


class _Places:
    """Places in one file, read lazily: the XML root and header elements, CSV line -> row."""

    def __init__(self, path: Path | None, format: str | None) -> None:
        self.path = path
        self.format = format

    @cached_property
    def xml(self) -> tuple[tuple[str, int] | None, dict[str, tuple[str, int]]]:
        """The root's (xpath, line) and the root's text children by name (hyphens read as
        underscores, so ``reporting-year`` answers for the column ``reporting_year``)."""
        root: tuple[str, int] | None = None
        children: dict[str, tuple[str, int]] = {}
        if self.path is None:
            return root, children
        depth = seen = 0
        try:
            for event, element in _events(self.path):
                if event == "start":
                    depth += 1
                    if depth == 1:
                        root = (f"/{_local(element.tag)}", element.sourceline or 1)
                    elif depth == 2 and seen >= _HEADER_ELEMENTS:
                        break  # elements, not names: a file of a million <measure/> stops here
                    continue
                depth -= 1
                if depth == 1 and root is not None:
                    name = _local(element.tag)
                    children.setdefault(name.replace("-", "_"),
                                        (f"{root[0]}/{name}", element.sourceline or 1))
                    seen += 1
                    element.clear()
        except (FileProblem, OSError):
            pass  # a damaged file: the places read before the damage still count
        return root, children

    def csv_row(self, line: int) -> int | None:
        """The spreadsheet row (header = 1) of the record holding physical ``line``; the file
        may not be UTF-8 here, so bytes that are not are read as replacement characters."""
        if self.path is None:
            return None
        try:
            with self.path.open(encoding="utf-8", errors="replace", newline="") as handle:
                reader = csv.reader(handle)
                row, start = 0, 1  # records read, and the line the next one starts on
                while start < line:  # a record starting on ``line`` is not read: it may be
                    next(reader)     # the line over the line cap the finding is about
                    row, start = row + 1, reader.line_num + 1
                return row + 1 if start == line else row
        except (csv.Error, OSError, StopIteration):
            return None


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def complete_findings(findings: FindingList, catalog: Catalog, format: str | None,
                      path: Path | None) -> None:
    """Give every listed finding a fix and, where the file allows, its whole place."""
    places = _Places(path, format)
    findings.listed = [_complete(f, format, places) for f in findings.listed]
    findings.give_hints(catalog, format)


def _complete(finding: Finding, format: str | None, places: _Places) -> Finding:
    changes: dict[str, object] = {}
    if format == XML and (finding.xpath is None or finding.line is None):
        root, children = places.xml
        own = children.get(finding.column or "") if finding.xpath is None else next(
            (p for p in (root, *children.values()) if p and p[0] == finding.xpath), None)
        place = own or (root if finding.xpath is None else None)
        if place is not None:
            changes["xpath"] = finding.xpath or place[0]
            changes["line"] = finding.line or place[1]
            changes.update(row=None, cell=None)
    if format == XML and finding.column and "_" in finding.column:
        # a column named before the reader did (routing's reporting_year): the element's name
        own = places.xml[1].get(finding.column)
        if own is not None:
            changes["column"] = own[0].rsplit("/", 1)[-1]
    elif format == CSV and finding.row is None and finding.line is not None:
        changes["row"] = places.csv_row(finding.line)
    return dataclasses.replace(finding, **changes) if changes else finding
