"""A submitter set up with a completion marker (``complete_marker = "sha256"``): each file waits
for its ``NAME.sha256`` and is checked against it, as managed file transfer products do where
the SFTP server cannot be heard. A site of its own, since its registry lists the submitters."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sftp.test_sftp import VALID
from tests.support.sftp import Site, build_site

MARKER_WAIT = 20  # from the data file's upload; its marker follows 5 s later
CLINIC = ["--kind", "clinic", "--npi", "1234567893"]


@pytest.fixture(scope="module")
def marker_site() -> Iterator[Site]:
    with build_site({"a": ["--name", "Marker Clinic", *CLINIC, "--complete-marker", "sha256"]},
                    intake={"marker_wait": str(MARKER_WAIT)}) as site:
        yield site


def _put(site: Site, user: str, local: Path, name: str) -> None:
    done = site.sftp(user, f"put {local} upload/{name}")
    assert done.returncode == 0, done.stderr


def test_a_file_waits_for_its_marker_and_is_judged_once_it_matches(
        marker_site: Site, tmp_path: Path) -> None:
    marked, plain = marker_site.submitters
    _put(marker_site, marked, VALID, "odc.csv")
    put_at = time.monotonic()
    _put(marker_site, plain, VALID, "odc.csv")  # the other submitter is answered meanwhile
    marker_site.wait_receipts(plain, "odc.csv")  # (not in the registry: rejected at once)
    # 5 s after the upload (beyond the quiet period), the other submitter's session and
    # receipt inside them: under load they took several seconds, eating into MARKER_WAIT
    time.sleep(max(0.0, put_at + 5 - time.monotonic()))
    assert marker_site.receipts(marked, "odc.csv") == []
    assert (marker_site.folder(marked) / "upload" / "odc.csv").exists()
    marker = tmp_path / "odc.csv.sha256"
    marker.write_text(f"{hashlib.sha256(VALID.read_bytes()).hexdigest()}  odc.csv\n")
    _put(marker_site, marked, marker, "odc.csv.sha256")
    [receipt] = marker_site.wait_receipts(marked, "odc.csv")
    assert receipt["status"] != "rejected", receipt["findings"]
    assert not (marker_site.folder(marked) / "upload" / "odc.csv.sha256").exists()
    assert marker_site.receipts(marked, "odc.csv.sha256") == []


def test_a_file_whose_hash_differs_from_its_marker_is_rejected(marker_site: Site,
                                                               tmp_path: Path) -> None:
    marked = marker_site.submitters[0]
    marker = tmp_path / "bad.csv.sha256"
    marker.write_text(hashlib.sha256(b"what was meant to be sent").hexdigest() + "\n")
    _put(marker_site, marked, VALID, "bad.csv")
    _put(marker_site, marked, marker, "bad.csv.sha256")
    [receipt] = marker_site.wait_receipts(marked, "bad.csv")
    assert receipt["status"] == "rejected"
    [finding] = receipt["findings"]
    assert finding["code"] == "E-FILE-INTERRUPTED"
    assert "does not match its completion marker bad.csv.sha256" in finding["message"]


def test_a_file_whose_marker_never_comes_is_answered_after_the_wait(marker_site: Site) -> None:
    marked = marker_site.submitters[0]
    started = time.monotonic()
    _put(marker_site, marked, VALID, "alone.csv")
    [receipt] = marker_site.wait_receipts(marked, "alone.csv")
    assert time.monotonic() - started >= MARKER_WAIT - 1
    [finding] = receipt["findings"]
    assert finding["code"] == "E-FILE-INTERRUPTED"
    assert f"did not arrive within {MARKER_WAIT} seconds" in finding["message"]
