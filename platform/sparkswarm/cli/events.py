"""`sparkswarm events`: the operation event stream."""

from __future__ import annotations

import typer

from sparkswarm.cli.common import JSON_OPTION


def events(
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new events."),
    op: str = typer.Option(None, "--op", help="Only the events of this run id."),
    limit: int = typer.Option(50, "--limit", help="How many past events to print first."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print recent operation events; with --follow, keep printing as they arrive."""
    from sparkswarm.errors import InvalidRequest
    from sparkswarm.workers.client import broker_errors, queue_client

    if limit < 0:
        raise InvalidRequest("--limit must be 0 or more")
    stream = queue_client().events
    cursor = "0-0"
    with broker_errors("events"):
        past = stream.last(limit * 20 if op else limit) if limit else []
        if past:
            cursor = past[-1][0]
        elif follow:
            cursor = "$"
        shown = (
            [(sid, e) for sid, e in past if op is None or e.run_id == op][-limit:] if limit else []
        )
        for _sid, event in shown:
            _print(event, as_json)
        if not follow:
            return
        try:
            for item in stream.follow(cursor, run_id=op):
                if item is not None:
                    _print(item[1], as_json)
        except KeyboardInterrupt:
            return


def _print(event: object, as_json: bool) -> None:
    import sys
    from datetime import UTC, datetime

    if as_json:
        sys.stdout.write(event.model_dump_json() + "\n")  # type: ignore[attr-defined]
        sys.stdout.flush()
        return
    data = event.model_dump()  # type: ignore[attr-defined]
    when = datetime.fromtimestamp(data["at"], UTC).strftime("%H:%M:%S")
    text = data.get("message") or ""
    sys.stdout.write(
        f"{when} {data['run_id'][:12]:12} {data['type']:20} {data['op']:18} "
        f"{data['target']:20} {text}\n"
    )
    sys.stdout.flush()
