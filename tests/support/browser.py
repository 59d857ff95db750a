"""Debian's Chromium driven by Playwright, and axe-core from the npm registry, both set up by
the tests themselves (installed when missing; a test fails, never skips, without them)."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.system import require_command

AXE_VERSION = "4.10.2"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gateway-tests"
SERIOUS = ("serious", "critical")


def chromium() -> str:
    return require_command("chromium", "chromium")


def axe_source() -> str:
    """axe-core's script, installed with npm into a cache folder on first use."""
    folder = CACHE / f"axe-core-{AXE_VERSION}"
    script = folder / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = require_command("npm", "npm")
        folder.mkdir(parents=True, exist_ok=True)
        with (CACHE / "npm.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not script.exists():
                done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix",
                                       str(folder), f"axe-core@{AXE_VERSION}"],
                                      capture_output=True, text=True, timeout=600)
                if done.returncode != 0:
                    pytest.fail(f"npm install axe-core failed:\n{done.stderr[-2000:]}",
                                pytrace=False)
    return script.read_text(encoding="utf-8")


def axe_violations(page: Any, source: str) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page as it is now. The script is run
    through the browser's debugging protocol, so the page's own Content-Security-Policy (which
    allows no inline script) stays in force for everything else."""
    page.evaluate(f"() => {{ {source}\n; window.__axe = axe; }}")
    found = page.evaluate("""async () => {
        const result = await window.__axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""")
    return [v for v in found if v["impact"] in SERIOUS]
