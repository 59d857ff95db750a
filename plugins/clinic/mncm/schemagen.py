"""Generate the clinic layouts' JSON Schemas from the manifest and ``patient_columns.json``.

The summary layouts are regular (strata, counts, totals), and every patient layout shares its
first dozen columns, so writing twenty-four schema files by hand would repeat the same
definitions two dozen times. This script writes them; the files are committed (they are the
published contract) and ``tests/clinic`` fails when they differ from what it would write.

    python -m gateway_plugins.clinic.mncm.schemagen          # rewrite schemas/mncm/<year>/
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from gateway_plugins.clinic.mncm.layouts import schema_id
from gateway_plugins.clinic.mncm.manifest import MeasureSpec, measures, parse_measures

from gateway.contract import MANIFEST

DRAFT = "https://json-schema.org/draft/2020-12/schema"
PREFIXES = {"common:": "urn:mn-sqrms:schema:common:defs#/$defs/",
            "mncm:": "urn:mn-sqrms:schema:mncm:defs#/$defs/",
            "rules:": "urn:mn-sqrms:schema:mncm:patient-rules#/$defs/"}
Schema = dict[str, Any]


def _ref(short: str) -> str:
    for prefix, long in PREFIXES.items():
        if short.startswith(prefix):
            return long + short[len(prefix):]
    return short


def _expand(node: Any) -> Any:
    """Short ``$ref``s of the source (``common:date``) to full schema URNs."""
    if isinstance(node, list):
        return [_expand(n) for n in node]
    if isinstance(node, dict):
        return {k: _ref(v) if k == "$ref" else _expand(v) for k, v in node.items()}
    return node


def _header(spec: MeasureSpec, level: str, year: int) -> Schema:
    first, last = spec.years[year].dates_of_service
    what = ("One row per component and stratum; each component's total row has every stratum "
            "set to ALL." if level == "summary" else
            "One row per patient in the denominator (excluded patients included, flagged).")
    return {
        "$schema": DRAFT, "$id": schema_id(spec.measure, level, year),
        "title": f"{spec.name}, {level} level, reporting year {year}",
        "description": f"{what} Dates of service {first} to {last}.",
        "type": "object", "additionalProperties": False, **_targets(spec, year),
    }


def _targets(spec: MeasureSpec, year: int) -> Schema:
    """The year's numerator targets as data (``x-targets``: part -> column -> exclusive
    maximum), so release notes and the published specification state them."""
    targets = spec.years[year].targets
    return {"x-targets": {part: {column: {"exclusiveMaximum": limit}
                                 for column, limit in limits.items()}
                          for part, limits in targets.items()}} if targets else {}


def _identity(spec: MeasureSpec, year: int) -> Schema:
    m = spec.measure
    return {
        "clinic_npi": {"$ref": _ref("common:clinic_npi")},
        "measure_id": {"type": "string", "const": m, "description": f"{m} on every row.",
                       "x-message": f"{{column}} is {{value}} but this file is an {m} file; "
                                    "send one measure per file."},
        "reporting_year": {"type": "integer", "const": year,
                           "description": f"{year} on every row: the year the data are due.",
                           "x-message": f"{{column}} is {{value}} but the file's reporting "
                                        f"year is {year}; send one reporting year per file."},
    }


def _all_strata(spec: MeasureSpec) -> Schema:
    strata = list(spec.strata)
    return {"properties": {s: {"const": "ALL"} for s in strata}, "required": strata}


def _merge(*conditions: Schema) -> Schema:
    """One ``if`` condition out of several (properties and required lists joined)."""
    return {"properties": {k: v for c in conditions for k, v in c["properties"].items()},
            "required": [r for c in conditions for r in c["required"]]}


def _component_note(spec: MeasureSpec) -> str:
    if spec.averages:
        return f"The scored domain: {', '.join(spec.components)}."
    if spec.components:
        return (f"ALL for the composite (every part met), or one part: "
                f"{', '.join(spec.components)}.")
    return "ALL (the measure has no parts)."


def summary_schema(spec: MeasureSpec, year: int) -> Schema:
    """The summary layout of a measure: identity, strata, counts and the total-row rules."""
    c = _ref("common:count")
    props: Schema = _identity(spec, year)
    props["component"] = {"type": "string", "enum": list(spec.all_components),
                          "description": _component_note(spec)}
    props["identification_method"] = {"$ref": _ref("common:identification_method")}
    props["population_basis"] = {"$ref": _ref("common:population_basis")}
    for stratum in spec.strata:
        if stratum == "age_band":
            props[stratum] = {"type": "string", "enum": [*spec.age_bands, "ALL"],
                              "description": "Stratum: age band of the measure "
                                             f"({', '.join(spec.age_bands)}), or ALL."}
        else:
            codes = spec.stratum_codes.get(stratum, stratum)
            props[stratum] = {"$ref": _ref(f"mncm:{codes}_stratum")}
    props["denominator"] = {"$ref": c, "description": "Patients in the denominator of this "
                            "stratum and component (after exclusions)."}
    if spec.averages:
        props["average_change"] = {"$ref": _ref("mncm:average_change"), "description": (
            "Average of post-operative minus pre-operative score over this stratum's "
            "denominator, two decimals; on the total row, the measure's result.")}
    else:
        props["numerator"] = {"$ref": c, "description": "Patients of the denominator who "
                              "meet the component's target."}
    for count in spec.extra_counts:
        props[count] = {"$ref": c, "description": f"{count.replace('_', ' ').capitalize()}: "
                        "patients of the denominator with no follow-up score at six months."}
    props["exclusions"] = {"$ref": c, "description": "Total rows only: patients excluded from "
                           "the denominator."}
    props["eligible_population"] = {"$ref": c, "description": (
        "Total rows only: every eligible patient before exclusions (and before sampling)"
        + ("; in a SAMPLE file also on each age band's row (other strata ALL)."
           if spec.sample_per_band else "."))}
    if not spec.averages:
        props["reported_rate"] = {"$ref": _ref("common:rate_percent"), "description":
                                  "Total rows only: 100 * numerator / denominator, one decimal."}
    total_needs = ["exclusions", "eligible_population", *spec.extra_counts]
    if not spec.averages:
        total_needs.append("reported_rate")
    rules: list[Schema] = [{"if": _all_strata(spec), "then": {
        "required": total_needs, "x-message": "{column} is empty on a total row (every "
        f"stratum ALL); total rows carry {', '.join(total_needs)}."}}]
    if spec.sample_allowed:
        props["sample_size"] = {"$ref": c, "x-optional-column": True, "description":
                                "SAMPLE total rows only: patients in the sample (at least 60)."}
        props["oversample"] = {"$ref": c, "x-optional-column": True, "description": (
            "SAMPLE total rows only: extra patients drawn to replace exclusions (at least 20).")}
        sample = {"properties": {"population_basis": {"const": "SAMPLE"}},
                  "required": ["population_basis"]}
        rules.append({"if": _merge(_all_strata(spec), sample), "then": {
            "required": ["sample_size", "oversample"], "x-message": "{column} is empty on the "
            "total row of a SAMPLE file; enter the sample size and the oversample."}})
        if spec.sample_per_band:
            others = [s for s in spec.strata if s != "age_band"]
            band_row = {"properties": {**{s: {"const": "ALL"} for s in others},
                                       "age_band": {"not": {"const": "ALL"}}},
                        "required": [*others, "age_band"]}
            rules.append({"if": _merge(band_row, sample), "then": {
                "required": ["sample_size", "oversample", "eligible_population"],
                "x-message": "{column} is empty on an age band's row of a SAMPLE file; each "
                "age band is sampled on its own: enter its sample size, oversample and "
                "eligible population."}})
    required = ["clinic_npi", "measure_id", "reporting_year", "component",
                "identification_method", "population_basis", *spec.strata, "denominator",
                "average_change" if spec.averages else "numerator"]
    return {**_header(spec, "summary", year), "properties": props, "required": required,
            "x-strata": list(spec.strata), "allOf": rules}


def _patient_common(spec: MeasureSpec, year: int) -> Schema:
    last = spec.years[year].dates_of_service[1]
    low, high = spec.age_range
    props: Schema = {"patient_id": {"$ref": _ref("common:patient_id")}}
    if spec.age_from == "birth_date":
        props["birth_date"] = {"$ref": _ref("common:date"), "description": (
            f"The patient's date of birth; the age at {spec.age_at} gives the age band "
            f"(ages {low} to {high}).")}
    else:
        props["age"] = {"$ref": _ref("common:age"), "description": (
            f"Age in whole years on {last}; the measure covers ages {low} to {high}.")}
    for name in ("gender", "zip_code", "payer_type", "identification_method",
                 "population_basis"):
        props[name] = {"$ref": _ref(f"common:{name}")}
    props["excluded"] = {"$ref": _ref("common:yes_no"),
                         "description": "Y when the patient meets an exclusion, N otherwise."}
    props["exclusion_reason"] = {"$ref": _ref("common:exclusion_reason")}
    if spec.sample_allowed:
        props["eligible_population"] = {"$ref": _ref("common:count"),
                                        "x-optional-column": True, "description": (
            "SAMPLE files only: the number of eligible patients the sample was drawn from"
            + (", for the patient's age band" if spec.sample_per_band else "")
            + ", the same on every row" + (" of that band." if spec.sample_per_band else "."))}
    return props


def patient_schema(spec: MeasureSpec, year: int, source: Schema) -> Schema:
    """The patient layout: shared columns, the measure's own, and its record rules."""
    props: Schema = _identity(spec, year)
    props.update(_patient_common(spec, year))
    props.update(_expand(source.get("override", {})))
    props.update(_expand(source["columns"]))
    rules: list[Schema] = [{"$ref": _ref("rules:exclusion")}]
    if spec.sample_allowed:
        rules.append({"$ref": _ref("rules:sample_eligible_population")})
    rules.extend(_expand(source.get("rules", [])))
    scored: list[str] = []
    for component, definition in spec.scores.items():
        pre, post = spec.score_columns(component)
        words = component.replace("_", " ").lower()
        props[pre] = {"$ref": _ref(f"mncm:{definition}"),
                      "description": f"Pre-operative {words} score; required unless excluded."}
        props[post] = {"$ref": _ref(f"mncm:{definition}"),
                       "description": f"Post-operative {words} score at follow-up; required "
                                      "unless excluded."}
        scored += [pre, post]
    if scored:
        rules.append({"if": {"properties": {"excluded": {"const": "N"}}, "required": ["excluded"]},
                      "then": {"required": scored, "x-message": "{column} is empty; every "
                               "patient who is not excluded has pre- and post-operative "
                               "scores."}})
    required = ["clinic_npi", "measure_id", "reporting_year", "patient_id",
                "birth_date" if spec.age_from == "birth_date" else "age", "gender",
                "zip_code", "payer_type", "identification_method", "population_basis",
                "excluded", *source["required"]]
    return {**_header(spec, "patient", year), "properties": props, "required": required,
            "allOf": rules}


def generated(source: Path | None = None) -> dict[str, str]:
    """Every generated schema file's text, by path relative to ``schemas/mncm``, from the
    installed package's ``manifest.toml`` and ``patient_columns.json`` or those in ``source``."""
    folder = source or files(__package__)
    sources = json.loads((folder / "patient_columns.json").read_text("utf-8"))
    specs = parse_measures((folder / MANIFEST).read_text("utf-8")) if source else measures()
    out = {}
    for measure, spec in specs.items():
        for year in spec.years:
            base = f"{year}/{measure.lower()}"
            out[f"{base}.summary.schema.json"] = _dump(summary_schema(spec, year))
            out[f"{base}.patient.schema.json"] = _dump(
                patient_schema(spec, year, patient_source(sources, measure, year)))
    return out


def patient_source(sources: dict[str, Any], measure: str, year: int) -> Schema:
    """A measure's patient columns for ``year``: those of the latest year up to it that lists
    the measure, so a new reporting year carries its columns forward until one changes."""
    listed = [int(y) for y, by_measure in sources.items() if measure in by_measure
              and int(y) <= year]
    return sources[str(max(listed))][measure]


def _dump(schema: Schema) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write(root: Path, source: Path | None = None) -> list[Path]:
    """Write every generated schema under ``root`` (a source tree's ``schemas/mncm``)."""
    paths = []
    for relative, text in generated(source).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    """Rewrite the generated schemas in the source tree's ``schemas/mncm``."""
    write(Path(__file__).resolve().parents[3] / "schemas" / "mncm")


if __name__ == "__main__":
    main()
