"""A file that kills, stalls or bloats a worker gets a receipt saying so; the daemon goes on."""

from __future__ import annotations

from tests.support.daemon import wait_until


def _codes(receipt: dict) -> list[str]:
    return [finding["code"] for finding in receipt["findings"]]


def test_a_worker_that_dies_raises_or_exceeds_a_limit_costs_one_receipt_not_the_daemon(
        make_gateway) -> None:
    gw = make_gateway(time_limit=2.0, memory_limit_mb=2048)
    upload = gw.add_submitter("clinic-a")
    gw.start()
    (upload / "crash.csv").write_bytes(b"CRASH\n")
    (upload / "raise.csv").write_bytes(b"RAISE\n")
    (upload / "stall.csv").write_bytes(b"SLEEP 600\n")
    (upload / "hog.csv").write_bytes(b"HOG\n")
    receipts = {r["file"]["name"]: r for r in gw.wait_receipts("clinic-a", 4)}
    assert _codes(receipts["crash.csv"]) == ["E-PROCESSING-FAILED"]
    assert _codes(receipts["raise.csv"]) == ["E-PROCESSING-FAILED"]
    assert _codes(receipts["stall.csv"]) == ["E-PROCESSING-LIMIT"]
    assert "2 seconds" in receipts["stall.csv"]["findings"][0]["message"]
    assert _codes(receipts["hog.csv"]) == ["E-PROCESSING-LIMIT"]
    assert "2,048 MiB" in receipts["hog.csv"]["findings"][0]["message"]
    assert all(r["status"] == "rejected" for r in receipts.values())
    # The daemon carries on with the next file, on replaced workers.
    (upload / "next.csv").write_bytes(b"fine\n")
    receipts = {r["file"]["name"]: r for r in gw.wait_receipts("clinic-a", 5)}
    assert receipts["next.csv"]["status"] == "accepted"
    failures = {e["failure"] for e in gw.events() if e.get("event") == "worker_failed"}
    assert failures == {"crashed", "error", "time", "memory"}
    crashed = next(e for e in gw.events() if e.get("failure") == "crashed")
    assert crashed["detail"] == "exited with status 70"
    wait_until(lambda: len(gw.filed()) == 5, what="all five filed")
    assert gw.stop() == 0
    assert not any("SECRET-VALUE-IN-EXCEPTION" in line for line in gw.log_lines())
