"""The Socket Mode side of the Slack double: a websocket server on loopback.

Slack's Socket Mode: the app calls ``apps.connections.open`` with its
app-level token, opens the returned ``wss://`` URL, receives ``hello``, then
envelopes ``{"envelope_id", "type", "payload", "accepts_response_payload"}``
of type ``slash_commands``, ``events_api`` or ``interactive``, and must answer
each with ``{"envelope_id": ...}`` (optionally a ``payload``) within 3 s or
Slack retries it. This server does the Slack side of that over ``ws://``
(slack_sdk's built-in client speaks plain websockets to any port but 443).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from sparkswarm.bots.double import SlackDouble


class SocketDouble:
    """Serves the websocket that :class:`SlackDouble` hands out; sends envelopes, keeps acks."""

    def __init__(self, web: SlackDouble) -> None:
        self.web = web
        self.acks: dict[str, tuple[float, dict[str, Any]]] = {}
        self.sent: dict[str, float] = {}
        self._connections: list[ServerConnection] = []
        self._cond = threading.Condition()
        self._server: Server | None = None

    def start(self) -> SocketDouble:
        self._server = serve(self._session, "127.0.0.1", 0)
        threading.Thread(
            target=self._server.serve_forever, daemon=True, name="socket-double"
        ).start()
        port = self._server.socket.getsockname()[1]
        self.web.ws_url = f"ws://127.0.0.1:{port}/link/?ticket={uuid.uuid4().hex}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def _session(self, conn: ServerConnection) -> None:
        conn.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "double", "approximate_connection_time": 3600},
                    "connection_info": {"app_id": "A0DOUBLE"},
                }
            )
        )
        with self._cond:
            self._connections.append(conn)
            self._cond.notify_all()
        try:
            for raw in conn:
                try:
                    data = json.loads(raw)
                except (TypeError, ValueError):
                    continue
                envelope_id = data.get("envelope_id") if isinstance(data, dict) else None
                if envelope_id:
                    with self._cond:
                        self.acks[envelope_id] = (time.time(), data.get("payload") or {})
                        self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                self._connections.remove(conn)

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until the app has opened its websocket; TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._connections), timeout):
                raise TimeoutError("no Socket Mode connection to the double")

    def send(self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        """Send one envelope of ``kind`` to the newest connection; its envelope id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        with self._cond:
            if not self._connections:
                raise RuntimeError("no Socket Mode connection to send to")
            conn = self._connections[-1]
            self.sent[envelope_id] = time.time()
        conn.send(json.dumps(envelope))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 3.0) -> dict[str, Any]:
        """The payload of the ack of ``envelope_id``; TimeoutError after ``timeout``
        (Slack's own limit is 3 s)."""
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self.acks, timeout):
                raise TimeoutError(f"envelope {envelope_id} not acked within {timeout}s")
            return self.acks[envelope_id][1]
