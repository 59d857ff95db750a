"""Objects looked up through their owner: a submitter's account reaches only its own
submitter's rows, and any other id answers exactly like one that does not exist."""

from __future__ import annotations

import re
from typing import Any

from gateway.web.accounts import Accounts
from gateway.web.auth import Principal, not_found
from gateway.web.site import Site, Submission

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def submission_for(site: Site, principal: Principal, submission_id: str) -> Submission:
    """The submission when ``principal`` may see it; otherwise the one 404."""
    if not _ID.fullmatch(submission_id) or ".." in submission_id:
        raise not_found()
    row = site.ledger.get(submission_id)
    if row is None:
        raise not_found()
    if principal.submitter is not None and row.submitter != principal.submitter:
        raise not_found()
    return row


def upload_for(accounts: Accounts, principal: Principal, upload_id: str) -> dict[str, Any]:
    if not _ID.fullmatch(upload_id):
        raise not_found()
    upload = accounts.upload(upload_id)
    if upload is None:
        raise not_found()
    if principal.submitter is not None and upload["submitter"] != principal.submitter:
        raise not_found()
    return upload
