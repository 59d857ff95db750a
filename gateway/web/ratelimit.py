"""Request rate limits: per client address and per account, answered with 429.

A script gone wrong (a vendor polling in a tight loop) or a guessing attack must not take the
console from the other ~1,500 submitters. Each ``gateway web`` process counts its own requests
in memory (a sliding one-minute window, approximated from this minute's and the last
minute's counts); with several hosts behind a balancer each host applies the limit to what
reaches it. The address is the peer's, or, when the peer is one of ``[web] trusted_proxies``,
the last address its ``X-Forwarded-For`` names (the one the proxy itself saw).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.web.auth import Refusal

WINDOW = 60.0
UNLIMITED_PATHS = ("/static/", "/healthz", "/favicon.ico")
_PRUNE_AT = 10_000  # keys remembered before the stale ones are dropped


class RateLimiter:
    """At most ``per_minute`` requests per key in any minute (0: no limit)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._counts: dict[str, tuple[int, int, int]] = {}  # key: (window, this, previous)

    def wait(self, key: str) -> int | None:
        """Count one request for ``key``: None when it is allowed, else the whole seconds to
        wait before the next one is (for ``Retry-After``). A refused request is not counted,
        so a client that waits as told gets through."""
        if self.per_minute <= 0:
            return None
        now = self.clock()
        window = int(now // WINDOW)
        last_window, this, previous = self._counts.get(key, (window, 0, 0))
        if last_window != window:
            previous = this if last_window == window - 1 else 0
            this = 0
        elapsed = (now - window * WINDOW) / WINDOW
        if this + previous * (1 - elapsed) >= self.per_minute:
            self._counts[key] = (window, this, previous)
            return self._retry_after(this, previous, elapsed)
        if len(self._counts) >= _PRUNE_AT:
            self._prune(window)
        self._counts[key] = (window, this + 1, previous)
        return None

    def _retry_after(self, this: int, previous: int, elapsed: float) -> int:
        if this >= self.per_minute or previous == 0:
            return max(1, math.ceil((1 - elapsed) * WINDOW))  # until this window ends
        # the previous minute's weight falls linearly; wait until there is room for one more
        needed = 1 - (self.per_minute - this - 1) / previous
        return max(1, math.ceil((needed - elapsed) * WINDOW))

    def _prune(self, window: int) -> None:
        self._counts = {key: value for key, value in self._counts.items()
                        if value[0] >= window - 1}


def client_address(request: Request, trusted_proxies: tuple[str, ...]) -> str:
    """The address a request came from, seen through a trusted reverse proxy."""
    peer = request.client.host if request.client else ""
    if peer in trusted_proxies:
        forwarded = request.headers.get("x-forwarded-for", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return peer


def too_many(seconds: int, whose: str) -> Refusal:
    """The 429 answer, saying when to come back."""
    return Refusal(429, "too_many_requests",
                   f"Too many requests from this {whose}; try again in {seconds} s.",
                   headers={"retry-after": str(seconds)})


class AddressLimit:
    """ASGI layer refusing a client address over its limit before anything else is done
    (sign-in attempts included); ``answer`` renders the refusal as the app's error pages do."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, trusted_proxies: tuple[str, ...],
                 answer: Callable) -> None:
        self.app = app
        self.limiter = limiter
        self.trusted_proxies = trusted_proxies
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNLIMITED_PATHS):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        seconds = self.limiter.wait(client_address(request, self.trusted_proxies))
        if seconds is None:
            await self.app(scope, receive, send)
            return
        response = await self.answer(request, too_many(seconds, "address"))
        await response(scope, receive, send)
