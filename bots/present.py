"""Chat text and Block Kit for the bot's messages. Pure: no Slack, no Redis.

A run's thread message is rendered from a :class:`RunView` that the notifier
folds events into. A ``spark.submit`` run that succeeds has only started its
job: the view then follows the job (:class:`JobView`, from the job's
``spark.job`` events and record) and is done when the job is. Answers to
read commands are in answers.py, built on :func:`summarize` and
:data:`EMOJI` here; everything is plain data for ``chat.postMessage`` /
``chat.update``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sparkswarm.bots.blockkit import (
    ELLIPSIS,
    SECTION_TEXT,
    buttons,
    clip,
    code,
    code_block,
    escape,
    mention,
    section,
    shorten,
    shorten_plain,
)
from sparkswarm.bots.jobview import RANK, JobView, duration, job_lines
from sparkswarm.states import TERMINAL_STATES

ROW_TEXT = 120  # characters of a result row shown without known fields

if TYPE_CHECKING:
    from sparkswarm.workers.run_record import RunRecord

EMOJI = {
    "queued": ":hourglass_flowing_sand:",
    "waiting": ":lock:",
    "running": ":arrows_counterclockwise:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "cancelled": ":no_entry_sign:",
    "refused": ":no_entry:",
    "submitted": ":hourglass_flowing_sand:",
}
_KEEP_LINES = 6
Blocks = list[dict[str, Any]]


@dataclass
class RunView:
    """What the thread message of one run shows."""

    run_id: str
    words: str
    state: str = "queued"
    lines: list[str] = field(default_factory=list)
    tasks: dict[str, str] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    error: str = ""
    result: dict[str, Any] | list[Any] = field(default_factory=dict)
    op: str = ""
    job: JobView | None = None

    @property
    def awaits_job(self) -> bool:
        """The run succeeded and started a Spark job that has not ended yet."""
        return self.state == "succeeded" and self.job is not None and not self.job.done

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES and not self.awaits_job

    @property
    def shown(self) -> str:
        """The state the message shows: the job's once the run has started one."""
        if self.state == "succeeded" and self.job is not None:
            return self.job.state.lower()
        return self.state

    def _job_from_result(self) -> None:
        result = self.result
        if self.op != "spark.submit" or not isinstance(result, dict):
            return
        job_id = str(result.get("job_id") or "")
        if job_id and self.job is None:
            self.job = JobView(job_id)
        if self.job is not None and isinstance(result.get("record"), dict):
            record = result["record"]
            if RANK.get(str(record.get("state")), -1) > RANK[self.job.state]:
                self.job.state = str(record["state"])
                self.job.reason = str(record.get("reason") or "")

    def apply(self, event: Any) -> None:
        """Fold one event of :mod:`sparkswarm.workers.events` into the view."""
        kind = str(event.type)
        message = str(getattr(event, "message", "") or "")
        self.op = self.op or str(getattr(event, "op", "") or "")
        if kind == "spark.job":
            if self.job is None or self.job.id != event.job_id:
                self.job = JobView(str(event.job_id))
            if not self.job.apply_event(event) or self.state == "succeeded":
                return  # after the run, the job's state says it all
        elif kind == "operation.started":
            self.state, self.started_at = "running", event.at
        elif kind == "operation.waiting":
            self.state = "waiting"
        elif kind == "task.state":
            self.state = "running" if self.state in ("queued", "waiting") else self.state
            self.tasks[str(event.task)[:12]] = str(event.state)
        elif kind == "operation.succeeded":
            self.state, self.finished_at, self.result = "succeeded", event.at, event.result
            self._job_from_result()
        elif kind == "operation.failed":
            self.state, self.finished_at, self.error = "failed", event.at, str(event.error)
        elif kind == "operation.cancelled":
            self.state, self.finished_at = "cancelled", event.at
        if message and kind not in ("operation.succeeded", "operation.queued"):
            self.lines = [*self.lines, message][-_KEEP_LINES:]

    def apply_record(self, record: RunRecord) -> None:
        """Take state, times, result and error from the run record (the truth
        when events were missed, say while the bot was down)."""
        self.state = str(record.state)
        self.op = str(record.op)
        self.created_at = float(record.created_at)
        self.started_at = record.started_at or self.started_at
        self.finished_at = record.finished_at or self.finished_at
        self.error = record.error or self.error
        self.result = record.result or self.result
        self._job_from_result()


def summarize(result: dict[str, Any] | list[Any], limit: int = 8) -> list[str]:
    """A few readable lines of an operation's JSON result, at most ``limit``;
    what does not fit is counted in the last line (``… 12 more``), and a long
    output shows its last lines after a count of the earlier ones."""
    if isinstance(result, list):
        return _at_most([_row(r) if isinstance(r, dict) else str(r) for r in result], limit)
    lines: list[str] = []
    output = result.get("output")
    if isinstance(output, list) and output:
        lines += [str(line) for line in output[-limit:]]
        if len(output) > limit:
            lines[0] = f"{ELLIPSIS} {len(output) - limit + 1} earlier lines of output"
    for key, value in result.items():
        if key == "output":
            continue
        if isinstance(value, str | int | float | bool) and value not in ("", None):
            lines.append(f"{key}: {value}")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            lines += [_row(item) for item in value]
    return _at_most(lines, limit)


def _at_most(lines: list[str], limit: int) -> list[str]:
    """``lines``, or their first ``limit - 1`` and a count of the rest."""
    if len(lines) <= limit:
        return lines
    return [*lines[: limit - 1], f"{ELLIPSIS} {len(lines) - limit + 1} more"]


def _row(item: dict[str, Any]) -> str:
    keys = ("service", "name", "outcome", "replicas", "running", "desired", "state", "image")
    parts = [f"{k}={item[k]}" for k in keys if k in item and item[k] not in (None, "")]
    if parts:
        return ", ".join(parts)
    return shorten_plain(str(item), ROW_TEXT)


def status_message(view: RunView) -> tuple[str, Blocks]:
    """(fallback text, blocks) of a run's thread message (of its job, once
    the run has started one)."""
    state = view.shown
    run = view.run_id.removeprefix("slack:")[:24]
    head = f"{EMOJI.get(state, '')} *{escape(state)}* {code(view.words)} run {code(run)}"
    if view.state == "succeeded" and view.job is not None:
        suffix, job_body = job_lines(view.job)
        return _message(head + suffix, job_body)
    if view.done and view.finished_at:
        head += f" in {duration(view.finished_at - (view.started_at or view.created_at))}"
    if view.op == "spark.sql":
        return _sql_message(view, head)
    body: list[str] = []
    if view.tasks and not view.done:
        counts: dict[str, int] = {}
        for task_state in view.tasks.values():
            counts[task_state] = counts.get(task_state, 0) + 1
        body.append("tasks: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if state == "failed":
        body.append(f"reason: {view.error}")
    elif state == "succeeded":
        body += summarize(view.result)
    else:
        body += view.lines[-3:]
    return _message(head, body)


def _sql_message(view: RunView, head: str) -> tuple[str, Blocks]:
    """A statement's answer as a table; a Cancel button while it runs."""
    from sparkswarm.bots import sqlview

    if view.state == "succeeded" and isinstance(view.result, dict):
        blocks, text = sqlview.answer_body(view.result)
        return shorten(head + "\n" + escape(text), SECTION_TEXT), [section(head), *blocks]
    text, blocks = _message(head, [f"reason: {view.error}"] if view.error else view.lines[-3:])
    if not view.done:
        blocks.append(sqlview.cancel_button(view.run_id))
    return text, blocks


def _message(head: str, body: list[str]) -> tuple[str, Blocks]:
    """``head`` is mrkdwn (escaped by its maker); ``body`` lines are raw text."""
    blocks: Blocks = [section(head)]
    if body:
        blocks.append(section(code_block(body)[0]))
    text = head + ("\n" + escape("\n".join(body)) if body else "")
    return shorten(text, SECTION_TEXT), blocks


def confirm_blocks(
    confirm_id: str,
    words: str,
    requester: str,
    ttl: float,
    hazards: tuple[str, ...] = (),
    *,
    two_person: bool = False,
) -> tuple[str, Blocks]:
    """The question with Confirm / Cancel buttons for a destructive command;
    ``hazards`` (what it reaches or breaks) are listed under it, escaped
    (``two_person``: an approver other than the requester confirms)."""
    who = (
        "an approver other than you must confirm" if two_person else "confirm"
    ) + f" within {duration(ttl)}"
    text = f":warning: {code(words)} is destructive. {mention(requester)}, {who}" + (
        "." if two_person else "; only you can."
    )
    # At most 10 lines of at most 200 characters (Slack's 3,000 per section),
    # each cut with a visible mark.
    shown = [clip(h, 200) for h in hazards[:10]]
    if len(hazards) > 10:
        shown.append(f"... and {len(hazards) - 10} more")
    if shown:
        text += "\n" + "\n".join(f"• {h}" for h in shown)
    confirm = ("sparkswarm_confirm", "Confirm", confirm_id, "danger")
    cancel = ("sparkswarm_cancel", "Cancel", confirm_id)
    return text, [section(text), buttons([confirm, cancel], block_id="confirm")]


def usage_message(error: str) -> str:
    """An InvalidRequest's text for chat: its first line, the usage as code."""
    first, _, rest = error.partition("\n")
    usage = f"\n{code_block(rest.splitlines())[0]}" if rest.strip() else ""
    return f":grey_question: {clip(first, 1000)}" + usage


def help_answer(role: str | None, commands: list[tuple[str, str]]) -> str:
    """What ``help`` says to a caller with ``role``; ``commands`` are (words, role needed)."""
    if role is None:
        return "You have no sparkswarm role here; ask an admin to add you to the bot's roles."
    lines = [f"Your role: *{escape(role)}*. You may run (after `/sparkswarm`):"]
    lines += [f"• {code(words)}" for words, _ in commands]
    lines.append("Aliases: `/spark ...` = `spark ...`, `/swarm services`, `/swarm scale web=3`.")
    return "\n".join(lines)


# --- the short texts of chat answers (every user or swarm text escaped) ------


def thread_head(user: str, words: str) -> str:
    """The first message of a run's thread: who asked for what."""
    return f"{mention(user)}: {code(words)}"


def problem(text: str) -> str:
    """An error's text (it may quote the user's words or the swarm's) for chat."""
    return clip(text, 3000)


def read_failed(words: str, error: str) -> str:
    """A read command that the worker could not answer."""
    return f":x: {code(words)}: {clip(error, 2000)}"
