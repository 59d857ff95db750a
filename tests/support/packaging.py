"""Fresh environments for installation tests: the test environment's third-party packages,
without the project's own distributions (editable installs of the gateway or of a plugin in
the tree would otherwise leak their entry points into the fresh environment)."""

from __future__ import annotations

import sysconfig
from pathlib import Path

OWN = ("gateway", "sqrms", "__editable__")  # sqrms-gateway, gateway-opioid and their finders


def third_party_only(folder: Path) -> Path:
    """``folder`` filled with links to every entry of the test environment's site-packages
    except the project's own; for ``PYTHONPATH`` of a fresh environment."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in Path(sysconfig.get_path("purelib")).iterdir():
        if not entry.name.startswith(OWN):
            (folder / entry.name).symlink_to(entry)
    return folder
