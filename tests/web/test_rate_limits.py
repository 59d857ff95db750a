"""Request rate limits: a script in a tight loop, or a guesser at one address, gets 429 and
is told when to come back, and nobody else is slowed by it."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gateway.web import app as web_app
from gateway.web import console as web_console
from gateway.web.accounts import Accounts
from gateway.web.ratelimit import RateLimiter
from tests.support.web import Console, make_site


@pytest.fixture
def limited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Console]:
    made = make_site(tmp_path / "limited", {"rate_per_account": 5, "rate_per_address": 12,
                                            "trusted_proxies": ["10.0.0.1"]})
    # The limiters' minutes start with the test: a burst that happened to straddle a minute
    # boundary of the machine's clock would meet the sliding window's discount (the last
    # minute's requests weigh less as the new one runs on) and get one request more through.
    started = time.monotonic()
    minute_clock = functools.partial(RateLimiter, clock=lambda: 60_000.0 + time.monotonic()
                                     - started)
    monkeypatch.setattr(web_app, "RateLimiter", minute_clock)
    monkeypatch.setattr(web_console, "RateLimiter", minute_clock)
    console = Console(made)
    yield console
    console.close()
    made.gateway.close()


def _client(console: Console, address: str, **kwargs) -> TestClient:
    return TestClient(console.app, base_url="https://testserver", client=(address, 5000),
                      follow_redirects=False, **kwargs)


def _bearer(console: Console, name: str) -> dict[str, str]:
    accounts = Accounts(console.opened.engine)
    _, token = accounts.create_token(accounts.get(name), "script")
    return {"Authorization": f"Bearer {token}"}


def test_an_account_over_its_limit_gets_429_in_the_api_shape(limited: Console) -> None:
    script = _client(limited, "10.0.0.7", headers=_bearer(limited, "abby"))
    answers = [script.get("/api/v1/submissions") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert set(refused.json()["error"]) == {"code", "message"}
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-content-type-options"] == "nosniff"
    # another account from another address is not slowed by abby's script
    other = _client(limited, "10.0.0.8", headers=_bearer(limited, "olive"))
    assert other.get("/api/v1/submissions").status_code == 200


def test_the_console_answers_429_with_a_plain_page(limited: Console) -> None:
    from tests.support.web import sign_in

    browser = _client(limited, "10.0.0.9")
    sign_in(browser, "abby")  # signing in is limited per address, not counted for the account
    pages = [browser.get("/submissions") for _ in range(6)]
    assert [p.status_code for p in pages] == [200] * 5 + [429]
    refused = pages[-1]
    assert refused.headers["content-type"].startswith("text/html")
    assert "Too many requests" in refused.text and "try again in" in refused.text
    assert "retry-after" in refused.headers


def test_an_address_over_its_limit_gets_429_before_signing_in(limited: Console) -> None:
    guesser = _client(limited, "10.0.0.66")
    answers = [guesser.get("/login") for _ in range(13)]
    assert [a.status_code for a in answers] == [200] * 12 + [429]
    assert "Too many requests" in answers[-1].text
    api = guesser.get("/api/v1/submissions")
    assert api.status_code == 429 and api.json()["error"]["code"] == "too_many_requests"
    assert _client(limited, "10.0.0.67").get("/login").status_code == 200
    # behind the trusted proxy each client is counted by the address the proxy forwards
    proxy = _client(limited, "10.0.0.1")
    for _ in range(12):
        assert proxy.get("/login", headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 200
    assert proxy.get("/login", headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 429
    assert proxy.get("/login", headers={"X-Forwarded-For": "192.0.2.2"}).status_code == 200
    # a client cannot pose as another by sending the header itself past no proxy
    assert guesser.get("/login", headers={"X-Forwarded-For": "192.0.2.9"}).status_code == 429


def test_the_window_slides_and_a_client_that_waits_as_told_gets_through() -> None:
    now = [1000 * 60.0]  # the start of a minute
    limiter = RateLimiter(10, clock=lambda: now[0])
    assert all(limiter.wait("k") is None for _ in range(10))
    wait = limiter.wait("k")
    assert wait == 60  # all ten in this minute: until it ends
    assert limiter.wait("other") is None
    now[0] += wait
    # a minute later the last minute's ten still weigh almost fully
    wait = limiter.wait("k")
    assert wait is not None and 1 <= wait <= 60
    now[0] += wait
    assert limiter.wait("k") is None
    assert RateLimiter(0).wait("k") is None  # 0: no limit
