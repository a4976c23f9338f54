"""Everything the bot sends to Slack goes through :class:`SlackOut`.

It scrubs secrets out of every argument and file, and honours HTTP 429:
callers that can wait (a listener answering one command) sleep for
``Retry-After`` and try again; the notifier instead gets :class:`RateLimited`
and keeps its edit for later. Slack errors other than 429 are logged (without
arguments) and answered with None: a lost chat message must not take the bot
down.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from sparkswarm.bots.scrub import Scrubber

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """Slack answered 429; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:g}s")
        self.retry_after = retry_after


class SlackOut:
    """A scrubbing, 429-aware front of a ``slack_sdk.WebClient``."""

    def __init__(self, client: Any, scrubber: Scrubber, *, max_wait: float = 120.0) -> None:
        self.client = client
        self.scrubber = scrubber
        self.max_wait = max_wait
        self._not_before = 0.0
        self._guard = threading.Lock()

    def call(self, method: str, *, wait: bool = True, **args: Any) -> dict[str, Any] | None:
        """Call Web API ``method`` with scrubbed ``args``; its answer, or None on a
        Slack error. With ``wait=False`` a 429 raises :class:`RateLimited`."""
        from slack_sdk.errors import SlackApiError

        clean = self.scrubber.data(args)
        waited = 0.0
        while True:
            pause = self._not_before - time.monotonic()
            if pause > 0:
                if not wait:
                    raise RateLimited(pause)
                time.sleep(pause)
            try:
                response = self.client.api_call(method, json=clean)
                data: dict[str, Any] = dict(response.data)
                return data
            except SlackApiError as exc:
                if exc.response.status_code != 429:
                    log.warning("slack %s failed: %s", method, exc.response.get("error"))
                    return None
                retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
                with self._guard:
                    self._not_before = max(self._not_before, time.monotonic() + retry_after)
                if not wait:
                    raise RateLimited(retry_after) from None
                waited += retry_after
                if waited > self.max_wait:
                    log.warning("slack %s: still rate limited after %.0fs; dropped", method, waited)
                    return None
            except Exception as exc:  # connection refused, timeouts: Slack unreachable
                log.warning("slack %s failed: %s", method, type(exc).__name__)
                return None

    def post(
        self, channel: str, text: str, blocks: Any = None, thread_ts: str | None = None
    ) -> str | None:
        """Post a message; its ts, or None if Slack refused it."""
        args: dict[str, Any] = {"channel": channel, "text": text}
        if blocks:
            args["blocks"] = blocks
        if thread_ts:
            args["thread_ts"] = thread_ts
        answer = self.call("chat.postMessage", **args)
        return str(answer["ts"]) if answer else None

    def update(
        self, channel: str, ts: str, text: str, blocks: Any = None, *, wait: bool = True
    ) -> bool:
        args: dict[str, Any] = {"channel": channel, "ts": ts, "text": text}
        if blocks is not None:
            args["blocks"] = blocks
        return self.call("chat.update", wait=wait, **args) is not None

    def ephemeral(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> None:
        args: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if thread_ts:
            args["thread_ts"] = thread_ts
        self.call("chat.postEphemeral", **args)

    def upload(
        self,
        channel: str,
        filename: str,
        content: str,
        *,
        thread_ts: str | None = None,
        title: str = "",
    ) -> bool:
        """Upload ``content`` (scrubbed) as a file into the channel or thread."""
        from slack_sdk.errors import SlackApiError

        try:
            self.client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                filename=filename,
                title=self.scrubber.text(title or filename),
                content=self.scrubber.text(content),
            )
            return True
        except (SlackApiError, OSError) as exc:
            log.warning("slack file upload failed: %s", type(exc).__name__)
            return False

    def group_members(self, group: str) -> list[str]:
        answer = self.client.api_call(
            "usergroups.users.list", http_verb="GET", params={"usergroup": group}
        )
        return [str(u) for u in answer.get("users", [])]
