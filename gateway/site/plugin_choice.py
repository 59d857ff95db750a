"""Which plugins an installation uses: gateway.toml's ``[plugins]`` table as data.

Kept apart from the plugin manager and the pipeline so reading the config and choosing the
process's plugins (every command does, before it knows whether it validates anything) imports
neither pluggy nor the schema machinery.
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


_chosen = PluginChoice()


def choose(choice: PluginChoice) -> None:
    """Make ``choice`` this process's plugin set (``gateway.engine.pipeline.default_plugins`` loads
    it): the command line sets it from gateway.toml, the daemon in each worker."""
    global _chosen
    _chosen = choice


def chosen() -> PluginChoice:
    """The process's plugin choice (none disabled, no local plugin until one is chosen)."""
    return _chosen
