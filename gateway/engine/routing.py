"""Choosing the one (family, measure, level, reporting year) a file belongs to."""

from __future__ import annotations

from gateway.contract.records import Candidate, FileSample, Route
from gateway.engine.plugins import Plugins
from gateway.readers.problems import FileProblem


def lacking(lacks: tuple[str, ...]) -> str:
    """What a near miss lacks, in one phrase: the plugins say ``column x`` item by item, the
    submitter reads ``columns a1c_value, bp_date`` (other items, such as a ``measure_id``
    value, come first, as the plugin gave them)."""
    columns = [item.removeprefix("column ") for item in lacks if item.startswith("column ")]
    others = [item for item in lacks if not item.startswith("column ")]
    if columns:
        others.append(("column " if len(columns) == 1 else "columns ") + ", ".join(columns))
    return ", ".join(others)


def _read_from(sample: FileSample, where: str | None) -> str:
    """What routing read and where: the header's place and its first names."""
    if where is None or not sample.columns:
        return ""
    names = ", ".join(f"'{c}'" for c in sample.columns[:6])
    more = ", ..." if len(sample.columns) > 6 else ""
    return f" The header was read from {where}: {names}{more}."


def _setting(names: list[str]) -> str:
    """The operator's setting that takes plugins out of routing, in gateway.toml's words."""
    listed = ", ".join(f'"{name}"' for name in names)
    return f"[plugins] disable = [{listed}] in gateway.toml"


def refused(claims: list[tuple[Candidate, str]]) -> FileProblem:
    """E-ROUTE-NOT-ACCEPTED-HERE for the first refusing claim. A refusal is the program's
    word on where such data go, so it outranks a family that also claims the file; the
    message names the refusing plugin, any other claimant and the setting that lets one take
    these files instead."""
    candidate, name = next((c, n) for c, n in claims if c.refusal)
    others = [(c, n) for c, n in claims if not c.refusal]
    text = f"{candidate.refusal} (Refused by the gateway's plugin {name}."
    if others:
        takers = " and ".join(f"{c.label} (plugin {n})" for c, n in others)
        text += (f" The file is also claimed by {takers}: the program's operator can let that "
                 f"plugin take these files with {_setting([name])}.)")
    else:
        text += (f" If the program collects these files through another plugin, its operator "
                 f"turns the refusal off with {_setting([name])}.)")
    return FileProblem.of("E-ROUTE-NOT-ACCEPTED-HERE", text)


def choose_route(plugins: Plugins, sample: FileSample, where: str | None = None) -> Route:
    """The route of the file, or a ``FileProblem`` that says why there is none. ``where`` is
    where a table's header was looked for (the sheet and row), told when nothing matches."""
    answer = plugins.route(sample)
    claims = list(answer.claims)
    if any(candidate.refusal for candidate, _ in claims):
        raise refused(claims)
    if len(claims) > 1:
        claimants = " and ".join(f"{c.label} (plugin {name})" for c, name in claims)
        names = list(dict.fromkeys(name for _, name in claims))
        raise FileProblem.of(
            "E-ROUTE-AMBIGUOUS", f"The file is claimed by {claimants}. The gateway does not "
            "guess between them; the program has been asked to fix its plugins (its operator "
            f"keeps one by disabling the others, e.g. {_setting(names[1:])}).")
    if not answer.claims:
        closest = answer.closest()
        if closest is None:
            raise FileProblem.of(
                "E-ROUTE-UNRECOGNISED", "The file matches no measure layout the gateway knows "
                "(no family recognised its columns or root element)."
                + _read_from(sample, where),
                hint="Put the measure's column names on row 1, with no title rows above them "
                     "and the records from row 2; the measure's template from the program "
                     "has every column." if where else
                     "Start from the measure's template from the program and keep its "
                     "structure.")
        year = closest.reporting_year if closest.reporting_year is not None else ""
        looks = f"{closest.measure} {closest.level}-level {year}".strip()
        raise FileProblem.of(
            "E-ROUTE-UNRECOGNISED", f"The file looks like {looks} but lacks "
            f"{lacking(closest.lacks)}.",
            hint="Add what is missing; the measure's template has every column.")
    candidate, _ = claims[0]
    measure = plugins.measure(candidate.family, candidate.measure)
    known = ", ".join(str(y) for y in (measure.reporting_years if measure else ()))
    if candidate.reporting_year is None:
        raise FileProblem.of(
            "E-ROUTE-YEAR", f"The file's reporting year is missing or is not a four-digit year. "
            f"{candidate.measure} is defined for reporting years: {known}.",
            column="reporting_year", hint="Enter the year the data are due, e.g. 2015.")
    route = Route(candidate.family, candidate.measure, candidate.level, candidate.reporting_year)
    schema_id = plugins.hook.gateway_schema_id(route=route)
    if not schema_id or measure is None or route.reporting_year not in measure.reporting_years:
        raise FileProblem.of(
            "E-ROUTE-YEAR", f"Reporting year {route.reporting_year} is not defined for "
            f"{route.measure} {route.level}-level files; the gateway knows reporting years: "
            f"{known}.", column="reporting_year",
            hint="Check the reporting year: it is the year the data are due, not the year of "
                 "the dates of service.")
    return Route(route.family, route.measure, route.level, route.reporting_year, schema_id)
