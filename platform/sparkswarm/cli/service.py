"""`sparkswarm service ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="service commands.", no_args_is_help=True)
