"""The family passes the gateway's conformance kit as any outside plugin must: schemas,
calendar, and every shipped example (the feed first, then the forms that rest on it) judged as
its file name says."""

from __future__ import annotations

from gateway.testing import check_plugin


def test_plugin_conforms() -> None:
    cases = check_plugin("opip")
    kinds = {case.path.parts[-4] for case in cases}
    assert kinds == {"opip-prescribing", "opip-self-assessment", "opip-qi-plan",
                     "opip-qi-evaluation", "opip-exemption", "opip-subscribers"}
    assert sum(not case.valid for case in cases) >= 10
