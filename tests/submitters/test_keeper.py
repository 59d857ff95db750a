"""The registry in force in a daemon: loaded at start, replaced by a good edit, kept through a
refused edit or a deleted file."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gateway.submitters import keeper as keeper_module
from gateway.submitters.keeper import RegistryKeeper, RegistryUnavailable
from tests.submitters.registries import DEMO, write_registry


def _bump(path: Path, text: str) -> None:
    """Write ``text`` and make sure the modification time moves (fast file systems may keep
    it within one tick)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 10_000_000, before + 10_000_000))


def test_a_good_edit_replaces_the_registry_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    path = write_registry(tmp_path)
    reported: list[dict[str, str]] = []
    keeper = RegistryKeeper(path, on_change=reported.append)
    keeper.start()
    assert keeper.registry is not None and len(keeper.registry) == 6
    assert keeper.refresh() is False  # unchanged: not even read again

    _bump(path, DEMO.replace('id = "dhs-feed"', 'id = "dhs-feed"\nactive = false'))
    assert keeper.refresh() is True
    assert keeper.registry.active("dhs-feed") is None

    good = keeper.registry
    _bump(path, DEMO + "\nnonsense = 1\n")
    assert keeper.refresh() is False
    assert keeper.registry is good
    assert reported[-1]["registry_state"] == "edit refused; previous registry kept"
    assert "unknown key 'nonsense'" in reported[-1]["registry_refused"]
    assert keeper.refresh() is False  # the same broken text is not refused again every turn

    path.unlink()
    assert keeper.refresh() is False
    assert keeper.registry is good
    assert reported[-1]["registry_state"] == "file missing; previous registry kept"


def test_a_registry_that_appears_later_comes_into_force(tmp_path: Path) -> None:
    keeper = RegistryKeeper(tmp_path / "registry.toml")
    keeper.start()
    assert keeper.registry is None
    write_registry(tmp_path)
    assert keeper.refresh() is True and keeper.registry is not None


def test_start_refuses_a_required_missing_or_a_broken_registry(tmp_path: Path) -> None:
    with pytest.raises(RegistryUnavailable, match="does not exist"):
        RegistryKeeper(tmp_path / "registry.toml", required=True).start()
    path = write_registry(tmp_path, DEMO.replace('kind = "program"', 'kind = "feed"'))
    with pytest.raises(RegistryUnavailable, match="kind: must be one of"):
        RegistryKeeper(path).start()


def test_an_edit_is_read_once_it_has_settled_never_torn(tmp_path: Path) -> None:
    """An editor that saves in place truncates the file and then writes it: a daemon that
    looked in between read a prefix, which may even parse, leaving submitters out."""
    path = write_registry(tmp_path, DEMO.replace('id = "dhs-feed"', 'id = "dhs-feed"\n'
                                                 'active = false'))
    reported: list[dict[str, str]] = []
    keeper = RegistryKeeper(path, on_change=reported.append, settle=3.0)
    keeper.start()
    before, states = keeper.registry, len(reported)
    assert before is not None and len(before) == 6
    first_entry = DEMO[:DEMO.index("[[submitter]]", DEMO.index("[[submitter]]") + 1)]
    _bump(path, first_entry)  # the save, caught half written: one submitter of six
    assert keeper.refresh() is False and keeper.registry is before
    _bump(path, DEMO)  # the save done, moments ago
    assert keeper.refresh() is False and keeper.registry is before
    assert len(reported) == states  # nothing torn was taken, nor refused
    settled = path.stat().st_mtime_ns - 3_100_000_000  # left alone since
    os.utime(path, ns=(settled, settled))
    assert keeper.refresh() is True
    assert len(keeper.registry) == 6 and keeper.registry.active("dhs-feed") is not None


def test_an_edit_stamped_in_the_future_is_read_once_it_has_stayed_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry copied with its times from a machine whose clock runs an hour ahead is taken
    after the settle period, not an hour later."""
    path = write_registry(tmp_path, DEMO)
    clock = [1000.0]
    monkeypatch.setattr(keeper_module.time, "monotonic", lambda: clock[0])
    keeper = RegistryKeeper(path, settle=3.0)
    keeper.start()
    ahead = time.time_ns() + 3600 * 1_000_000_000
    path.write_text(DEMO.replace('id = "dhs-feed"', 'id = "dhs-feed"\nactive = false'),
                    encoding="utf-8")
    os.utime(path, ns=(ahead, ahead))
    assert keeper.refresh() is False  # just seen
    clock[0] += 3.5
    assert keeper.refresh() is True and keeper.registry.active("dhs-feed") is None
