"""How the plugin contract evolves: hooks only gain arguments, and anything that goes away is
deprecated first, with a warning raised from this one module.

A plugin written today must keep working when the core grows. So:

- a hook may gain an argument (pluggy lets an implementation accept fewer than the spec) but
  never loses or renames one while it is supported;
- a hook or argument to be retired is first marked here (``deprecated_hook`` /
  ``deprecated_argument`` give the warning pluggy raises when a plugin implements the hook or
  asks for the argument: ``@hookspec(warn_on_impl=...)`` / ``warn_on_impl_args={...}``), for at
  least one minor release, naming what to use instead;
- only then may it be removed, and the removal is recorded in ``RETIRED`` so the hook reference
  check (``gateway.authoring.hookdoc``) accepts the shorter signature.

Public helpers that are not hooks (``Family`` keyword arguments, kit functions) warn with
``warnings.warn(Deprecation(...).warning())``.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
import warnings
from dataclasses import dataclass


class GatewayDeprecationWarning(DeprecationWarning):
    """A plugin uses a part of the contract that will be removed; the text says the
    replacement and the release that removes it."""


@dataclass(frozen=True)
class Deprecation:
    """What is deprecated, since which release, when it goes and what replaces it."""

    what: str
    since: str
    removal: str
    instead: str

    def warning(self) -> GatewayDeprecationWarning:
        return GatewayDeprecationWarning(
            f"{self.what} is deprecated since gateway {self.since} and will be removed in "
            f"{self.removal}; {self.instead}")


# hook or "hook(argument)" -> the deprecation that announced its removal; a removal appears
# here only after its deprecation shipped
RETIRED: dict[str, Deprecation] = {}

# every deprecation currently announced, by hook or "hook(argument)" (for the reference table)
ANNOUNCED: dict[str, Deprecation] = {}


def deprecated_hook(hook: str, *, since: str, removal: str,
                    instead: str) -> GatewayDeprecationWarning:
    """The warning for ``@hookspec(warn_on_impl=...)``: raised when a plugin implements the
    hook."""
    deprecation = Deprecation(f"the hook {hook}", since, removal, instead)
    ANNOUNCED[hook] = deprecation
    return deprecation.warning()


def deprecated_argument(hook: str, argument: str, *, since: str, removal: str,
                        instead: str) -> GatewayDeprecationWarning:
    """The warning for ``@hookspec(warn_on_impl_args={argument: ...})``: raised when an
    implementation asks for the argument."""
    deprecation = Deprecation(f"the argument {argument} of {hook}", since, removal, instead)
    ANNOUNCED[f"{hook}({argument})"] = deprecation
    return deprecation.warning()



# Modules that moved when the package took its layout by layer (release 0.2): old dotted name ->
# new one. An old name still imports, as the same module object, for one release, with one
# warning per name; ``docs/decisions.md`` has the table for readers.
MOVED_SINCE, MOVED_REMOVAL = "0.2", "0.3"
MOVED: dict[str, str] = {
    "gateway.catalog": "gateway.contract.catalog",
    "gateway.collected_rules": "gateway.kit.collected_rules",
    "gateway.conformance": "gateway.kit.conformance",
    "gateway.deprecation": "gateway.contract.deprecation",
    "gateway.engine.columnwise": "gateway.readers.columnwise",
    "gateway.engine.formats": "gateway.contract.formats",
    "gateway.family": "gateway.kit.family",
    "gateway.family_manifest": "gateway.kit.manifest",
    "gateway.family_obligations": "gateway.kit.obligations",
    "gateway.findings": "gateway.contract.findings",
    "gateway.hookdoc": "gateway.authoring.hookdoc",
    "gateway.hookspecs": "gateway.contract.hooks",
    "gateway.logging_setup": "gateway.site.logs",
    "gateway.pipeline": "gateway.engine.pipeline",
    "gateway.plain_table": "gateway.receipts.plain_table",
    "gateway.plugin_manager": "gateway.engine.plugins",
    "gateway.reference": "gateway.contract.reference",
    "gateway.reference.model": "gateway.contract.reference",
    "gateway.reference.database": "gateway.site.reference.database",
    "gateway.reference.store": "gateway.site.reference.store",
    "gateway.schemas": "gateway.engine.schemas",
    "gateway.shared_schemas": "gateway.engine.shared_schemas",
    "gateway.submitters.model": "gateway.contract.registry",
    "gateway.daemon.config": "gateway.site.config",
    "gateway.daemon.layout": "gateway.site.layout",
    "gateway.daemon.names": "gateway.site.names",
    "gateway.daemon.ledger": "gateway.site.ledger",
    "gateway.daemon.ledger.commands": "gateway.cli.ledger",
    "gateway.daemon.commands": "gateway.cli.daemon",
    "gateway.submitters.commands": "gateway.cli.submitters",
    "gateway.authoring.commands": "gateway.cli.authoring",
}


def renamed(what: str, instead: str) -> None:
    """Warn that a public name of the kit was replaced in the layout release (``DataFamily`` and
    ``TableFamily`` by ``Family``, their manifests by ``Manifest``); the old name still works
    for one release. Its module calls this once, when the name is first looked up."""
    warnings.warn(Deprecation(what, MOVED_SINCE, MOVED_REMOVAL, instead).warning(),
                  stacklevel=3)


def moved_module(name: str) -> str | None:
    """The module that ``name`` (an old dotted name, or a module inside an old package) is now,
    or None when it did not move."""
    parts = name.split(".")
    for end in range(len(parts), 1, -1):
        new = MOVED.get(".".join(parts[:end]))
        if new is not None:
            return ".".join([new, *parts[end:]])
    return None


class _Alias:
    """Loads an old name as the module it moved to (the very same object, so a patch or an
    ``isinstance`` through either name sees one thing)."""

    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        warnings.warn(Deprecation(f"the module {spec.name}", MOVED_SINCE, MOVED_REMOVAL,
                                  f"import {self.new} instead").warning(), stacklevel=2)
        return importlib.import_module(self.new)

    def exec_module(self, module: types.ModuleType) -> None:
        """The module ran under its new name already."""


class MovedModules:
    """Finds the old name of a moved module (see ``MOVED``); installed by ``import gateway``.
    (A finder and a loader by protocol: ``importlib.abc`` would cost every command its import.)
    """

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("gateway."):
            return None
        new = moved_module(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Alias(new))

    @classmethod
    def install(cls) -> None:
        if not any(isinstance(finder, cls) for finder in sys.meta_path):
            sys.meta_path.insert(0, cls())
