"""What one submitter owes: an obligation paired with its submitter, in report order. The
families are asked for them by ``gateway.engine.obligations``."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.contract.registry import Obligation, Submitter


@dataclass(frozen=True)
class Owed:
    """One obligation of one submitter."""

    submitter: Submitter
    obligation: Obligation

    @property
    def sort_key(self) -> tuple[str, str, str, str, str]:
        return (self.submitter.id, *self.obligation.key)
