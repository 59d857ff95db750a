"""The ledger: every submission and every state transition, in SQLite (one host, the default)
or PostgreSQL (several hosts). ``model`` says what is recorded, ``schema`` how, ``store`` the
questions and transitions, ``migrate`` the versioned schema changes, ``copy`` the move from one
database to another."""

from gateway.daemon.ledger.model import UNFINISHED, Daemon, State, Submission, now_text
from gateway.daemon.ledger.store import Ledger, LostClaim

__all__ = ["UNFINISHED", "Daemon", "Ledger", "LostClaim", "State", "Submission", "now_text"]
