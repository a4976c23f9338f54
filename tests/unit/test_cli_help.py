"""Every command's ``--help`` renders (help texts are rich markup: a stray
``[...]`` in a help string crashes the help screen)."""

from __future__ import annotations

import pytest
import typer

from sparkswarm.cli.main import app
from tests.support.cli import invoke


def _command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        paths.append(path)
        # typer vendors its own click: look for sub-commands by duck typing.
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "sparkswarm")
def test_help_renders(path: list[str]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
