"""The operator's and the submitter's commands: `registry check`, `validate` with a registry
and `--received-at`, `submitter add` with the registry entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from tests.submitters import files
from tests.submitters.registries import DEMO, write_registry

runner = CliRunner()


def gateway(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own folder with no gateway.toml or registry.toml of the user's."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)


def test_registry_check_accepts_a_good_file_and_counts_its_submitters(tmp_path: Path) -> None:
    code, out, _ = gateway("registry", "check", str(write_registry(tmp_path)))
    assert code == 0
    assert "OK, 6 submitters (1 clinic, 4 hospital, 1 program)" in out


def test_registry_check_finds_the_gateways_registry_by_default(tmp_path: Path) -> None:
    write_registry(tmp_path)
    code, out, _ = gateway("registry", "check")
    assert code == 0 and "registry.toml: OK" in out


def test_registry_check_lists_every_problem_with_its_line(tmp_path: Path) -> None:
    text = DEMO.replace("picu = true", "picu = true\nnicu = 3").replace(
        'npi = ["1234567893"]', 'npi = ["1234567890"]')
    path = write_registry(tmp_path, text)
    code, _, err = gateway("registry", "check", str(path))
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == f"{path}: line 7: npi 1234567890 has a wrong check digit (submitter " \
        "'demo-clinic')"
    assert "unknown key 'nicu' for a hospital submitter" in lines[1]
    assert lines[2].endswith("refused (2 problems); the gateway keeps the registry it has")


def test_registry_check_of_a_missing_file_is_an_operational_error(tmp_path: Path) -> None:
    code, _, err = gateway("registry", "check", str(tmp_path / "nope.toml"))
    assert code == 2 and "no registry file" in err


def receipt_of(out: str) -> dict:
    return json.loads(out)


def test_validate_without_a_registry_says_once_that_the_layer_was_skipped() -> None:
    code, out, _ = gateway("validate", str(files.ODC), "--submitter", "anyone", "--json")
    assert code == 0
    receipt = receipt_of(out)
    assert [f["code"] for f in receipt["findings"]] == ["W-SUBMITTER-SKIPPED"]
    assert receipt["status"] == "accepted_with_warnings"


def test_validate_with_a_registry_applies_the_layer(tmp_path: Path) -> None:
    path = write_registry(tmp_path, name="elsewhere.toml")
    code, out, _ = gateway("validate", str(files.ODC), "--submitter", "stranger", "--json",
                           "--registry", str(path))
    assert code == 1
    assert [f["code"] for f in receipt_of(out)["findings"]] == ["E-SUBMITTER-UNKNOWN"]
    code, out, _ = gateway("validate", str(files.ODC), "--submitter", "demo-clinic", "--json",
                           "--registry", str(path), "--received-at", "2015-02-01T09:00:00-06:00")
    assert code == 0 and receipt_of(out)["status"] == "accepted"


@pytest.mark.parametrize("text", [None, 'registry_version = "2"\n'], ids=["missing", "broken"])
def test_a_registry_named_but_unusable_is_exit_2_never_a_receipt(tmp_path: Path,
                                                                   text: str | None) -> None:
    path = tmp_path / "registry.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    code, out, err = gateway("validate", str(files.ODC), "--submitter", "demo-clinic",
                             "--registry", str(path))
    assert code == 2
    assert out == ""
    assert str(path) in err


def test_a_broken_registry_beside_the_config_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "gateway.toml").write_text("", encoding="utf-8")
    write_registry(tmp_path, DEMO.replace('kind = "program"', 'kind = "feed"'))
    code, _, err = gateway("validate", str(files.ODC), "--submitter", "demo-clinic")
    assert code == 2 and "kind: must be one of" in err


def test_received_at_previews_the_window_and_the_config_switch_rejects(tmp_path: Path) -> None:
    write_registry(tmp_path)  # found in the working folder, like the daemon's default
    late = ("validate", str(files.ODC), "--submitter", "demo-clinic", "--json",
            "--received-at", "2015-02-16T09:00:00-06:00")
    code, out, _ = gateway(*late)
    assert code == 0
    assert [f["code"] for f in receipt_of(out)["findings"]] == ["W-SUBMITTER-LATE"]
    assert receipt_of(out)["file"]["received_at"] == "2015-02-16T09:00:00-06:00"
    (tmp_path / "gateway.toml").write_text('[submitter]\nlate = "reject"\n', encoding="utf-8")
    code, out, _ = gateway(*late)
    assert code == 1
    receipt = receipt_of(out)
    assert (receipt["layer"], [f["code"] for f in receipt["findings"]]) == \
        ("submitter", ["E-SUBMITTER-LATE"])


def test_the_text_receipt_names_the_obligation_and_the_timing(tmp_path: Path) -> None:
    path = write_registry(tmp_path)
    code, out, _ = gateway("validate", str(files.ODC), "--submitter", "demo-clinic",
                           "--registry", str(path), "--received-at", "2014-12-31T09:00:00-06:00")
    assert code == 0
    assert "Obligation: ODC 2015, due 2015-02-15 (received early)" in out
    assert "W-SUBMITTER-EARLY" in out


def test_received_at_must_be_a_time() -> None:
    code, _, err = gateway("validate", str(files.ODC), "--submitter", "x", "--received-at",
                           "yesterday")
    assert code == 2 and "ISO 8601" in err


def test_submitter_add_writes_the_entry_and_the_folders(tmp_path: Path) -> None:
    assert gateway("init", ".")[0] == 0
    comments = "# the operator's notes\n" + 'registry_version = "1"\n'
    (tmp_path / "registry.toml").write_text(comments, encoding="utf-8")
    code, out, _ = gateway("submitter", "add", "lake-cah", "--name", "Lakeside CAH",
                           "--kind", "hospital", "--ccn", "240100", "--hospital-type", "CAH",
                           "--submits-to-cms")
    assert code == 0, out
    assert (tmp_path / "inbox" / "lake-cah" / "upload").is_dir()
    text = (tmp_path / "registry.toml").read_text(encoding="utf-8")
    assert text.startswith(comments)  # the operator's text is kept, the entry appended
    assert '[[submitter]]\nid = "lake-cah"\nname = "Lakeside CAH"\nkind = "hospital"\n' \
           'ccn = ["240100"]\nhospital_type = "CAH"\nsubmits_to_cms = true\n' in text
    code, out, _ = gateway("registry", "check")
    assert code == 0 and "1 hospital" in out


def test_a_refused_entry_changes_nothing(tmp_path: Path) -> None:
    assert gateway("init", ".")[0] == 0
    before = write_registry(tmp_path).read_bytes()
    code, _, err = gateway("submitter", "add", "copycat", "--name", "Copycat Clinic",
                           "--kind", "clinic", "--npi", "1234567893")
    assert code == 2
    assert "npi 1234567893 is listed under two submitters" in err
    assert (tmp_path / "registry.toml").read_bytes() == before
    assert not (tmp_path / "inbox" / "copycat").exists()


def test_submitter_add_without_an_entry_warns_that_files_will_be_refused(tmp_path: Path) -> None:
    assert gateway("init", ".")[0] == 0
    write_registry(tmp_path)
    code, _, err = gateway("submitter", "add", "newcomer")
    assert code == 0
    assert "'newcomer' is not in the registry" in err


def test_registry_check_takes_the_file_with_registry_like_every_command(tmp_path: Path) -> None:
    path = write_registry(tmp_path, name="elsewhere.toml")
    code, out, _ = gateway("registry", "check", "--registry", str(path))
    assert code == 0 and out.startswith(f"{path}: OK, 6 submitters")
    code, _, err = gateway("registry", "check", str(path), "--registry",
                           str(tmp_path / "other.toml"))
    assert code == 2 and "once" in err


def test_registry_check_counts_in_words(tmp_path: Path) -> None:
    path = write_registry(tmp_path, 'registry_version = "2"\n')
    code, _, err = gateway("registry", "check", str(path))
    assert code == 1
    assert err.splitlines()[-1] == f"{path}: refused (1 problem); the gateway keeps the " \
        "registry it has"
    path = write_registry(tmp_path, DEMO.split("\n[[submitter]]\nid = \"cart-hospital\"")[0])
    code, out, _ = gateway("registry", "check", str(path))
    assert code == 0 and out == f"{path}: OK, 1 submitter (1 clinic)\n"


@pytest.mark.parametrize(("received_at", "codes", "shown"), [
    ("2015-02-16", ["W-SUBMITTER-LATE"], "2015-02-16T00:00:00-06:00"),
    ("2015-02-15T23:30", [], "2015-02-15T23:30:00-06:00"),
], ids=["a-date", "local-time"])
def test_received_at_without_an_offset_is_the_programs_local_time(
        tmp_path: Path, received_at: str, codes: list[str], shown: str) -> None:
    path = write_registry(tmp_path)
    code, out, _ = gateway("validate", str(files.ODC), "--submitter", "demo-clinic", "--json",
                           "--registry", str(path), "--received-at", received_at)
    assert code == 0
    receipt = receipt_of(out)
    assert [f["code"] for f in receipt["findings"]] == codes
    assert receipt["file"]["received_at"] == shown


def test_a_refused_entry_is_named_as_the_new_entry_not_by_a_line_that_does_not_exist(
        tmp_path: Path) -> None:
    assert gateway("init", ".")[0] == 0
    write_registry(tmp_path)
    code, _, err = gateway("submitter", "add", "demo-clinic", "--name", "Again",
                           "--kind", "clinic", "--npi", "1234567893")
    assert code == 2
    line = DEMO.splitlines().index('id = "demo-clinic"') + 1
    assert f"the new entry 'demo-clinic': duplicate id 'demo-clinic': it is already used on " \
           f"line {line}" in err
    code, _, err = gateway("submitter", "add", "no-npi", "--name", "No NPI Clinic",
                           "--kind", "clinic")
    assert code == 2 and "the new entry 'no-npi': missing key 'npi'" in err
