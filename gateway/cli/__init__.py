"""The ``gateway`` command line (``app``, built by ``gateway.cli.app``) and its console entry
point ``main``."""

from gateway.cli.app import app, main

__all__ = ["app", "main"]
