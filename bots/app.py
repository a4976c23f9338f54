"""The Bolt app and its two transports over one dispatch.

``build()`` assembles the bot from settings: a ``WebClient`` on the
configured API URL, the scrubber, the queue client, the roles, the notifier
and the dispatcher, and a Bolt ``App`` whose listeners (listeners.py) only
turn Slack's payload into a :class:`~sparkswarm.bots.dispatch.ChatRequest`
after acking; the App Home and the alerts' buttons listen too.
``serve_http`` runs it under uvicorn (a body larger than
``SPARKSWARM_BOT_MAX_BODY`` is answered 413 before anything else reads it;
Bolt verifies each request's signature and refuses timestamps older than 5
minutes); ``serve_socket`` connects it over Socket Mode.
``app_uninstalled``/``tokens_revoked`` halt all posting. Neither transport
holds a Docker client: the bot only talks to Slack and to the queue's Redis.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sparkswarm.bots.dispatch import Dispatcher
from sparkswarm.bots.listeners import listen
from sparkswarm.bots.notifier import Notifier
from sparkswarm.bots.roles import load_role_map
from sparkswarm.bots.scrub import Scrubber, scrub_logs
from sparkswarm.bots.slack_out import SlackOut
from sparkswarm.bots.workpool import BoundedPool, every_second
from sparkswarm.config import Settings
from sparkswarm.errors import InvalidRequest, Unavailable

if TYPE_CHECKING:
    from slack_bolt import App

    from sparkswarm.workers.client import QueueClient

log = logging.getLogger(__name__)


@dataclass
class Bot:
    """A built bot: the Bolt app, its dispatcher and notifier."""

    app: App
    dispatcher: Dispatcher
    notifier: Notifier
    settings: Settings
    stop: threading.Event
    # More loops started with the notifier (the alert poster), each until ``stop``.
    loops: list[Callable[[threading.Event], None]] = field(default_factory=list)

    def start_notifier(self) -> threading.Thread:
        """Start the notifier, the sweeper that replaces the buttons of expired
        confirmations, and the other loops (alerts, outcomes)."""
        threading.Thread(target=self._sweep, daemon=True, name="sparkswarm-sweeper").start()
        for loop in self.loops:
            threading.Thread(target=loop, args=(self.stop,), daemon=True).start()
        thread = threading.Thread(
            target=self.notifier.run, args=(self.stop,), daemon=True, name="sparkswarm-notifier"
        )
        thread.start()
        return thread

    def _sweep(self) -> None:
        def expire() -> None:
            self.dispatcher.confirmations.expire()
            self.dispatcher.file_waits.expire()

        every_second(self.stop, expire, "expiring confirmations or waits for files")


def build(settings: Settings, qc: QueueClient | None = None, *, http: bool = True) -> Bot:
    """Assemble the bot. InvalidRequest when a needed setting is missing
    (named, never shown); Unavailable when Redis or the Slack Web API cannot
    be reached, or Slack refuses the bot token."""
    from slack_bolt import App
    from slack_sdk import WebClient

    from sparkswarm.workers.client import QueueClient, broker_errors

    if settings.slack_bot_token is None:
        raise InvalidRequest("set SPARKSWARM_SLACK_BOT_TOKEN (the bot token, xoxb-...)")
    if http and settings.slack_signing_secret is None:
        raise InvalidRequest("set SPARKSWARM_SLACK_SIGNING_SECRET: unsigned requests are refused")
    qc = qc or QueueClient()
    with broker_errors("bot"):
        qc.redis.ping()
    roles = load_role_map(
        settings.bot_roles_file,
        {
            "admin": settings.bot_admins,
            "operator": settings.bot_operators,
            "viewer": settings.bot_viewers,
        },
    )
    api_url = (
        settings.slack_api_url
        if settings.slack_api_url.endswith("/")
        else settings.slack_api_url + "/"
    )
    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=api_url, timeout=10
    )
    scrubber = Scrubber(settings.secret_values())
    scrub_logs(scrubber)
    from sparkswarm.workers.metric_counts import SlackCallCounts

    out = SlackOut(client, scrubber, meter=SlackCallCounts.for_client(qc))
    notifier = Notifier(qc, out, interval=settings.bot_edit_interval)
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    try:
        # Bolt checks the token with auth.test here: Slack must be reachable.
        app = App(
            client=client,
            signing_secret=secret,
            request_verification_enabled=http,
            # The listeners below only ack and hand the work to our own pool, so
            # Bolt may run them in the request's thread and answer when they
            # return: no polling for the ack, no listener pool to wait for.
            process_before_response=True,
            logger=logging.getLogger("sparkswarm.bots.bolt"),
        )
    except Exception as exc:
        reason = Scrubber(settings.secret_values()).text(str(exc))
        raise Unavailable(f"Slack Web API at {api_url}: {type(exc).__name__}: {reason}") from None
    # Roles are per workspace: plain ids are those of the bot's own team.
    try:
        who = app.client.auth_test()
        home, bot_user = str(who.get("team_id") or ""), str(who.get("user_id") or "")
    except Exception as exc:  # Bolt's own auth.test just passed: a blip
        log.warning("auth.test for the home team failed (%s): any team counts as home", exc)
        home, bot_user = "", ""
    roles = dataclasses.replace(roles, home_team=home)
    from sparkswarm.workers.executor import QueueExecutor

    dispatcher = Dispatcher(qc, out, roles, notifier, settings, executor=QueueExecutor(qc))
    # The work after the ack (parse, role, Redis, Slack calls): a few threads,
    # so a burst of commands is worked through without starving the acks, and
    # a bound, so a flood is told "busy" instead of waiting in a queue.
    work = BoundedPool(settings.bot_threads, settings.bot_max_pending, "sparkswarm-dispatch")
    listen(app, dispatcher, work, bot_user)
    from sparkswarm.bots import alerts
    from sparkswarm.bots.home import Home, register_home
    from sparkswarm.bots.outcomes import OutcomePoster

    app_home = Home(dispatcher, qc)
    register_home(app, app_home, work)
    alerts.register(app, dispatcher, qc, work)
    poster = alerts.poster(qc, out, settings, on_change=app_home.refresh_soon)
    loops: list[Callable[[threading.Event], None]] = [OutcomePoster(qc, out).run]
    if poster is not None:
        loops.append(poster.run)
    bot = Bot(app, dispatcher, notifier, settings, threading.Event(), loops)
    _on_lifecycle(app, bot)
    return bot


def _on_lifecycle(app: App, bot: Bot) -> None:
    """Uninstalled, or the bot's tokens revoked: post nothing more (every call
    would fail), stop the notifier, and say so in the log."""

    def halt(event: dict[str, Any], body: dict[str, Any]) -> None:
        kind = event.get("type", "")
        if kind == "tokens_revoked" and not event.get("tokens", {}).get("bot"):
            log.warning("user tokens revoked (not the bot's): carrying on")
            return
        log.warning(
            "Slack says %s for team %s: the bot stops posting until it is reinstalled "
            "and restarted",
            kind,
            body.get("team_id", "?"),
        )
        bot.dispatcher.halted.set()
        bot.stop.set()

    app.event("app_uninstalled")(halt)
    app.event("tokens_revoked")(halt)


class _ThreadedAsgi:
    """Bolt's ASGI handler, with the (blocking) Bolt dispatch run in a thread
    so one slow request does not hold up the others' acks, behind a cap on
    the body's size (checked before the body is read, let alone verified)."""

    def __init__(self, app: App, path: str = "/slack/events", max_body: int = 1 << 20) -> None:
        self.max_body = max_body
        from slack_bolt.adapter.asgi import SlackRequestHandler

        handler = SlackRequestHandler(app, path)
        # asyncio's default pool is cpu + 4 threads: too few for a burst.
        pool = ThreadPoolExecutor(64, thread_name_prefix="bolt-http")

        async def dispatch(request: Any) -> Any:
            from slack_bolt.request import BoltRequest

            body = await request.get_raw_body()
            bolt_request = BoltRequest(
                body=body, query=request.query_string, headers=request.get_headers()
            )
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(pool, app.dispatch, bolt_request)

        handler.dispatch = dispatch  # type: ignore[method-assign]
        self.handler = handler

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.handler(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_body:
            await _too_large(send)  # unsigned or not, never read
            return
        chunks: list[bytes] = []
        size = 0
        while True:  # chunked bodies declare no length: count while reading
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                following: dict[str, Any] = await receive()
                return following
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.handler(scope, replay, send)


async def _too_large(send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"text/plain"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": b"request body too large\n"})


def serve_http(
    bot: Bot, port: int, host: str = "127.0.0.1", *, health_port: int | None = None
) -> None:
    """Serve Slack's requests on ``host:port`` at ``/slack/events`` until stopped
    (and ``GET /healthz`` on ``health_port``, see :mod:`sparkswarm.bots.health_http`)."""
    import uvicorn

    notifier = bot.start_notifier()
    if health_port is not None:
        from sparkswarm.bots.health_http import bot_problem, serve_health

        serve_health(health_port, host, lambda: bot_problem(bot, notifier, None))
    print(f"sparkswarm bot: HTTP on {host}:{port}/slack/events", flush=True)
    asgi = _ThreadedAsgi(bot.app, max_body=bot.settings.bot_max_body)
    uvicorn.run(asgi, host=host, port=port, log_level="warning", access_log=False)


def serve_socket(
    bot: Bot, *, health_port: int | None = None, health_host: str = "127.0.0.1"
) -> None:
    """Connect over Socket Mode and serve until stopped (and ``GET /healthz``
    on ``health_port``, see :mod:`sparkswarm.bots.health_http`)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    if bot.settings.slack_app_token is None:
        raise InvalidRequest(
            "set SPARKSWARM_SLACK_APP_TOKEN (app-level token, xapp-...) for Socket Mode"
        )
    notifier = bot.start_notifier()
    handler: Any = SocketModeHandler(bot.app, bot.settings.slack_app_token.get_secret_value())
    if health_port is not None:
        from sparkswarm.bots.health_http import bot_problem, serve_health

        serve_health(
            health_port,
            health_host,
            lambda: bot_problem(bot, notifier, handler.client.is_connected),
        )
    handler.connect()
    print("sparkswarm bot: Socket Mode connected", flush=True)
    try:
        bot.stop.wait()
    finally:
        handler.close()
