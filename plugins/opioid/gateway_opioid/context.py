"""What the family needs to know of the sender and the registry, from the ``RuleContext``."""

from __future__ import annotations

from gateway.contract import Route, RuleContext
from gateway_opioid.forms import FormFacts
from gateway_opioid.program import measurement_year


def submitter_id(context: RuleContext) -> str:
    """The id of the sending submitter (its inbox folder)."""
    return context.sender


def health_systems(context: RuleContext) -> frozenset[str] | None:
    """Ids of the registered clinic and hospital submitters; None without a registry."""
    return None


def form_facts(route: Route, context: RuleContext) -> FormFacts:
    return FormFacts(context.reference, measurement_year(route.reporting_year),
                     submitter_id(context))
