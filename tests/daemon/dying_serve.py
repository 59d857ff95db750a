"""``gateway serve`` that kills itself (SIGKILL, as ``kill -9``) at one step of a batched
delivery, named by ``DIE_AT``; the daemon tests then check that a restart loses nothing and
duplicates nothing.

Steps: ``validated``, ``receipt_written`` and ``filed`` die just after the transaction of a
batch of two or more files committed; ``text_receipt``, ``json_receipt`` and ``original`` just
after the second file of such a batch had that step done (the others of the batch not yet).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from gateway.daemon import delivery
from gateway.site.ledger.store import Ledger

_batch = {"size": 0, "done": 0}


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _after_commit(name: str) -> None:
    original = getattr(Ledger, name)

    def wrapped(self: Ledger, batch: Any) -> Any:
        result = original(self, batch)
        if len(batch) >= 2:
            _die()
        return result

    setattr(Ledger, name, wrapped)


def _after_second(name: str) -> None:
    original = getattr(delivery, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        _batch["done"] += 1
        if _batch["size"] >= 2 and _batch["done"] == 2:
            _die()
        return result

    setattr(delivery, name, wrapped)


def _count_batches() -> None:
    original = delivery.Delivery.deliver

    def wrapped(self: delivery.Delivery, verdicts: Any) -> Any:
        _batch["size"], _batch["done"] = len(verdicts), 0
        return original(self, verdicts)

    delivery.Delivery.deliver = wrapped  # type: ignore[method-assign]


STEPS = {"validated": lambda: _after_commit("validated_many"),
         "text_receipt": lambda: _after_second("write_receipt_body"),
         "json_receipt": lambda: _after_second("write_receipt_mark"),
         "receipt_written": lambda: _after_commit("receipt_written_many"),
         "original": lambda: _after_second("move_original"),
         "filed": lambda: _after_commit("filed_many")}

if __name__ == "__main__":
    _count_batches()
    STEPS[os.environ["DIE_AT"]]()
    from gateway.cli import main

    sys.argv[0] = "gateway"
    main()
