"""The delivery leg in a thread of its own, so that the loop claims, inspects and hands jobs to
the workers while a batch of receipts is made durable.

The loop hands over batches of verdicts; this thread delivers them (``delivery.py``: validated
-> receipt durable -> receipt_written -> original durable -> filed, for every file of a batch
at each step), and every batch handed over while it was busy goes into its next delivery as
one. It is the only thread that takes a file through those steps, and a verdict is handed over
once, so each file's durable steps keep their order, as when the loop did them itself; a daemon
killed at any instant resumes each file from the state it reached (``recovery.py``). What the
loop must learn (the files answered, those that wait to be tried again, those another daemon
took over) comes back as ``Delivered``: the board of files in hand stays the loop's alone.

The fsyncs and ledger commits of a delivery release the GIL, which is what lets the loop and
this thread overlap. A failure the delivery cannot wait out (not a full disk, not one
submitter's broken folder) ends this thread and is raised again in the loop, which stops the
daemon as it did before (systemd restarts it; recovery resumes every file).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable

from gateway.daemon.delivery import Delivered, Verdict


class Courier:
    """``hand`` verdicts over, take back ``results``; ``wake`` is a descriptor that becomes
    readable when a result (or a failure) is back, for the loop's wait."""

    def __init__(self, deliver: Callable[[list[Verdict]], Delivered]) -> None:
        self._deliver = deliver
        self._lock = threading.Lock()
        self._handed = threading.Condition(self._lock)
        self._waiting: list[Verdict] = []
        self._results: list[Delivered] = []
        self._failure: BaseException | None = None
        self._closing = False
        self.in_hand = 0  # verdicts handed over whose result the loop has not taken yet
        self.wake, self._wake_write = os.pipe()
        os.set_blocking(self.wake, False)
        os.set_blocking(self._wake_write, False)
        self._thread = threading.Thread(target=self._run, name="delivery", daemon=True)
        self._thread.start()

    def hand(self, verdicts: list[Verdict]) -> None:
        """Deliver ``verdicts`` soon, with whatever else is waiting."""
        if not verdicts:
            return
        self._raise_failure()
        with self._lock:
            self._waiting.extend(verdicts)
            self._handed.notify()
        self.in_hand += len(verdicts)

    def results(self) -> list[Delivered]:
        """The deliveries finished since the last call (the loop applies them to its board).
        Raises the failure that ended the thread, if one did."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self.wake, 4096):
                pass
        with self._lock:
            done, self._results = self._results, []
        self.in_hand -= sum(result.count for result in done)
        if not done:
            self._raise_failure()
        return done

    def close(self) -> None:
        """Deliver what was handed over, then end the thread (a failed thread has ended)."""
        with self._lock:
            self._closing = True
            self._handed.notify()
        self._thread.join()
        os.close(self.wake)
        os.close(self._wake_write)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closing:
                    self._handed.wait()
                if not self._waiting:
                    return
                batch, self._waiting = self._waiting, []
            try:
                result = self._deliver(batch)
            except BaseException as err:  # raised again in the loop
                self._failure = err
                self._signal()
                return
            with self._lock:
                self._results.append(result)
            self._signal()

    def _signal(self) -> None:
        with contextlib.suppress(BlockingIOError):  # a full pipe wakes the loop already
            os.write(self._wake_write, b".")
