"""The delivery thread: verdicts handed over while it works go out together, in the order they
came, every one of them exactly once; a failure it cannot wait out reaches the daemon's loop
(which stops loudly) instead of leaving files unanswered in silence."""

from __future__ import annotations

import select
import threading
from typing import Any

import pytest

from gateway.daemon.courier import Courier
from gateway.daemon.delivery import Delivered

WAIT = 30.0  # seconds: only a broken courier takes this long


def _results(courier: Courier, count: int) -> list[Delivered]:
    """Wait on the courier's descriptor, as the loop does, until ``count`` results are back."""
    back: list[Delivered] = []
    while len(back) < count:
        readable, _, _ = select.select([courier.wake], [], [], WAIT)
        assert readable, "the delivery thread never said it was done"
        back += courier.results()
    return back


def test_verdicts_handed_over_while_a_delivery_runs_go_out_together_in_order() -> None:
    batches: list[list[Any]] = []
    first_started, release = threading.Event(), threading.Event()

    def deliver(verdicts: list[Any]) -> Delivered:
        batches.append(list(verdicts))
        if len(batches) == 1:
            first_started.set()
            assert release.wait(WAIT)
        return Delivered(len(verdicts), answered=[str(v) for v in verdicts])

    courier = Courier(deliver)
    try:
        courier.hand(["a"])
        assert first_started.wait(WAIT)
        courier.hand(["b", "c"])
        courier.hand(["d"])
        assert courier.in_hand == 4
        release.set()
        done = _results(courier, 2)
    finally:
        courier.close()
    assert batches == [["a"], ["b", "c", "d"]]
    assert [d.answered for d in done] == [["a"], ["b", "c", "d"]]
    assert courier.in_hand == 0


def test_a_delivery_that_fails_for_good_is_raised_in_the_loop() -> None:
    def deliver(verdicts: list[Any]) -> Delivered:
        raise PermissionError(13, "Permission denied")

    courier = Courier(deliver)
    try:
        courier.hand(["a"])
        readable, _, _ = select.select([courier.wake], [], [], WAIT)
        assert readable
        with pytest.raises(PermissionError):
            courier.results()
        with pytest.raises(PermissionError):  # nothing more is taken on
            courier.hand(["b"])
    finally:
        courier.close()


def test_closing_delivers_what_was_handed_over_first() -> None:
    delivered: list[Any] = []
    courier = Courier(lambda verdicts: (delivered.extend(verdicts), Delivered(len(verdicts)))[1])
    courier.hand(["a", "b"])
    courier.hand(["c"])
    courier.close()
    assert delivered == ["a", "b", "c"]
