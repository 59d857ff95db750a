"""What ``gateway validate`` prints of its receipts, as data: each file's JSON receipt and its
text, and the one way they are printed.

The receipts may come from this process or from a warm process of the running daemon (over the
wire of ``gateway.daemon.validate_wire``); printing them here, from the same data either way,
keeps the two outputs byte for byte the same. Nothing here imports what judging needs, so the
command can print a daemon's answer without loading pandas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.receipts.model import Status


@dataclass(frozen=True)
class Shown:
    """The JSON receipts (``Receipt.as_dict``) and texts of the files judged, in order."""

    receipts: list[dict[str, Any]]
    texts: list[str]

    @property
    def rejected(self) -> bool:
        """Is any file rejected (the command's exit code says so)?"""
        return any(r["status"] == Status.REJECTED.value for r in self.receipts)

    def output(self, as_json: bool) -> str:
        """What the command prints: the JSON receipt (several files: an array, in order), or
        the texts one after the other."""
        if as_json:
            shown = self.receipts[0] if len(self.receipts) == 1 else self.receipts
            return json.dumps(shown, indent=2, ensure_ascii=False) + "\n"
        return "\n".join(self.texts)

    def as_dict(self) -> dict[str, Any]:
        """For the wire."""
        return {"receipts": self.receipts, "texts": self.texts}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Shown:
        """From the wire; a malformed answer raises ``ValueError``."""
        receipts, texts = data.get("receipts"), data.get("texts")
        if (not isinstance(receipts, list) or not isinstance(texts, list)
                or len(receipts) != len(texts) or not receipts
                or not all(isinstance(r, dict) and "status" in r for r in receipts)
                or not all(isinstance(t, str) for t in texts)):
            raise ValueError("not a validation answer")
        return cls(receipts, texts)
