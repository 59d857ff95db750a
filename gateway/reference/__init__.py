"""Reference data: what a family must remember from accepted files to judge later ones.

A family hands the core a ``ReferenceCollector`` for a file (hook
``gateway_reference_collector``); when the file's rules pass, the collector's ``ReferenceWrite``s
ride on the receipt, and the daemon and ``gateway validate`` apply them to the store only when
the file is accepted. Later files read the store through ``RuleContext.reference`` (a read-only
``ReferenceView``). The store is a SQLite file in the state folder, apart from the ledger's
transition tables: the ledger records what happened to files, the store what the program knows.
"""

from gateway.reference.model import (
    EMPTY,
    DatasetInfo,
    ReferenceCollector,
    ReferenceEntry,
    ReferenceView,
    ReferenceWrite,
)
from gateway.reference.store import ReferenceStore, reference_path, reference_view, remember

__all__ = [
    "EMPTY",
    "DatasetInfo",
    "ReferenceCollector",
    "ReferenceEntry",
    "ReferenceStore",
    "ReferenceView",
    "ReferenceWrite",
    "reference_path",
    "reference_view",
    "remember",
]
