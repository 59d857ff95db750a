"""Every finding of some files, to compare the record path before and after a change.

``python -m bench.receipt_dump OUT FILE...`` validates each file with ``validate_file`` (no
registry, submitter ``bench``) and writes one JSON line per file into OUT: the whole JSON
receipt with every finding listed (the receipt's cap of listed findings is lifted, so a file
with 50,000 bad rows shows all 50,000: row, column, cell, code, message, value, hint), without
what differs between two runs of the same file (submission id, times, timings). Two dumps of
the same files made by two versions of the code are then compared with ``cmp`` or ``diff``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gateway.contract.findings import FindingList

_UNLISTED = 10**9  # findings listed per receipt here: all of them
_VARYING = ("submission_id", "created_at")


def _list_everything() -> None:
    """``FindingList()`` lists every finding in this process (its ``cap`` default raised)."""
    defaults = list(FindingList.__init__.__defaults__ or ())
    defaults[0] = _UNLISTED  # ``cap`` is the first field with a default
    FindingList.__init__.__defaults__ = tuple(defaults)


def dump(path: Path) -> dict[str, object]:
    """The receipt of ``path`` as a dict, run-dependent fields removed."""
    from gateway.engine.pipeline import validate_file

    receipt = validate_file(path, submitter="bench", received_at="2016-01-15T12:00:00Z")
    out = receipt.as_dict()
    for key in _VARYING:
        out.pop(key, None)
    return {"path": str(path), "receipt": out}


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    _list_everything()
    with open(argv[0], "w", encoding="utf-8") as out:
        for name in argv[1:]:
            out.write(json.dumps(dump(Path(name)), sort_keys=True, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
