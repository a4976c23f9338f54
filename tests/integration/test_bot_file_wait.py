"""Waiting for "the file you attach next" (the ``/spark submit`` form's
choice): the waits on a real redis-server, and the bot's dispatcher (in this
process) against the Slack double. A wait ends exactly once (taken,
cancelled, replaced or expired); an expired one is told and runs nothing;
the role is checked again when the file comes. (The whole way through a
real bot process and worker: test_bot_forms.py.)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots import double, modal
from sparkswarm.bots.double import SlackDouble
from sparkswarm.config import Settings
from sparkswarm.workers.attachment_waits import AttachmentWait, AttachmentWaits
from sparkswarm.workers.client import QueueClient
from tests.support.queue_harness import RedisServer, has_redis_server

pytestmark = pytest.mark.integration
OPERATOR, VIEWER = "U0OPER", "U0VIEW"
WORDS = ["spark", "submit", modal.NEXT_FILE, "7", "--stack", "nosuchstack"]
SCRIPT = b"print('hello')\n"


@pytest.fixture
def qc(tmp_path: Path) -> Iterator[QueueClient]:
    from tests.conftest import unavailable

    if not has_redis_server():
        unavailable("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield QueueClient(Settings(redis_url=server.url, bot_attach_wait=60))
    finally:
        server.stop()


def _wait(user: str = OPERATOR, expires_in: float = 60.0) -> AttachmentWait:
    return AttachmentWait(
        team="T0", user=user, channel="C0", words=WORDS, expires=time.time() + expires_in
    )


def test_a_wait_is_taken_once(qc: QueueClient) -> None:
    waits: AttachmentWaits = qc.attachment_waits
    wait = _wait()
    assert waits.start(wait) is None
    assert waits.peek("T0", OPERATOR, "C0") == wait
    assert waits.peek("T0", OPERATOR, "C9") is None  # per channel
    assert waits.take("T0", OPERATOR, "C0") == wait
    assert waits.take("T0", OPERATOR, "C0") is None
    assert waits.due(time.time() + 3600) == []  # taken: never told it expired


def test_a_newer_wait_replaces_the_earlier_and_cancel_names_the_wait(qc: QueueClient) -> None:
    waits = qc.attachment_waits
    first, second = _wait(), _wait()
    waits.start(first)
    assert waits.start(second) == first
    assert waits.cancel("T0", OPERATOR, "C0", first.id) is None  # over already
    assert waits.cancel("T0", OPERATOR, "C0", second.id) == second
    assert waits.take("T0", OPERATOR, "C0") is None
    assert waits.due(time.time() + 3600) == []


def test_an_expired_wait_is_told_once_and_cannot_be_taken_after(qc: QueueClient) -> None:
    waits = qc.attachment_waits
    wait = _wait(expires_in=1.0)
    waits.start(wait)
    assert waits.due() == []  # not yet
    later = time.time() + 1.5
    assert waits.due(later) == [wait]
    assert waits.due(later) == []  # told once
    assert waits.take("T0", OPERATOR, "C0") is None


def test_a_file_after_the_deadline_loses_to_the_expiry_notice(qc: QueueClient) -> None:
    """Redis may still hold the key a moment past the deadline: the file
    arriving then does not run, the sweeper says it expired."""
    waits = qc.attachment_waits
    wait = _wait(expires_in=0.0)
    waits.redis.set(waits._key("T0", OPERATOR, "C0"), wait.model_dump_json(), ex=30)
    waits.redis.zadd(f"{waits.base}due", {wait.model_dump_json(): wait.expires})
    assert waits.take("T0", OPERATOR, "C0") is None
    assert waits.due() == [wait]


# --- the dispatcher, in this process, against the double ---------------------
@pytest.fixture
def slack() -> Iterator[SlackDouble]:
    web = SlackDouble(metered=False).start()
    web.invite("C0GENERAL")
    try:
        yield web
    finally:
        web.stop()


def dispatcher(qc: QueueClient, slack: SlackDouble, operators: list[str]) -> Any:
    from slack_sdk import WebClient

    from sparkswarm.bots.dispatch import Dispatcher
    from sparkswarm.bots.notifier import Notifier
    from sparkswarm.bots.roles import role_map
    from sparkswarm.bots.scrub import Scrubber
    from sparkswarm.bots.slack_out import SlackOut

    out = SlackOut(WebClient(token=double.BOT_TOKEN, base_url=slack.api_url), Scrubber([]))
    roles = role_map({"operator": operators, "viewer": [VIEWER]})
    return Dispatcher(qc, out, roles, Notifier(qc, out), qc.settings)


def form(user: str, response_url: str) -> Any:
    from sparkswarm.bots.dispatch import ChatRequest

    return ChatRequest(
        "/sparkswarm", " ".join(WORDS), user, "C0GENERAL", f"view:{time.time()}", None,
        double.TEAM_ID, response_url,
    )  # fmt: skip


def file_message(slack: SlackDouble, user: str) -> Any:
    from sparkswarm.bots.dispatch import CHANNEL_MESSAGE, ChatRequest

    shared = slack.share_file("job.py", SCRIPT)
    return ChatRequest(
        CHANNEL_MESSAGE, "here it is", user, "C0GENERAL", f"Ev{time.time()}", f"{time.time()}",
        double.TEAM_ID, "", (shared["id"],),
    )  # fmt: skip


def submits(qc: QueueClient) -> list[Any]:
    return [r for r in qc.list(limit=50) if r.op == "spark.submit"]


def test_the_form_says_what_it_waits_for_and_an_expired_wait_says_so(
    qc: QueueClient, slack: SlackDouble
) -> None:
    d = dispatcher(qc, slack, [OPERATOR])
    d.handle(form(OPERATOR, slack.response_url("C0GENERAL", OPERATOR)))
    said = slack.responded(OPERATOR)
    assert len(said) == 1 and "Waiting for your next message with a .py file" in str(said)
    assert "&lt;your .py&gt; 7 --stack nosuchstack" in str(said[0].args["text"])
    button = said[0].args["blocks"][1]["elements"][0]
    assert button["action_id"] == "sparkswarm_attach_cancel"
    assert d.file_waits.expire(time.time() + 3600) == 1
    assert "expired. Nothing ran." in str(slack.responded(OPERATOR)[-1].args["text"])
    d.handle(file_message(slack, OPERATOR))
    assert submits(qc) == [] and not slack.calls_of("files.info")  # no wait: not looked at


def test_the_role_is_checked_again_when_the_file_comes(qc: QueueClient, slack: SlackDouble) -> None:
    d = dispatcher(qc, slack, [OPERATOR])
    d.handle(form(OPERATOR, slack.response_url("C0GENERAL", OPERATOR)))
    assert qc.attachment_waits.peek(double.TEAM_ID, OPERATOR, "C0GENERAL") is not None
    d.roles = dispatcher(qc, slack, []).roles  # the operator lost the role since
    d.handle(file_message(slack, OPERATOR))
    told = [m.text for m in slack.messages.values() if m.ephemeral_user == OPERATOR]
    assert any("needs the operator role; you have none" in t for t in told), told
    assert submits(qc) == [] and not slack.calls_of("url_private")
    assert qc.attachment_waits.peek(double.TEAM_ID, OPERATOR, "C0GENERAL") is None
    assert d.file_waits.expire(time.time() + 3600) == 0  # ended: no "expired" later


def test_a_viewer_cannot_start_a_wait(qc: QueueClient, slack: SlackDouble) -> None:
    d = dispatcher(qc, slack, [OPERATOR])
    d.handle(form(VIEWER, slack.response_url("C0GENERAL", VIEWER)))
    assert "needs the operator role" in str(slack.responded(VIEWER)[0].args["text"])
    assert qc.attachment_waits.peek(double.TEAM_ID, VIEWER, "C0GENERAL") is None


def test_the_file_runs_the_form_s_words_with_its_name(qc: QueueClient, slack: SlackDouble) -> None:
    from sparkswarm.requests import parse

    d = dispatcher(qc, slack, [OPERATOR])
    d.handle(form(OPERATOR, slack.response_url("C0GENERAL", OPERATOR)))
    d.handle(file_message(slack, OPERATOR))
    runs = submits(qc)
    assert len(runs) == 1
    typed = parse(
        ["spark", "submit", "job.py", "7", "--stack", "nosuchstack"], attached={"job.py": SCRIPT}
    )
    assert {k: v for k, v in runs[0].params.items() if k not in ("job_id", "groups")} == {
        k: v for k, v in dict(typed.params).items() if k != "job_id"
    }
    d.handle(file_message(slack, OPERATOR))  # the wait was taken: a second file is chat
    assert len(submits(qc)) == 1


def test_a_file_that_is_refused_is_said_escaped_and_the_wait_goes_on(
    qc: QueueClient, slack: SlackDouble
) -> None:
    """A badly named .py (its name quoted in the answer: escaped, it pings
    nobody) runs nothing; the wait stays for the next file."""
    from sparkswarm.bots.dispatch import CHANNEL_MESSAGE, ChatRequest

    d = dispatcher(qc, slack, [OPERATOR])
    d.handle(form(OPERATOR, slack.response_url("C0GENERAL", OPERATOR)))
    shared = slack.share_file("<!channel>.py", SCRIPT)
    bad = ChatRequest(CHANNEL_MESSAGE, "", OPERATOR, "C0GENERAL", "Ev-bad", None, double.TEAM_ID)
    d.handle(dataclasses.replace(bad, files=(shared["id"],)))
    told = [m.text for m in slack.messages.values() if m.ephemeral_user == OPERATOR]
    assert any("&lt;!channel&gt;.py" in t and "Still waiting" in t for t in told), told
    assert not any("<!channel>" in t for t in told)
    assert submits(qc) == []
    assert qc.attachment_waits.peek(double.TEAM_ID, OPERATOR, "C0GENERAL") is not None
    d.handle(file_message(slack, OPERATOR))
    assert len(submits(qc)) == 1
