"""A copy of the first-party plugins and schemas that a test may edit, imported in place of
the checkout's by a ``gateway`` run in a subprocess (``PYTHONPATH`` comes before the editable
install's finder), as an author's edited checkout would be."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IGNORED = shutil.ignore_patterns("build", "__pycache__", "*.egg-info")


@dataclass(frozen=True)
class SourceCopy:
    """``src/gateway_plugins`` and ``src/gateway_schemas`` under a temporary folder."""

    root: Path

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def plugins(self) -> Path:
        return self.src / "gateway_plugins"

    @property
    def schemas(self) -> Path:
        return self.src / "gateway_schemas"

    def gateway(self, *args: str | Path, check: bool = False) -> subprocess.CompletedProcess[str]:
        """``gateway ARGS`` run on the copy, in its root folder."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS",
                                                                 "GATEWAY_CONFIG")}
        env["PYTHONPATH"] = str(self.src)
        done = subprocess.run([sys.executable, "-m", "gateway", *map(str, args)],
                              cwd=self.root, env=env, capture_output=True, text=True,
                              timeout=600)
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done


def source_copy(folder: Path) -> SourceCopy:
    """Copy the checkout's ``plugins/`` and ``schemas/`` into ``folder``."""
    copy = SourceCopy(folder)
    shutil.copytree(ROOT / "plugins", copy.plugins, ignore=IGNORED)
    shutil.copytree(ROOT / "schemas", copy.schemas, ignore=IGNORED)
    return copy
