"""The house keeps its shape: the layers of ``gateway/`` (the table of docs/decisions.md, as
data here), no import circle, no arrow from a lower layer up beyond the ones named, and a top
level of packages plus a few modules."""

from __future__ import annotations

from pathlib import Path

from tests.support.imports import cycles, graph

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gateway"

# lowest first; a module may import its own layer and the layers before it
LAYERS = ("contract", "readers", "receipts", "submitters", "site", "engine", "kit", "authoring",
          "notify", "daemon", "web", "cli")
# above every layer: the public face (re-exports by name, lazily), the pytest plugin and the
# console entry; nothing imports them
TOP = {"gateway.contract", "gateway.testing", "gateway.__main__"}
# an arrow that runs up, named in docs/decisions.md ("Imports that run up"); at most 3
ALLOWED_UP = {
    # the API reference of docs/plugins.md is generated from the face it documents
    ("gateway.authoring.hookdoc", "gateway.contract"),
}
TOP_LEVEL_MODULES = {"__init__.py", "__main__.py", "testing.py"}


def layer(module: str) -> int:
    if module in TOP:
        return len(LAYERS)
    parts = module.split(".")
    if len(parts) == 1:  # the package itself: its version and the moved-module aliases
        return 0
    return LAYERS.index(parts[1])


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(LAYERS)


def test_no_import_circle() -> None:
    assert cycles(*graph(PACKAGE)) == []


def test_imports_run_down_only() -> None:
    _, edges = graph(PACKAGE)
    up = {(e.source, e.target): e.line for e in edges if layer(e.target) > layer(e.source)}
    unexplained = {f"{source}:{line} imports {target}" for (source, target), line in up.items()
                   if (source, target) not in ALLOWED_UP}
    assert unexplained == set()
    assert len(ALLOWED_UP) <= 3


def test_the_web_console_never_imports_the_daemon() -> None:
    """``gateway web`` is its own process, possibly on another host: it reads the site, never
    the daemon's code (docs/architecture.md)."""
    _, edges = graph(PACKAGE)
    assert {f"{e.source}:{e.line} imports {e.target}" for e in edges
            if e.source.startswith("gateway.web") and e.target.startswith("gateway.daemon")} \
        == set()


def test_only_the_top_imports_the_public_face() -> None:
    """The core imports the contract's modules, never the face: the face is for plugins, and
    going through it would make every layer depend on everything it re-exports."""
    _, edges = graph(PACKAGE)
    assert {f"{e.source}:{e.line}" for e in edges if e.target == "gateway.contract"
            and (e.source, e.target) not in ALLOWED_UP} == set()


def test_top_level_is_packages_and_few_modules() -> None:
    modules = {p.name for p in PACKAGE.glob("*.py")}
    assert modules == TOP_LEVEL_MODULES
