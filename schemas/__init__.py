"""The JSON Schemas of the first-party families, the shared definitions and the receipt schema.

Installed as the ``gateway_schemas`` package so a plain ``pip install .`` ships them; found at
run time with ``importlib.resources``, never by a path into the source tree.
"""

from importlib.resources import files
from importlib.resources.abc import Traversable


def schema_root() -> Traversable:
    """The folder holding every schema file of this package."""
    return files(__name__)
