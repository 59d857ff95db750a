"""The exception that carries a file-layer rejection out of a reader."""

from __future__ import annotations

from gateway.contract.findings import Finding


class FileProblem(Exception):
    """A file-layer failure, with the findings to put in the receipt.

    The exception's own text is the code list only, so logging it never leaks a value.
    """

    def __init__(self, *findings: Finding) -> None:
        super().__init__(", ".join(f.code for f in findings))
        self.findings = findings
        self.format: str | None = None  # the sniffed format, when known (the receipt says it)

    @classmethod
    def of(cls, code: str, message: str, **where: object) -> FileProblem:
        return cls(Finding(code=code, message=message, **where))  # type: ignore[arg-type]
