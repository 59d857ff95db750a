"""An importable copy of the demo data family (``tests/kit/demo_family``) that a test may
edit; the ``demo_copy`` fixture of ``tests/kit`` makes one per test."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "kit" / "demo_family"


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


