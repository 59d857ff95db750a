"""What every page and endpoint needs: the site, its accounts, templates, the cookie policy,
and how an answer is rendered and audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from gateway.web.accounts import Accounts
from gateway.web.auth import LOGIN_COOKIE, SESSION_COOKIE, Authenticator, Principal, Refusal
from gateway.web.checks import RecentChecks
from gateway.web.ratelimit import RateLimiter, too_many
from gateway.web.site import Site

HERE = Path(__file__).parent


def count_of(number: int | None, word: str) -> str:
    """``1 error``, ``2 errors``: counts as a person writes them."""
    number = number or 0
    return f"{number:,} {word}{'' if number == 1 else 's'}"


class Console:
    """What every handler needs: the site, the accounts, templates and cookie policy."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.accounts = Accounts(site.engine)
        config = site.config
        self.secure_cookies = config.web_public_url.startswith("https://")
        self.auth = Authenticator(self.accounts, config.web_trusted_user_header,
                                  config.web_trusted_proxies)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals["public_url"] = config.web_public_url
        self.templates.env.filters["count_of"] = count_of
        self.checks = RecentChecks()
        self.account_limit = RateLimiter(config.web_rate_per_account)

    # -- requests ------------------------------------------------------------------------------

    def identify(self, request: Request) -> Principal | None:
        principal, cookie = self.auth.identify(request)
        if cookie is not None:
            request.state.new_session_cookie = cookie
        return principal

    def require(self, request: Request, *, operator: bool = False,
                submitter: bool = False) -> Principal:
        """The signed-in principal; 401 without one, 403 when the role does not fit."""
        principal = self.identify(request)
        if principal is None:
            raise Refusal(401, "unauthorized", "Sign in first.")
        seconds = self.account_limit.wait(principal.name)
        if seconds is not None:
            raise too_many(seconds, "account")
        if operator and not principal.account.is_operator:
            raise Refusal(403, "forbidden", "This page is for the program's operators.")
        if submitter and principal.submitter is None:
            raise Refusal(403, "forbidden", "This page is for a submitter's accounts.")
        return principal

    def audit(self, request: Request, principal: Principal | None, action: str,
              **fields: Any) -> None:
        self.accounts.audit(action, principal.name if principal else None,
                            address=request.client.host if request.client else None, **fields)

    # -- answers -------------------------------------------------------------------------------

    def render(self, request: Request, template: str, principal: Principal | None,
               status: int = 200, **context: Any) -> Response:
        response = self.templates.TemplateResponse(
            request, template, {"me": principal, "csrf": principal.session.csrf
                                if principal and principal.session else "", **context},
            status_code=status)
        return self.finish(request, response)

    def finish(self, request: Request, response: Response) -> Response:
        """Set a session cookie the request started (single sign-on)."""
        cookie = getattr(request.state, "new_session_cookie", None)
        if cookie is not None:
            self.set_session_cookie(response, cookie)
        return response

    def set_session_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="lax",
                            secure=self.secure_cookies, path="/")

    def set_login_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(LOGIN_COOKIE, value, max_age=3600, httponly=True, samesite="lax",
                            secure=self.secure_cookies, path="/login")

    def redirect(self, request: Request, url: str) -> Response:
        return self.finish(request, RedirectResponse(url, status_code=303))
