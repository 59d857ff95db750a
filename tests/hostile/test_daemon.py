"""The biggest hostile uploads through a real ``gateway serve`` and its worker pool: each gets a
rejection naming the cap, not a time-out, and another submitter's file is answered meanwhile."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.hostile import files
from tests.hostile.judge import checked, refusal


def test_huge_uploads_are_refused_at_their_caps_while_others_are_served(
        make_gateway: Callable[..., Any], tmp_path: Path) -> None:
    # recycle_rss_mb=1: every worker is replaced after every file, so recycling runs too
    gw = make_gateway(pipeline=None, count=2, time_limit=120.0, memory_limit_mb=0,
                      recycle_rss_mb=1)
    hostile, other = gw.add_submitter("hostile"), gw.add_submitter("other")
    gw.start()
    staged = tmp_path / "staged"
    staged.mkdir()
    uploads = [files.xml_elements(staged / "cart.xml", 10_000_000),
               files.csv_long_line(staged / "edtc.csv", 200)]
    for path in uploads:
        os.rename(path, hostile / path.name)
    files.copy_as(files.CSV_VALID, staged / "good.csv")
    os.rename(staged / "good.csv", other / "edtc-2015q1.csv")

    good = gw.wait_receipts("other", 1, timeout=120)[0]
    assert checked(good)["status"] == "accepted", good["findings"][:2]
    receipts = {r["file"]["name"]: checked(r) for r in gw.wait_receipts("hostile", 2, 120)}
    elements, line = refusal(receipts["cart.xml"]), refusal(receipts["edtc.csv"])
    assert elements["code"] == line["code"] == "E-FILE-LIMIT"
    assert "more than 1,000,000 elements" in elements["message"]
    assert line["message"] == "Line 2 is longer than the 1 MiB a line may have."
    assert not [e for e in gw.events() if e.get("event") == "worker_failed"]
    recycled = [e for e in gw.events() if e.get("event") == "worker_recycled"]
    assert len(recycled) >= 3 and "resident after a file" in recycled[0]["reason"]
    assert gw.process.poll() is None  # still serving
