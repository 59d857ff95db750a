"""One installation's state, shared by every process that works on it: the config and where it
is found (``config``), the folder layout and its modes (``layout``), submitter and upload names
(``names``), the ledger database (``ledger``), the reference data remembered from accepted files
(``reference``), logging set-up (``logs``) and the view a plugin's command gets (``access``).

The daemon, the command line, plugin commands and the web console all open the installation
through this package, so none of them imports another to reach it. The names below are loaded on
first use: a command that needs only the config does not pay for the ledger's database layer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.site.access import REPORTS, Site, SiteError, open_site

__all__ = ["REPORTS", "Site", "SiteError", "open_site"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("gateway.site.access"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
