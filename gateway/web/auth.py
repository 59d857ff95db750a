"""Who is asking: a session cookie, an API token, or (single sign-on) a header set by the
trusted reverse proxy; and the CSRF check every state-changing request passes.

A session's CSRF token lives with the session on the server. The sign-in form, which comes
before any session, carries a random token that must match a short-lived cookie of its own.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from starlette.requests import Request

from gateway.web.accounts import Account, Accounts, Session

SESSION_COOKIE = "gateway_session"
LOGIN_COOKIE = "gateway_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class Refusal(Exception):
    """A request answered with an HTTP error; the message is safe to show anyone."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def not_found() -> Refusal:
    """The one answer for an object that does not exist or is not the asker's to see."""
    return Refusal(404, "not_found", "There is no such item, or it is not yours to see.")


@dataclass(frozen=True)
class Principal:
    """The account a request acts for and how it proved it."""

    account: Account
    session: Session | None  # None: an API token
    via: str  # "session", "token" or "sso"

    @property
    def submitter(self) -> str | None:
        """The one submitter this account sees; None for an operator (sees every one)."""
        return None if self.account.is_operator else self.account.submitter

    @property
    def name(self) -> str:
        return self.account.name


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


class Authenticator:
    """Finds the principal of a request (or None) with the site's single sign-on settings."""

    def __init__(self, accounts: Accounts, trusted_header: str,
                 trusted_proxies: tuple[str, ...]) -> None:
        self.accounts = accounts
        self.trusted_header = trusted_header.lower()
        self.trusted_proxies = trusted_proxies

    def from_token(self, request: Request) -> Principal | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        account = self.accounts.by_token(token.strip())
        if account is None:
            raise Refusal(401, "unauthorized", "The token is not valid.")
        return Principal(account, None, "token")

    def from_session(self, request: Request) -> Principal | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        session = self.accounts.session(cookie) if cookie else None
        return None if session is None else Principal(session.account, session, "session")

    def sso_name(self, request: Request) -> str | None:
        """The account name the trusted proxy vouches for, when single sign-on is configured
        and the request comes from the proxy's address."""
        if not self.trusted_header or request.client is None:
            return None
        if request.client.host not in self.trusted_proxies:
            return None
        return request.headers.get(self.trusted_header) or None

    def identify(self, request: Request) -> tuple[Principal | None, str | None]:
        """(principal, new session cookie to set or None)."""
        token = self.from_token(request)
        if token is not None:
            return token, None
        principal = self.from_session(request)
        sso = self.sso_name(request)
        if sso is None:
            return principal, None
        if principal is not None and principal.name == sso:
            return principal, None
        account = self.accounts.get(sso)
        if account is None or account.disabled:
            raise Refusal(403, "forbidden", "Your single sign-on account has no access to the "
                                            "gateway; ask the program's operators.")
        if principal is not None and principal.session is not None:
            self.accounts.end_session(principal.session.key)
        cookie, session = self.accounts.start_session(account)
        return Principal(account, session, "sso"), cookie


def check_csrf(principal: Principal, sent: str | None) -> None:
    """A session's state-changing request must carry its CSRF token; a token request needs
    none (a browser never sends a bearer token by itself)."""
    if principal.session is None:
        return
    if not same(sent, principal.session.csrf):
        raise Refusal(403, "csrf", "The form was out of date or not sent from this site; go back, "
                                   "reload the page and send it again.")
