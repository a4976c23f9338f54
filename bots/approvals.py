"""Confirmations of destructive chat commands, and who may answer them.

A destructive command is asked first: a question with Confirm / Cancel
buttons is posted and its :class:`Pending` request kept in Redis for the
confirmation TTL. A click is judged by :func:`judge` (pure) with the facts
of the moment: the clicking user's role *now* (roles change, the bot
restarts: an old button never carries its asker's rights), whether they are
an approver, and the time. Once answered, the pending request is replaced by
a marker saying who answered (kept a day), so a second click on a stale
button is told "done by <@x>" instead of running anything.

Two-person approval (``SPARKSWARM_BOT_APPROVERS``): for admin operations the
requester may only cancel; an approver other than the requester confirms.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from sparkswarm.bots.blockkit import code, mention
from sparkswarm.bots.roles import allows

if TYPE_CHECKING:
    from sparkswarm.workers.redis_api import RedisClient

DONE_MARKER_TTL = 86400  # a stale button may be clicked long after its answer


@dataclass(frozen=True)
class Pending:
    """A destructive command waiting for its confirmation."""

    op: str
    params: dict[str, Any]
    words: str
    requester: str
    requester_team: str
    channel: str
    thread_ts: str
    expires: float
    role: str  # the role the operation needs
    two_person: bool  # an approver other than the requester must confirm
    ts: str = ""  # the question message
    done_by: str = ""
    answer: str = ""  # "confirmed" or "cancelled" once done

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> Pending:
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class Verdict:
    """What a click does: run or cancel (claiming the confirmation), tell the
    clicker something (ephemeral), and/or replace the question's buttons."""

    run: bool = False
    cancel: bool = False
    tell: str = ""
    replace: str = ""
    refused: bool = False  # ``tell`` is a permission refusal (logged as one)


def expired_text(words: str) -> str:
    shown = f"{code(words)} " if words else ""
    return f":hourglass: {shown}expired: nothing ran. Ask again if it is still needed."


def answered_text(pending: Pending) -> str:
    mark = ":white_check_mark:" if pending.answer == "confirmed" else ":no_entry_sign:"
    return f"{mark} {code(pending.words)} {pending.answer} by {mention(pending.done_by)}"


def judge(
    pending: Pending | None,
    *,
    action: str,
    user: str,
    team: str,
    role: str | None,
    approver: bool,
    now: float,
) -> Verdict:
    """The verdict on ``user`` (of ``team``, with ``role`` now) clicking
    ``action`` ("confirm" or "cancel") on ``pending`` (None: gone, expired)."""
    if pending is None:
        return Verdict(tell="This confirmation has expired; nothing ran.", replace=expired_text(""))
    if pending.done_by:
        return Verdict(
            tell=f"This was already answered by {mention(pending.done_by)}; nothing more ran.",
            replace=answered_text(pending),
        )
    if pending.expires < now:
        text = expired_text(pending.words)
        return Verdict(tell="This confirmation has expired; nothing ran.", replace=text)
    own = user == pending.requester and (team or pending.requester_team) == pending.requester_team
    if action == "cancel":
        if own or (pending.two_person and approver):
            return Verdict(cancel=True)
        return Verdict(tell=f"Only {mention(pending.requester)} can cancel this; nothing ran.")
    if not allows(role, pending.role):
        why = f"{code(pending.words)} needs the {pending.role} role; you have {role or 'none'}"
        return Verdict(tell=why, refused=True)
    if pending.two_person:
        if own:
            return Verdict(
                tell="you asked for this: another approver must confirm it", refused=True
            )
        if not approver:
            return Verdict(tell="only an approver can confirm this", refused=True)
        return Verdict(run=True)
    if not own:
        return Verdict(tell=f"Only {mention(pending.requester)} can answer this; nothing ran.")
    return Verdict(run=True)


class ConfirmStore:
    """Pending confirmations in Redis (``<prefix>bot:confirm:<id>``)."""

    def __init__(self, redis: RedisClient, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, confirm_id: str) -> str:
        return f"{self.prefix}bot:confirm:{confirm_id}"

    def put(self, confirm_id: str, pending: Pending, ttl: float) -> None:
        self.redis.set(self._key(confirm_id), pending.to_json(), px=max(1, int(ttl * 1000)))

    def drop(self, confirm_id: str) -> None:
        self.redis.delete(self._key(confirm_id))

    def get(self, confirm_id: str) -> Pending | None:
        raw = self.redis.get(self._key(confirm_id))
        return Pending.from_json(raw) if raw else None

    def claim(self, confirm_id: str, pending: Pending, user: str, answer: str) -> Pending | None:
        """Take the confirmation for ``user``'s ``answer``; the answered request,
        or None when another click took it first (two clicks at once)."""
        if self.redis.getdel(self._key(confirm_id)) is None:
            return None
        done = replace(pending, done_by=user, answer=answer)
        self.redis.set(self._key(confirm_id), done.to_json(), ex=DONE_MARKER_TTL)
        return done
