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


def python_seeing_the_gateway(folder: Path) -> Path:
    """A new virtual environment under ``folder`` (``venv --without-pip``, fast) that sees the
    gateway and its dependencies through a ``.pth`` file adding this test run's site-packages,
    and has no plugin of its own: install one with ``pip --python`` (docs/plugins.md, "How
    the walkthrough is tested")."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True,
                   capture_output=True)
    python = folder / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"], check=True,
                             capture_output=True, text=True).stdout.strip()
    outer = sysconfig.get_paths()["purelib"]
    Path(purelib, "gateway-under-test.pth").write_text(
        f"import site; site.addsitedir({outer!r})\n", encoding="utf-8")
    return python
