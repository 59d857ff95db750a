"""Which plugins an installation uses: gateway.toml's ``[plugins]`` table as data.

Kept apart from the plugin manager so reading the config (``gateway status`` and every other
command) does not import pluggy and the schema machinery.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PluginChoice:
    """Which plugins an installation uses: the installed ones except those named in
    ``disable`` (as ``gateway plugins`` lists them), plus the local plugins in ``paths``."""

    disable: tuple[str, ...] = ()
    paths: tuple[Path, ...] = ()

    def disabling(self, names: Iterable[str]) -> PluginChoice:
        """This choice with ``names`` disabled as well (``--disable`` on a command)."""
        return PluginChoice(tuple(dict.fromkeys((*self.disable, *names))), self.paths)
