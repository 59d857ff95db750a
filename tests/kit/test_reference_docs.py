"""The reference parts of docs/plugins.md follow the code: the shared schema definitions table
is what the generator writes and every ``[obligation]`` key the code reads is in the one table
(the public names' reference is generated from ``gateway.contract``: tests/kit/test_contract.py).
"""

from __future__ import annotations

import re

from gateway.authoring import defsdoc
from gateway.engine.pipeline import default_plugins
from tests.support.paths import ROOT

DOC = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
READERS = [ROOT / "gateway" / "kit" / "obligations.py", ROOT / "gateway" / "kit" / "calendar.py"]


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
