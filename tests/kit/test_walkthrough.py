"""docs/plugins.md followed as a new author would, in a temporary folder: scaffold a family,
resolve the markers with the page's own manifest and schema, try it as a local plugin (the page's
gateway.toml, the installed copy disabled), pip-install the plugin into a fresh virtual
environment beside the gateway, see it and where it comes from in ``gateway plugins -v``, pass
the conformance run, fail it clearly with a broken example or a marker left, scaffold the next
year and ask ``gateway regenerate``.

The fresh environment (``venv --without-pip``) sees the gateway and its dependencies through a
``.pth`` file that adds this run's site-packages; only the plugin is installed into it, by this
run's pip (``pip --python``), as docs/plugins.md ("How the walkthrough is tested") records.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support.paths import ROOT

DOC = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
VALID = "measure_id,reporting_year,patient_id,vaccinated\nVAX,2016,P1,Y\nVAX,2016,P2,N\n"
INVALID = "measure_id,reporting_year,patient_id,vaccinated\nVAX,2016,P1,MAYBE\n"


def block(section: str, language: str) -> str:
    """The first ``language`` code block of the page's ``section``."""
    part = DOC.split(f"## {section}", 1)[1]
    return re.search(rf"```{language}\n(.*?)```", part, re.DOTALL).group(1)


def run(*args: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=300)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment that sees the gateway but has no plugin of its own yet."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=venv.parent)
    python = venv / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                  cwd=venv).stdout.strip()
    outer = sysconfig.get_paths()["purelib"]
    Path(purelib, "gateway-under-test.pth").write_text(
        f"import site; site.addsitedir({outer!r})\n", encoding="utf-8")
    return python


def test_a_new_author_follows_the_walkthrough(tmp_path: Path, fresh_python: Path) -> None:
    folder = tmp_path / "gateway-vax"
    folder.mkdir()
    # 1. scaffold
    made = run(fresh_python, "-m", "gateway", "new-measure", "vax", "VAX", "--year", "2016",
               cwd=folder)
    assert "scaffolded vax VAX 2016. Still to decide:" in made.stdout
    assert "entry point vax = vax_plugin.plugin:FAMILY" in made.stdout
    package = folder / "vax_plugin"
    # 5 early: installed with its markers left, the conformance run fails naming each
    run(sys.executable, "-m", "pip", "--python", fresh_python, "install", "-q", "-e", ".",
        cwd=folder)
    early = run(fresh_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=folder,
                check=False)
    assert early.returncode == 1
    assert "unresolved scaffold marker" in early.stdout
    assert "vax_plugin/manifest.toml line 3" in early.stdout
    # 2.-4. resolve the markers with the page's own manifest and schema, and add examples
    (package / "manifest.toml").write_text(block("2. Describe", "toml"), encoding="utf-8")
    (package / "schemas" / "2016" / "vax.patient.schema.json").write_text(
        block("3. Write the schema", "json"), encoding="utf-8")
    examples = package / "examples" / "2016" / "vax" / "patient"
    for kind in ("valid", "invalid"):
        (examples / kind / "README.md").unlink()
    (examples / "valid" / "vax-two-patients.csv").write_text(VALID, encoding="utf-8")
    (examples / "invalid" / "E-RECORD-CODE--vaccinated-maybe.csv").write_text(
        INVALID, encoding="utf-8")
    # 5. without packaging first: the page's gateway.toml makes the folder a local plugin
    # (the installed copy disabled meanwhile)
    (folder / "gateway.toml").write_text(block("5. Install", "toml"), encoding="utf-8")
    local = run(fresh_python, "-m", "gateway", "plugins", "-v", cwd=folder).stdout
    assert f"vax_plugin: local plugin at {package.resolve()}" in local
    assert re.search(r"^vax_plugin\s+vax\s+VAX\s+patient\s+2016", local, re.MULTILINE)
    assert "disabled ([plugins] disable in gateway.toml or --disable): vax" in local
    (folder / "gateway.toml").unlink()
    # 5. see it beside the first-party families, and where it comes from
    listed = run(fresh_python, "-m", "gateway", "plugins", "-v", cwd=folder).stdout
    assert re.search(r"^vax\s+vax\s+VAX\s+patient\s+2016\s+Influenza vaccination$", listed,
                     re.MULTILINE)
    assert re.search(r"^mncm\s+mncm\s+ODC", listed, re.MULTILINE)
    assert f"vax: gateway-vax 0.1.0, editable install, at {package.resolve()}" in listed
    # 6. the conformance run passes ...
    passed = run(fresh_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=folder)
    assert "1 passed" in passed.stdout
    # ... and fails, saying where and why, for a broken example
    (examples / "valid" / "vax-two-patients.csv").write_text(VALID.replace("P2,N", "P2,X"))
    broken = run(fresh_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=folder,
                 check=False)
    assert broken.returncode == 1
    assert ("example 2016/vax/patient/valid/vax-two-patients.csv: a valid example was rejected "
            "with E-RECORD-CODE") in broken.stdout
    (examples / "valid" / "vax-two-patients.csv").write_text(VALID, encoding="utf-8")
    # 7. a rule across records and computed results, the page's own code
    (package / "plugin.py").write_text(block("7. Rules across", "python"), encoding="utf-8")
    (examples / "invalid" / "E-RULE-DUPLICATE--patient-twice.csv").write_text(
        VALID.replace("P2", "P1"), encoding="utf-8")
    run(fresh_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=folder)
    receipt = json.loads(run(fresh_python, "-m", "gateway", "validate", "--json", "--submitter",
                             "clinic-a", examples / "valid" / "vax-two-patients.csv",
                             cwd=folder, check=False).stdout)
    assert receipt["results"] == {"patients": 2, "vaccinated": 1, "rate": 50.0}
    # 8. next year is data: scaffold, compare, conform
    run(fresh_python, "-m", "gateway", "new-measure", "vax", "VAX", "--year", "2017",
        cwd=folder)
    diff = run(fresh_python, "-m", "gateway", "schema", "diff", "vax", "VAX", "2016", "2017",
               cwd=folder).stdout
    assert diff.splitlines() == [
        "vax VAX: reporting year 2016 -> 2017, 2 change(s):",
        "- dates of service moved from 2015-01-01..2015-12-31 to 2016-01-01..2016-12-31",
        "- submission window moved from 2016-01-01..2016-02-15 to 2017-01-01..2017-02-15"]
    assert diff in DOC.replace("$ gateway schema diff vax VAX 2016 2017\n", "")
    run(fresh_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=folder)
    # 9. regenerating: the data-family layout is written by hand, and the command says so
    regenerated = run(fresh_python, "-m", "gateway", "regenerate", "vax", cwd=folder).stdout
    assert regenerated == "vax: the family generates no files (all are written by hand)\n"
    assert "`gateway regenerate vax` says so" in DOC
