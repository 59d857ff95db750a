"""Fixtures of the console's tests: a site with two clinics and three accounts, and the
console over it in-process (helpers in ``tests/support/web.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.web import Console, Site, make_site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    made = make_site(tmp_path / "gw", {"public_url": "https://gateway.example.org"})
    yield made
    made.gateway.close()


@pytest.fixture
def console(site: Site) -> Iterator[Console]:
    made = Console(site)
    yield made
    made.close()
