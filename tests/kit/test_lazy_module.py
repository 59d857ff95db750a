"""``gateway.contract.lazy_module``: a module bound now, imported at its first use, then the
module itself for every later look-up."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gateway.contract import lazy_module


def test_the_module_loads_at_the_first_attribute_and_is_then_the_module_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lazy_probe.py").write_text("LOADS = []\nLOADS.append(1)\n\ndef double(x):\n"
                                            "    return 2 * x\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_probe", raising=False)
    probe = lazy_module("lazy_probe")
    assert "lazy_probe" not in sys.modules
    assert probe.double(21) == 42
    assert probe.double is sys.modules["lazy_probe"].double
    assert probe.LOADS == [1]  # imported once, however often it is used
    probe.double(1)
    assert sys.modules["lazy_probe"].LOADS == [1]


def test_a_missing_module_fails_when_used_as_its_import_would() -> None:
    missing = lazy_module("no_such_module_for_gateway")
    with pytest.raises(ModuleNotFoundError):
        missing.anything  # noqa: B018
