"""Names of the reference datasets the family keeps (``gateway.contract.reference``), per
measurement year. Prescribers and groups are replaced by each accepted feed; forms are kept per
prescriber
(and measure), the latest accepted one counting."""

from __future__ import annotations


def prescribers(year: int) -> str:
    return f"opip/prescribers/{year}"


def specialties(year: int) -> str:
    return f"opip/specialties/{year}"


def forms(kind: str, year: int) -> str:
    return f"opip/{kind.removeprefix('opip-')}/{year}"


def decisions(year: int) -> str:
    """Program staff's decisions on exemption requests, per prescriber (the latest counts)."""
    return f"opip/exemption-decisions/{year}"


def subscribers() -> str:
    """The prescribers signed up for reports by e-mail: no year, each accepted list replaces
    the one before."""
    return "opip/subscribers"
