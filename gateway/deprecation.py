"""How the plugin contract evolves: hooks only gain arguments, and anything that goes away is
deprecated first, with a warning raised from this one module.

A plugin written today must keep working when the core grows. So:

- a hook may gain an argument (pluggy lets an implementation accept fewer than the spec) but
  never loses or renames one while it is supported;
- a hook or argument to be retired is first marked here (``deprecated_hook`` /
  ``deprecated_argument`` give the warning pluggy raises when a plugin implements the hook or
  asks for the argument: ``@hookspec(warn_on_impl=...)`` / ``warn_on_impl_args={...}``), for at
  least one minor release, naming what to use instead;
- only then may it be removed, and the removal is recorded in ``RETIRED`` so the hook reference
  check (``gateway.hookdoc``) accepts the shorter signature.

Public helpers that are not hooks (``DataFamily`` keyword arguments, kit functions) warn with
``warnings.warn(Deprecation(...).warning())``.
"""

from __future__ import annotations

from dataclasses import dataclass


class GatewayDeprecationWarning(DeprecationWarning):
    """A plugin uses a part of the contract that will be removed; the text says the
    replacement and the release that removes it."""


@dataclass(frozen=True)
class Deprecation:
    """What is deprecated, since which release, when it goes and what replaces it."""

    what: str
    since: str
    removal: str
    instead: str

    def warning(self) -> GatewayDeprecationWarning:
        return GatewayDeprecationWarning(
            f"{self.what} is deprecated since gateway {self.since} and will be removed in "
            f"{self.removal}; {self.instead}")


# hook or "hook(argument)" -> the deprecation that announced its removal; a removal appears
# here only after its deprecation shipped
RETIRED: dict[str, Deprecation] = {}

# every deprecation currently announced, by hook or "hook(argument)" (for the reference table)
ANNOUNCED: dict[str, Deprecation] = {}


def deprecated_hook(hook: str, *, since: str, removal: str,
                    instead: str) -> GatewayDeprecationWarning:
    """The warning for ``@hookspec(warn_on_impl=...)``: raised when a plugin implements the
    hook."""
    deprecation = Deprecation(f"the hook {hook}", since, removal, instead)
    ANNOUNCED[hook] = deprecation
    return deprecation.warning()


def deprecated_argument(hook: str, argument: str, *, since: str, removal: str,
                        instead: str) -> GatewayDeprecationWarning:
    """The warning for ``@hookspec(warn_on_impl_args={argument: ...})``: raised when an
    implementation asks for the argument."""
    deprecation = Deprecation(f"the argument {argument} of {hook}", since, removal, instead)
    ANNOUNCED[f"{hook}({argument})"] = deprecation
    return deprecation.warning()

