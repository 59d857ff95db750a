"""The hook evolution policy, enforced: the reference table in docs/plugins.md is the specs'
own, hooks only gain arguments, and deprecations warn (from gateway.contract.deprecation)
before removal.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pluggy
import pytest

from gateway.authoring import hookdoc
from gateway.contract import deprecation
from gateway.contract.deprecation import (
    GatewayDeprecationWarning,
    deprecated_argument,
    deprecated_hook,
)
from gateway.contract.hooks import PROJECT, hookimpl, hookspec
from gateway.contract.records import FileRule, Route, RuleContext
from gateway.engine.plugins import load_plugins


def test_the_reference_table_is_generated_from_the_specs() -> None:
    text = hookdoc.DOC.read_text(encoding="utf-8")
    committed = text.split(hookdoc.BEGIN, 1)[1].split(hookdoc.END, 1)[0].lstrip("\n")
    assert committed == hookdoc.table(), (
        "docs/plugins.md's hook table differs from gateway/contract/hooks.py: run "
        "python -m gateway.authoring.hookdoc --write")


def test_every_hook_keeps_every_argument_the_table_recorded() -> None:
    text = hookdoc.DOC.read_text(encoding="utf-8")
    recorded = hookdoc.documented(text)
    assert set(recorded) == set(hookdoc.hook_signatures())
    assert hookdoc.contract_violations(recorded, hookdoc.hook_signatures()) == []


def test_a_lost_argument_or_hook_is_a_violation_unless_retired(
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = {"gateway_a": ("route", "context"), "gateway_b": ()}
    now = {"gateway_a": ("route",)}
    assert hookdoc.contract_violations(before, now) == [
        "gateway_a lost its argument context; hooks only gain arguments",
        "hook gateway_b was removed; hooks are deprecated first (gateway.contract.deprecation) and "
        "retired only after that"]
    notice = deprecation.Deprecation("x", "1.0", "2.0", "use y")
    monkeypatch.setitem(deprecation.RETIRED, "gateway_a(context)", notice)
    monkeypatch.setitem(deprecation.RETIRED, "gateway_b", notice)
    assert hookdoc.contract_violations(before, now) == []
    assert hookdoc.contract_violations(before, {**now, "gateway_a": ("route", "context",
                                                                     "registry")}) == []


def test_writing_the_table_refuses_a_shrinking_contract(tmp_path: Path) -> None:
    doc = tmp_path / "plugins.md"
    original = hookdoc.DOC.read_text(encoding="utf-8").replace(
        "`gateway_recognise(sample)`", "`gateway_recognise(sample, registry)`")
    doc.write_text(original, encoding="utf-8")
    assert hookdoc.write(doc) == [
        "gateway_recognise lost its argument registry; hooks only gain arguments"]
    assert doc.read_text(encoding="utf-8") == original
    doc.write_text(original.replace("(sample, registry)", "(sample)"), encoding="utf-8")
    assert hookdoc.write(doc) == []


def _manager() -> pluggy.PluginManager:
    """A contract with one deprecated hook and one deprecated argument."""

    class OldSpecs:
        @hookspec(warn_on_impl=deprecated_hook("gateway_old", since="0.2", removal="1.0",
                                               instead="implement gateway_new"))
        def gateway_old(self, route: Route) -> None:
            """A hook on its way out."""

        @hookspec(warn_on_impl_args={"hint": deprecated_argument(
            "gateway_check", "hint", since="0.2", removal="1.0",
            instead="read context.options")})
        def gateway_check(self, route: Route, hint: str, context: RuleContext) -> None:
            """A hook with an argument on its way out."""

    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(OldSpecs)
    return pm


def test_implementing_a_deprecated_hook_or_asking_for_an_argument_warns(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deprecation, "ANNOUNCED", {})
    class UsesOld:
        @hookimpl
        def gateway_old(self, route: Route) -> None: ...

    class AsksForHint:
        @hookimpl
        def gateway_check(self, route: Route, hint: str) -> None: ...

    class Current:
        @hookimpl
        def gateway_check(self, route: Route, context: RuleContext) -> None: ...

    with pytest.warns(GatewayDeprecationWarning, match=(
            r"the hook gateway_old is deprecated since gateway 0\.2 and will be removed in "
            r"1\.0; implement gateway_new")):
        _manager().register(UsesOld())
    with pytest.warns(GatewayDeprecationWarning, match="argument hint of gateway_check"):
        _manager().register(AsksForHint())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _manager().register(Current())
    assert set(deprecation.ANNOUNCED) == {"gateway_old", "gateway_check(hint)"}
    monkeypatch.setitem(deprecation.ANNOUNCED, "gateway_recognise(sample)",
                        deprecation.Deprecation("the argument sample", "0.2", "1.0", "use x"))
    assert "**Deprecated:** the argument sample is deprecated" in hookdoc.table()


def test_an_implementation_may_take_fewer_arguments_than_the_spec() -> None:
    class Older:
        def __init__(self) -> None:
            self.seen: list[Route] = []

        @hookimpl
        def gateway_file_rules(self, route: Route) -> list[FileRule]:
            self.seen.append(route)
            return []

    plugin = Older()
    plugins = load_plugins([plugin], entry_points=False)
    route = Route("demo", "VAX", "patient", 2016)
    plugins.hook.gateway_file_rules(route=route, context=RuleContext(route=route))
    assert plugin.seen == [route]
