"""The bot's health endpoint: ``GET /healthz`` on its own port (``bot --health-port``).

A container health check needs something to ask; Socket Mode serves no
HTTP, and Slack's own endpoint (``--http``) answers only signed requests.
So the bot serves one small endpoint with the standard library's threaded
HTTP server, on a port of its own (in the stack: inside the container, never
published). It answers 200 ``ok`` when the bot can do its work:

- its queue's Redis answers ``PING`` (requests, runs and events live there);
- the notifier thread is alive (it edits the threads as runs progress);
- over Socket Mode: the websocket to Slack is connected.

Otherwise 503 and one line saying what is wrong (no URL, no token).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sparkswarm.bots.app import Bot

log = logging.getLogger(__name__)
PATH = "/healthz"


def bot_problem(
    bot: Bot, notifier: threading.Thread | None, connected: Callable[[], bool] | None
) -> str | None:
    """None when ``bot`` is healthy (see the module); else what is wrong.

    ``notifier``: the notifier's thread; ``connected``: the Socket Mode
    client's ``is_connected`` (None over HTTP).
    """
    try:
        bot.notifier.qc.redis.ping()
    except Exception as exc:  # any failure to reach Redis is the answer, not an error
        return f"the queue's Redis does not answer ({type(exc).__name__})"
    if notifier is not None and not notifier.is_alive():
        return "the notifier thread has stopped"
    if connected is not None and not connected():
        return "the Socket Mode connection to Slack is down"
    return None


def serve_health(port: int, host: str, problem: Callable[[], str | None]) -> ThreadingHTTPServer:
    """Serve ``GET /healthz`` on ``host:port`` in a daemon thread; the server
    (``shutdown()`` stops it). Raises OSError when the port cannot be bound."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != PATH:
                self._answer(404, "not found")
                return
            why = problem()
            self._answer(200 if why is None else 503, "ok" if why is None else why)

        def _answer(self, status: int, text: str) -> None:
            body = (text + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # a check every 30 s is not news

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="bot-health").start()
    log.warning("bot health on http://%s:%d%s", host, port, PATH)
    return server
