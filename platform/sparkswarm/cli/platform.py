"""`sparkswarm platform ...`: sparkswarm itself as a stack on the swarm it manages.

Not queued operations: they deploy the queue itself and carry its secrets,
so every command acts from here with this process's gateway and settings
(see :mod:`sparkswarm.platform_stack`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from sparkswarm.cli.common import JSON_OPTION
from sparkswarm.cli.progress_display import live_progress

app = typer.Typer(
    help="Run sparkswarm itself (Redis, workers, beat, bot) as a stack on this swarm.",
    no_args_is_help=True,
)

NAME_OPTION = typer.Option("sparkswarm", "--name", "-n", help="The platform stack's name.")
IMAGE_OPTION = typer.Option(
    None, "--image", help="Platform image (default sparkswarm/platform:latest, built locally)."
)
REDIS_IMAGE_OPTION = typer.Option(
    None, "--redis-image", help="Redis image (default sparkswarm/redis:bookworm, built locally)."
)
SET_OPTION = typer.Option(
    None, "--set", help="Stack parameter key=value (repeatable; see stacks/platform/params.yml)."
)


MONITORING_OPTION = typer.Option(
    None,
    "--monitoring/--no-monitoring",
    help="Also run Prometheus, scraping the metrics exporter (default: as deployed; off at first).",
)


def _show_deploy(result: Any, as_json: bool) -> None:
    from sparkswarm.cli.common import console, print_json, print_table

    if as_json:
        print_json(result)
        return
    print_table(
        [{"service": s.service, "result": s.result} for s in result.services],
        ["service", "result"],
        title=f"platform {result.stack}",
    )
    if result.waited:
        console().print("every changed service is running and healthy", highlight=False)


def _deploy_command(*, upgrade: bool) -> Callable[..., None]:
    """The command behind `platform up` and `platform upgrade` (``upgrade``:
    roll the running services onto the current images)."""

    def deploy(
        name: str = NAME_OPTION,
        image: str | None = IMAGE_OPTION,
        redis_image: str | None = REDIS_IMAGE_OPTION,
        sets: list[str] = SET_OPTION,
        monitoring: bool | None = MONITORING_OPTION,
        as_json: bool = JSON_OPTION,
    ) -> None:
        from sparkswarm.cli.common import gateway
        from sparkswarm.config import get_settings
        from sparkswarm.platform_stack import platform_up

        verb = "upgrade" if upgrade else "up"
        with live_progress(f"platform {verb} {name}") as progress:
            result = platform_up(
                gateway(),
                settings=get_settings(),
                name=name,
                image=image,
                redis_image=redis_image,
                sets=list(sets or []),
                upgrade=upgrade,
                monitoring=monitoring,
                progress=progress,
            )
        _show_deploy(result, as_json)

    return deploy


app.command(
    "up",
    help="""Deploy the platform stack (or bring it up to date) and wait until it is healthy.

    The bot is deployed when SPARKSWARM_SLACK_BOT_TOKEN and
    SPARKSWARM_SLACK_APP_TOKEN (or their _FILE variants) are set here;
    Prometheus with --monitoring (`images build prometheus` first).
    """,
)(_deploy_command(upgrade=False))
app.command(
    "upgrade",
    help="""Roll the running platform onto the current images (after `images build platform`,
    which builds anew when the checkout changed), one task at a time, through our
    own rolling update.""",
)(_deploy_command(upgrade=True))


@app.command("status")
def status(name: str = NAME_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Every platform service: tasks wanted and running, and health. Exit 1 if not healthy."""
    from sparkswarm.cli.common import console, gateway, print_json, print_table
    from sparkswarm.platform_stack import platform_status

    found = platform_status(gateway(), name=name)
    if as_json:
        print_json(
            {
                "stack": found.stack,
                "healthy": found.healthy,
                "services": [{**vars(s), "ok": s.ok} for s in found.services],
            }
        )
    else:
        rows = [
            {
                **vars(s),
                "replicas": f"{s.running}/{s.desired}",
                "health": "healthy" if s.ok else "NOT HEALTHY",
            }
            for s in found.services
        ]
        print_table(rows, ["service", "role", "replicas", "health", "image"], title=found.stack)
        console().print(
            f"platform {found.stack}: {'healthy' if found.healthy else 'NOT healthy'}",
            highlight=False,
        )
    if not found.healthy:
        raise typer.Exit(1)


@app.command("down")
def down(
    name: str = NAME_OPTION,
    purge: bool = typer.Option(
        False, "--purge", help="Also remove Redis' data volume and the platform's secrets."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove the platform stack; its Redis data and secrets stay unless --purge."""
    from sparkswarm.cli.common import console, gateway, print_json
    from sparkswarm.platform_stack import platform_down

    with live_progress(f"platform down {name}") as progress:
        removed = platform_down(gateway(), name=name, purge=purge, progress=progress)
    if as_json:
        print_json(removed)
        return
    out = console()
    for key in ("services", "networks", "configs", "purged_secrets", "purged_volumes"):
        if removed.get(key):
            out.print(f"removed {key.replace('purged_', '')}: {', '.join(removed[key])}")
    if not purge:
        out.print("Redis data and secrets kept (`platform down --purge` removes them)")
