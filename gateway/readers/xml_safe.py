"""Safe, streaming XML: no DTDs, no entities, no network, flat memory.

A DTD is refused before lxml sees the file (a byte scan of the prolog), and lxml is still called
with ``resolve_entities=False``, ``no_network=True``, ``load_dtd=False`` and ``huge_tree=False``
so a declaration that slipped past the scan can expand nothing. Elements are cleared as they are
consumed, so memory stays flat however many records the file has.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from gateway.contract import Document, FileSample
from gateway.readers.limits import Limits
from gateway.readers.problems import FileProblem
from gateway.readers.sniff import XML

_PROLOG_BYTES = 64 * 1024
_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)


def _unsafe(message: str, line: int | None = None) -> FileProblem:
    return FileProblem.of("E-FILE-UNSAFE-XML", message, line=line,
                          hint="Remove the <!DOCTYPE ...> block; the layout needs no DTD or "
                               "entities.")


def refuse_declarations(path: Path) -> None:
    """Raise when the file declares a DTD or entities anywhere before the root element ends
    its prolog (DTDs can only appear there, so the scan is bounded)."""
    with path.open("rb") as handle:
        head = handle.read(_PROLOG_BYTES)
    match = _DECLARATION.search(head)
    if match:
        line = head[: match.start()].count(b"\n") + 1
        raise _unsafe(f"The XML declares a {match.group(1).decode().upper()} on line {line}; "
                      "DTDs and entity declarations are refused.", line)


def safe_iterparse(path: Path, events: tuple[str, ...] = ("start", "end"),
                   tag: str | None = None) -> Iterator[tuple[str, etree._Element]]:
    """lxml ``iterparse`` with every unsafe feature off; syntax errors become
    ``E-FILE-MALFORMED`` with their line, DTDs that lxml still meets become unsafe-XML."""
    parser = etree.iterparse(
        str(path), events=events, tag=tag, resolve_entities=False, no_network=True,
        load_dtd=False, dtd_validation=False, huge_tree=False, remove_comments=True,
        remove_pis=True)
    try:
        first = True
        for event, element in parser:
            if first:
                first = False
                if element.getroottree().docinfo.doctype:
                    raise _unsafe("The XML declares a DTD; DTDs are refused.")
            yield event, element
    except etree.XMLSyntaxError as err:
        # libxml2's messages describe syntax, not content; keep the line, use our words.
        line = err.position[0] if err.position else None
        raise FileProblem.of("E-FILE-MALFORMED", f"The XML is not well formed near line {line}.",
                             line=line, hint="Export the file again; every element must be "
                                             "closed and '&' written as '&amp;'.") from None


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


class XmlDocument(Document):
    """An XML upload: the root for routing; families parse records with ``safe_iterparse``."""

    format = XML

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = path
        self.limits = limits
        refuse_declarations(path)
        self._sample = self._read_sample()

    def _read_sample(self) -> FileSample:
        root: str | None = None
        fields: dict[str, str] = {}
        depth = 0
        for event, element in safe_iterparse(self.path):
            if event == "start":
                depth += 1
                if depth == 1:
                    root = element.tag
                elif depth == 2 and len(fields) > 100:
                    break
                continue
            depth -= 1
            if depth == 1:
                if len(element):  # the first element with children ends the header part
                    break
                fields[_local(element.tag)] = (element.text or "").strip()
                element.clear()
        if root is None:
            raise FileProblem.of("E-FILE-EMPTY", "The XML file has no root element.")
        return FileSample(format=XML, xml_root=root, xml_fields=fields)

    def sample(self) -> FileSample:
        return self._sample
