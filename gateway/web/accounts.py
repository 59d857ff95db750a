"""Accounts, sessions, API tokens, sign-in failures and the audit trail, in the ledger's
database (tables ``web_*``, migration 0005).

Secrets are never stored in clear: a password as an argon2id PHC string, a session id and an
API token (random, 256 bits) as their sha256. A session ends after 8 hours, or after 30 minutes
without a request; five failed sign-ins within 15 minutes lock the account for 15 minutes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.web.site import (
    READ_ONLY,
    now_text,
    web_accounts,
    web_audit,
    web_failures,
    web_sessions,
    web_tokens,
    web_uploads,
)

ROLES = ("operator", "submitter")
SESSION_LIFETIME = 8 * 3600.0
SESSION_IDLE = 30 * 60.0
LOCK_FAILURES = 5
LOCK_WINDOW = 15 * 60.0
LOCK_TIME = 15 * 60.0
_SEEN_EVERY = 30.0  # seconds between writes of a session's last request
TOKEN_PREFIX = "gwt_"

_hasher = PasswordHasher()  # argon2id, the library's current recommended parameters
# Verified against when the name is unknown, so an unknown name costs what a known one does.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A request about accounts that cannot be done (unknown name, bad role); the message is
    safe to show."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    submitter: str | None
    disabled: bool
    created_at: str

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


@dataclass(frozen=True)
class Session:
    account: Account
    csrf: str
    key: str  # the hash the session is stored under


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _account(row: Any) -> Account:
    return Account(name=row.name, role=row.role, submitter=row.submitter,
                   disabled=bool(row.disabled), created_at=row.created_at)


class Accounts:
    """The console's people and their credentials, over one database engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _reading(self) -> sa.Connection:
        """A connection that only reads (on SQLite it never waits for the daemon's writes)."""
        return self.engine.connect().execution_options(**{READ_ONLY: True})

    # -- accounts ------------------------------------------------------------------------------

    def add(self, name: str, role: str, submitter: str | None, password: str) -> Account:
        if role not in ROLES:
            raise AccountError(f"the role must be one of {', '.join(ROLES)}")
        if (role == "submitter") != (submitter is not None):
            raise AccountError("a submitter account names its submitter (--submitter ID); an "
                               "operator account names none")
        if not name or len(name) > 128 or not name.isprintable():
            raise AccountError("an account name is 1 to 128 printable characters")
        with self.engine.begin() as db:
            if db.execute(sa.select(web_accounts.c.name)
                          .where(web_accounts.c.name == name)).first():
                raise AccountError(f"there is already an account {name!r}")
            db.execute(web_accounts.insert().values(
                name=name, role=role, submitter=submitter, password_hash=hash_password(password),
                disabled=False, created_at=now_text(), locked_until=0.0))
        account = self.get(name)
        assert account is not None
        return account

    def get(self, name: str) -> Account | None:
        with self._reading() as db:
            row = db.execute(sa.select(web_accounts).where(web_accounts.c.name == name)).first()
        return None if row is None else _account(row)

    def all(self) -> list[Account]:
        with self._reading() as db:
            rows = db.execute(sa.select(web_accounts).order_by(web_accounts.c.name))
            return [_account(row) for row in rows]

    def disable(self, name: str) -> None:
        """Disable the account and end its sessions; its tokens stop working too."""
        with self.engine.begin() as db:
            if db.execute(web_accounts.update().where(web_accounts.c.name == name)
                          .values(disabled=True)).rowcount != 1:
                raise AccountError(f"there is no account {name!r}")
            db.execute(web_sessions.delete().where(web_sessions.c.account == name))

    def set_password(self, name: str, password: str) -> None:
        """A new password; every session of the account ends and its lock is lifted."""
        with self.engine.begin() as db:
            if db.execute(web_accounts.update().where(web_accounts.c.name == name)
                          .values(password_hash=hash_password(password), locked_until=0.0)
                          ).rowcount != 1:
                raise AccountError(f"there is no account {name!r}")
            db.execute(web_sessions.delete().where(web_sessions.c.account == name))
            db.execute(web_failures.delete().where(web_failures.c.name == name))

    # -- sign-in -------------------------------------------------------------------------------

    def sign_in(self, name: str, password: str, now: float | None = None) -> Account | None:
        """The account when the name and password are right and the account may sign in; None
        otherwise, the same for a wrong password, a locked or disabled account and an unknown
        name. A wrong password is counted; the fifth within 15 minutes locks the account."""
        now = time.time() if now is None else now
        with self._reading() as db:
            row = db.execute(sa.select(web_accounts).where(web_accounts.c.name == name)).first()
        stored = row.password_hash if row is not None else _DUMMY_HASH
        try:
            right = _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            right = False
        if row is None:
            return None
        if row.locked_until > now or row.disabled:
            return None
        if right:
            return _account(row)
        with self.engine.begin() as db:
            db.execute(web_failures.delete().where(web_failures.c.at < now - LOCK_WINDOW))
            db.execute(web_failures.insert().values(name=name, at=now))
            failures = db.scalar(sa.select(sa.func.count()).select_from(web_failures).where(
                web_failures.c.name == name, web_failures.c.at >= now - LOCK_WINDOW)) or 0
            if failures >= LOCK_FAILURES:
                db.execute(web_accounts.update().where(web_accounts.c.name == name)
                           .values(locked_until=now + LOCK_TIME))
                db.execute(web_failures.delete().where(web_failures.c.name == name))
        return None

    # -- sessions ------------------------------------------------------------------------------

    def start_session(self, account: Account, now: float | None = None) -> tuple[str, Session]:
        """A new session: returns the cookie value (given to the browser once) and the session."""
        now = time.time() if now is None else now
        cookie = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        key = _digest(cookie)
        with self.engine.begin() as db:
            db.execute(web_sessions.delete().where(
                sa.or_(web_sessions.c.created < now - SESSION_LIFETIME,
                       web_sessions.c.last_seen < now - SESSION_IDLE)))
            db.execute(web_sessions.insert().values(session_hash=key, account=account.name,
                                                    csrf=csrf, created=now, last_seen=now))
        return cookie, Session(account=account, csrf=csrf, key=key)

    def session(self, cookie: str, now: float | None = None) -> Session | None:
        """The live session of a cookie value, its last request moved to now; None when it
        ended, expired, or its account is disabled."""
        now = time.time() if now is None else now
        key = _digest(cookie)
        with self._reading() as db:
            row = db.execute(sa.select(web_sessions, web_accounts).join(
                web_accounts, web_accounts.c.name == web_sessions.c.account)
                .where(web_sessions.c.session_hash == key)).first()
        if row is None:
            return None
        if (row.created <= now - SESSION_LIFETIME or row.last_seen <= now - SESSION_IDLE
                or row.disabled):
            self.end_session(key)
            return None
        if now - row.last_seen > _SEEN_EVERY:
            with self.engine.begin() as db:
                db.execute(web_sessions.update().where(web_sessions.c.session_hash == key)
                           .values(last_seen=now))
        return Session(account=_account(row), csrf=row.csrf, key=key)

    def end_session(self, key: str) -> None:
        with self.engine.begin() as db:
            db.execute(web_sessions.delete().where(web_sessions.c.session_hash == key))

    # -- API tokens ----------------------------------------------------------------------------

    def create_token(self, account: Account, label: str) -> tuple[str, str]:
        """A new API token of ``account``: returns (token id, the token, shown once)."""
        token_id = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}"
        with self.engine.begin() as db:
            db.execute(web_tokens.insert().values(
                token_id=token_id, account=account.name, token_hash=_digest(token),
                label=label[:100] or "token", created_at=now_text()))
        return token_id, token

    def tokens(self, account: str) -> list[dict[str, Any]]:
        with self._reading() as db:
            rows = db.execute(sa.select(web_tokens.c.token_id, web_tokens.c.label,
                                        web_tokens.c.created_at, web_tokens.c.revoked_at,
                                        web_tokens.c.last_used_at)
                              .where(web_tokens.c.account == account)
                              .order_by(web_tokens.c.created_at.desc()))
            return [dict(row._mapping) for row in rows]

    def revoke_token(self, account: str, token_id: str) -> bool:
        """Revoke one of ``account``'s own tokens; False when it has no such live token."""
        with self.engine.begin() as db:
            return db.execute(web_tokens.update().where(
                web_tokens.c.token_id == token_id, web_tokens.c.account == account,
                web_tokens.c.revoked_at.is_(None)).values(revoked_at=now_text())).rowcount == 1

    def by_token(self, token: str) -> Account | None:
        """The account a bearer token acts for; None for an unknown or revoked token or a
        disabled account."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self._reading() as db:
            row = db.execute(sa.select(web_tokens.c.token_id, web_accounts).join(
                web_accounts, web_accounts.c.name == web_tokens.c.account).where(
                web_tokens.c.token_hash == _digest(token),
                web_tokens.c.revoked_at.is_(None))).first()
        if row is None or row.disabled:
            return None
        with self.engine.begin() as db:
            db.execute(web_tokens.update().where(web_tokens.c.token_id == row.token_id)
                       .values(last_used_at=now_text()))
        return _account(row)

    # -- uploads and audit ----------------------------------------------------------------------

    def record_upload(self, upload_id: str, submitter: str, name: str, account: str,
                      created_at: str) -> None:
        with self.engine.begin() as db:
            db.execute(web_uploads.insert().values(upload_id=upload_id, submitter=submitter,
                                                   name=name, account=account,
                                                   created_at=created_at))

    def upload(self, upload_id: str) -> dict[str, Any] | None:
        with self._reading() as db:
            row = db.execute(sa.select(web_uploads)
                             .where(web_uploads.c.upload_id == upload_id)).first()
        return None if row is None else dict(row._mapping)

    def audit(self, action: str, account: str | None, *, submitter: str | None = None,
              submission_id: str | None = None, detail: str | None = None,
              address: str | None = None) -> None:
        """One line of the audit trail: ids and names, never a cell value."""
        with self.engine.begin() as db:
            db.execute(web_audit.insert().values(
                at=now_text(), account=account, action=action, submitter=submitter,
                submission_id=submission_id, detail=detail, address=address))

    def audit_page(self, limit: int = 200, before: int | None = None,
                   account: str | None = None, action: str | None = None
                   ) -> list[dict[str, Any]]:
        query = sa.select(web_audit).order_by(web_audit.c.event_id.desc()).limit(limit)
        if before is not None:
            query = query.where(web_audit.c.event_id < before)
        if account:
            query = query.where(web_audit.c.account == account)
        if action:
            query = query.where(web_audit.c.action == action)
        with self._reading() as db:
            return [dict(row._mapping) for row in db.execute(query)]
