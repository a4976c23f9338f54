"""The ``/swarm scale`` modal: what it shows, and the words it stands for. Pure.

``/swarm scale`` (or ``/swarm service scale``) with no arguments opens
:func:`loading_view` at once (``views.open`` must use the command's
``trigger_id`` within 3 s, and the services come from a worker's
``service ls``), then replaces it (``views.update``) by :func:`scale_view`:
the services in a select (at most 100, by name; the view says when there
are more) and a replicas number. Its submission becomes the words
``service scale NAME=N`` (:func:`words_of`), which go through the same
grammar, role check and confirmation as typed words. Every view is within
Slack's limits (checked by slack_sdk's models in the tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sparkswarm.bots import blockkit
from sparkswarm.bots.modal import (
    OPTION_TEXT,
    OPTION_VALUE,
    OPTIONS,
    field_value,
    form_input,
    form_view,
    input_error,
)

CALLBACK_ID = "sparkswarm_scale"
TITLE = "Scale a service"


def loading_view(channel: str, response_url: str = "") -> dict[str, Any]:
    """The modal while the services are read (nothing to submit yet)."""
    blocks = [blockkit.section(":hourglass: Reading the services...")]
    return form_view(CALLBACK_ID, TITLE, channel, response_url, blocks)


def problem_view(channel: str, why: str, response_url: str = "") -> dict[str, Any]:
    """The modal when the services could not be read (``why``, escaped here)."""
    text = f":x: Cannot list the services: {blockkit.clip(why, 2000)}"
    hint = "Type `/swarm scale NAME=N` instead."
    blocks = [blockkit.section(text), blockkit.context(hint)]
    return form_view(CALLBACK_ID, TITLE, channel, response_url, blocks)


def scale_view(
    services: Sequence[tuple[str, int | None]], channel: str, response_url: str = ""
) -> dict[str, Any]:
    """The modal for a ``service scale`` in ``channel``: ``services``
    ((name, desired replicas)) in a select, the first 100 by name (names
    too long for an option's value are left out and counted), and a
    replicas number (a whole number, 0 or more)."""
    from slack_sdk.models.blocks import NumberInputElement, Option, StaticSelectElement

    usable = sorted({(n, d) for n, d in services if 0 < len(n) <= OPTION_VALUE})
    if not usable:
        none = [blockkit.section("No services on the swarm to scale.")]
        return form_view(CALLBACK_ID, TITLE, channel, response_url, none)

    def label(name: str, desired: int | None) -> str:
        now = f" ({desired})" if desired is not None else ""
        return blockkit.clip(name, OPTION_TEXT - len(now)) + now  # as modal.py: escaped

    options = [
        Option(text=blockkit.plain(label(name, desired)), value=name)
        for name, desired in usable[:OPTIONS]
    ]
    select = StaticSelectElement(placeholder=blockkit.plain("Choose a service"), options=options)
    replicas = NumberInputElement(
        is_decimal_allowed=False, min_value="0", placeholder=blockkit.plain("e.g. 3")
    )
    blocks: list[Any] = [
        form_input("service", "Service", select),
        form_input("replicas", "Replicas", replicas),
    ]
    left = len(services) - len(options)
    if left > 0:
        blocks.append(
            blockkit.context(
                f"{len(options)} of {len(services)} services shown; for the others type "
                "`/swarm scale NAME=N`."
            )
        )
    return form_view(CALLBACK_ID, TITLE, channel, response_url, blocks, "Scale")


def services_of(result: Any) -> list[tuple[str, int | None]]:
    """(name, desired replicas) of each row of a ``service ls`` result (a
    list of rows, or a mapping holding one)."""
    rows = result
    if isinstance(result, dict):
        rows = next((v for v in result.values() if isinstance(v, list)), [])
    out: list[tuple[str, int | None]] = []
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and isinstance(row.get("name"), str):
            desired = row.get("desired")
            out.append((row["name"], desired if isinstance(desired, int) else None))
    return out


def words_of(state_values: dict[str, Any]) -> list[str]:
    """The words a submitted modal (its ``view.state.values``) stands for."""
    return [
        "service",
        "scale",
        f"{field_value(state_values, 'service')}={field_value(state_values, 'replicas')}",
    ]


def judge_submission(state_values: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """(the words, {}) when a submitted modal parses as the grammar's
    ``service scale``, else ([], {block: what is wrong}) to show under that
    input (``response_action: errors``)."""
    from sparkswarm.bots import commands
    from sparkswarm.errors import InvalidRequest

    if not field_value(state_values, "service"):
        return [], {"service": "choose a service"}
    words = words_of(state_values)
    try:
        commands.parse(words)
    except InvalidRequest as exc:
        first = input_error(exc)
        lowered = first.lower()
        block = "service" if "service" in lowered and "replica" not in lowered else "replicas"
        return [], {block: first}
    return words, {}
