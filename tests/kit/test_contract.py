"""``gateway.contract`` is the one public face: the first-party plugins use nothing else of the
core, every public name resolves, its reference in docs/plugins.md is generated from it, and a
module path that moved still imports for a release, with one warning."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import gateway.contract as contract
from gateway.authoring.hookdoc import DOC, api_block, api_table
from tests.support.imports import arrows, module_name

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = {"clinic": ROOT / "plugins" / "clinic", "hospital": ROOT / "plugins" / "hospital",
           "opioid": ROOT / "plugins" / "opioid" / "gateway_opioid"}


def _core_imports(folder: Path) -> dict[str, set[str]]:
    """Module -> the core modules it imports, for the plugin's code outside its tests."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        if "tests" in path.relative_to(folder).parts or path.name.startswith("test_"):
            continue
        name = module_name(path, folder.parent)
        found[name] = {arrow.target.rpartition(".")[0] if arrow.target.count(".") > 1
                       else arrow.target for arrow in arrows(path, name, "gateway")}
    return found


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_a_first_party_plugin_imports_only_the_contract(plugin: str) -> None:
    imports = _core_imports(PLUGINS[plugin])
    used = set().union(*imports.values())
    assert used == {"gateway.contract"}, {m: t for m, t in imports.items()
                                          if t - {"gateway.contract"}}


def test_every_public_name_resolves() -> None:
    assert contract.__all__ == sorted(set(contract.__all__))
    missing = [name for name in contract.__all__ if getattr(contract, name, None) is None]
    assert missing == []
    with pytest.raises(AttributeError):
        contract.RecordLayer  # noqa: B018 - an engine class, not part of the face


def test_the_hook_marker_is_the_one_the_plugin_manager_reads() -> None:
    from gateway.contract.hooks import PROJECT

    assert contract.hookimpl.project_name == PROJECT


def test_the_api_reference_is_generated_from_the_face() -> None:
    committed = api_block(DOC.read_text(encoding="utf-8"))
    assert committed == api_table(), ("docs/plugins.md is out of step with gateway.contract: "
                                      "run python -m gateway.authoring.hookdoc --write")
    for name in contract.__all__:
        assert f"| `{name}` |" in committed


def test_a_moved_module_imports_under_its_old_name_with_one_warning() -> None:
    # a fresh interpreter: this one imported the modules under their new names already
    code = ("import warnings; warnings.simplefilter('always'); import sys\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    from gateway.findings import Finding\n"
            "    from gateway.findings import FindingList\n"
            "    import gateway.daemon.ledger.store as old\n"
            "import gateway.contract.findings as new_findings, gateway.site.ledger.store as new\n"
            "assert Finding is new_findings.Finding and old is new\n"
            "for w in caught: print(w.category.__name__, w.message)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    lines = run.stdout.splitlines()
    assert [line.split(" the module ")[1].split(" is ")[0] for line in lines] == [
        "gateway.findings", "gateway.daemon.ledger", "gateway.daemon.ledger.store"]
    assert all(line.startswith("GatewayDeprecationWarning") for line in lines)
    assert "import gateway.contract.findings instead" in lines[0]


def test_an_unknown_old_name_is_still_an_import_error() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("gateway.no_such_module")
