"""The plugin contract: everything a measure-family plugin may use of the gateway, in one place.

A plugin imports from here and nowhere else in ``gateway`` (as a pytest plugin uses ``pytest``
and not ``_pytest``); ``__all__`` is the list of what is public, and ``docs/plugins.md`` carries
its reference, generated from it. What is not listed may change in any release. What is listed
changes only as ``gateway.contract.deprecation`` describes: names and arguments are added;
anything that goes away is deprecated for a release first.

The types every layer of the core exchanges (records, findings, the catalog, the hooks, the
registry and reference views, formats) live in this package's modules, which import nothing
else of the gateway. The rest of the face (limits and safe XML from the readers, the plugin
author's kit, the view of an installation that plugin commands get) lives where it works and is
reached through here. Every name is loaded on first use, so importing the contract costs
nothing a command does not need.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the module that defines it
_HOME: dict[str, str] = {
    **dict.fromkeys((
        "LEVELS", "Artifact", "Candidate", "Document", "FamilyInfo", "FileRule", "FileSample",
        "MeasureInfo", "RecordBatch", "ReportingPeriod", "ResultCalculator", "Route",
        "RuleContext"), "gateway.contract.records"),
    **dict.fromkeys((
        "HEALTH_SYSTEM_KINDS", "KINDS", "WAIVER_GRANTED", "WAIVER_REQUESTED", "Obligation",
        "ObligationReader", "Registry", "Submitter"), "gateway.contract.registry"),
    **dict.fromkeys(("Finding", "column_letter"), "gateway.contract.findings"),
    **dict.fromkeys(("ErrorCode", "Layer", "Severity"), "gateway.contract.catalog"),
    **dict.fromkeys(("hookimpl",), "gateway.contract.hooks"),
    **dict.fromkeys(("lazy_module",), "gateway.contract.lazy"),
    **dict.fromkeys(("Deprecation", "GatewayDeprecationWarning"),
                    "gateway.contract.deprecation"),
    **dict.fromkeys(("DatasetInfo", "ReferenceCollector", "ReferenceEntry", "ReferenceView",
                     "ReferenceWrite"), "gateway.contract.reference"),
    **dict.fromkeys(("npi_is_valid", "parse_date", "parse_datetime", "quarter_bounds"),
                    "gateway.contract.formats"),
    **dict.fromkeys(("decimal_text", "exact", "ratio", "within"), "gateway.contract.arithmetic"),
    **dict.fromkeys(("MIB", "Limits"), "gateway.readers.limits"),
    **dict.fromkeys(("FileProblem",), "gateway.readers.problems"),
    **dict.fromkeys(("safe_iterparse",), "gateway.readers.xml_safe"),
    **dict.fromkeys(("LINE", "ROW", "XPATH", "CollectedRule", "plain", "show"),
                    "gateway.kit.collected_rules"),
    **dict.fromkeys(("Family",), "gateway.kit.family"),
    **dict.fromkeys(("MANIFEST", "Manifest", "ManifestError", "MeasureSpec", "load_manifest",
                     "parse_manifest"), "gateway.kit.manifest"),
    **dict.fromkeys(("DataObligations", "PeriodObligations", "owed_periods"),
                    "gateway.kit.obligations"),
    **dict.fromkeys(("calendar", "windows"), "gateway.kit.calendar"),
    **dict.fromkeys(("check_records",), "gateway.kit.records"),
    **dict.fromkeys(("TODO_MARKER",), "gateway.kit.conformance"),
    **dict.fromkeys(("ScaffoldError", "copy_examples", "copy_toml_year", "refuse_installed",
                     "shift_date", "shift_dates_in", "undecided"), "gateway.authoring.scaffold"),
    **dict.fromkeys(("REPORTS", "Site", "SiteError", "open_site"), "gateway.site.access"),
    **dict.fromkeys(("OutgoingEmail", "queue_emails"), "gateway.notify"),
    **dict.fromkeys(("Attachment",), "gateway.notify.outbox"),
}

# names replaced in release 0.2 that still resolve, with a warning, for one release
# (``gateway.contract.deprecation.renamed``); not part of ``__all__``
_RENAMED: dict[str, str] = {
    **dict.fromkeys(("DataFamily", "TableFamily"), "gateway.kit.family"),
    **dict.fromkeys(("DataManifest", "TableManifest"), "gateway.kit.manifest"),
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    home = _HOME.get(name) or _RENAMED.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next look-up does not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
