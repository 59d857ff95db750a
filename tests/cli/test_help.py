"""Every command's ``--help`` reads as plain text: no type labels on flags, no doubled brackets."""

from __future__ import annotations

import re

import typer
from typer.testing import CliRunner

from gateway.cli import app


def _paths(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of the CLI, groups included (``("submitter", "add")``)."""
    out = [prefix]
    for name, sub in getattr(command, "commands", {}).items():
        out += _paths(sub, (*prefix, name))
    return out


def test_every_command_help_reads_cleanly() -> None:
    paths = _paths(typer.main.get_command(app))
    assert ("validate",) in paths and len(paths) > 8
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], terminal_width=100)
        assert result.exit_code == 0, path
        text = result.output
        assert "Usage: " in text, path
        assert "<bool>" not in text, (path, text)
        assert re.search(r"\[\[|\]\]", text) is None, (path, text)
        assert "╭" not in text, path  # the plain layout, the same on every terminal
