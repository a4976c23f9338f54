"""The bot on a real workspace's terms (issue #16, items 1, 3 and 4): nothing
runs where the user cannot see it, clicks are judged with the clicker's role
at the time, roles are per workspace, refusals are bounded and kept apart
from run records, the HTTP endpoint caps bodies before verifying them.

A real ``sparkswarm bot --http`` process against the Slack double (which
knows where the bot is a member and serves real response_urls) and a real
redis-server. No worker: what matters here is what is (not) submitted.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots import payloads
from tests.support.bot_harness import ADMIN, OPERATOR, OPS_GROUP, STRANGER, VIEWER, BotLab
from tests.support.queue_harness import QueueLab, holds_for, queue_lab, wait_for

pytestmark = pytest.mark.integration

ADMIN2, GUEST, OTHER_TEAM = "U0ADMIN2", "U0GUEST", "T0OTHER"
SETTINGS = {
    "SPARKSWARM_BOT_ADMINS": f"{ADMIN},{ADMIN2}",
    "SPARKSWARM_BOT_APPROVERS": ADMIN2,
    "SPARKSWARM_BOT_VIEWERS": f"{VIEWER},{OTHER_TEAM}/{GUEST}",
    "SPARKSWARM_BOT_CONFIRM_TTL": "60",
    "SPARKSWARM_BOT_REFUSALS_PER_MINUTE": "3",
    "SPARKSWARM_REFUSALS_MAXLEN": "4",
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("botsafe")) as lab:
        yield lab


@pytest.fixture(scope="module")
def bots(lab: QueueLab) -> Iterator[BotLab]:
    bot_lab = BotLab(lab, Path(lab.folder))
    bot_lab.start_http(**SETTINGS)
    yield bot_lab
    bot_lab.stop()


def restart(bots: BotLab, **extra: str) -> None:
    """Kill the HTTP bot and start it again with ``extra`` settings."""
    for proc in bots.lab.processes:
        if "bot-http" in proc.log.name and proc.alive():
            proc.kill(signal.SIGKILL)
    bots.start_http(**{**SETTINGS, **extra})


def runs(lab: QueueLab, op: str, target: str) -> list[Any]:
    return [
        r
        for r in lab.client().list(source="slack", limit=500)
        if r.op == op and r.target.endswith(f":{target}")
    ]


def said_to(bots: BotLab, user: str, part: str) -> list[str]:
    """What ``user`` alone was told (ephemeral or through response_url)."""
    return [m.text for m in bots.ephemerals(user) if part in m.text]


def has_buttons(message: Any) -> bool:
    """Whether a message still offers buttons (an ``actions`` block)."""
    return any(block.get("type") == "actions" for block in message.blocks)


def test_a_change_where_the_bot_cannot_post_runs_nothing_and_the_user_hears_why(
    bots: BotLab, lab: QueueLab
) -> None:
    # A public channel it was not invited to, a private channel, another's DM.
    for channel in ("C0LOBBY", "C0SECRET", "D0OTHERS"):
        target = f"nowhere{channel[1:].lower()}"
        assert bots.slash("/swarm", f"scale {target}=2", OPERATOR, channel=channel).ok
        answer = wait_for(
            lambda channel=channel: [
                c for c in bots.web.responded(OPERATOR) if c.args["_channel"] == channel
            ],
            10,
            f"the answer in {channel}",
            explain=bots.dump,
        )[0].args
        assert "/invite @sparkswarm" in answer["text"] and "Nothing ran" in answer["text"]
        assert answer.get("response_type", "ephemeral") == "ephemeral"
    # A destructive one: the question cannot be posted either.
    bots.slash("/swarm", "scale nowhereq=0", OPERATOR, channel="C0LOBBY")
    wait_for(lambda: len(bots.web.responded(OPERATOR)) == 4, 10, "the fourth answer")
    holds_for(
        lambda: not [r for r in lab.client().list(source="slack") if "nowhere" in r.target],
        1.5,
        "nothing submitted",
    )
    reasons = [r.reason for r in lab.client().refusals(10)]
    assert any("cannot post in C0SECRET" in r for r in reasons)


def test_a_read_where_the_bot_cannot_post_is_answered_through_response_url(
    bots: BotLab,
) -> None:
    bots.slash("/sparkswarm", "runs ls", VIEWER, channel="C0SECRET")
    answer = wait_for(
        lambda: [c for c in bots.web.responded(VIEWER) if c.args["_channel"] == "C0SECRET"],
        10,
        "the read's answer",
        explain=bots.dump,
    )[0].args
    assert "Nothing ran" not in answer["text"] and answer["text"]
    assert not [m for m in bots.web.messages.values() if m.channel == "C0SECRET" and m.thread_ts]


def test_chat_run_ids_are_short_distinct_and_say_where_the_outcome_goes(
    bots: BotLab, lab: QueueLab
) -> None:
    for n in range(3):
        bots.slash("/swarm", f"scale idtest{n}=1", OPERATOR)

    def noted() -> list[Any] | None:
        found = [
            r
            for r in lab.client().list(source="slack", limit=500)
            if r.target.startswith("service:idtest") and r.notes
        ]
        return found if len(found) == 3 else None

    found = wait_for(noted, 15, "three noted runs", explain=bots.dump)
    ids = [r.id for r in found]
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids), ids
    assert len({i[:6] for i in ids}) == 3  # a visible prefix names one run
    assert lab.client().get(ids[0][:8]).id == ids[0]
    for record in found:
        note = record.notes[0]
        assert note.startswith("outcome posted in channel C0GENERAL, thread ")
        status = [m for m in bots.status_of(f"service scale {record.target[8:]}=1")]
        assert status and f"message {status[0].ts}" in note


def test_a_click_is_judged_with_the_clickers_role_at_the_time(bots: BotLab, lab: QueueLab) -> None:
    words = "service scale gone=0"
    bots.slash("/swarm", "scale gone=0", OPERATOR)
    question = bots.asking(words)
    bots.click(question, VIEWER)
    wait_for(lambda: said_to(bots, VIEWER, "needs the operator role"), 10, "the viewer's refusal")
    # The operator is taken out of the roles; the bot restarts; the old
    # button is still on their screen.
    restart(bots, SPARKSWARM_BOT_OPERATORS=OPS_GROUP)
    try:
        bots.click(question, OPERATOR)
        wait_for(
            lambda: said_to(bots, OPERATOR, "needs the operator role; you have none"),
            10,
            "the former operator's refusal",
            explain=bots.dump,
        )
        holds_for(lambda: not runs(lab, "service.scale", "gone"), 1.5, "nothing ran")
    finally:
        restart(bots)


def test_answered_and_expired_questions_lose_their_buttons(bots: BotLab, lab: QueueLab) -> None:
    words = "service scale stale=0"
    bots.slash("/swarm", "scale stale=0", OPERATOR)
    question = bots.asking(words)
    bots.click(question, OPERATOR)
    wait_for(
        lambda: "confirmed by <@U0OPER>" in question.text and not has_buttons(question),
        10,
        "the answered question",
    )
    bots.click(question, OPERATOR)  # a client that has not refreshed
    wait_for(lambda: said_to(bots, OPERATOR, "already answered by <@U0OPER>"), 10, "the notice")
    wait_for(lambda: runs(lab, "service.scale", "stale"), 10, "the confirmed run")
    holds_for(lambda: len(runs(lab, "service.scale", "stale")) == 1, 1.5, "it ran once")

    restart(bots, SPARKSWARM_BOT_CONFIRM_TTL="2")
    try:
        bots.slash("/swarm", "scale expiring=0", OPERATOR)
        question = bots.asking("service scale expiring=0")
        # Nobody clicks: the buttons are replaced when the TTL is over.
        wait_for(
            lambda: "expired" in question.text and not has_buttons(question),
            15,
            "the expired question",
            explain=bots.dump,
        )
        assert "nothing ran" in question.text
    finally:
        restart(bots)


def test_admin_operations_need_a_second_person_when_approvers_are_set(
    bots: BotLab, lab: QueueLab
) -> None:
    words = "service rm twoperson"
    bots.slash("/sparkswarm", words, ADMIN)
    question = bots.asking(words)
    assert "an approver other than you must confirm" in question.text
    bots.click(question, ADMIN)
    wait_for(lambda: said_to(bots, ADMIN, "another approver must confirm"), 10, "the refusal")
    holds_for(lambda: not runs(lab, "service.rm", "twoperson"), 1.5, "nothing ran")
    bots.click(question, ADMIN2)
    done = wait_for(
        lambda: [r for r in runs(lab, "service.rm", "twoperson") if len(r.notes) >= 2],
        10,
        "the approved run",
        explain=bots.dump,
    )[0]
    assert done.requester == ADMIN and f"approved by {ADMIN2} in chat" in done.notes


def test_roles_are_per_workspace(bots: BotLab) -> None:
    # An operator's user id, but from another workspace: no role at all.
    bots.slash("/swarm", "scale foreign=2", OPERATOR, team=OTHER_TEAM)
    wait_for(lambda: said_to(bots, OPERATOR, "you have none"), 10, "the foreign refusal")
    # Granted as T0OTHER/U0GUEST: a viewer from that team, and only from it.
    posted = len(bots.web.calls_of("chat.postMessage"))
    bots.slash("/sparkswarm", "runs ls", GUEST, team=OTHER_TEAM)
    wait_for(lambda: len(bots.web.calls_of("chat.postMessage")) > posted, 10, "the guest's read")
    assert not bots.ephemerals(GUEST)
    bots.slash("/sparkswarm", "runs ls", GUEST)
    wait_for(lambda: said_to(bots, GUEST, "you have none"), 10, "the home-team namesake")
    assert len(said_to(bots, GUEST, "you have none")) == 1


def test_refusals_are_bounded_per_user_and_never_touch_run_records(
    bots: BotLab, lab: QueueLab
) -> None:
    flood = "U0FLOOD"
    bots.slash("/swarm", "scale kept=1", OPERATOR)
    kept = wait_for(lambda: runs(lab, "service.scale", "kept"), 10, "a real run")[0]
    for n in range(8):
        bots.slash("/swarm", f"scale x{n}=1", flood)
    wait_for(lambda: said_to(bots, flood, "wait a minute"), 10, "the one notice")
    holds_for(lambda: len(bots.web.responded(flood)) == 4, 1.5, "3 answers + 1 notice, no more")
    client = lab.client()
    assert [r for r in client.refusals(100) if r.requester == flood]
    assert len(client.refusals(100)) <= 4  # the log is capped (SPARKSWARM_REFUSALS_MAXLEN)
    assert client.get(kept.id).id == kept.id
    assert not [r for r in client.list(source="slack", limit=500) if r.requester == flood]


def _raw(port: int, head: str, body: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head.encode() + body)
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply


def test_the_body_is_capped_before_the_signature_is_read(bots: BotLab) -> None:
    base = f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{bots.port}\r\n"
    # Declares 600 MiB (and sends a little): refused on the declaration.
    declared = _raw(bots.port, base + f"Content-Length: {600 << 20}\r\n\r\n", b"x" * 1000)
    assert declared.startswith(b"HTTP/1.1 413"), declared[:80]
    # Chunked, no length: counted while read, refused past the cap.
    chunk = b"%x\r\n%s\r\n" % (256 << 10, b"x" * (256 << 10))
    chunked = _raw(bots.port, base + "Transfer-Encoding: chunked\r\n\r\n", chunk * 5)
    assert chunked.startswith(b"HTTP/1.1 413"), chunked[:80]
    # A small unsigned body still reaches the signature check.
    small = bots.post(b"a=b", "application/x-www-form-urlencoded", secret="wrong")
    assert small.status_code == 401


def test_a_failing_listener_is_answered_not_left_spinning(bots: BotLab) -> None:
    payload = payloads.block_action(
        "sparkswarm_confirm",
        "whatever",
        user=STRANGER,
        channel="C0GENERAL",
        message_ts="1.000001",
        response_url=bots.web.response_url("C0GENERAL", STRANGER),
    )
    payload["container"] = ["not", "an", "object"]  # the listener cannot read it
    answer = bots.post(payloads.interactive_body(payload), "application/x-www-form-urlencoded")
    assert answer.status_code == 200
    wait_for(lambda: said_to(bots, STRANGER, "Something went wrong"), 10, "the error answer")


def test_a_full_bot_says_busy_and_runs_nothing(lab: QueueLab, tmp_path: Path) -> None:
    busy = BotLab(lab, tmp_path)
    try:
        busy.start_http(SPARKSWARM_BOT_THREADS="1", SPARKSWARM_BOT_MAX_PENDING="1")
        busy.web.slow("chat.postMessage", "C0GENERAL", 3)  # the one thread is held
        answers = [busy.slash("/swarm", f"scale busy{n}=1", OPERATOR) for n in range(3)]
        texts = [a.text for a in answers]  # an ack's text is shown to the user at once
        assert answers[0].status_code == 200 and not texts[0]
        assert all("busy" in t and "Nothing ran" in t for t in texts[1:]), texts
        busy.web.slow("chat.postMessage", "C0GENERAL", 0)
        wait_for(lambda: runs(lab, "service.scale", "busy0"), 20, "the first one")
        holds_for(lambda: not runs(lab, "service.scale", "busy1"), 1, "the busy ones never ran")
    finally:
        for proc in lab.processes:
            if proc.log.parent == tmp_path:
                proc.kill(signal.SIGKILL)
        busy.stop()


def test_uninstalled_app_stops_posting(bots: BotLab) -> None:
    """Last in the module: the bot stays halted."""
    event = {
        "token": "x",
        "team_id": "T0DOUBLE",
        "api_app_id": "A0DOUBLE",
        "event": {"type": "app_uninstalled"},
        "type": "event_callback",
        "event_id": "Ev0UNINSTALL",
        "event_time": int(time.time()),
    }
    assert bots.event(event).status_code == 200
    bot = next(p for p in reversed(bots.lab.processes) if "bot-http" in p.log.name and p.alive())
    wait_for(lambda: "app_uninstalled" in bot.tail(), 10, "the log line")
    before = len(bots.web.calls)
    bots.slash("/sparkswarm", "help", VIEWER)
    holds_for(
        lambda: len(bots.web.calls) == before,
        2,
        f"no call to Slack (made: {[c.method for c in bots.web.calls[before:]]})",
    )
