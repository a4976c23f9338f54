"""Confirmations of destructive chat commands, and who may answer them.

A destructive command is asked first: a question with Confirm / Cancel
buttons is posted and its :class:`Pending` request kept in Redis for the
confirmation TTL. A click is judged by :func:`judge` (pure) with the facts
of the moment: the clicking user's role *now* (roles change, the bot
restarts: an old button never carries its asker's rights), whether they are
an approver, and the time. Once answered, the pending request is replaced by
a marker saying who answered (kept a day), so a second click on a stale
button is told "done by <@x>" instead of running anything.

Two-person approval (``SPARKSWARM_BOT_APPROVERS``): for admin operations and
removals the requester may only cancel; an approver other than the requester
confirms. :class:`Confirmations` is the I/O around this for one dispatcher:
asking, judging a click, and replacing the buttons of questions nobody
answered in time ("expired: nothing ran").
"""

from __future__ import annotations

import heapq
import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from sparkswarm.bots.blockkit import code, mention, section
from sparkswarm.bots.roles import refusal

if TYPE_CHECKING:
    from sparkswarm.bots.dispatch import ChatRequest, Dispatcher
    from sparkswarm.requests.model import Request
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
class ClickVerdict:
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
) -> ClickVerdict:
    """The verdict on ``user`` (of ``team``, with ``role`` now) clicking
    ``action`` ("confirm" or "cancel") on ``pending`` (None: gone, expired)."""
    if pending is None:
        return ClickVerdict(
            tell="This confirmation has expired; nothing ran.", replace=expired_text("")
        )
    if pending.done_by:
        return ClickVerdict(
            tell=f"This was already answered by {mention(pending.done_by)}; nothing more ran.",
            replace=answered_text(pending),
        )
    if pending.expires < now:
        text = expired_text(pending.words)
        return ClickVerdict(tell="This confirmation has expired; nothing ran.", replace=text)
    own = user == pending.requester and (team or pending.requester_team) == pending.requester_team
    if action == "cancel":
        if own or (pending.two_person and approver):
            return ClickVerdict(cancel=True)
        return ClickVerdict(tell=f"Only {mention(pending.requester)} can cancel this; nothing ran.")
    why = refusal(role, pending.role, code(pending.words))
    if why:
        return ClickVerdict(tell=why, refused=True)
    if pending.two_person:
        if own:
            return ClickVerdict(
                tell="you asked for this: another approver must confirm it", refused=True
            )
        if not approver:
            return ClickVerdict(tell="only an approver can confirm this", refused=True)
        return ClickVerdict(run=True)
    if not own:
        return ClickVerdict(tell=f"Only {mention(pending.requester)} can answer this; nothing ran.")
    return ClickVerdict(run=True)


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


class Confirmations:
    """The confirmations of one :class:`Dispatcher`'s destructive commands."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.d = dispatcher
        self.store = ConfirmStore(dispatcher.qc.redis, dispatcher.prefix)
        self._asked: list[tuple[float, str, str, str, str]] = []  # expires, id, channel, ts, words
        self._guard = threading.Lock()

    def ask(
        self, req: ChatRequest, request: Request, shown: str, role: str, hazards: tuple[str, ...]
    ) -> None:
        """Post the question with Confirm / Cancel for ``request`` (which needs ``role``)."""
        from sparkswarm.bots import present

        d = self.d
        confirm_id = uuid.uuid4().hex
        ttl = d.settings.bot_confirm_ttl
        # Admin operations and removals (service rm, stack rm, network rm, ...):
        # what a second pair of eyes is for; scales and updates stay one-person.
        two_person = bool(d.settings.bot_approvers) and (
            role == "admin" or request.op.endswith(".rm")
        )
        pending = Pending(
            op=request.op,
            params=dict(request.params),
            words=shown,
            requester=req.user,
            requester_team=req.team,
            channel=req.channel,
            thread_ts=req.thread_ts or "",
            expires=time.time() + ttl,
            role=role,
            two_person=two_person,
        )
        text, blocks = present.confirm_blocks(
            confirm_id, shown, req.user, ttl, hazards, two_person=two_person
        )
        # Stored before it is posted: a quick click must find it.
        self.store.put(confirm_id, pending, ttl)
        ts = d.out.post(req.channel, text, blocks, thread_ts=req.thread_ts)
        if ts is None:
            self.store.drop(confirm_id)
            d.cannot_post(req, request.op, shown)
            return
        self.store.put(confirm_id, replace(pending, ts=ts), ttl)
        with self._guard:
            heapq.heappush(self._asked, (pending.expires, confirm_id, req.channel, ts, shown))

    def expire(self, now: float | None = None) -> int:
        """Replace the buttons of questions past their TTL that nobody answered
        ("expired: nothing ran"), so nobody clicks a dead button; how many."""
        now = time.time() if now is None else now
        due = []
        with self._guard:
            while self._asked and self._asked[0][0] <= now:
                due.append(heapq.heappop(self._asked))
        for _, confirm_id, channel, ts, words in due:
            if self.d.halted.is_set():
                break
            if self.store.get(confirm_id) is None:  # not answered (that leaves a marker)
                self._replace(channel, ts, expired_text(words))
        return len(due)

    def _replace(self, channel: str, ts: str, text: str) -> None:
        self.d.out.update(channel, ts, text, [section(text)])

    def click(self, action: str, confirm_id: str, req: ChatRequest, message_ts: str) -> None:
        """``req.user`` clicked ``action`` ("confirm" or "cancel") on the question
        ``message_ts``: judged now (see :func:`judge`), then run, cancelled or refused."""
        from sparkswarm.bots.dispatch import ChatRequest

        d = self.d
        pending = self.store.get(confirm_id)
        verdict = judge(
            pending,
            action=action,
            user=req.user,
            team=req.team,
            role=d.role_for(req.user, req.channel, req.team),
            approver=d.is_approver(req.user, req.team),
            now=time.time(),
        )
        if verdict.replace and message_ts:
            self._replace(req.channel, message_ts, verdict.replace)
        if verdict.refused and pending is not None:
            d.refuse(req, pending.words, verdict.tell)
        elif verdict.tell:
            d.tell(req, verdict.tell)
        if pending is None or not (verdict.run or verdict.cancel):
            return
        answer = "confirmed" if verdict.run else "cancelled"
        done = self.store.claim(confirm_id, pending, req.user, answer)
        if done is None:  # two clicks at once: the first wins
            return
        self._replace(req.channel, message_ts, answered_text(done))
        if verdict.cancel:
            return
        asker = ChatRequest(
            "",
            pending.words,
            pending.requester,
            req.channel,
            f"confirm:{confirm_id}",
            pending.thread_ts or None,
            pending.requester_team,
            req.response_url,
        )
        d.submit(
            asker,
            pending.op,
            pending.params,
            pending.words,
            parent_ts=pending.thread_ts or message_ts,
        )
        if req.user != pending.requester:
            d.qc.store.note(d.run_id(asker.key), f"approved by {req.user} in chat")
