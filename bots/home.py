"""The App Home: the cluster at a glance (``app_home_opened`` -> ``views.publish``).

Nodes by role and state and services with running/desired come from a worker
(``node ls`` and ``service ls`` through the queue: the bot holds no Docker
socket); open incidents and the last 10 runs from Redis. Only members with a
role see the cluster; others are told they have none. The view is republished
when a user opens the Home and, for users who opened it within the last hour,
when an incident opens or resolves (the alert poster calls :meth:`refresh_soon`).
At most 100 blocks (Block Kit's limit for a view); what does not fit is named.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

from sparkswarm.bots.alerts import EMOJI
from sparkswarm.bots.blockkit import (
    SECTION_TEXT,
    VIEW_BLOCKS,
    Block,
    bounded,
    divider,
    escape,
    header,
    section,
)

if TYPE_CHECKING:
    from slack_bolt import App

    from sparkswarm.bots.dispatch import Dispatcher
    from sparkswarm.bots.workpool import BoundedPool
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.incidents import Incident
    from sparkswarm.workers.run_record import RunRecord

log = logging.getLogger(__name__)
RECENT = 3600.0
SECTION_ROOM = SECTION_TEXT - 100


def _sections(lines: list[str], room: int, more: str) -> list[Block]:
    """``lines`` packed into sections of at most SECTION_ROOM characters, at most
    ``room`` of them; the last says what did not fit."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = bounded(line, SECTION_ROOM, more)
        if current and len(current) + len(line) + 1 > SECTION_ROOM:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    if len(chunks) > room:
        left = sum(c.count("\n") + 1 for c in chunks[room - 1 :])
        chunks = [*chunks[: room - 1], f"… and {left} more: {more}"]
    return [section(c) for c in chunks]


def home_view(
    *,
    nodes: list[dict[str, Any]],
    services: list[dict[str, Any]],
    incidents: list[Incident],
    runs: list[RunRecord],
    problem: str = "",
) -> dict[str, Any]:
    """The Home view (pure): a dict for ``views.publish``, at most VIEW_BLOCKS blocks."""
    from slack_sdk.models.views import View

    blocks = [header("sparkswarm: the cluster at a glance")]
    if problem:
        blocks.append(section(escape(problem)))
    states = Counter((n.get("role", ""), n.get("status", "")) for n in nodes)
    summary = ", ".join(
        f"{count} {role} {state}" for (role, state), count in sorted(states.items())
    )
    node_lines = [f"*Nodes* ({len(nodes)}): {escape(summary) or 'none seen'}"] + [
        f"• {escape(str(n.get('hostname', '')))} {n.get('role', '')} {n.get('status', '')}"
        f" {n.get('availability', '')}" + (" (leader)" if n.get("leader") else "")
        for n in nodes
    ]
    service_lines = [f"*Services* ({len(services)}), running/desired:"] + [
        f"• {escape(str(s.get('name', '')))} {escape(str(s.get('replicas', '')))}"
        for s in sorted(services, key=lambda s: str(s.get("name", "")))
    ]
    incident_lines = [f"*Open incidents* ({len(incidents)}):"] + [
        f"{EMOJI['open']} `{escape(i.key)}` {escape(i.title)}" for i in incidents
    ]
    if not incidents:
        incident_lines.append("none")
    run_lines = ["*Last runs*:"] + [
        f"• `{r.id[:12]}` {escape(r.op)} {escape(r.target)}: *{r.state}*"
        + (f" ({escape(r.error or '')})" if r.error else "")
        for r in runs[:10]
    ]
    # The incidents and runs are short and go first in the budget; the
    # services (the long part on a big swarm) get what is left.
    parts = [
        (incident_lines, "`sparkswarm alerts`"),
        (run_lines, "`sparkswarm runs ls`"),
        (node_lines, "`sparkswarm node ls`"),
    ]
    body: list[Block] = []
    for lines, more in parts:
        body += [*_sections(lines, 10, more), divider()]
    room = VIEW_BLOCKS - len(blocks) - len(body)
    services_blocks = _sections(service_lines, room, "`sparkswarm service ls`")
    blocks += body + services_blocks
    view = View(type="home", blocks=blocks[:VIEW_BLOCKS])
    return dict(view.to_dict())


class Home:
    """Publishes users' Home views; remembers who opened it lately (Redis)."""

    def __init__(self, dispatcher: Dispatcher, qc: QueueClient) -> None:
        self.dispatcher = dispatcher
        self.qc = qc
        self.viewers_key = f"{qc.settings.key_prefix}bot:home:viewers"
        self._guard = threading.Lock()
        self._running = False
        self._again = False

    def opened(self, user: str, channel: str = "") -> None:
        """``user`` opened the Home: publish it, and remember them for an hour."""
        self.qc.redis.zadd(self.viewers_key, {user: time.time()})
        self.publish(user, channel)

    def refresh_soon(self) -> None:
        """:meth:`refresh` in a thread of its own (the alert poster must not wait for
        workers' reads); one at a time, a call meanwhile is folded into it."""
        with self._guard:
            self._again = True
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._refresh_loop, daemon=True).start()

    def _refresh_loop(self) -> None:
        while True:
            with self._guard:
                if not self._again:
                    self._running = False
                    return
                self._again = False
            self.refresh()

    def refresh(self) -> None:
        """Publish again for everyone who opened the Home within the last hour."""
        now = time.time()
        self.qc.redis.zremrangebyscore(self.viewers_key, 0, now - RECENT)
        for user in self.qc.redis.zrange(self.viewers_key, 0, -1):
            self.publish(user)

    def publish(self, user: str, channel: str = "") -> None:
        """Build and publish ``user``'s Home. Never raises (the bot logs it)."""
        try:
            view = self._view(user, channel)
            self.dispatcher.out.call("views.publish", user_id=user, view=view)
        except Exception:
            log.exception("app home for %s failed", user)

    def _view(self, user: str, channel: str) -> dict[str, Any]:
        from sparkswarm.workers.incidents import incident_store

        if self.dispatcher.role_for(user, channel) is None:
            return home_view(
                nodes=[],
                services=[],
                incidents=[],
                runs=[],
                problem="You have no sparkswarm role; ask an admin to add you to the bot's roles.",
            )
        problems: list[str] = []
        nodes = self._read("node.ls", user, problems)
        services = self._read("service.ls", user, problems)
        return home_view(
            nodes=nodes,
            services=services,
            incidents=incident_store(self.qc).listing(),
            runs=self.qc.list(limit=10),
            problem="; ".join(problems),
        )

    def _read(self, op: str, user: str, problems: list[str]) -> list[dict[str, Any]]:
        """A read answered by a worker (as typed reads are); [] and a problem noted if not."""
        from sparkswarm.bots.reads import worker_answer
        from sparkswarm.errors import SparkswarmError
        from sparkswarm.requests.model import Request

        try:
            result = worker_answer(
                self.dispatcher, Request(op=op), user, key=f"home:{uuid.uuid4().hex}"
            )
        except TimeoutError:
            problems.append(f"{op}: no worker answered")
            return []
        except SparkswarmError as exc:
            problems.append(f"{op}: {exc}")
            return []
        if not isinstance(result, list):
            problems.append(f"{op}: succeeded")
            return []
        return [r for r in result if isinstance(r, dict)]


def register_home(app: App, home: Home, work: BoundedPool) -> None:
    """Listen to ``app_home_opened`` (Bolt ``app``); the view is built in ``work``."""

    def on_home(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            work.submit(home.opened, str(event.get("user", "")), str(event.get("channel", "")))

    app.event("app_home_opened")(on_home)
