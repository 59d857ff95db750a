"""Modules bound at import time and loaded at first use.

pandas (with numpy and pyarrow), jsonschema and the like cost a fresh process most of its
start-up, and a command that never types a record (``gateway --help``, a usage error,
``gateway plugins``) must not pay for them. A module that needs pandas only inside its
functions binds ``pd = lazy_module("pandas")`` instead of ``import pandas as pd``: the code
reads the same, and pandas is imported when ``pd.DataFrame`` (or any other attribute) is first
looked up. Annotations are no use of the module under ``from __future__ import annotations``;
module-level values such as ``np.uint64(60)`` are, and load it at once.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    """Stands for a module until an attribute is asked for; then takes over its namespace, so
    later look-ups are plain attribute reads and never come back here."""

    def __getattr__(self, name: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, name)


def lazy_module(name: str) -> ModuleType:
    """The module ``name``, imported at its first attribute look-up instead of now.

    ``name`` is a dotted module name (``"pandas"``, ``"pyarrow.compute"``); an unknown name
    fails at that first look-up, as the import would."""
    return _LazyModule(name)
