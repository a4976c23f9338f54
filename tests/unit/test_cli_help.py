"""Every command's ``--help`` renders (help texts are rich markup: a stray
``[...]`` in a help string crashes the help screen)."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from sparkswarm.cli.main import app
from tests.support.cli import invoke


def _command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        paths.append(path)
        # typer vendors its own click: look for sub-commands by duck typing. The
        # top-level group loads its commands when asked (list_commands/get_command).
        if not hasattr(command, "list_commands"):
            return
        for name in command.list_commands(None):
            walk(command.get_command(None, name), [*path, name])

    walk(root, [])
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "sparkswarm")
def test_help_renders(path: list[str]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_each_command_module_is_loaded_only_when_used() -> None:
    """`sparkswarm stack ls` imports the stack commands and none of the others."""
    import subprocess
    import sys

    from sparkswarm.cli.main import COMMANDS

    code = (
        "import sys\n"
        "from sparkswarm.cli.main import app\n"
        "try:\n"
        "    app(['stack', 'ls', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('sparkswarm.cli.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.strip().splitlines()[-1].split())
    command_modules = {target.partition(":")[0] for target in COMMANDS.values()}
    assert loaded & command_modules == {"sparkswarm.cli.stack"}


def test_a_group_with_one_command_stays_a_group() -> None:
    from sparkswarm.cli.main import load_command

    images = load_command("images")
    assert images.list_commands(None) == ["build"]
    assert images.name == "images"


def test_a_command_line_builds_only_the_command_it_runs() -> None:
    # typer turns every command's signature into click options as it builds a group.
    from sparkswarm.cli.main import load_command

    everything = load_command("service").list_commands(None)
    assert {"create", "update", "ls", "ps", "inspect", "logs"} <= set(everything)
    assert load_command("service", only="ls").list_commands(None) == ["ls"]
    # Not a command of the group: the whole group, to list or to suggest from.
    assert load_command("service", only="lss").list_commands(None) == everything
    assert load_command("service", only="--help").list_commands(None) == everything


def test_the_group_help_and_a_misspelt_command_still_see_every_command() -> None:
    listing = invoke("service", "--help")
    assert listing.exit_code == 0, listing.output
    assert all(name in listing.output for name in ("create", "scale", "rollback", "logs"))
    misspelt = invoke("service", "scal", "web=1")
    assert misspelt.exit_code == 2
    assert "Did you mean 'scale'" in misspelt.output


def _top_help_in_a_fresh_process(load_every_group_first: bool) -> tuple[str, set[str]]:
    """`sparkswarm --help` output, and which command modules it loaded."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sparkswarm.cli import main\n"
        "from typer.testing import CliRunner\n"
        f"if {load_every_group_first}:  # no stand-ins: every group is built to be listed\n"
        "    main._listing_entry = lambda name, loaded: None\n"
        "out = CliRunner().invoke(main.app, ['--help'], terminal_width=100).output\n"
        "loaded = [m for m in sys.modules if m.startswith('sparkswarm.cli.')]\n"
        "print(out + '\\x00' + ' '.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out, _, loaded = done.stdout.rpartition("\x00")
    return out, set(loaded.split())


def test_the_top_level_help_lists_groups_without_building_them() -> None:
    """`sparkswarm --help` lists each request group from the grammar's one
    line (as the group itself says it) and loads none of their commands."""
    from sparkswarm.cli.main import COMMANDS
    from sparkswarm.requests.builders import GROUPS
    from sparkswarm.requests.grammar import load_groups

    load_groups()
    quick, loaded = _top_help_in_a_fresh_process(load_every_group_first=False)
    built, _ = _top_help_in_a_fresh_process(load_every_group_first=True)
    assert quick == built
    group_modules = {COMMANDS[name].partition(":")[0] for name in GROUPS if name in COMMANDS}
    assert len(group_modules) >= 8
    assert not loaded & group_modules
