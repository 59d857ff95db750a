"""Every first-party family passes the conformance run a plugin author's tests make."""

from __future__ import annotations

import pytest

from gateway.engine.pipeline import default_plugins
from gateway.testing import check_plugin

PLUGINS = sorted(set(default_plugins().owners.values()))


def test_every_first_party_family_is_checked() -> None:
    assert {"mncm", "cart", "edtc", "nhsn", "stroke", "von", "ahrq"} <= set(PLUGINS)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_plugin_conforms(plugin: str) -> None:
    assert check_plugin(plugin), f"{plugin} ran no example"
