"""The bot's one dispatch, under both transports (HTTP and Socket Mode).

A chat command goes: seen before? (Slack retries and replays carry the same
trigger/event id: dropped) -> words -> typed request (usage of the closest
command if not understood) -> offered in chat? -> the caller's role allows
it? (else an ephemeral refusal, recorded as a refused run) -> then one of:
a queue read answered from Redis; a read operation submitted to the queue
and answered by a worker (the bot never holds the Docker socket); a
destructive operation asked for confirmation first; or a change submitted
with an idempotency key from the Slack request, whose thread message the
:class:`~sparkswarm.bots.notifier.Notifier` edits until the outcome.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from sparkswarm.bots import commands, present
from sparkswarm.bots.notifier import Notifier
from sparkswarm.bots.roles import RoleMap, allows
from sparkswarm.bots.slack_out import SlackOut
from sparkswarm.config import Settings
from sparkswarm.errors import InvalidRequest, SparkswarmError

log = logging.getLogger(__name__)
_KEY_CHARS = re.compile(r"[^A-Za-z0-9._:@-]")


@dataclass(frozen=True)
class ChatRequest:
    """One chat command, whatever the transport."""

    command: str  # "/sparkswarm", "/spark", "/swarm", or "" for a mention or DM
    text: str
    user: str
    channel: str
    key: str  # Slack's id of this request: trigger_id or event_id
    thread_ts: str | None = None  # mentions and DMs answer in the message's thread


class Dispatcher:
    """Parses, checks, submits and answers; see the module docstring."""

    def __init__(
        self, qc: Any, out: SlackOut, roles: RoleMap, notifier: Notifier, settings: Settings
    ) -> None:
        self.qc = qc
        self.out = out
        self.roles = roles
        self.notifier = notifier
        self.settings = settings
        self.prefix = qc.settings.key_prefix
        # The newest runs this process submitted (``bot try`` follows them).
        self.submitted: deque[str] = deque(maxlen=1000)
        self._groups: tuple[float, dict[str, list[str]]] = (0.0, {})

    # --- entry points -------------------------------------------------------
    def handle(self, req: ChatRequest) -> None:
        """Answer one chat command. Never raises: a problem becomes a message."""
        try:
            if not self._first_time(req.key):
                log.info("request %s seen before (a Slack retry or replay): dropped", req.key)
                return
            self._handle(req)
        except SparkswarmError as exc:
            self.out.ephemeral(req.channel, req.user, str(exc), req.thread_ts)
        except Exception:
            log.exception("chat command failed")
            self.out.ephemeral(req.channel, req.user, "internal error; it is in the bot's log")

    def on_button(
        self, action: str, confirm_id: str, user: str, channel: str, message_ts: str
    ) -> None:
        """A click on Confirm or Cancel of a destructive command."""
        try:
            self._on_button(action, confirm_id, user, channel, message_ts)
        except SparkswarmError as exc:
            self.out.ephemeral(channel, user, str(exc))
        except Exception:
            log.exception("button click failed")
            self.out.ephemeral(channel, user, "internal error; it is in the bot's log")

    # --- the steps ----------------------------------------------------------
    def _first_time(self, key: str) -> bool:
        return bool(self.qc.redis.set(f"{self.prefix}bot:seen:{key}", "1", nx=True, ex=86400))

    def _role(self, user: str, channel: str) -> str | None:
        return self.roles.role_of(user, channel, self._groups_of(user))

    def _groups_of(self, user: str) -> list[str]:
        if not self.roles.groups:
            return []
        fetched, members = self._groups
        if time.monotonic() - fetched > 60:  # membership changes rarely; one lookup a minute
            members = {}
            for group in self.roles.groups:
                try:
                    members[group] = self.out.group_members(group)
                except Exception as exc:
                    log.warning("user group %s: %s", group, type(exc).__name__)
            self._groups = (time.monotonic(), members)
        return [g for g, users in members.items() if user in users]

    def _handle(self, req: ChatRequest) -> None:
        words = commands.words_of(req.command, req.text)
        role = self._role(req.user, req.channel)
        if not words or words[0] in ("help", "--help", "-h"):
            self._help(req, role)
            return
        try:
            request = commands.parse(words)
        except InvalidRequest as exc:
            # The grammar is for members: someone without a role learns only that.
            answer = present.usage_message(str(exc)) if role else present.help_answer(None, [])
            self.out.ephemeral(req.channel, req.user, answer, req.thread_ts)
            return
        shown = " ".join(words)
        policy = commands.policy(request.op, dict(request.params))
        if not policy.chat:
            self._refuse(
                req, request, shown, f"`{shown}` is not offered in chat; run it in a terminal"
            )
            return
        if not allows(role, policy.role):
            why = f"`{shown}` needs the {policy.role} role; you have {role or 'none'}"
            self._refuse(req, request, shown, why)
            return
        if policy.queue_read:
            self._queue_read(req, request)
        elif policy.read_only:
            self._worker_read(req, request, shown)
        elif policy.destructive:
            self._ask_confirmation(req, request, shown)
        else:
            self._submit(req, request.op, dict(request.params), shown, self._key(req.key))

    def _help(self, req: ChatRequest, role: str | None) -> None:
        allowed = [(words, need) for words, need in commands.chat_commands() if allows(role, need)]
        self.out.ephemeral(req.channel, req.user, present.help_answer(role, allowed), req.thread_ts)

    def _refuse(self, req: ChatRequest, request: Any, shown: str, why: str) -> None:
        from sparkswarm.workers.events import OperationFailedEvent
        from sparkswarm.workers.records import RunRecord

        run_id = uuid.uuid4().hex
        now = time.time()
        record = RunRecord(
            id=run_id,
            op=request.op,
            target="refused",
            requester=req.user,
            source="slack",
            params={"words": shown},
            state="failed",
            created_at=now,
            finished_at=now,
            error=f"refused: {why}",
            error_type="Forbidden",
        )
        event = OperationFailedEvent(
            run_id=run_id,
            op=request.op,
            target="refused",
            error=record.error or "",
            error_type="Forbidden",
            message=f"refused for {req.user}: {why}",
        )
        self.qc.store.record_refused(record, event.model_dump_json())
        self.out.ephemeral(req.channel, req.user, f":no_entry: {why}. Nothing ran.", req.thread_ts)

    def _key(self, slack_id: str) -> str:
        return ("slack:" + _KEY_CHARS.sub("-", slack_id))[:128]

    def _submit(
        self,
        req: ChatRequest,
        op: str,
        params: dict[str, Any],
        shown: str,
        key: str,
        parent_ts: str | None = None,
    ) -> None:
        sub = self.qc.submit(op, params, requester=req.user, source="slack", key=key)
        if not sub.created:
            return  # the same Slack request again: it runs once
        self.submitted.append(sub.run_id)
        thread = parent_ts or req.thread_ts
        if thread is None:
            thread = self.out.post(req.channel, f"<@{req.user}>: `{shown}`")
        view = present.RunView(sub.run_id, shown)
        text, blocks = present.status_message(view)
        ts = self.out.post(req.channel, text, blocks, thread_ts=thread)
        if ts is not None:
            self.notifier.follow(sub.run_id, req.channel, ts, shown, thread or "")

    def _queue_read(self, req: ChatRequest, request: Any) -> None:
        """Answer runs ls / runs show / schedule ls / spark jobs / spark job from
        Redis (the registry's queue reads); no worker involved."""
        from sparkswarm.operations import get_operation

        params = dict(request.params)
        if request.op in ("runs.ls", "spark.jobs"):
            params["limit"] = min(int(params.get("limit") or 15), 15)  # a screenful
        result = get_operation(request.op).resolve()(self.qc, **params)
        if request.op == "spark.jobs":
            text, blocks = present.jobs_answer(result)
            self._answer(req, text, text, blocks)
        elif request.op == "spark.job":
            text, blocks = present.job_answer(result)
            self._answer(req, text, text, blocks)
        elif request.op == "runs.show":
            text = json.dumps(result.model_dump(mode="json"), indent=1)
            self._answer(req, f"run {result.id}", text, None)
        elif request.op == "runs.ls":
            text, blocks = present.runs_answer(result)
            self._answer(req, text, text, blocks)
        else:
            rows = [item.model_dump(mode="json") for item in result]
            columns = ["name", "cron", "command", "next_run", "last_state"]
            text, blocks = present.table_answer("schedules", rows, columns)
            self._answer(req, text, text, blocks)

    def _worker_read(self, req: ChatRequest, request: Any, shown: str) -> None:
        sub = self.qc.submit(
            request.op,
            dict(request.params),
            requester=req.user,
            source="slack",
            key=self._key(req.key),
        )
        if not sub.created:
            return
        record = self.qc.wait(sub.run_id, timeout=self.settings.bot_read_timeout)
        if record.state != "succeeded":
            self.out.ephemeral(
                req.channel, req.user, f":x: `{shown}`: {record.error}", req.thread_ts
            )
            return
        text, blocks = present.read_answer(shown, record.result or {})
        self._answer(req, text, text, blocks)

    def _answer(self, req: ChatRequest, text: str, full: str, blocks: Any) -> None:
        """Post a read answer; too long for a message: as a file instead."""
        if len(full) > self.settings.bot_file_threshold or blocks is None:
            if len(full) > self.settings.bot_file_threshold:
                self.out.upload(
                    req.channel, "sparkswarm.txt", full, thread_ts=req.thread_ts, title=text[:80]
                )
                return
            blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"```{full}```"}}]
        self.out.post(req.channel, text[:3000], blocks[:50], thread_ts=req.thread_ts)

    def _ask_confirmation(self, req: ChatRequest, request: Any, shown: str) -> None:
        confirm_id = uuid.uuid4().hex
        ttl = self.settings.bot_confirm_ttl
        pending = {
            "op": request.op,
            "params": dict(request.params),
            "words": shown,
            "requester": req.user,
            "channel": req.channel,
            "thread_ts": req.thread_ts or "",
            "expires": time.time() + ttl,
        }
        self.qc.redis.set(
            f"{self.prefix}bot:confirm:{confirm_id}",
            json.dumps(pending),
            px=max(1, int(ttl * 1000)),
        )
        text, blocks = present.confirm_blocks(confirm_id, shown, req.user, ttl)
        self.out.post(req.channel, text, blocks, thread_ts=req.thread_ts)

    def _on_button(
        self, action: str, confirm_id: str, user: str, channel: str, message_ts: str
    ) -> None:
        key = f"{self.prefix}bot:confirm:{confirm_id}"
        raw = self.qc.redis.get(key)
        pending = json.loads(raw) if raw else None
        if pending is None or pending["expires"] < time.time():
            self.out.ephemeral(
                channel, user, "This confirmation has expired or was answered; nothing ran."
            )
            return
        if user != pending["requester"]:
            self.out.ephemeral(
                channel, user, f"Only <@{pending['requester']}> can answer this; nothing ran."
            )
            return
        if self.qc.redis.getdel(key) is None:  # two clicks at once: the first wins
            return
        if action == "cancel":
            self.out.update(
                channel,
                message_ts,
                f":no_entry_sign: `{pending['words']}` cancelled by <@{user}>",
                [],
            )
            return
        self.out.update(
            channel,
            message_ts,
            f":white_check_mark: `{pending['words']}` confirmed by <@{user}>",
            [],
        )
        req = ChatRequest(
            "",
            pending["words"],
            user,
            channel,
            f"confirm:{confirm_id}",
            pending["thread_ts"] or None,
        )
        self._submit(
            req,
            pending["op"],
            pending["params"],
            pending["words"],
            self._key(req.key),
            parent_ts=pending["thread_ts"] or message_ts,
        )
