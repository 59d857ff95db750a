"""Running hostile uploads through the pipeline and checking what the submitter gets back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from gateway.engine.pipeline import validate_file
from gateway.receipts.schema import receipt_errors

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter that has imported what a daemon's worker has before its first file
# (the plugins, ``JUDGING_IMPORTS``): its peak RSS after the file, minus its RSS before, is what
# the file cost a worker. Without the preloads the window would also count pandas and pyarrow
# loading on first use, which a worker pays once at fork-server start, not per file.
_MEASURED = """
import importlib, json, sys
from pathlib import Path
from gateway.engine.pipeline import JUDGING_IMPORTS, default_plugins, validate_file
import gateway.readers.upload, gateway_plugins.hospital.cart.reader
default_plugins()
for module in JUDGING_IMPORTS:
    importlib.import_module(module)
def rss_mb(field="VmRSS:"):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
before = rss_mb()
receipt = validate_file(Path(sys.argv[1]), submitter="hospital", display_name=sys.argv[2])
peak = rss_mb("VmHWM:")
print(json.dumps({"receipt": receipt.as_dict(), "grew_mb": peak - before}))
"""


def judged(path: Path, name: str | None = None) -> dict[str, Any]:
    """The receipt for ``path`` uploaded as ``name``: valid against the receipt schema and never
    the gateway's own failure."""
    receipt = validate_file(path, submitter="hospital", display_name=name or path.name)
    return checked(receipt.as_dict())


def measured(path: Path, name: str | None = None) -> tuple[dict[str, Any], float]:
    """The receipt, and how many MB the validation added to a fresh process's peak RSS."""
    run = subprocess.run([sys.executable, "-c", _MEASURED, str(path), name or path.name],
                         capture_output=True, text=True, cwd=ROOT, timeout=300, check=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    return checked(result["receipt"]), float(result["grew_mb"])


def checked(receipt: dict[str, Any]) -> dict[str, Any]:
    assert receipt_errors(receipt) == []
    codes = [f["code"] for f in receipt["findings"]]
    assert "E-PROCESSING-FAILED" not in codes, receipt["findings"]
    return receipt


def refusal(receipt: dict[str, Any]) -> dict[str, Any]:
    """The one finding of a file-layer rejection."""
    assert receipt["status"] == "rejected" and receipt["layer"] == "file", receipt["findings"]
    assert len(receipt["findings"]) == 1, receipt["findings"]
    return receipt["findings"][0]


def refused_in(path: Path, most_mb: float, name: str | None = None) -> dict[str, Any]:
    """The one finding of a file-layer rejection, made in a fresh process whose peak memory
    grew by less than ``most_mb`` MB while it validated ``path``."""
    receipt, grew_mb = measured(path, name)
    assert grew_mb < most_mb, f"validation grew the process by {grew_mb:.0f} MB"
    return refusal(receipt)
