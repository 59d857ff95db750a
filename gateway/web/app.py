"""The ASGI application: routes, the headers every answer carries, and error pages.

Pages are rendered on the server (Jinja2) and work without JavaScript; one small script
(``static/console.js``, allowed by the Content-Security-Policy as a same-origin file, never
inline) lets an upload show its receipt without a reload.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.web import api, operator_pages, pages
from gateway.web.auth import Refusal
from gateway.web.console import HERE, Console
from gateway.web.ratelimit import AddressLimit, RateLimiter
from gateway.web.site import Site

log = logging.getLogger("gateway.web")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Adds the spec's headers to every answer, errors and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in SECURITY_HEADERS if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


def _refusal_handler(console: Console):
    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refusal)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": {"code": exc.code, "message": exc.message}},
                                status_code=exc.status, headers=exc.headers)
        if exc.status == 401:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        page = console.render(request, "error.html", None, status=exc.status,
                              title=_TITLES.get(exc.status, "Refused"), message=exc.message)
        page.headers.update(exc.headers)
        return page
    return handle


_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Already there",
           413: "Too large", 429: "Too many requests"}


def _server_error_handler(console: Console):
    async def handle(request: Request, exc: Exception) -> Response:
        # the type only: an exception's text may quote a submitted value
        log.error("web_request_failed path=%s error_type=%s", request.url.path,
                  type(exc).__name__)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": {"code": "internal", "message": "the server failed; "
                                           "the operators have the details"}}, status_code=500)
        return console.render(request, "error.html", None, status=500, title="Server error",
                              message="The server failed; the operators have the details.")
    return handle


def _not_found_handler(console: Console):
    async def handle(request: Request, exc: Exception) -> Response:
        return await _refusal_handler(console)(request, Refusal(
            404, "not_found", "There is no such item, or it is not yours to see."))
    return handle


class NoTracebacks:
    """The outermost layer under the server: Starlette answers a failure with the 500 page (its
    handler logs the path and the error's type) and then raises it again for the server to log
    with its traceback and message, and a message may quote a submitted value. It stops here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(Exception):  # answered and logged by _server_error_handler
            await self.app(scope, receive, send)


def _warm_up(site: Site) -> None:
    """``Site.warm_up`` in its thread: a failure there is only logged (by its type: a message
    may quote a value), and the first request that needs the report makes it itself."""
    try:
        site.warm_up()
    except Exception as err:  # logged by its type; the request that needs it tries again
        log.warning("web_warm_up_failed error_type=%s", type(err).__name__)


def _lifespan(site: Site):
    """At start, the compliance report's warm-up in a background thread: the console answers
    at once (sign-in, lists, receipts) and a compliance page asked for meanwhile waits for
    the warm-up instead of making the report a second time."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        threading.Thread(target=_warm_up, args=(site,), name="gateway-web-warm-up",
                         daemon=True).start()
        yield

    return lifespan


def create_app(site: Site) -> Starlette:
    """The console and API for ``site``; its compliance report is made in the background as
    it starts (``_lifespan``)."""
    console = Console(site)
    routes = [
        *pages.routes(console),
        *operator_pages.routes(console),
        Mount("/api/v1", routes=api.routes(console)),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
        Route("/healthz", lambda request: Response("ok\n", media_type="text/plain")),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
    ]
    config = site.config
    address_limit = Middleware(AddressLimit, limiter=RateLimiter(config.web_rate_per_address),
                               trusted_proxies=config.web_trusted_proxies,
                               answer=_refusal_handler(console))
    app = Starlette(
        routes=routes, middleware=[Middleware(SecurityHeaders), address_limit],
        lifespan=_lifespan(site),
        exception_handlers={Refusal: _refusal_handler(console), 404: _not_found_handler(console),
                            405: _not_found_handler(console),
                            Exception: _server_error_handler(console)})
    app.state.console = console
    return app
