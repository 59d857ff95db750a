"""The hook reference table of ``docs/plugins.md``, generated from
``gateway/contract/hooks.py``, and the check that the contract only grew since the table was
last written.

    python -m gateway.authoring.hookdoc            # print the table
    python -m gateway.authoring.hookdoc --write    # update docs/plugins.md (refuses a
                                                   # shrinking contract)

The table sits between ``<!-- hooks:begin -->`` and ``<!-- hooks:end -->``. Each row is a hook's
signature, the first paragraph of its docstring and how results combine; the committed table is
therefore also the record of every argument a hook has had, which ``contract_violations`` holds
the current specs to (see ``gateway.contract.deprecation`` for how something may still go away).
"""

from __future__ import annotations

import enum
import inspect
import re
import sys
from pathlib import Path

import gateway.contract.deprecation as deprecation
import gateway.contract.hooks as hookspecs

BEGIN, END = "<!-- hooks:begin -->", "<!-- hooks:end -->"
API_BEGIN, API_END = "<!-- api:begin -->", "<!-- api:end -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")  # a default's repr names its address
_ROW = re.compile(r"^\| `(?P<name>gateway_\w+)\((?P<args>[^)]*)\)`")


def hook_signatures() -> dict[str, tuple[str, ...]]:
    """Every hook of the contract and its arguments, in declaration order."""
    return {name: tuple(inspect.signature(function).parameters)
            for name, function in vars(hookspecs).items()
            if name.startswith("gateway_") and callable(function)}


def _summary(function: object) -> str:
    paragraph = inspect.getdoc(function).split("\n\n", 1)[0]
    return " ".join(paragraph.split()).replace("|", "\\|")


def _combined(name: str) -> str:
    marker = getattr(getattr(hookspecs, name), f"{hookspecs.PROJECT}_spec", {})
    return "first non-None" if marker.get("firstresult") else "all collected"


def table() -> str:
    """The Markdown table, one row per hook, deprecations noted."""
    rows = ["| hook | what it answers | results |", "|---|---|---|"]
    for name, args in hook_signatures().items():
        notes = [f" **Deprecated:** {d.warning()}" for key, d in deprecation.ANNOUNCED.items()
                 if key == name or key.startswith(f"{name}(")]
        rows.append(f"| `{name}({', '.join(args)})` | "
                    f"{_summary(getattr(hookspecs, name))}{''.join(notes)} | {_combined(name)} |")
    return "\n".join(rows) + "\n"


def _api_signature(name: str, value: object) -> str:
    if inspect.isclass(value) and issubclass(value, enum.Enum):
        return f"enum `{name}`: {', '.join(member.name for member in value)}"
    if inspect.isclass(value):
        if issubclass(value, BaseException):
            return f"exception `{name}`"
        signature = str(inspect.signature(value))
        if signature in ("(*args, **kwargs)", "()"):
            signature = ""  # an abstract base: subclassed, not constructed with arguments
        return f"class `{name}{signature}`"
    if inspect.isfunction(value):
        return f"function `{name}{inspect.signature(value)}`"
    if callable(value):
        return f"`{name}` (a {type(value).__name__})"
    return f"`{name} = {value!r}`"


def _first_sentence(value: object) -> str:
    """The first sentence of an object's own docstring ('' for a dataclass's generated one)."""
    if not (inspect.isclass(value) or inspect.isroutine(value)) or not value.__doc__:
        return ""
    doc = " ".join((inspect.getdoc(value) or "").split("\n\n", 1)[0].split())
    if inspect.isclass(value) and doc.startswith(f"{value.__name__}("):
        return ""
    sentence, stop, _ = doc.partition(". ")
    return sentence + ("." if stop else "")


def _cell(text: str) -> str:
    return _ADDRESS.sub("", text).replace("|", "\\|")


def api_table() -> str:
    """The Markdown table of ``gateway.contract.__all__``: each name, its signature (or value)
    and the first paragraph of its docstring."""
    import gateway.contract as contract

    rows = ["| name | signature | what it is |", "|---|---|---|"]
    for name in contract.__all__:
        value = getattr(contract, name)
        where = contract._HOME[name]
        rows.append(f"| `{name}` | {_cell(_api_signature(name, value))} | "
                    f"{_cell(_first_sentence(value)) or f'(from `{where}`)'} |")
    return "\n".join(rows) + "\n"


def api_block(text: str) -> str:
    """The API table a document carries now ('' when it has none)."""
    if API_BEGIN not in text or API_END not in text:
        return ""
    return text.split(API_BEGIN, 1)[1].split(API_END, 1)[0].strip("\n") + "\n"


def documented(text: str) -> dict[str, tuple[str, ...]]:
    """The hooks and arguments a committed table lists."""
    out = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if match:
            out[match["name"]] = tuple(a.strip() for a in match["args"].split(",") if a.strip())
    return out


def contract_violations(before: dict[str, tuple[str, ...]],
                        now: dict[str, tuple[str, ...]]) -> list[str]:
    """Hooks or arguments that were in the contract and are gone without a retirement."""
    problems = []
    for name, args in before.items():
        if name not in now:
            if name not in deprecation.RETIRED:
                problems.append(f"hook {name} was removed; hooks are deprecated first "
                                "(gateway.contract.deprecation) and retired only after that")
            continue
        for arg in args:
            if arg not in now[name] and f"{name}({arg})" not in deprecation.RETIRED:
                problems.append(f"{name} lost its argument {arg}; hooks only gain arguments")
    return problems


def _current_block(text: str) -> str:
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC.name} has no {BEGIN} ... {END} block")
    return text.split(BEGIN, 1)[1].split(END, 1)[0]


def write(doc: Path = DOC) -> list[str]:
    """Update the table in ``doc``; return the contract violations instead when there are."""
    text = doc.read_text(encoding="utf-8")
    problems = contract_violations(documented(_current_block(text)), hook_signatures())
    if problems:
        return problems
    head, rest = text.split(BEGIN, 1)
    text = f"{head}{BEGIN}\n{table()}{END}{rest.split(END, 1)[1]}"
    head, rest = text.split(API_BEGIN, 1)
    text = f"{head}{API_BEGIN}\n{api_table()}{API_END}{rest.split(API_END, 1)[1]}"
    doc.write_text(text, encoding="utf-8")
    return []


def main(argv: list[str]) -> int:
    if "--write" not in argv:
        sys.stdout.write(table())
        return 0
    problems = write()
    for problem in problems:
        sys.stderr.write(f"hookdoc: {problem}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
