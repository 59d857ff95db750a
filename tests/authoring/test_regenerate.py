"""Generated files follow their data: a manifest target edited without regenerating fails the
conformance kit naming the one command that rewrites the family's files; after it the kit
passes and ``schema diff`` reports the new target."""

from __future__ import annotations

from pathlib import Path

from tests.support.source_copy import source_copy

TARGET = "A1C = { a1c_value = 7.0 }"


def test_a_target_edited_without_regenerating_fails_the_kit(tmp_path: Path) -> None:
    copy = source_copy(tmp_path)
    manifest = copy.plugins / "clinic" / "mncm" / "manifest.toml"
    assert TARGET in manifest.read_text("utf-8")
    manifest.write_text(manifest.read_text("utf-8").replace(TARGET, "A1C = { a1c_value = 6.5 }"),
                        encoding="utf-8")

    stale = copy.gateway("check-plugin", "mncm")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    problems = [line for line in stale.stdout.splitlines() if "generated file" in line]
    assert {line.split(":")[0].split("/")[-1] for line in problems} == {
        "odc.summary.schema.json", "odc.patient.schema.json", "odc-summary-full.csv"}
    assert all("run `gateway regenerate mncm`" in line for line in problems)
    early = copy.gateway("schema", "diff", "mncm", "ODC", "2015", "2016")
    assert "below 6.5" not in early.stdout
    assert "run `gateway regenerate mncm` first" in early.stderr

    written = copy.gateway("regenerate", "mncm", check=True)
    assert "mncm: 3 of " in written.stdout
    assert copy.gateway("check-plugin", "mncm").stdout.strip().endswith("mncm: conforms")
    diff = copy.gateway("schema", "diff", "mncm", "ODC", "2015", "2016", check=True).stdout
    assert "numerator target A1C: a1c_value below 6.5 (was below 8.0)" in diff
    assert "generated files are up to date" in copy.gateway("regenerate", "mncm").stdout
