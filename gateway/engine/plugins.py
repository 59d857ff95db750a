"""Loading the measure families and asking them questions.

First-party families load through the same ``gateway.plugins`` entry-point group an outside
package uses, so they are the example to copy. Routing follows conda's rule: collect every
answer and refuse to guess when two plugins claim the same file.

An installation chooses its plugins (``PluginChoice``, from ``gateway.toml``'s ``[plugins]``
table): installed ones it ``disable``s are never imported, and local plugin folders (``paths``)
load like installed ones without being packaged, as pytest loads a ``conftest.py``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pluggy

import gateway.contract.hooks as hookspecs
from gateway.contract.catalog import Catalog
from gateway.contract.records import Candidate, FamilyInfo, FileSample, MeasureInfo
from gateway.engine.schemas import SchemaStore
from gateway.site.plugin_choice import PluginChoice

ENTRY_POINT_GROUP = "gateway.plugins"


class PluginConflict(RuntimeError):
    """Two plugins declare the same family, an implementation names an unknown hook, or a
    local plugin folder cannot be loaded."""


@dataclass(frozen=True)
class PluginSource:
    """Where a loaded plugin came from: an entry point of an installed distribution, or a
    local folder (``distribution`` None)."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    local_path: Path | None = None

    @property
    def local(self) -> bool:
        return self.local_path is not None


@dataclass(frozen=True)
class RoutingAnswer:
    """Every candidate the families proposed, split into claims and near misses."""

    claims: tuple[tuple[Candidate, str], ...] = ()
    near_misses: tuple[Candidate, ...] = ()

    def closest(self) -> Candidate | None:
        """The near miss that lacks the fewest things, for an "it looks like ..." message."""
        return min(self.near_misses, key=lambda c: len(c.lacks), default=None)


@dataclass
class Plugins:
    """The loaded plugin manager plus what the core derives from it (families, catalog)."""

    pm: pluggy.PluginManager
    families: dict[str, FamilyInfo] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    sources: dict[str, PluginSource] = field(default_factory=dict)
    choice: PluginChoice = field(default_factory=PluginChoice)

    @property
    def hook(self) -> pluggy.HookRelay:
        return self.pm.hook

    @cached_property
    def catalog(self) -> Catalog:
        catalog = Catalog()
        for codes in self.pm.hook.gateway_error_codes():
            for code in codes:
                catalog.add(code)
        return catalog

    @cached_property
    def schemas(self) -> SchemaStore:
        return SchemaStore([d for dirs in self.pm.hook.gateway_schema_dirs() for d in dirs])

    def measure(self, family: str, measure: str) -> MeasureInfo | None:
        info = self.families.get(family)
        return info.measure(measure) if info else None

    def route(self, sample: FileSample) -> RoutingAnswer:
        """Ask every plugin about the file; the plugin name goes with each claim."""
        claims: list[tuple[Candidate, str]] = []
        misses: list[Candidate] = []
        for impl in self.pm.hook.gateway_recognise.get_hookimpls():
            # Called one by one (not through the relay) to know which plugin made each claim;
            # argnames honours pluggy's rule that an implementation may take fewer arguments.
            args = {"sample": sample}
            for candidate in impl.function(*(args[a] for a in impl.argnames)) or ():
                if candidate.claims:
                    claims.append((candidate, impl.plugin_name))
                else:
                    misses.append(candidate)
        return RoutingAnswer(tuple(claims), tuple(misses))


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _load_entry_points(pm: pluggy.PluginManager, disable: set[str]) -> dict[str, PluginSource]:
    """Register every installed plugin not disabled; a disabled one is never imported."""
    sources: dict[str, PluginSource] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in disable or pm.get_plugin(ep.name) is not None:
            continue
        pm.register(ep.load(), name=ep.name)
        dist = ep.dist
        sources[ep.name] = PluginSource(ep.name, ep.module, dist.metadata["Name"] if dist
                                        else None, dist.version if dist else None)
    return sources


def _local_plugin(path: Path) -> tuple[str, object, str]:
    """A local plugin: a package folder (its ``plugin`` module's ``PLUGIN`` or ``FAMILY``, else
    the module, as an entry point would name it) or a ``.py`` file of hooks. Its parent folder
    goes on ``sys.path`` so the package's data files load as an installed one's do."""
    if path.is_file() and path.suffix == ".py":
        parent, name, module_name = path.parent, path.stem, path.stem
    elif (path / "__init__.py").is_file():
        parent, name = path.parent, path.name
        module_name = f"{name}.plugin" if (path / "plugin.py").is_file() else name
    else:
        raise PluginConflict(f"local plugin {path} is neither a package folder (with "
                             "__init__.py) nor a .py file")
    if str(parent) not in sys.path:
        sys.path.insert(0, str(parent))
    known = sys.modules.get(name)
    if known is not None and Path(str(getattr(known, "__file__", ""))).parent not in (
            path, parent):
        raise PluginConflict(f"local plugin {path}: a module named {name} is already "
                             f"imported from {known.__file__}")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # the author's code: say which folder, not a bare traceback
        raise PluginConflict(f"local plugin {path} cannot be imported: "
                             f"{type(err).__name__}: {err}") from err
    plugin = getattr(module, "PLUGIN", None) or getattr(module, "FAMILY", None) or module
    return name, plugin, module_name


def load_plugins(extra: Iterable[object] = (), *, entry_points: bool = True,
                 choice: PluginChoice | None = None) -> Plugins:
    """Load the installed families (and ``extra`` plugin objects, for tests and embedding),
    as ``choice`` says: without the disabled ones, with the local ones.

    Raises ``PluginConflict`` when an implementation names a hook the contract does not have,
    two plugins declare one family or a local plugin cannot be loaded, so a broken plugin set
    never starts validating.
    """
    import gateway.engine.shared_schemas as shared_schemas
    from gateway.readers import table_records  # the core's fallback reader for tables

    choice = choice or PluginChoice()
    pm = _new_manager()
    pm.register(table_records, name="gateway.table-reader")
    pm.register(shared_schemas, name="gateway.shared-schemas")
    sources = _load_entry_points(pm, set(choice.disable)) if entry_points else {}
    for path in choice.paths:
        name, plugin, module_name = _local_plugin(path)
        if name in choice.disable:
            continue
        if pm.get_plugin(name) is not None:
            raise PluginConflict(f"local plugin {path}: a plugin named {name} is already "
                                 "loaded (disable the installed one to try the local copy)")
        pm.register(plugin, name=name)
        sources[name] = PluginSource(name, module_name, local_path=path)
    for plugin in extra:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as err:
        raise PluginConflict(f"plugin {err.plugin!r} implements an unknown hook: {err}") from err
    plugins = Plugins(pm, sources=sources, choice=choice)
    for impl in pm.hook.gateway_families.get_hookimpls():
        for family in impl.function() or ():  # the hook takes no arguments
            if family.family in plugins.families:
                raise PluginConflict(
                    f"family {family.family!r} is declared by both "
                    f"{plugins.owners[family.family]!r} and {impl.plugin_name!r}")
            plugins.families[family.family] = family
            plugins.owners[family.family] = impl.plugin_name
    return plugins
