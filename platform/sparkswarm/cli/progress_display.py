"""Runs an operation while showing its progress with rich."""

from __future__ import annotations

from typing import Any


def run_with_progress(name: str, params: dict[str, Any], *, detach: bool) -> dict[str, Any]:
    """Run operation ``name`` in-process, rendering progress messages live."""
    from rich.console import Console

    from sparkswarm.cli.common import gateway
    from sparkswarm.operations import run_operation

    console = Console(stderr=True)
    with console.status(f"{name} ...") as status:

        def progress(message: str, /, **details: Any) -> None:
            status.update(f"{name}: {message}")
            if details.get("log"):
                console.log(message, highlight=False)

        params = {**params}
        if detach:
            params.setdefault("detach", True)
        return run_operation(gateway(), name, params, progress)
