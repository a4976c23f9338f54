"""Incidents to the alerts channel: one message each, edited as it evolves.

The swarm watcher writes incidents to Redis only; this module (in the bot,
which holds the Slack token) drains the incident store's outbox:

- an incident without a message of its generation is posted once to
  ``SPARKSWARM_SLACK_ALERTS_CHANNEL``, and its ts recorded at once; a later
  change edits that message (``chat.update``); resolved, it is edited to say
  so. A watcher or bot restart finds the ts in Redis: never posted twice;
- at most ``alerts_per_minute`` new messages a minute: beyond, the minute's
  incidents share one summary message, edited as they change (a storm is a
  few messages, never a flood);
- a silenced incident is not edited until its silence ends.

One bot process posts at a time (a Redis lease, as the watchers have). The
buttons on an alert run the same command words as typing them would, through
the dispatcher: same roles, same confirmations (``scale ...=0`` and
``node drain`` ask first), answered in the alert's thread. Silence 1 h needs
the operator role. Everything from the swarm is escaped for mrkdwn and cut
to Block Kit's limits with a note of what was left out.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shlex
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sparkswarm.bots.blockkit import (
    SECTION_TEXT,
    Block,
    bounded,
    buttons,
    context,
    escape,
    mention,
    section,
)
from sparkswarm.bots.dispatch import INTERNAL_ERROR, ChatRequest
from sparkswarm.bots.roles import refusal
from sparkswarm.bots.workpool import every_second
from sparkswarm.workers.incidents import Incident, IncidentStore, incident_store
from sparkswarm.workers.locks import RedisLock

if TYPE_CHECKING:
    from slack_bolt import Ack, App

    from sparkswarm.bots.dispatch import Dispatcher
    from sparkswarm.bots.slack_out import SlackOut
    from sparkswarm.bots.workpool import BoundedPool
    from sparkswarm.workers.client import QueueClient

log = logging.getLogger(__name__)
SILENCE = 3600.0
SUMMARY_LINES = 40
ACTION_PREFIX = "sparkswarm_alert_"
EMOJI = {"open": ":rotating_light:", "resolved": ":white_check_mark:"}


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stamp)) if stamp else ""


def buttons_for(incident: Incident) -> list[tuple[str, str]]:
    """(action, label) of the buttons an open incident offers."""
    if incident.state != "open":
        return []
    offered: list[tuple[str, str]] = []
    if incident.kind == "flapping":
        offered += [("tasks", "Tasks"), ("rollback", "Roll back"), ("scale0", "Scale to 0")]
    elif incident.kind in ("update", "below_desired"):
        offered += [("tasks", "Tasks")]
    if incident.kind == "node_down":
        offered.append(("drain", "Drain"))
    offered.append(("silence", "Silence 1 h"))
    return offered


def incident_message(incident: Incident, silenced_by: str | None = None) -> tuple[str, list[Block]]:
    """The alert's text and Block Kit blocks (pure)."""
    more = f"`sparkswarm alerts show {incident.key}`"
    state = "RESOLVED" if incident.state == "resolved" else "OPEN"
    lines = [f"{EMOJI[incident.state]} *{state}* {escape(incident.title)}"]
    detail = incident.detail
    if detail.get("services"):
        lines.append(f"Services hit: {', '.join(escape(str(s)) for s in detail['services'])}")
    if detail.get("last_error"):
        exit_code = detail.get("exit_code")
        lines.append(
            f"Last error: `{escape(str(detail['last_error']))}`"
            + (f" (exit code {exit_code})" if exit_code is not None else "")
        )
    if detail.get("message"):
        lines.append(f"Update: {escape(str(detail['message']))}")
    facts = f"`{escape(incident.key)}` · opened {_when(incident.opened_at)}"
    if incident.updates:
        facts += f" · {incident.updates} update(s)"
    if incident.reopened:
        facts += f" · reopened {incident.reopened}x"
    if incident.resolved_at:
        facts += f" · resolved {_when(incident.resolved_at)}"
    if silenced_by:
        facts += f" · silenced by {mention(silenced_by)}"
    blocks = [
        section(bounded("\n".join(lines), SECTION_TEXT, more)),
        context(bounded(facts, 2000, more)),
    ]
    offered = buttons_for(incident)
    if offered:
        value = json.dumps({"key": incident.key, "gen": incident.generation})
        pressed = [(ACTION_PREFIX + action, label, value) for action, label in offered]
        blocks.append(buttons(pressed, block_id="alert"))
    return bounded(f"{state}: {escape(incident.title)}", SECTION_TEXT, more), blocks


def summary_message(incidents: list[Incident]) -> tuple[str, list[Block]]:
    """One message for the incidents beyond the minute's cap (pure)."""
    lines = [f"{EMOJI[i.state]} `{escape(i.key)}` {escape(i.title)}" for i in incidents]
    shown = lines[:SUMMARY_LINES]
    if len(lines) > SUMMARY_LINES:
        shown.append(f"… and {len(lines) - SUMMARY_LINES} more: `sparkswarm alerts`")
    head = f":rotating_light: {len(incidents)} more incident(s) this minute"
    body = bounded("\n".join(shown), SECTION_TEXT, "`sparkswarm alerts`")
    return head, [section(head), section(body)]


class AlertPoster:
    """Drains the incident outbox into the alerts channel; :meth:`run` is its loop."""

    def __init__(
        self,
        qc: QueueClient,
        out: SlackOut,
        *,
        channel: str,
        per_minute: int,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.qc = qc
        self.clock = clock  # the per-minute cap's minutes (tests hold it still)
        self.on_change = on_change  # an incident opened or resolved (App Homes refresh)
        self.out = out
        self.channel = channel
        self.per_minute = per_minute
        self.store: IncidentStore = incident_store(qc)
        prefix = qc.settings.key_prefix
        self.prefix = prefix
        token = f"{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = RedisLock(qc.redis, f"{prefix}alerts:poster", token, 15.0)

    def run(self, stop: threading.Event) -> None:
        """Post while this process holds the lease, until ``stop``."""
        every_second(stop, lambda: self.lease.acquire() and self.step(), "alerts")
        self.lease.release()

    def step(self) -> int:
        """One pass over the outbox; how many messages were posted or edited."""
        done = 0
        news = False
        for key, version in self.store.outbox():
            incident = self.store.get(key)
            if incident is None or (self.store.silenced_by(key) and not self._silence_news(key)):
                self.store.delivered(key, version)
                continue
            fresh = self.store.message(key).get("generation") != str(incident.generation)
            if self._show(incident):
                self.store.delivered(key, version)
                done += 1
                news = news or fresh or incident.state == "resolved"
        if news and self.on_change is not None:
            self.on_change()
        return done

    def _silence_news(self, key: str) -> bool:
        """Whether the message has yet to say it was silenced (said once)."""
        return self.store.message(key).get("silenced") != "1"

    def _show(self, incident: Incident) -> bool:
        message = self.store.message(incident.key)
        if message.get("ts") and message.get("generation") == str(incident.generation):
            return self._edit(incident, message)
        minute = int(self.clock() // 60)
        posted = self.qc.redis.incr(f"{self.prefix}alerts:posted:{minute}")
        self.qc.redis.expire(f"{self.prefix}alerts:posted:{minute}", 120)
        if posted > self.per_minute:
            return self._summarise(incident, minute)
        silenced = self.store.silenced_by(incident.key)
        text, blocks = incident_message(incident, silenced)
        ts = self.out.post(self.channel, text, blocks)
        if ts is None:
            return False
        self.store.set_message(
            incident.key,
            channel=self.channel,
            ts=ts,
            generation=incident.generation,
            summary="",
            silenced="1" if silenced else "",
        )
        return True

    def _edit(self, incident: Incident, message: dict[str, str]) -> bool:
        if message.get("summary"):
            return self._edit_summary(message["summary"], message["channel"], message["ts"])
        silenced = self.store.silenced_by(incident.key)
        text, blocks = incident_message(incident, silenced)
        if not self.out.update(message["channel"], message["ts"], text, blocks):
            return False
        self.store.set_message(incident.key, silenced="1" if silenced else "")
        return True

    def _summary_key(self, minute: str | int) -> str:
        return f"{self.prefix}alerts:summary:{minute}"

    def _summarise(self, incident: Incident, minute: int) -> bool:
        key = self._summary_key(minute)
        self.qc.redis.rpush(f"{key}:keys", incident.key)
        self.qc.redis.expire(f"{key}:keys", 7 * 86400)
        ts = self.qc.redis.get(key)
        if ts is None:
            text, blocks = summary_message([incident])
            ts = self.out.post(self.channel, text, blocks)
            if ts is None:
                return False
            self.qc.redis.set(key, ts, ex=7 * 86400)
        self.store.set_message(
            incident.key,
            channel=self.channel,
            ts=ts,
            generation=incident.generation,
            summary=str(minute),
        )
        return self._edit_summary(str(minute), self.channel, ts)

    def _edit_summary(self, minute: str, channel: str, ts: str) -> bool:
        keys = list(dict.fromkeys(self.qc.redis.lrange(f"{self._summary_key(minute)}:keys", 0, -1)))
        incidents = [i for i in map(self.store.get, keys) if i is not None]
        text, blocks = summary_message(incidents)
        return self.out.update(channel, ts, text, blocks)


def words_for(action: str, incident: Incident) -> list[str] | None:
    """The command a button stands for (as typed after ``/sparkswarm``), or None."""
    detail = incident.detail
    if action == "tasks":
        return ["service", "ps", incident.object]
    if action == "rollback":
        return ["service", "rollback", incident.object]
    if action == "scale0":
        return ["service", "scale", f"{incident.object}=0"]
    if action == "drain":
        return ["node", "drain", str(detail.get("node_id") or incident.object)]
    return None


def on_alert_button(
    dispatcher: Dispatcher,
    store: IncidentStore,
    action: str,
    value: str,
    req: ChatRequest,
    message_ts: str,
) -> None:
    """A click of ``req.user`` on an alert's button (``req.key``: Slack's id of
    the click). Never raises: a problem is an ephemeral answer. The
    clicker's role is that of ``req.user`` of workspace ``req.team``, as for typed words."""
    channel, user = req.channel, req.user
    try:
        key = str(json.loads(value)["key"])
        incident = store.get(key)
        if incident is None:
            dispatcher.out.ephemeral(channel, user, "That incident is gone; nothing ran.")
            return
        if action == "silence":
            why = refusal(dispatcher.role_for(user, channel, req.team), "operator", "silencing")
            if why is not None:
                dispatcher.out.ephemeral(channel, user, f":no_entry: {why}. Nothing changed.")
                return
            store.silence(key, user, SILENCE)
            dispatcher.out.ephemeral(channel, user, f"`{escape(key)}` silenced for 1 h.")
            return
        words = words_for(action, incident)
        if words is None:
            dispatcher.out.ephemeral(channel, user, "Unknown button; nothing ran.")
            return
        # The same path as typing the words in the alert's thread: roles,
        # confirmations, idempotency (Slack's id of the click) and the answer.
        dispatcher.handle(
            dataclasses.replace(
                req, text=shlex.join(words), key=f"alert:{req.key}", thread_ts=message_ts
            )
        )
    except Exception:
        log.exception("alert button failed")
        dispatcher.out.ephemeral(channel, user, INTERNAL_ERROR)


def register(app: App, dispatcher: Dispatcher, qc: QueueClient, work: BoundedPool) -> None:
    """Listen to the alerts' buttons (Bolt ``app``); clicks are worked in ``work``."""
    import re

    from sparkswarm.bots.listeners import click_request

    store = incident_store(qc)

    def on_click(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        click_id = str(action.get("action_ts") or body.get("trigger_id") or uuid.uuid4().hex)
        work.submit(
            on_alert_button,
            dispatcher,
            store,
            str(action.get("action_id", "")).removeprefix(ACTION_PREFIX),
            str(action.get("value", "")),
            click_request(body, click_id),
            body.get("container", {}).get("message_ts", ""),
        )

    app.action(re.compile(f"^{ACTION_PREFIX}"))(on_click)


def poster(
    qc: QueueClient, out: SlackOut, settings: Any, *, on_change: Callable[[], None] | None = None
) -> AlertPoster | None:
    """The alert poster of the configured channel; None without one."""
    if not settings.slack_alerts_channel:
        return None
    return AlertPoster(
        qc,
        out,
        channel=settings.slack_alerts_channel,
        per_minute=settings.alerts_per_minute,
        on_change=on_change,
    )
