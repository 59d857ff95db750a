"""A command that judges no file does not load the packages that judging needs.

pandas (with numpy and pyarrow), jsonschema, SQLAlchemy and structlog are most of a fresh
process's start-up; ``gateway --help``, a usage error and ``gateway plugins`` load the command
line and every plugin but must not import them (docs/performance.md, "Start-up of `gateway
validate`"). A plugin module that imports pandas at its top, or a core module that imports it
where a function would do, fails here. Judging a file does load them: checked too, so the test
cannot pass by looking at the wrong process. A file the running daemon judges
(``gateway.daemon.validate_service``) loads none of them in the command's process either.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.daemon.validate_wire import socket_path
from tests.support.daemon import Gateway, wait_until
from tests.support.paths import ROOT

HEAVY = ("pandas", "numpy", "pyarrow", "jsonschema", "sqlalchemy", "structlog")
EXAMPLE = (ROOT / "plugins" / "clinic" / "mncm" / "examples" / "2016" / "odc" / "summary"
           / "valid" / "odc-summary-full.csv")

# runs the console entry point as ``gateway ARGS`` would, then says what it imported
PROBE = f"""
import json, sys
from gateway.cli import main
sys.argv = ["gateway", *sys.argv[1:]]
try:
    main()
except SystemExit as stop:
    code = stop.code
print(json.dumps({{"exit": code, "loaded": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""


def run_gateway(tmp_path: Path, *args: str) -> dict[str, object]:
    """``gateway ARGS`` in a fresh process (in an empty folder: no gateway.toml), its exit
    code and which of the heavy packages it imported."""
    run = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [("--help",), ("validate",), ("plugins",)],
                         ids=["help", "usage-error", "plugins"])
def test_a_command_that_judges_nothing_loads_no_heavy_package(
        tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run_gateway(tmp_path, *args)
    assert result["exit"] in (0, 2)
    assert result["loaded"] == []


def test_judging_a_file_loads_what_the_record_layer_needs(tmp_path: Path) -> None:
    result = run_gateway(tmp_path, "validate", str(EXAMPLE), "--submitter", "clinic-1")
    assert result["exit"] == 0
    assert {"pandas", "numpy", "pyarrow", "jsonschema"} <= set(result["loaded"])


def test_a_file_the_running_daemon_judges_loads_no_heavy_package(
        tmp_path: Path, make_gateway: Callable[..., Gateway]) -> None:
    gw = make_gateway(pipeline=None, validate_wait=30.0)  # a loaded machine: wait for it
    gw.start()
    wait_until(lambda: socket_path(gw.var).exists(), what="the validation socket")
    result = run_gateway(tmp_path, "validate", str(EXAMPLE), "--submitter", "clinic-1",
                         "--config", str(gw.config))
    assert result["exit"] == 0
    assert result["loaded"] == []
    # the warm process logs the request after closing the connection: the line may come late
    requests = wait_until(lambda: [e["outcome"] for e in gw.events()
                                   if e.get("event") == "validate_request"],
                          what="the request in the daemon's log")
    assert requests == ["answered"]
