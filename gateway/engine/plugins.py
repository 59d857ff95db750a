"""Loading the measure families and asking them questions.

First-party families load through the same ``gateway.plugins`` entry-point group an outside
package uses, so they are the example to copy. Routing follows conda's rule: collect every
answer and refuse to guess when two plugins claim the same file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import pluggy

import gateway.contract.hooks as hookspecs
from gateway.contract.catalog import Catalog
from gateway.contract.records import Candidate, FamilyInfo, FileSample, MeasureInfo
from gateway.engine.schemas import SchemaStore

ENTRY_POINT_GROUP = "gateway.plugins"


class PluginConflict(RuntimeError):
    """Two plugins declare the same family or an implementation names an unknown hook."""


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


def load_plugins(extra: Iterable[object] = (), *, entry_points: bool = True) -> Plugins:
    """Load the installed families (and ``extra`` plugin objects, for tests and embedding).

    Raises ``PluginConflict`` when an implementation names a hook the contract does not have or
    two plugins declare one family, so a broken plugin set never starts validating.
    """
    import gateway.engine.shared_schemas as shared_schemas
    from gateway.readers import table_records  # the core's fallback reader for tables

    pm = _new_manager()
    pm.register(table_records, name="gateway.table-reader")
    pm.register(shared_schemas, name="gateway.shared-schemas")
    if entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as err:
        raise PluginConflict(f"plugin {err.plugin!r} implements an unknown hook: {err}") from err
    plugins = Plugins(pm)
    for impl in pm.hook.gateway_families.get_hookimpls():
        for family in impl.function() or ():  # the hook takes no arguments
            if family.family in plugins.families:
                raise PluginConflict(
                    f"family {family.family!r} is declared by both "
                    f"{plugins.owners[family.family]!r} and {impl.plugin_name!r}")
            plugins.families[family.family] = family
            plugins.owners[family.family] = impl.plugin_name
    return plugins
