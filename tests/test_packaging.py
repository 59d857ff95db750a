"""A plain (non-editable) install validates files just as the checkout does: the wheel carries
the schemas, manifests and entry points, and nothing is read from the source tree."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

from tests.support.packaging import third_party_only
from tests.support.paths import ODC, ROOT


def test_wheel_install_validates_like_the_checkout(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT),
                    "-w", str(tmp_path / "dist")], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("*.whl"))
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path("
                              "'purelib'))"], capture_output=True, text=True, check=True)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(purelib.stdout.strip())
    # dependencies come from the test environment; the project itself only from the wheel
    deps = str(third_party_only(tmp_path / "deps"))
    example = ODC / "patient" / "valid" / "odc-patient-full.csv"
    # a registry, so the submitter layer (and the registry's schema in the wheel) runs too
    (tmp_path / "registry.toml").write_text(
        'registry_version = "1"\n[[submitter]]\nid = "wheel"\nname = "Wheel Clinic"\n'
        'kind = "clinic"\nnpi = ["1234567893"]\n', encoding="utf-8")
    run = subprocess.run(
        [python, "-c", "import gateway, sys; sys.argv = ['gateway', 'validate', sys.argv[1], "
         "'--submitter', 'wheel', '--json', '--received-at', '2015-02-02T10:00:00-06:00']; "
         "print(gateway.__file__, file=sys.stderr); from gateway.cli import main; main()",
         str(example)],
        cwd=tmp_path, env={"PYTHONPATH": deps, "PATH": "/usr/bin:/bin"}, capture_output=True,
        text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert str(env_dir) in run.stderr  # the installed copy ran, not the checkout
    receipt = json.loads(run.stdout)
    assert receipt["status"] == "accepted", receipt["findings"]
    assert receipt["obligations"][0]["timing"] == "on_time"
    assert receipt["results"]["components"]["ALL"]["denominator"] > 0
