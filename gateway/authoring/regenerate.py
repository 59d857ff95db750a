"""``gateway regenerate FAMILY``: rewrite every file a family generates from its data.

A family whose schemas or examples are made by a generator (the clinic family's schemas from
``measures.toml``, its summary examples derived from the patient examples) declares them through
the ``gateway_artifacts`` hook; this writes those that differ from what the generator makes now,
in the plugin's source tree only (an installed copy is never edited, as with ``new-measure``).
The conformance kit names this command when a generated file is stale.
"""

from __future__ import annotations

from pathlib import Path

from gateway.authoring.scaffold import ScaffoldError, refuse_installed
from gateway.contract import Artifact
from gateway.plugin_manager import Plugins


def family_artifacts(plugins: Plugins, family: str) -> list[Artifact]:
    """Every artifact the installed plugins declare for ``family``."""
    if family not in plugins.families:
        known = ", ".join(sorted(plugins.families))
        raise ScaffoldError(f"no installed family {family}; families: {known}")
    return [a for found in plugins.hook.gateway_artifacts() for a in found
            if a.family == family]


def regenerate(plugins: Plugins, family: str) -> tuple[list[Path], int]:
    """Write the family's stale or missing artifacts; (the paths written, artifacts in all).
    Raises ``ScaffoldError`` before writing anything when one lies in an installed copy."""
    artifacts = family_artifacts(plugins, family)
    stale = [a for a in artifacts if not Path(a.path).is_file()
             or Path(a.path).read_text("utf-8") != a.content]
    for artifact in stale:
        refuse_installed(Path(artifact.path))
    for artifact in stale:
        path = Path(artifact.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(artifact.content, encoding="utf-8")
    return [Path(a.path) for a in stale], len(artifacts)
