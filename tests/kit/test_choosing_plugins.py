"""Choosing plugins in gateway.toml: a local plugin folder loads like an installed plugin and
is listed as local; ``disable`` leaves a plugin out (the built-in refusals one by one); a
receipt decided by a refusal or by two claimants names the plugins and the setting."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.engine.pipeline import choose_plugins, validate_file
from gateway.engine.plugins import PluginConflict, load_plugins
from gateway.site.config import ConfigError, load_config
from gateway.site.plugin_choice import PluginChoice
from tests.support.demo import DEMO

REFUSED = Path(__file__).resolve().parents[2] / "plugins" / "hospital" / "common" / "refused"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    """A folder with a copy of the demo family as a local plugin (``plugins/demo_local``);
    the process's plugin choice and the imported copy are undone afterwards."""
    shutil.copytree(DEMO, tmp_path / "plugins" / "demo_local",
                    ignore=shutil.ignore_patterns("__pycache__"))
    yield tmp_path
    choose_plugins(PluginChoice())
    for key in [k for k in sys.modules if k.split(".")[0] == "demo_local"]:
        del sys.modules[key]
    if str(tmp_path / "plugins") in sys.path:
        sys.path.remove(str(tmp_path / "plugins"))


def config(site: Path, plugins: str) -> Path:
    path = site / "gateway.toml"
    path.write_text(f"[plugins]\n{plugins}\n", encoding="utf-8")
    return path


def test_a_local_plugin_loads_like_an_installed_one(site: Path) -> None:
    gateway_toml = config(site, 'paths = ["plugins/demo_local"]')
    choice = load_config(gateway_toml).plugin_choice
    assert choice.paths == ((site / "plugins" / "demo_local").resolve(),)
    plugins = load_plugins(choice=choice)
    assert plugins.owners["demo"] == "demo_local" and plugins.sources["demo_local"].local

    listed = CliRunner().invoke(app, ["plugins", "--json", "--config", str(gateway_toml)])
    (row,) = [r for r in json.loads(listed.output) if r["family"] == "demo"]
    assert (row["plugin"], row["local"], row["distribution"], row["location"]) == (
        "demo_local", True, None, str((site / "plugins" / "demo_local").resolve()))
    verbose = CliRunner().invoke(app, ["plugins", "-v", "--config", str(gateway_toml)])
    assert "demo_local: local plugin at " in verbose.output

    valid = site / "plugins" / "demo_local" / "examples" / "2016" / "vax" / "patient" / \
        "valid" / "vax-two-patients.csv"
    checked = CliRunner().invoke(app, ["validate", str(valid), "--submitter", "t", "--json",
                                       "--config", str(gateway_toml)])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["route"]["family"] == "demo"


def test_a_local_plugin_that_cannot_load_is_one_clear_line(site: Path) -> None:
    (site / "plugins" / "demo_local" / "plugin.py").write_text("import not_a_module\n")
    gateway_toml = config(site, 'paths = ["plugins/demo_local"]')
    with pytest.raises(PluginConflict, match=r"local plugin .*demo_local cannot be imported"):
        load_plugins(choice=load_config(gateway_toml).plugin_choice)
    listed = CliRunner().invoke(app, ["plugins", "--config", str(gateway_toml)])
    assert listed.exit_code == 2 and "cannot be imported: ModuleNotFoundError" in listed.output
    with pytest.raises(ConfigError, match=r"\[plugins\] disable must be a list"):
        load_config(config(site, 'disable = "refuse-hcahps"'))


def test_each_refusal_is_a_plugin_that_can_be_disabled(site: Path) -> None:
    hcahps = REFUSED / "E-ROUTE-NOT-ACCEPTED-HERE--hcahps.csv"
    refused = validate_file(hcahps, submitter="t")
    (finding,) = refused.findings.listed
    assert finding.code == "E-ROUTE-NOT-ACCEPTED-HERE"
    assert "Refused by the gateway's plugin refuse-hcahps" in finding.message
    assert '[plugins] disable = ["refuse-hcahps"] in gateway.toml' in finding.message

    gateway_toml = config(site, 'disable = ["refuse-hcahps", "refuse-hcaps"]')
    plugins = load_plugins(choice=load_config(gateway_toml).plugin_choice)
    assert plugins.pm.get_plugin("refuse-hcahps") is None
    assert plugins.pm.get_plugin("refuse-mortality") is not None
    assert validate_file(hcahps, submitter="t", plugins=plugins).findings.listed[0].code == \
        "E-ROUTE-UNRECOGNISED"
    mortality = validate_file(REFUSED / "E-ROUTE-NOT-ACCEPTED-HERE--mortality.csv",
                              submitter="t", plugins=plugins)
    assert "plugin refuse-mortality" in mortality.findings.listed[0].message

    listed = CliRunner().invoke(app, ["plugins", "--config", str(gateway_toml)])
    assert "refuse-hcahps" not in listed.output.split("\n\ndisabled")[0]
    assert "refuse-mortality" in listed.output
    assert ("disabled ([plugins] disable in gateway.toml or --disable): refuse-hcahps, "
            "refuse-hcaps (no such plugin is installed)") in listed.output
    checked = CliRunner().invoke(app, ["validate", str(hcahps), "--submitter", "t",
                                       "--disable", "refuse-hit", "--config",
                                       str(gateway_toml)])
    assert checked.exit_code == 1 and "E-ROUTE-UNRECOGNISED" in checked.output


def test_an_ambiguous_file_names_the_plugins_and_the_setting(site: Path) -> None:
    twin = site / "plugins" / "demo_twin"
    shutil.copytree(site / "plugins" / "demo_local", twin)
    manifest = twin / "manifest.toml"
    manifest.write_text(manifest.read_text("utf-8").replace('id = "demo"', 'id = "demo2"'),
                        encoding="utf-8")
    gateway_toml = config(site, 'paths = ["plugins/demo_local", "plugins/demo_twin"]')
    plugins = load_plugins(choice=load_config(gateway_toml).plugin_choice)
    valid = twin / "examples" / "2016" / "vax" / "patient" / "valid" / "vax-two-patients.csv"
    (finding,) = validate_file(valid, submitter="t", plugins=plugins).findings.listed
    assert finding.code == "E-ROUTE-AMBIGUOUS"
    assert "(plugin demo_local)" in finding.message and "(plugin demo_twin)" in finding.message
    assert '[plugins] disable = ["demo_twin"] in gateway.toml' in finding.message
    for key in [k for k in sys.modules if k.split(".")[0] == "demo_twin"]:
        del sys.modules[key]
