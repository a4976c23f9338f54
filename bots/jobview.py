"""The Spark job a ``spark.submit`` run started, as its thread message shows it.

Pure: folded from the job's ``spark.job`` events and its record
(``sparkswarm.spark.job_record.JobRecord``) by the notifier; rendered into
the run's message by ``present.status_message``. The head this module makes
is mrkdwn (escaped here); the body lines are raw text (the code block that
shows them escapes them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sparkswarm.states import FINAL_JOB_STATES

if TYPE_CHECKING:
    from sparkswarm.spark.job_record import JobRecord
    from sparkswarm.workers.events import SparkJobChanged

from sparkswarm.bots.blockkit import code, mention

# A job's states in order: an older event read after a newer record never
# moves the view back.
RANK = {"QUEUED": 0, "SUBMITTED": 1, "RUNNING": 2, "SUCCEEDED": 3, "FAILED": 3, "CANCELLED": 3}
OUTPUT_LINES = 8
OUTPUT_WIDTH = 200


@dataclass
class JobView:
    """What the thread message shows of the Spark job a run started."""

    id: str
    state: str = "QUEUED"  # the earliest: the first event or record moves it on
    reason: str = ""
    app_id: str = ""
    output: list[str] = field(default_factory=list)
    created_at: float | None = None
    finished_at: float | None = None
    cancelled_by: str = ""
    complete: bool = False  # taken from the final record (output and times known)

    @property
    def done(self) -> bool:
        return self.state in FINAL_JOB_STATES

    def _newer(self, state: str) -> bool:
        if self.done:
            return False
        return RANK.get(state, -1) >= RANK.get(self.state, 0)

    def apply_event(self, event: SparkJobChanged) -> bool:
        """Fold a ``spark.job`` event in; False if it is older than what is shown."""
        state = str(event.state)
        if not self._newer(state):
            return False
        self.state, self.reason = state, str(event.reason or "")
        self.app_id = str(event.app_id or self.app_id)
        if state in FINAL_JOB_STATES:
            self.finished_at = float(event.at)
        return True

    def apply_record(self, record: JobRecord) -> bool:
        """Take everything from the job's record (the truth); True if that
        changed what the message shows (an older record changes nothing)."""
        state = str(record.state)
        if self.complete or RANK.get(state, -1) < RANK.get(self.state, 0):
            return False
        if self.done and state != self.state:
            return False
        before = (self.state, self.reason, self.app_id, self.complete)
        self.state, self.reason = state, str(record.reason or "")
        self.app_id = str(record.app_id or self.app_id)
        self.output = [str(line) for line in record.output]
        self.created_at = float(record.created_at)
        self.finished_at = record.finished_at
        self.cancelled_by = str(record.cancelled_by or "")
        self.complete = state in FINAL_JOB_STATES
        return (self.state, self.reason, self.app_id, self.complete) != before


def duration(seconds: float | None) -> str:
    """``4.2 s``, ``3 min 05 s``."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def job_lines(job: JobView) -> tuple[str, list[str]]:
    """(what follows the message's head, the body lines) for a job: QUEUED (its
    place), SUBMITTED
    (and why it waits), RUNNING, or the end: what the script printed (its
    last lines, trimmed) and the duration, the reason, or who cancelled."""
    head = f" job {code(job.id)}"
    if job.done and job.finished_at and job.created_at:
        head += f" in {duration(job.finished_at - job.created_at)}"
    body: list[str] = []
    if job.state == "QUEUED":  # over its owner's quota: "waiting: 2 ahead of you (...)"
        body.append(f"waiting: {job.reason}" if job.reason else "waiting for its turn")
    elif job.state == "SUBMITTED":
        body.append(f"waiting: {job.reason}" if job.reason else "job submitted")
    elif job.state == "RUNNING":
        body.append(f"application {job.app_id}" if job.app_id else "application running")
    elif job.state == "SUCCEEDED":
        body += job_output(job)[0]
    elif job.state == "CANCELLED":
        who = job.cancelled_by or job.reason.removeprefix("cancelled by ")
        head += f" by {mention(who) if who else 'someone'}"
    else:
        body.append(f"reason: {job.reason or 'unknown'}")
    return head, body


def job_output(job: JobView) -> tuple[list[str], bool]:
    """The last lines of what a job printed, each trimmed, and whether that
    left something out (then the whole output goes up as a file)."""
    lines = [line.rstrip() for line in job.output]
    shown = [
        line if len(line) <= OUTPUT_WIDTH else line[: OUTPUT_WIDTH - 3] + "..."
        for line in lines[-OUTPUT_LINES:]
    ]
    cut = len(lines) > OUTPUT_LINES or any(len(line) > OUTPUT_WIDTH for line in lines)
    if cut:
        shown.append(f"({len(lines)} lines in all: the whole output is in the file below)")
    return shown or ["(the script printed nothing)"], cut
