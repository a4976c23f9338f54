"""Opening the ``/swarm scale`` form: the I/O around scale_modal.py (pure).

The form must open within 3 s of the command (the ``trigger_id`` expires),
and the services come from a worker's ``service ls``, which may take longer:
a loading view is opened at once and replaced (``views.update``, with the
hash Slack gave, so a view the user already changed is not overwritten)
once the read is back, or by a view saying why it failed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sparkswarm.bots import commands, scale_modal
from sparkswarm.bots.reads import worker_answer
from sparkswarm.errors import SparkswarmError

if TYPE_CHECKING:
    from sparkswarm.bots.dispatch import ChatRequest, Dispatcher

log = logging.getLogger(__name__)


def open_scale_form(d: Dispatcher, req: ChatRequest, role: str | None) -> None:
    """Open the ``service scale`` form for ``req`` (a slash command, its
    ``key`` the trigger_id) and fill it on the read pool; refused like the
    words would be for a caller without the role."""
    if not d.permitted(req, role, commands.policy("service.scale", {}).role, "service scale"):
        return
    opened = d.out.call(
        "views.open",
        trigger_id=req.key,
        view=scale_modal.loading_view(req.channel, req.response_url),
    )
    if opened is None or not isinstance(opened.get("view"), dict):
        d.form_refused(req, ("service", "scale"))
        return
    view = opened["view"]
    if not d.reads.submit(_fill, d, req, str(view.get("id", "")), str(view.get("hash", ""))):
        _update(d, view["id"], view.get("hash", ""), scale_modal.problem_view(req.channel, "busy"))


def _fill(d: Dispatcher, req: ChatRequest, view_id: str, view_hash: str) -> None:
    """Read the services through a worker and show them in the form."""
    try:
        request = commands.parse(["service", "ls"])
        # Keyed by the trigger: a retry of the command reads once.
        result = worker_answer(d, request, req.user, f"form-{req.key}")
        services = scale_modal.services_of(result)
        view = scale_modal.scale_view(services, req.channel, req.response_url)
    except (SparkswarmError, TimeoutError) as exc:
        view = scale_modal.problem_view(req.channel, str(exc), req.response_url)
    except Exception:
        log.exception("reading the services for the scale form failed")
        view = scale_modal.problem_view(req.channel, "internal error (in the bot's log)")
    _update(d, view_id, view_hash, view)


def _update(d: Dispatcher, view_id: str, view_hash: str, view: dict[str, Any]) -> None:
    args: dict[str, Any] = {"view_id": view_id, "view": view}
    if view_hash:
        args["hash"] = view_hash
    if d.out.call("views.update", **args) is None:
        log.warning("views.update of the scale form %s refused", view_id)
