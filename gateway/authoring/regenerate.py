"""``gateway regenerate FAMILY``: rewrite every file a family generates from its data.

A family whose schemas or examples are made by a generator (the clinic family's schemas from
``manifest.toml``, its summary examples derived from the patient examples) declares them through
the ``gateway_artifacts`` hook; this writes those that differ from what the generator makes now,
in the plugin's source tree only (an installed copy is never edited, as with ``new-measure``).
The conformance kit names this command when a generated file is stale.
"""

from __future__ import annotations

from pathlib import Path

from gateway.authoring.scaffold import ScaffoldError, refuse_installed
from gateway.contract.records import Artifact
from gateway.engine.plugins import Plugins


def family_artifacts(plugins: Plugins, family: str) -> list[Artifact]:
    """Every artifact the installed plugins declare for ``family``."""
    if family not in plugins.families:
        known = ", ".join(sorted(plugins.families))
        raise ScaffoldError(f"no installed family {family}; families: {known}")
    return [a for found in plugins.hook.gateway_artifacts() for a in found
            if a.family == family]


def regenerate(plugins: Plugins, family: str) -> tuple[list[Path], int]:
    """Write the family's stale or missing artifacts; (the paths written, artifacts in all).
    Raises ``ScaffoldError`` before writing anything when one lies in an installed copy. The
    schemas are written before the examples derived through them."""
    artifacts = family_artifacts(plugins, family)
    # schemas first: a derived example is typed through the schemas as they are on disk
    artifacts.sort(key=lambda a: not a.schema)
    written: list[Path] = []
    for artifact in artifacts:
        refuse_installed(Path(artifact.path))
    for artifact in artifacts:
        path = Path(artifact.path)
        text = artifact.render()
        if text is None or (path.is_file() and path.read_text("utf-8") == text):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written, len(artifacts)
