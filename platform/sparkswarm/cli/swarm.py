"""`sparkswarm swarm ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="swarm commands.", no_args_is_help=True)
