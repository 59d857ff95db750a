"""What is installed: each loaded plugin's distribution, version, location and install mode.

An author who edits a checkout while a non-editable copy of the same plugin is installed sees
the old copy validate, pass the kit and answer ``schema diff``. ``gateway plugins -v`` shows
where every plugin is loaded from, and ``check-plugin`` warns when the plugin it checks is not
the copy in the checkout it runs in.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import tomllib
from pathlib import Path
from typing import Any

from gateway.engine.plugins import ENTRY_POINT_GROUP, Plugins, PluginSource


def module_folder(module: str) -> Path | None:
    """The folder holding ``module``'s file, found without importing anything new."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    return Path(spec.origin).resolve().parent


def editable(distribution: str | None) -> bool | None:
    """Whether ``distribution`` is an editable install (``pip install -e``), from the
    ``direct_url.json`` pip writes (PEP 610; without one, from an index: not editable); None
    when no metadata is found. Every copy of its metadata on
    ``sys.path`` is asked: a checkout's own ``*.egg-info`` (found first when the checkout is
    the working folder) has no such file."""
    if distribution is None:
        return None
    found = False
    for dist in importlib.metadata.distributions(name=distribution):
        found = True
        text = dist.read_text("direct_url.json")
        if not text:
            continue
        try:
            return bool(json.loads(text).get("dir_info", {}).get("editable", False))
        except (ValueError, AttributeError):
            return None
    return False if found else None  # installed from an index: never editable


def describe(source: PluginSource) -> dict[str, Any]:
    """One plugin's origin as ``gateway plugins -v``/``--json`` shows it."""
    where = source.local_path or module_folder(source.module)
    return {"plugin": source.name, "distribution": source.distribution,
            "version": source.version, "location": str(where) if where else None,
            "editable": editable(source.distribution), "local": source.local}


def origins(plugins: Plugins) -> dict[str, dict[str, Any]]:
    """Every loaded plugin's origin, by plugin name (the core's own hooks left out). A plugin
    object handed to ``load_plugins`` directly (a test's) has no distribution."""
    found = {}
    for name, plugin in plugins.pm.list_name_plugin():
        if name.startswith("gateway.") or plugin is None:
            continue
        source = plugins.sources.get(name) or PluginSource(
            name, getattr(plugin, "__name__", None) or type(plugin).__module__)
        found[name] = describe(source)
    return found


def checkout_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` with a ``pyproject.toml``."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


def _declared_plugins(root: Path) -> set[str]:
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return set()
    return set(project.get("project", {}).get("entry-points", {}).get(ENTRY_POINT_GROUP, {}))


def checkout_warning(plugins: Plugins, name: str, start: Path) -> str | None:
    """A warning when the checkout at or above ``start`` declares plugin ``name`` but the
    loaded plugin is another copy (an installed wheel, a stale ``build/`` folder), since the
    kit would then check that copy and not the files being edited."""
    root = checkout_root(start.resolve())
    source = plugins.sources.get(name)
    if root is None or source is None or source.local or name not in _declared_plugins(root):
        return None
    where = module_folder(source.module)
    if where is not None and root in where.parents and "build" not in \
            where.relative_to(root).parts:
        return None
    mode = "editable" if editable(source.distribution) else "not editable"
    return (f"warning: plugin {name} is loaded from {where} ({source.distribution} "
            f"{source.version}, {mode}), not from the checkout {root}: this run checks that "
            f"copy, not your files. Install the checkout with `pip install -e {root}`.")
