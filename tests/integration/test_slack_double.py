"""The Slack double answers like Slack: membership, scopes and response_url.

Driven with slack_sdk's own clients (WebClient, WebhookClient), never with
the bot: each expectation is Slack's documented behaviour (the Web API
method pages for chat.postMessage / conversations.join, the scopes page,
"Handling user interaction: message responses" for response_url).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sparkswarm.bots import double
from sparkswarm.bots.double import SlackDouble, manifest_scopes

pytestmark = pytest.mark.integration


@pytest.fixture
def web() -> Iterator[SlackDouble]:
    with SlackDouble() as slack:
        yield slack


def client(web: SlackDouble) -> Any:
    from slack_sdk import WebClient

    return WebClient(token=double.BOT_TOKEN, base_url=web.api_url)


def error_of(call: Any) -> dict[str, Any]:
    from slack_sdk.errors import SlackApiError

    with pytest.raises(SlackApiError) as caught:
        call()
    return dict(caught.value.response.data)


def test_the_bot_posts_only_where_it_is_a_member(web: SlackDouble) -> None:
    slack = client(web)
    post = slack.chat_postMessage
    # A public channel the bot was not invited to says so; a private one or
    # another's DM does not exist for it.
    assert error_of(lambda: post(channel="C0GENERAL", text="hi"))["error"] == "not_in_channel"
    assert error_of(lambda: post(channel="C0SECRET", text="hi"))["error"] == "channel_not_found"
    assert error_of(lambda: post(channel="D0OTHERS", text="hi"))["error"] == "channel_not_found"
    eph = slack.chat_postEphemeral
    assert error_of(lambda: eph(channel="C0GENERAL", user="U1", text="x"))["error"] == (
        "not_in_channel"
    )
    assert post(channel="D0DM", text="hi")["ok"]  # the bot's own DM
    web.invite("C0GENERAL")
    assert post(channel="C0GENERAL", text="hi")["ok"]
    web.remove("C0GENERAL")
    assert error_of(lambda: post(channel="C0GENERAL", text="hi"))["error"] == "not_in_channel"


def test_scopes_come_from_the_manifest(web: SlackDouble) -> None:
    granted = manifest_scopes()
    assert {"chat:write", "commands", "files:write", "usergroups:read"} <= granted
    # The manifest does not ask for channels:join: the bot posts where invited.
    answer = error_of(lambda: client(web).conversations_join(channel="C0GENERAL"))
    assert answer["error"] == "missing_scope" and answer["needed"] == "channels:join"
    assert "chat:write" in answer["provided"].split(",")

    with SlackDouble(scopes=frozenset({"commands"})) as bare:
        bare.invite("C0GENERAL")
        answer = error_of(lambda: client(bare).chat_postMessage(channel="C0GENERAL", text="x"))
        assert (answer["error"], answer["needed"]) == ("missing_scope", "chat:write")


def test_conversations_join_joins_public_channels_only(web: SlackDouble) -> None:
    with SlackDouble(scopes=manifest_scopes() | {"channels:join"}) as slack:
        api = client(slack)
        joined = api.conversations_join(channel="C0GENERAL")
        assert joined["channel"]["id"] == "C0GENERAL" and joined["channel"]["is_member"]
        assert api.chat_postMessage(channel="C0GENERAL", text="now I can")["ok"]
        assert api.conversations_join(channel="C0GENERAL")["warning"] == "already_in_channel"
        private = error_of(lambda: api.conversations_join(channel="C0SECRET"))
        assert private["error"] == "method_not_supported_for_channel_type"
        assert error_of(lambda: api.conversations_join(channel="C0NOPE"))["error"] == (
            "channel_not_found"
        )


def test_response_url_answers_like_slack(web: SlackDouble) -> None:
    from slack_sdk.webhook import WebhookClient

    # Works where the bot is no member: that is what it is for.
    url = web.response_url("C0SECRET", "U0ME")
    hook = WebhookClient(url)
    assert hook.send(text="only you see this").status_code == 200
    assert hook.send(text="everyone sees this", response_type="in_channel").status_code == 200
    messages = sorted(web.messages.values(), key=lambda m: float(m.ts))
    assert [(m.text, m.ephemeral_user) for m in messages] == [
        ("only you see this", "U0ME"),
        ("everyone sees this", None),
    ]
    assert [c.args["text"] for c in web.responded("U0ME")] == [m.text for m in messages]
    assert hook.send(text="").status_code == 400  # no text, no blocks
    for n in range(3):
        assert hook.send(text=f"use {n + 3}").status_code == 200
    used = hook.send(text="a sixth time")
    assert used.status_code == 404 and "used_url" in used.body
    assert WebhookClient(url + "x").send(text="?").status_code == 404


def test_response_url_of_a_click_replaces_or_deletes_the_message(web: SlackDouble) -> None:
    from slack_sdk.webhook import WebhookClient

    web.invite("C0OPS")
    ts = client(web).chat_postMessage(channel="C0OPS", text="question", blocks=[])["ts"]
    hook = WebhookClient(web.response_url("C0OPS", "U0ME", ts))
    assert hook.send(text="answered", replace_original=True).status_code == 200
    assert web.messages[("C0OPS", ts)].text == "answered"
    assert hook.send(text="", delete_original=True).status_code == 200
    assert ("C0OPS", ts) not in web.messages


def test_views_open_and_update_answer_like_slack(web: SlackDouble) -> None:
    """views.open: a trigger id of Slack's shape (``123.456.hex``), used once,
    within 3 s; a view over 250 kB is ``view_too_large``. views.update: by
    view id, refused for a stale ``hash`` (someone updated it since)."""
    import time
    import uuid

    from sparkswarm.bots import scale_modal

    slack = client(web)
    view = scale_modal.loading_view("C0GENERAL")

    def trigger(age: float = 0.0) -> str:
        return f"{int(time.time() - age)}.1.{uuid.uuid4().hex}"

    assert error_of(lambda: slack.views_open(trigger_id="nonsense", view=view))["error"] == (
        "invalid_trigger_id"
    )
    assert error_of(lambda: slack.views_open(trigger_id=trigger(30), view=view))["error"] == (
        "expired_trigger_id"
    )
    big = {**view, "private_metadata": "x" * 260_000}
    assert error_of(lambda: slack.views_open(trigger_id=trigger(), view=big))["error"] == (
        "view_too_large"
    )
    fresh = trigger()
    opened = slack.views_open(trigger_id=fresh, view=view)["view"]
    assert error_of(lambda: slack.views_open(trigger_id=fresh, view=view))["error"] == (
        "exchanged_trigger_id"
    )
    filled = scale_modal.scale_view([("web", 1)], "C0GENERAL")
    updated = slack.views_update(view_id=opened["id"], hash=opened["hash"], view=filled)["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    stale = error_of(
        lambda: slack.views_update(view_id=opened["id"], hash=opened["hash"], view=view)
    )
    assert stale["error"] == "hash_conflict"
    assert error_of(lambda: slack.views_update(view_id="VNOSUCH", view=view))["error"] == (
        "not_found"
    )
    assert web.views[0]["blocks"] == filled["blocks"]
