"""Everything the bot sends to Slack goes through :class:`SlackOut`.

It scrubs secrets out of every argument and file, and keeps each Web API
method within its rate budget (:mod:`sparkswarm.bots.budget`): a call waits
for its method's budget (callers that can wait: a listener answering one
command) or gets :class:`RateLimited` at once (the notifier, which keeps its
edit for later). A 429 holds back that method only, for its
``Retry-After``; the waiting calls are retried by slack_sdk's own retry
hook (a ``RateLimitErrorRetryHandler`` that sleeps on our budget instead of
its own guess). Slack errors other than 429 are logged (without arguments)
and answered with None: a lost chat message must not take the bot down.

Every request sent and every 429 received is counted by method for the
metrics exporter (a :class:`CallMeter`: the queue's
``SlackCallCounts`` in the bot), retries included.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

from sparkswarm.bots.budget import Budgets, retry_after
from sparkswarm.bots.scrub import Scrubber
from sparkswarm.errors import Unavailable

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryHandler, RetryState

log = logging.getLogger(__name__)
# Methods Slack takes as a query string only (their pages: "does not
# currently accept application/json").
_FORM_ONLY = frozenset({"usergroups.users.list"})


class CallMeter(Protocol):
    """Counts Web API requests and 429 answers by method; never raises."""

    def call(self, method: str) -> None: ...
    def limited(self, method: str) -> None: ...


class _NoMeter:
    def call(self, method: str) -> None:
        pass

    def limited(self, method: str) -> None:
        pass


class RateLimited(Exception):
    """The method's budget is spent (or Slack answered 429); retry after ``retry_after`` s."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:g}s")
        self.retry_after = retry_after


def _method_of(url: str) -> str:
    """The Web API method of a request's URL (``.../api/chat.update?x`` -> ``chat.update``)."""
    return url.split("?")[0].rsplit("/", 1)[-1]


def _retry_handler(budgets: Budgets, retries: int, meter: CallMeter) -> RetryHandler:
    """slack_sdk's 429 retry, told to sleep until our budget lets the method
    go again (after recording the ``Retry-After`` there for every caller)."""
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    class RetryOnBudget(RateLimitErrorRetryHandler):
        def prepare_for_next_attempt(
            self,
            *,
            state: RetryState,
            request: HttpRequest,
            response: HttpResponse | None = None,
            error: Exception | None = None,
        ) -> None:
            if response is None:  # never: the handler retries only a 429 response
                return
            method = _method_of(request.url)
            meter.limited(method)
            channel = _channel_of(request.data)
            budgets.limited(method, channel, retry_after(dict(response.headers)))
            state.next_attempt_requested = True
            while (pause := budgets.take(method, channel)) > 0:
                time.sleep(pause)
            state.increment_current_attempt()
            meter.call(method)  # the retry that follows

    return RetryOnBudget(max_retry_count=retries)


def _channel_of(data: bytes | None) -> str:
    """The ``channel`` argument of a request's body (JSON or a form)."""
    if not data:
        return ""
    try:
        return str(json.loads(data).get("channel") or "")
    except (ValueError, AttributeError):
        return parse_qs(data.decode("utf-8", "replace")).get("channel", [""])[0]


class SlackOut:
    """A scrubbing, rate-budgeted front of a ``slack_sdk.WebClient``."""

    def __init__(
        self,
        client: WebClient,
        scrubber: Scrubber,
        *,
        max_wait: float = 120.0,
        budgets: Budgets | None = None,
        meter: CallMeter | None = None,
    ) -> None:
        from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

        self.client = client  # for calls that must not wait: no 429 retry
        self.scrubber = scrubber
        self.max_wait = max_wait
        self.budgets = budgets or Budgets()
        self.meter: CallMeter = meter or _NoMeter()
        # Set when Slack says the app was uninstalled or its bot token revoked:
        # from then on no call leaves (a call waiting on its budget included).
        self.halted = threading.Event()
        self.waiting = type(client)(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            retry_handlers=[
                ConnectionErrorRetryHandler(),
                _retry_handler(self.budgets, 3, self.meter),
            ],
        )

    def call(
        self, method: str, *, wait: bool = True, reserve: float = 0.0, **args: Any
    ) -> dict[str, Any] | None:
        """Call Web API ``method`` with scrubbed ``args``; its answer, or None on a
        Slack error. With ``wait=False`` a spent budget or a 429 raises
        :class:`RateLimited`; ``reserve``: calls of the method's budget to leave
        for others."""
        from slack_sdk.errors import SlackApiError

        clean = self.scrubber.data(args)
        channel = str(args.get("channel") or "")
        waited = 0.0
        while (pause := self.budgets.take(method, channel, reserve=reserve)) > 0:
            if not wait:
                raise RateLimited(pause)
            if waited + pause > self.max_wait:
                log.warning("slack %s: over budget for %.0fs; dropped", method, waited + pause)
                return None
            time.sleep(pause)
            waited += pause
        if self.halted.is_set():
            log.info("slack %s: not sent, the app is uninstalled or its token revoked", method)
            return None
        client = self.waiting if wait else self.client
        self.meter.call(method)
        try:
            if method in _FORM_ONLY:
                response = client.api_call(method, http_verb="GET", params=clean)
            else:
                response = client.api_call(method, json=clean)
            if not isinstance(response.data, dict):  # a file's bytes: no method here
                raise Unavailable(f"slack {method}: the answer is not JSON")
            return dict(response.data)
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                self.meter.limited(method)
                pause = retry_after(dict(exc.response.headers))
                self.budgets.limited(method, channel, pause)
                if not wait:
                    raise RateLimited(pause) from None
                log.warning("slack %s: still rate limited after retries; dropped", method)
                return None
            log.warning("slack %s failed: %s", method, exc.response.get("error"))
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
        self,
        channel: str,
        ts: str,
        text: str,
        blocks: list[Any],
        *,
        wait: bool = True,
        reserve: float = 0.0,
    ) -> bool:
        """Replace message ``ts`` by ``text`` and ``blocks``. Slack keeps a
        message's old blocks when an edit names none, so one is always sent
        (a section of ``text`` when ``blocks`` is empty)."""
        from sparkswarm.bots.blockkit import section

        args: dict[str, Any] = {
            "channel": channel,
            "ts": ts,
            "text": text,
            "blocks": blocks or [section(text)],
        }
        return self.call("chat.update", wait=wait, reserve=reserve, **args) is not None

    def ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        args: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if thread_ts:
            args["thread_ts"] = thread_ts
        if blocks:
            args["blocks"] = blocks
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

        for method in ("files.getUploadURLExternal", "files.completeUploadExternal"):
            while (pause := self.budgets.take(method)) > 0:
                time.sleep(pause)
            self.meter.call(method)
        try:
            self.waiting.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                filename=filename,
                title=self.scrubber.text(title or filename),
                content=self.scrubber.text(content),
            )
            return True
        except (SlackApiError, OSError) as exc:
            if isinstance(exc, SlackApiError) and exc.response.status_code == 429:
                self.meter.limited(_method_of(exc.response.api_url))
            log.warning("slack file upload failed: %s", type(exc).__name__)
            return False

    def group_members(self, group: str) -> list[str]:
        """The members of user group ``group``; Unavailable when Slack would not say."""
        answer = self.call("usergroups.users.list", usergroup=group)
        if answer is None:
            raise Unavailable(f"usergroups.users.list for {group} failed")
        return [str(u) for u in answer.get("users", [])]
