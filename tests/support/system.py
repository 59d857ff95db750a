"""Real components from Debian's packages, installed by the tests themselves when missing.

CI runs as root on a fresh Debian machine: a test that needs ``sshd``, PostgreSQL, LibreOffice
or poppler installs the package with ``apt-get`` on first use and fails (never skips) when it
cannot, so a green run always means the real component was exercised. Installation is serialised
across pytest processes with a lock file, because two ``apt-get`` runs at once refuse each other.
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

_LOCK = Path("/tmp/gateway-tests-apt.lock")
_updated = False


def require_command(command: str, package: str, *, extra_paths: tuple[str, ...] = ()) -> str:
    """Return the absolute path of ``command``, installing Debian ``package`` when it is missing.

    ``extra_paths`` are folders searched besides ``PATH`` (``sshd`` lives in ``/usr/sbin``,
    PostgreSQL's server programs in ``/usr/lib/postgresql/<version>/bin``); they may be glob
    patterns (``/usr/lib/postgresql/*/bin``), expanded at each look, so a folder the package
    creates is found right after installing it (the newest version first). Fails the test with
    the installer's output when the command cannot be had.
    """
    found = _which(command, extra_paths)
    if found:
        return found
    with _LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _which(command, extra_paths)
        if found is None:
            _apt_install(package)
            found = _which(command, extra_paths)
    if found is None:
        pytest.fail(f"{command!r} is still missing after installing the Debian package "
                    f"{package!r}", pytrace=False)
    return found


def _which(command: str, extra_paths: tuple[str, ...]) -> str | None:
    folders = [found for pattern in extra_paths
               for found in sorted(glob.glob(pattern), reverse=True)]
    search = os.pathsep.join([*folders, os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return shutil.which(command, path=search)


def _apt_install(package: str) -> None:
    global _updated
    if os.geteuid() != 0:
        pytest.fail(f"{package!r} is not installed and the tests are not running as root to "
                    f"install it (apt-get install {package})", pytrace=False)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _updated:
        _run(["apt-get", "update", "-qq"], env)
        _updated = True
    _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", package], env)


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1200)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-2000:]}"
                    f"\n{done.stderr[-2000:]}", pytrace=False)
