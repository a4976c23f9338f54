"""`sparkswarm images ...`: build images locally, for machines without a registry
(grammar: :mod:`sparkswarm.requests.stacks`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from sparkswarm.cli.common import console, expose, print_json
from sparkswarm.requests import stacks as grammar

if TYPE_CHECKING:
    from sparkswarm.images import ImageBuildResult

app = typer.Typer(help=grammar.images.help, no_args_is_help=True)


def _built(result: ImageBuildResult, as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    verb = "built" if result.built else "up to date"
    out = console()
    out.print(f"{result.image} {verb} in {result.seconds} s (base {result.base})")
    for tag_name in result.tags:
        out.print(f"  tag {tag_name}", highlight=False)
    for note in result.notes:
        out.print(f"  note: {note}", highlight=False)


expose(app, "build", grammar.build, _built)
