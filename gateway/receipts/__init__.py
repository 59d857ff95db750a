"""Receipts: the one answer every picked-up file gets, as JSON and as plain text."""

from gateway.receipts.model import Receipt, Status, new_submission_id

__all__ = ["Receipt", "Status", "new_submission_id"]
