"""A private, editable copy of the demo data family for each test that breaks it."""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent / "demo_family"
_numbers = count()


@dataclass(frozen=True)
class DemoCopy:
    """An importable copy of the demo family: edit files under ``folder``, then ``plugin()``."""

    package: str
    folder: Path

    def plugin(self) -> object:
        importlib.invalidate_caches()
        return importlib.import_module(f"{self.package}.plugin").FAMILY

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.folder / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def demo_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoCopy]:
    name = f"demo_copy_{next(_numbers)}"
    shutil.copytree(DEMO, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield DemoCopy(name, tmp_path / name)
    for key in [k for k in sys.modules if k == name or k.startswith(f"{name}.")]:
        del sys.modules[key]
