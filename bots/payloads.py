"""What Slack sends to an app, built here: signed HTTP requests and the
payloads of slash commands, events and button clicks.

Pure (no I/O). Used by ``sparkswarm bot try``, the tests and the benchmark
to play Slack's side against the real bot; the shapes follow Slack's
documentation and slack-bolt's own tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from sparkswarm.bots.double import TEAM_ID


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request signature (v0) for ``body`` at ``timestamp`` (now by default)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slash_command(
    command: str,
    text: str,
    *,
    user: str,
    channel: str = "C0GENERAL",
    response_url: str = "",
    trigger_id: str | None = None,
    team: str = TEAM_ID,
) -> dict[str, str]:
    """The form fields of a slash command invocation (``team``: the user's workspace)."""
    return {
        "token": "deprecated-verification-token",
        "team_id": team,
        "team_domain": "double",
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0DOUBLE",
        "is_enterprise_install": "false",
        "response_url": response_url or "http://127.0.0.1:9/commands/respond",
        "trigger_id": trigger_id or new_trigger_id(),
    }


def form_body(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


def event_callback(
    text: str,
    *,
    user: str,
    channel: str = "C0GENERAL",
    kind: str = "app_mention",
    event_id: str | None = None,
    channel_type: str = "channel",
    files: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An Events API ``event_callback`` for an @mention or a direct message
    (``files``: the file objects of its attachments)."""
    ts = f"{time.time():.6f}"
    event: dict[str, Any] = {
        "type": kind,
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "client_msg_id": str(uuid.uuid4()),
    }
    if kind == "message":
        event["channel_type"] = channel_type
    if files:
        event["files"] = files
        if kind == "message":
            event["subtype"] = "file_share"
    return {
        "token": "deprecated-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "A0DOUBLE",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": "U0BOT", "is_bot": True}],
    }


def new_trigger_id() -> str:
    """A new trigger id, as Slack makes them (its time first, whole seconds)."""
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


def _interaction(kind: str, user: str, team: str) -> dict[str, Any]:
    """What every interactive payload of ``user`` (of workspace ``team``) carries."""
    return {
        "type": kind,
        "team": {"id": TEAM_ID, "domain": "double"},
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": "A0DOUBLE",
        "token": "deprecated-verification-token",
        "trigger_id": new_trigger_id(),
    }


def view_submission(
    view: dict[str, Any], values: dict[str, Any], *, user: str, team: str = TEAM_ID
) -> dict[str, Any]:
    """A ``view_submission`` payload: ``user`` sent the modal ``view`` (as
    views.open returned it) with the inputs' ``values`` (``view.state.values``)."""
    submitted = {**view, "state": {"values": values}}
    return {**_interaction("view_submission", user, team), "view": submitted}


def block_action(
    action_id: str,
    value: str,
    *,
    user: str,
    channel: str,
    message_ts: str,
    response_url: str = "",
    team: str = TEAM_ID,
) -> dict[str, Any]:
    """A ``block_actions`` payload: ``user`` (of workspace ``team``) clicked button
    ``action_id``."""
    return {
        **_interaction("block_actions", user, team),
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "channel": {"id": channel, "name": "general"},
        "message": {"type": "message", "ts": message_ts, "text": ""},
        "response_url": response_url or "http://127.0.0.1:9/actions/respond",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "confirm",
                "type": "button",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def interactive_body(payload: dict[str, Any]) -> bytes:
    """The form body Slack posts for an interactive payload."""
    return urlencode({"payload": json.dumps(payload)}).encode()
