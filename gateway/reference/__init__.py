"""Reference data: what a family must remember from accepted files to judge later ones.

A family hands the core a ``ReferenceCollector`` for a file (hook
``gateway_reference_collector``); when the file's rules pass, the collector's ``ReferenceWrite``s
ride on the receipt, and the daemon applies them to the store only when the file is accepted
(``gateway validate`` never writes: it keeps them in memory for its later files,
``gateway.reference.overlay``). Later files read the store through ``RuleContext.reference``
(a read-only ``ReferenceView``). The store is three tables in the ledger's database: the
ledger's own tables say what happened to files, these what the program knows from them, and
both are shared by every daemon of a deployment.

This package exports the types of the contract; the store (``gateway.reference.store``:
``reference_view``, ``remember``) reaches the ledger's database and is imported by those who
open it, so that loading the contract never loads the database layer.
"""

from gateway.reference.model import (
    EMPTY,
    DatasetInfo,
    ReferenceCollector,
    ReferenceEntry,
    ReferenceView,
    ReferenceWrite,
)

__all__ = [
    "EMPTY",
    "DatasetInfo",
    "ReferenceCollector",
    "ReferenceEntry",
    "ReferenceView",
    "ReferenceWrite",
]
