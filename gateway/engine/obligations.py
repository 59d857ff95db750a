"""Who owes what: every family is asked, for every active submitter, what it owes in a year.

The families answer through ``gateway_obligations`` (their windows are data in their
manifests); the core only collects, orders and checks the answers, so an obligation a family
declares twice is a plugin bug, reported, never silently counted once.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.contract.reference import EMPTY, ReferenceView
from gateway.contract.registry import Registry
from gateway.engine.plugins import PluginConflict, Plugins
from gateway.submitters.obligations import Owed


def owed(plugins: Plugins, registry: Registry, years: Iterable[int],
         submitter_id: str | None = None, reference: ReferenceView = EMPTY) -> list[Owed]:
    """Every obligation of every active submitter (or of one) for the reporting years, in
    submitter, family, measure, period and subject order. ``reference``: the data remembered
    from accepted files, for obligations that follow from them."""
    out: list[Owed] = []
    for submitter in registry:
        if not submitter.active or (submitter_id is not None and submitter.id != submitter_id):
            continue
        for year in years:
            seen: set[tuple[str, str, str, str]] = set()
            for answer in plugins.hook.gateway_obligations(submitter=submitter,
                                                           reporting_year=year,
                                                           registry=registry,
                                                           reference=reference):
                for obligation in answer or ():
                    if obligation.key in seen:
                        raise PluginConflict(f"obligation {obligation.key} is declared twice "
                                             f"for reporting year {year}")
                    seen.add(obligation.key)
                    out.append(Owed(submitter, obligation))
    return sorted(out, key=lambda o: o.sort_key)
