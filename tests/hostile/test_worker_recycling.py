"""A worker that a file has grown is replaced before the next file, so the memory goes back."""

from __future__ import annotations

import time
from pathlib import Path

from gateway.daemon.workers import Job, Outcome, WorkerPool

PIPELINE = "tests.hostile.growing_pipeline:validate_file"


def _run(pool: WorkerPool, path: Path, name: str) -> Outcome:
    pool.submit(Job(submission_id=name, path=str(path), submitter="s", display_name=name,
                    received_at="2026-01-01T00:00:00Z"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        outcomes = pool.collect(1.0)
        if outcomes:
            assert outcomes[0].receipt is not None, outcomes[0]
            return outcomes[0]
    raise AssertionError("no outcome within 60 s")


def test_a_worker_grown_by_a_file_is_recycled_and_a_small_file_keeps_it(tmp_path: Path) -> None:
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_text("a\n1\n")
    big.write_text("GROW 300\n")
    pool = WorkerPool(1, pipeline=PIPELINE, time_limit=60, memory_limit_mb=0,
                      log_format="json", log_level="warning", recycle_rss_mb=250)
    try:
        first = _run(pool, small, "one").receipt.records  # type: ignore[union-attr]
        assert _run(pool, small, "two").receipt.records == first  # type: ignore[union-attr]
        assert pool.recycled == 0
        assert _run(pool, big, "grow").receipt.records == first  # type: ignore[union-attr]
        assert pool.recycled == 1
        after = _run(pool, small, "three").receipt.records  # type: ignore[union-attr]
        assert after != first  # a fresh process took the next file
    finally:
        pool.close()


def test_a_worker_is_recycled_after_max_jobs(tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    small.write_text("a\n1\n")
    pool = WorkerPool(1, pipeline=PIPELINE, time_limit=60, memory_limit_mb=0,
                      log_format="json", log_level="warning", max_jobs=2)
    try:
        pids = [_run(pool, small, f"f{i}").receipt.records  # type: ignore[union-attr]
                for i in range(5)]
        assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]
        assert pool.recycled == 2
    finally:
        pool.close()
