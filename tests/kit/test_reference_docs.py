"""The reference parts of docs/plugins.md follow the code: the shared schema definitions table
is what the generator writes, every ``[obligation]`` key the code reads is in the one table,
and every public contract name and every ``ErrorCode`` field is documented."""

from __future__ import annotations

import dataclasses
import re

import gateway.contract
from gateway.authoring import defsdoc
from gateway.catalog import ErrorCode
from gateway.pipeline import default_plugins
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
READERS = [ROOT / "gateway" / "family_obligations.py",
           ROOT / "plugins" / "hospital" / "common" / "obligations.py"]


def test_the_shared_definitions_table_is_current() -> None:
    table = defsdoc.render(default_plugins())
    assert defsdoc.current(DOC, table) == DOC, \
        "run python -m gateway.authoring.defsdoc --write"
    for name in ("ccn", "quarter", "count", "rate_percent"):
        assert f"urn:mn-sqrms:schema:common:defs#/$defs/{name}`" in table


def test_every_obligation_key_the_code_reads_is_in_the_table() -> None:
    table = DOC.split("## The `[obligation]` table", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))
    read = {key for path in READERS for key in re.findall(
        r"(?:rules|_rules\(manifest\))(?:\.get\(|\[)\"(\w+)\"", path.read_text("utf-8"))}
    assert read and read <= documented, sorted(read - documented)


def test_every_public_name_and_error_code_field_is_documented() -> None:
    reference = DOC.split("## Reference: the public names", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in gateway.contract.__all__
               if name not in ("HEALTH_SYSTEM_KINDS", "KINDS", "LEVELS")
               and f"`{name}" not in reference and f" `{name}`" not in reference
               and f"{name}`" not in reference]
    assert not missing, missing
    row = next(line for line in reference.splitlines() if line.startswith("| `ErrorCode("))
    assert "`gateway.catalog`" in row
    assert all(f.name in row for f in dataclasses.fields(ErrorCode))
