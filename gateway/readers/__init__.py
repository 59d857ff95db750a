"""Readers: turn an untrusted upload into a safety-checked document of positioned records.

``open_document`` does the file layer of the specification (size, name, format from content,
encoding, safe XML, ZIP checks, header) and returns a ``Document`` or raises ``FileProblem``.
"""

from gateway.readers.limits import Limits
from gateway.readers.problems import FileProblem

__all__ = ["FileProblem", "Limits"]
