"""Outcomes of scheduled runs to the channel their schedule names (``--notify``).

The worker notes each fired run of a schedule with ``notify``
(``workers/outcomes.py``); this loop, in the bot, posts each one's outcome
once it ended: run id, duration, error. One post per run (the claim is the
removal from the pending set); escaped and within Block Kit's limits.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sparkswarm.bots.blockkit import SECTION_TEXT, Block, bounded, escape, section
from sparkswarm.bots.jobview import duration
from sparkswarm.bots.present import EMOJI
from sparkswarm.bots.workpool import every_second
from sparkswarm.workers.outcomes import OutcomeNotices

if TYPE_CHECKING:
    from sparkswarm.bots.slack_out import SlackOut
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.run_record import RunRecord


def outcome_message(record: RunRecord, what: str) -> tuple[str, list[Block]]:
    """The message telling ``record``'s outcome (pure)."""
    took = ""
    if record.finished_at and (record.started_at or record.created_at):
        took = f" in {duration(record.finished_at - (record.started_at or record.created_at))}"
    more = f"`sparkswarm runs show {record.id}`"
    text = (
        f"{EMOJI.get(record.state, ':grey_question:')} {escape(what)}: run `{record.id}` "
        f"*{record.state}*{took}"
    )
    if record.error:
        text += f"\n```{escape(record.error)}```"
    fallback = bounded(f"{escape(what)}: run {record.id} {record.state}{took}", SECTION_TEXT, more)
    return fallback, [section(bounded(text, SECTION_TEXT, more))]


class OutcomePoster:
    """Posts the outcomes of noted runs; :meth:`run` is its loop (one thread)."""

    def __init__(self, qc: QueueClient, out: SlackOut) -> None:
        self.qc = qc
        self.out = out
        self.notices = OutcomeNotices(qc.redis, qc.settings.key_prefix)

    def run(self, stop: threading.Event) -> None:
        every_second(stop, self.step, "outcomes")

    def step(self) -> int:
        """Post the outcomes of the noted runs that ended; how many were posted."""
        posted = 0
        for run_id in self.notices.pending():
            record = self.qc.store.find(run_id)
            if record is not None and not record.done:
                continue
            notice = self.notices.claim(run_id)
            if notice is None or record is None:
                continue
            if notice.get("on") != "always" and record.state == "succeeded":
                continue
            text, blocks = outcome_message(record, notice.get("what", record.op))
            if self.out.post(notice["channel"], text, blocks) is not None:
                posted += 1
        return posted
