"""Aligned plain-text tables for the operator commands (``submissions``, ``compliance``,
``calendar``): columns padded to their widest cell, two spaces apart, no trailing blanks."""

from __future__ import annotations

from collections.abc import Sequence


def plain_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The header and rows as lines of text, each ending in a newline."""
    widths = [max(len(title), *(len(row[i]) for row in rows)) if rows else len(title)
              for i, title in enumerate(header)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"
