"""What the family needs to know of the sender and the registry, from the ``RuleContext``."""

from __future__ import annotations

from gateway.contract import Route, RuleContext
from gateway_opioid.forms import FormFacts
from gateway_opioid.program import measurement_year


def health_systems(context: RuleContext) -> frozenset[str] | None:
    """Ids of the registered clinic and hospital submitters; None without a registry (the
    receipt then says the submitter checks were skipped)."""
    registry = context.registry
    if registry is None:
        return None
    return frozenset(s.id for s in registry if registry.health_system(s.id) is not None)


def form_facts(route: Route, context: RuleContext) -> FormFacts:
    return FormFacts(context.reference, measurement_year(route.reporting_year), context.sender)
