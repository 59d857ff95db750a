"""Where the tests find the source tree and the shipped examples."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ODC = ROOT / "plugins" / "clinic" / "mncm" / "examples" / "2015" / "odc"


def shipped(pattern: str) -> list[Path]:
    """Files under ``plugins/`` matching ``pattern``, in the source tree only: a pip build
    leaves copies under ``build/`` (git-ignored) that would be collected twice."""
    return sorted(p for p in (ROOT / "plugins").glob(pattern)
                  if p.is_file() and "build" not in p.relative_to(ROOT).parts)
