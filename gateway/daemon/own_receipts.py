"""Receipts the daemon writes itself, without running the pipeline.

Uploads that may not be read (links, special files, bad names), files from folders that are not
registered submitters, files a worker failed on, and byte-identical resubmissions. Each is an
ordinary ``Receipt`` with codes from the catalog, so the submitter reads it like any other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import fields
from typing import Any

from gateway.contract.catalog import Layer
from gateway.contract.findings import Finding, FindingList
from gateway.contract.records import Route
from gateway.receipts.model import FileFacts, Receipt
from gateway.site.ledger import Submission
from gateway.submitters.layer import unknown_submitter

_NOT_READ = {
    "symlink": "The upload is a symbolic link, not a file. The gateway takes only regular files "
               "and did not follow the link.",
    "hardlink": "The upload has a second name (a hard link) elsewhere. The gateway takes only "
                "files with a single name and did not read it.",
    "special": "The upload is not a regular file (a folder, device, pipe or socket). It was "
               "not read.",
    "unreadable": "The gateway is not allowed to read the upload: its permissions forbid it. "
                  "Upload it again without keeping restrictive permissions (for example "
                  "without 'put -p').",
}

MARKER_SUFFIX = ".sha256"
_SEND_AGAIN = " Nothing in it was judged and it does not count as a submission: send the whole " \
    "file again."
_INTERRUPTED = {
    "interrupted": "The upload was interrupted: the connection ended while the file was still "
                   "being sent, so only its first {bytes:,} bytes arrived." + _SEND_AGAIN,
    "marker_mismatch": "The file's SHA-256 does not match its completion marker {marker}: "
                       "the {bytes:,} bytes that arrived are not the file that was sent."
                       + _SEND_AGAIN + " Send its marker after it.",
    "marker_missing": "The completion marker {marker} did not arrive within {wait} of the "
                      "file, so the gateway cannot tell whether the {bytes:,} bytes that "
                      "arrived are the whole file." + _SEND_AGAIN + " Send its marker after it.",
    "marker_unreadable": "The completion marker {marker} is not a SHA-256 in sha256sum's "
                         "format or 64 hexadecimal digits, so the {bytes:,} bytes that arrived "
                         "cannot be checked." + _SEND_AGAIN + " Send its marker after it.",
}

_FINDING_FIELDS = {f.name for f in fields(Finding)}


def _facts(submission: Submission, file_format: str | None = None) -> FileFacts:
    # An upload that was never read has no hash; the receipt schema's form for that is "".
    return FileFacts(name=submission.name, bytes=submission.bytes or 0,
                     sha256=submission.sha256 or "", format=file_format,
                     received_at=submission.received_at)


def _receipt(submission: Submission, file_format: str | None = None) -> Receipt:
    return Receipt(submission_id=submission.submission_id, submitter=submission.submitter,
                   file=_facts(submission, file_format), replaces=submission.replaces)


def not_read(submission: Submission, marker_wait_text: str = "24 hours") -> Receipt:
    """Rejection of an upload the gateway refused to read or to judge (``submission.problem``
    says why); ``marker_wait_text`` is how long a completion marker is waited for."""
    receipt = _receipt(submission)
    if submission.problem == "name":
        return receipt.reject(Layer.FILE.value, Finding(
            "E-FILE-NAME", f"The file name {submission.upload_name!r} may use only letters, "
            "digits, '.', '-' and '_', and at most 200 characters. The file was not read.",
            value=submission.upload_name))
    if submission.problem in _INTERRUPTED:
        return receipt.reject(Layer.FILE.value, Finding(
            "E-FILE-INTERRUPTED", _INTERRUPTED[submission.problem].format(
                bytes=submission.bytes or 0, marker=f"{submission.name}{MARKER_SUFFIX}",
                wait=marker_wait_text)))
    if submission.problem == "folder_unreadable":
        return receipt.reject(Layer.FILE.value, Finding(
            "E-PROCESSING-FAILED", "The gateway could not read this file because of a fault in "
            "its own folder set-up, which its operators have been told about. The file was not "
            "judged and does not count as a submission; send it again later."))
    problem = submission.problem or "special"
    code = "E-FILE-UNREADABLE" if problem == "unreadable" else "E-FILE-NOT-REGULAR"
    return receipt.reject(Layer.FILE.value, Finding(code, _NOT_READ[problem]))


def unknown_folder(submission: Submission) -> Receipt:
    """Rejection of a file from a folder the registry does not list as an active submitter:
    the file is not read, and the receipt says nothing but that."""
    return _receipt(submission).reject(Layer.SUBMITTER.value,
                                       unknown_submitter(submission.submitter))


def failed(submission: Submission, failure: str, *, time_limit: float,
           memory_limit_mb: int) -> Receipt:
    """Rejection of a file the gateway could not finish: over a limit, or the worker failed."""
    receipt = _receipt(submission)
    if failure == "time":
        finding = Finding("E-PROCESSING-LIMIT", "Checking this file took longer than the "
                          f"gateway's limit of {time_limit:g} seconds, so it was stopped.")
    elif failure == "memory":
        finding = Finding("E-PROCESSING-LIMIT", "Checking this file needed more memory than the "
                          f"gateway's limit of {memory_limit_mb:,} MiB, so it was stopped.")
    else:
        finding = Finding("E-PROCESSING-FAILED", "The gateway's checker stopped unexpectedly "
                          "while reading this file. The fault is the gateway's; the file was "
                          "not judged.")
    return receipt.reject(Layer.FILE.value, finding)


def duplicate(submission: Submission, first_id: str, earlier: dict[str, Any]) -> Receipt:
    """The answer to a byte-identical resubmission: the earlier outcome (``earlier`` is that
    receipt's JSON document) repeated under a new submission id, with ``duplicate_of``."""
    receipt = _receipt(submission, earlier["file"].get("format"))
    receipt.duplicate_of = first_id
    route = earlier.get("route")
    receipt.route = Route(**route) if route else None
    receipt.layer = earlier.get("layer")
    counts = earlier.get("counts", {})
    receipt.records = counts.get("records", 0)
    receipt.records_rejected = counts.get("records_rejected", 0)
    receipt.results = earlier.get("results")
    receipt.findings = FindingList(
        listed=[Finding(**{k: v for k, v in item.items() if k in _FINDING_FIELDS})
                for item in earlier.get("findings", [])],
        errors=counts.get("errors", 0), warnings=counts.get("warnings", 0),
        by_code=Counter(earlier.get("findings_by_code", {})))
    return receipt
