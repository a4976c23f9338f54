"""The Cancel button of a running ``spark sql`` statement.

The click is judged now, like every button: the statement's run must be a
``spark.sql`` run that has not ended, and the clicker must have the role
``spark sql-cancel`` needs in that channel. The cancel goes through the same
grammar as typed words (``spark sql-cancel RUN --stack S``, the stack taken
from the run's record, never from the click) and the queue; one cancel per
run however many clicks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sparkswarm.bots import blockkit, commands, present
from sparkswarm.bots.roles import refusal
from sparkswarm.executor import Origin
from sparkswarm.requests.model import Request

if TYPE_CHECKING:
    from sparkswarm.bots.dispatch import ChatRequest, Dispatcher


def on_click(dispatcher: Dispatcher, run_id: str, req: ChatRequest) -> None:
    """Cancel the statement of run ``run_id`` for the clicker of ``req``,
    telling them (only them) what happened."""
    if not dispatcher.halted.is_set():
        dispatcher.answering(req, lambda: dispatcher.tell(req, _cancel(dispatcher, run_id, req)))


def _cancel(dispatcher: Dispatcher, run_id: str, req: ChatRequest) -> str:
    record = dispatcher.qc.store.find(run_id) if run_id else None
    if record is None or record.op != "spark.sql":
        return present.problem("that statement is not known (any more); nothing was cancelled")
    stack = str(record.params.get("stack") or "")
    request = commands.parse(["spark", "sql-cancel", run_id, "--stack", stack])
    policy = commands.policy(request.op, dict(request.params))
    role = dispatcher.role_for(req.user, req.channel, req.team)
    why = refusal(role, policy.role, "cancelling a statement")
    if why is not None:
        return present.problem(why)
    if record.done:
        return f"the statement of run {blockkit.code(run_id)} has ended already"
    params = {**request.params, "requester": req.user}
    dispatcher.executor.submit(
        Request(op=request.op, params=params),
        origin=Origin(req.user, "slack"),
        key=f"sql-cancel-{run_id}",
    )
    return f"cancelling the statement of run {blockkit.code(run_id)}"
