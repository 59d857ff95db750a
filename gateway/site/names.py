"""Which names the gateway takes, skips or refuses.

Upload names come from outside and end up in receipt and archive file names, so they are checked
against the specification's rule (letters, digits, ``.``, ``-``, ``_``; at most 200 characters)
and, where they fail it, replaced by a safe spelling for everything the gateway writes.
"""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 200
TEMPORARY_SUFFIXES = (".part", ".filepart", ".tmp", ".crdownload")

_VALID_NAME = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_NAME_LENGTH}}}")
_UNSAFE_CHAR = re.compile(r"[^A-Za-z0-9._-]")
_SUBMITTER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def is_temporary(name: str) -> bool:
    """An upload still in progress (dot files and the partial-upload suffixes of common SFTP
    clients); the gateway never takes one, however long it sits."""
    return name.startswith(".") or name.lower().endswith(TEMPORARY_SUFFIXES)


def is_valid_upload_name(name: str) -> bool:
    """The specification's file-name rule; a file that breaks it is rejected with E-FILE-NAME."""
    return _VALID_NAME.fullmatch(name) is not None


def safe_name(name: str) -> str:
    """A spelling of ``name`` that is safe inside the gateway's own file names: every character
    outside the allowed set becomes ``_`` and the result is cut to the length limit."""
    cleaned = _UNSAFE_CHAR.sub("_", name)[:MAX_NAME_LENGTH]
    return cleaned if cleaned.strip(".") else "_"


def printable_name(name: str) -> str:
    """The name as text that can be stored and shown, even when the file system handed us bytes
    that are not UTF-8 (Python keeps those as surrogate escapes)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_submitter_id(name: str) -> bool:
    """Submitter ids name folders and appear in receipts: letters, digits, ``-`` and ``_``,
    starting with a letter or digit, at most 64 characters."""
    return _SUBMITTER_ID.fullmatch(name) is not None
