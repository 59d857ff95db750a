"""Recognising data that is not submitted to the gateway as a file, and saying where it goes.

How such files are recognised (documented in docs/hospital-decisions.md):

- mortality: any cell of a ``measure``, ``measure_id`` or ``indicator`` column reading
  MORT-30-AMI, MORT-30-HF or MORT-30-PN, or a column whose name starts ``mort_30``;
- HCAHPS / CG-CAHPS: a column whose name contains ``hcahps`` or ``cahps``, or a measure id
  starting ``H_`` or ``HCAHPS`` (CMS's HCAHPS measure ids, e.g. H_COMP_1_A_P), or ``CG-CAHPS``;
- HIT surveys: a column whose name starts ``hit_`` or a measure id starting ``HIT-``.

Each refusal is a plugin of its own (entry points ``refuse-mortality``, ``refuse-hcahps``,
``refuse-hit``), so an installation that does collect such files through another plugin (an
HCAHPS summary family, say) disables just that refusal in ``gateway.toml``
(``[plugins] disable = ["refuse-hcahps"]``) and keeps the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.contract import Candidate, FileSample, hookimpl

FAMILY = "not-submitted-here"
ID_COLUMNS = ("measure", "measure_id", "indicator")

WHERE = {
    "mortality": ("30-day mortality (MORT-30-AMI, MORT-30-HF, MORT-30-PN) is computed by CMS "
                  "from Medicare claims; hospitals do not submit it. The program takes the "
                  "results from CMS Hospital Compare, so nothing needs to be sent."),
    "hcahps": ("HCAHPS and CG-CAHPS patient-experience surveys are submitted through your "
               "certified survey vendor (HCAHPS to CMS, CG-CAHPS to MN Community Measurement), "
               "not uploaded here. Ask your vendor to include the program in its release."),
    "hit": ("The health information technology (HIT) surveys are answered on the web survey "
            "the Department of Health sends each year, not uploaded as a file. Contact the "
            "program for the survey link."),
}

LABELS = {"mortality": "30-day mortality", "hcahps": "HCAHPS and CG-CAHPS",
          "hit": "HIT survey"}


def _is(kind: str, columns: list[str], ids: list[str]) -> bool:
    """Whether a table with these (lower-case) column names and (upper-case) measure ids is
    of the refused ``kind``."""
    if kind == "mortality":
        return any(c.startswith("mort_30") for c in columns) or any(
            i.startswith("MORT-30-") for i in ids)
    if kind == "hcahps":
        return any("cahps" in c for c in columns) or any(
            i.startswith(("H_", "HCAHPS", "CG-CAHPS", "CAHPS")) for i in ids)
    return any(c.startswith("hit_") for c in columns) or any(i.startswith("HIT-") for i in ids)


# The last sample judged and its kind: the three refusals ask about the same sample in turn.
_last: tuple[FileSample | None, str | None] = (None, None)


def _kind(sample: FileSample) -> str | None:
    """The first kind of refused data the table is (mortality, HCAHPS, HIT), if any."""
    global _last
    last = _last  # read once: another thread may judge another sample meanwhile
    if last[0] is sample:
        return last[1]
    columns = [c.lower() for c in sample.columns]
    ids = [str(row.get(c) or "").strip().upper() for row in sample.rows for c in ID_COLUMNS]
    kind = next((kind for kind in WHERE if _is(kind, columns, ids)), None)
    _last = (sample, kind)
    return kind


@dataclass(frozen=True)
class Refusal:
    """One kind of data not submitted here, as a plugin: it claims such a table only to say
    where the data go. When several refusals match one table, the first kind in ``WHERE``
    answers, so a file gets one refusal whichever refusals are enabled."""

    kind: str

    @property
    def summary(self) -> str:
        """One line for ``gateway plugins``."""
        return f"refuses {LABELS[self.kind]} files (E-ROUTE-NOT-ACCEPTED-HERE, says where they go)"

    @hookimpl
    def gateway_recognise(self, sample: FileSample) -> list[Candidate]:
        if sample.format not in ("csv", "xlsx") or _kind(sample) != self.kind:
            return []
        return [Candidate(FAMILY, self.kind, "summary", None, refusal=WHERE[self.kind])]


MORTALITY, HCAHPS, HIT = (Refusal(kind) for kind in WHERE)
