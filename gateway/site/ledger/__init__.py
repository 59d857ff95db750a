"""The ledger: every submission and every state transition, in SQLite (one host, the default)
or PostgreSQL (several hosts). ``model`` says what is recorded, ``schema`` how, ``store`` the
questions and transitions, ``migrate`` the versioned schema changes, ``copy`` the move from one
database to another.

``Ledger`` and ``LostClaim`` are loaded on first use: they bring SQLAlchemy and Alembic (a fifth
of a second), which ``gateway validate`` and ``gateway --help`` never need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.site.ledger.model import UNFINISHED, Daemon, State, Submission, now_text

if TYPE_CHECKING:
    from gateway.site.ledger.store import Ledger, LostClaim

__all__ = ["UNFINISHED", "Daemon", "Ledger", "LostClaim", "State", "Submission", "now_text"]


def __getattr__(name: str) -> Any:
    if name in ("Ledger", "LostClaim"):
        from gateway.site.ledger import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
