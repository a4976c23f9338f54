"""The Slack bot end to end: a real ``sparkswarm bot`` process, the Slack
double (a real HTTP + websocket server), a real redis-server, a real
``sparkswarm worker`` and the real swarm. Slack itself is not reachable
from a test machine; the double answers in its place and records every call.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots import double, payloads
from tests.support.bot_harness import (
    ADMIN,
    GROUP_MEMBER,
    OPERATOR,
    OPS_GROUP,
    STRANGER,
    VIEWER,
    BotLab,
)
from tests.support.queue_harness import QueueLab, holds_for, queue_lab, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("botq")) as lab:
        lab.start_worker(concurrency=4)
        yield lab


# The module's HTTP bot's settings (also for the one a test starts anew).
BOT_ENV = {"SPARKSWARM_BOT_FILE_THRESHOLD": "600", "SPARKSWARM_SPARK_QUOTAS": f"{OPS_GROUP}=1/2"}


@pytest.fixture(scope="module")
def bots(lab: QueueLab) -> Iterator[BotLab]:
    bot_lab = BotLab(lab, Path(lab.folder))
    bot_lab.start_http(**BOT_ENV)
    yield bot_lab
    bot_lab.stop()


@pytest.fixture
def web(gw: Any, name: Callable[[str], str], web_images: dict[str, str]) -> str:
    """A busybox web service with one replica."""
    from sparkswarm.services import ops

    service = name("web")
    ops.create_service(gw, name=service, image=web_images["v1"], stop_grace_period="1s")
    return service


def replicas(gw: Any, service: str) -> int:
    return int(gw.inspect_service(service)["Spec"]["Mode"]["Replicated"]["Replicas"])


def test_operator_scales_and_viewer_is_refused(
    bots: BotLab, lab: QueueLab, gw: Any, web: str
) -> None:
    started = time.monotonic()
    answer = bots.slash("/swarm", f"scale {web}=3", OPERATOR)
    assert answer.status_code == 200
    assert time.monotonic() - started < 3  # Slack's limit for the ack
    final = bots.wait_final(f"service scale {web}=3")
    assert "*succeeded*" in final.text and "running=3" in final.text
    assert replicas(gw, web) == 3
    assert final.edits >= 1  # queued -> ... -> succeeded, by editing one message

    assert bots.slash("/swarm", f"scale {web}=1", VIEWER).status_code == 200
    refusal = wait_for(
        lambda: [m for m in bots.ephemerals(VIEWER) if f"{web}=1" in m.text], 10, "the refusal"
    )
    assert "needs the operator role" in refusal[0].text and "Nothing ran" in refusal[0].text
    refused = wait_for(
        lambda: [r for r in lab.client().refusals() if r.requester == VIEWER],
        5,
        "the refusal log's entry",
    )
    assert "needs the operator role" in refused[0].reason and f"{web}=1" in refused[0].words
    holds_for(lambda: replicas(gw, web) == 3, 2, "the replica count")
    assert not bots.status_of(f"service scale {web}=1")


def test_help_and_usage_are_answered_never_a_trace(bots: BotLab) -> None:
    bots.slash("/sparkswarm", "help", VIEWER)
    bots.slash("/sparkswarm", "servce scale web=3", VIEWER)
    bots.slash("/sparkswarm", "servce scale web=3", STRANGER)
    bots.slash("/sparkswarm", 'service "unbalanced', OPERATOR)
    help_text = wait_for(
        lambda: [m for m in bots.ephemerals(VIEWER) if "Your role: *viewer*" in m.text], 10, "help"
    )[0].text
    assert "runs ls" in help_text and "service scale" not in help_text
    usage = wait_for(
        lambda: [m for m in bots.ephemerals(VIEWER) if "did you mean" in m.text], 10, "usage"
    )[0].text
    assert "did you mean `service`" in usage and "service scale" in usage
    # Without a role the grammar is not shown: only how to get a role.
    stranger = wait_for(lambda: bots.ephemerals(STRANGER), 10, "no-role answer")[0].text
    assert "no sparkswarm role" in stranger and "service" not in stranger
    quotes = wait_for(lambda: bots.ephemerals(OPERATOR), 10, "quote error")[0].text
    assert "cannot split" in quotes and "Traceback" not in bots.web.all_text()


def test_destructive_command_runs_only_on_the_requesters_confirmation(
    bots: BotLab, lab: QueueLab, gw: Any, web: str
) -> None:
    words = f"service scale {web}=0"
    bots.slash("/swarm", f"scale {web}=0", OPERATOR)
    question = bots.asking(words)
    assert bots.click(question, ADMIN).status_code == 200  # not the requester
    wait_for(lambda: any("Only <@U0OPER>" in m.text for m in bots.ephemerals(ADMIN)), 10, "refusal")
    holds_for(lambda: replicas(gw, web) == 1 and not bots.status_of(words), 1.5, "nothing ran")

    bots.click(question, OPERATOR)
    assert "*succeeded*" in bots.wait_final(words).text
    assert replicas(gw, web) == 0

    # A second question, answered after it expired (the bot's TTL is 4 s here).
    words = f"service rm {web}"
    bots.slash("/sparkswarm", words, ADMIN)
    question = bots.asking(words)
    time.sleep(4.5)
    bots.click(question, ADMIN)
    wait_for(lambda: any("expired" in m.text for m in bots.ephemerals(ADMIN)), 10, "expiry")
    holds_for(lambda: not bots.status_of(words), 1.5, "nothing ran")
    assert gw.inspect_service(web)  # still there


def test_forged_stale_replayed_and_retried_requests_never_run_twice(
    bots: BotLab, lab: QueueLab, web: str
) -> None:
    client = lab.client()
    calls_before = len(bots.web.calls)
    forged = bots.slash("/swarm", f"scale {web}=2", OPERATOR, secret="not-the-secret")
    stale = bots.slash("/swarm", f"scale {web}=2", OPERATOR, timestamp=int(time.time()) - 301)
    assert (forged.status_code, stale.status_code) == (401, 401)

    trigger = f"{int(time.time())}.1.{uuid.uuid4().hex}"
    for _ in range(3):  # Slack's own retries, or a replay of the same signed body
        assert (
            bots.slash("/swarm", f"scale {web}=1", OPERATOR, trigger_id=trigger).status_code == 200
        )
    assert "*succeeded*" in bots.wait_final(f"service scale {web}=1").text

    event = payloads.event_callback(f"<@{double.BOT_USER_ID}> service scale {web}=2", user=OPERATOR)
    assert bots.event(event).status_code == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert bots.event(event, headers=retry).status_code == 200
    assert "*succeeded*" in bots.wait_final(f"service scale {web}=2").text

    time.sleep(1.5)
    assert len(bots.status_of(f"service scale {web}=1")) == 1
    assert len(bots.status_of(f"service scale {web}=2")) == 1  # the forged ones never ran
    runs = [r for r in client.list(source="slack", limit=200) if r.target == f"service:{web}"]
    assert sorted(r.params["replicas"][web] for r in runs) == [1, 2]
    assert all(r.deliveries == 1 for r in runs)
    assert calls_before < len(bots.web.calls)


def test_secrets_never_reach_slack(bots: BotLab, lab: QueueLab) -> None:
    token = "SWMTKN-1-" + uuid.uuid4().hex + "abcdefgh"
    bots.slash("/swarm", f"scale {token}=1", OPERATOR)  # fails: the message names the token
    final = bots.wait_final("service scale [redacted]=1")
    assert "*failed*" in final.text
    bots.slash("/sparkswarm", f"status {double.BOT_TOKEN}", OPERATOR)
    bots.slash("/sparkswarm", "swarm join-token worker", ADMIN)
    bots.slash("/sparkswarm", "swarm join-token worker --rotate", ADMIN)

    def refusals() -> list[str]:
        return sorted(m.text for m in bots.ephemerals(ADMIN) if "join-token" in m.text)

    wait_for(lambda: len(refusals()) == 2, 10, "the join-token refusals")
    assert any("without --rotate shows a secret" in text for text in refusals())
    assert any("`swarm join-token worker --rotate` is not offered in chat" in t for t in refusals())
    run = next(
        r
        for r in lab.client().list(source="slack")
        if r.op == "service.scale" and r.error_type == "NotFound"
    )
    assert token in (run.error or "")  # the token is in the operation's output
    bots.slash("/sparkswarm", f"runs show {run.id}", OPERATOR)  # long: goes up as a file
    wait_for(
        lambda: bots.web.calls_of("files.completeUploadExternal"), 15, "file", explain=bots.dump
    )
    text = bots.web.all_text()
    assert token not in text and "SWMTKN-" not in text and double.BOT_TOKEN not in text
    assert "[redacted]" in text


def test_rate_limited_slack_slows_the_bot_and_loses_no_outcome(bots: BotLab, web: str) -> None:
    bots.web.rate_limit("chat.update", 2, retry_after=1.5)
    bots.slash("/swarm", f"scale {web}=2", OPERATOR)
    final = bots.wait_final(f"service scale {web}=2")
    assert "*succeeded*" in final.text
    updates = bots.web.calls_of("chat.update")
    limited = [c for c in updates if c.status == 429]
    assert len(limited) == 2
    after = [c for c in updates if c.at > limited[0].at and c.status == 200]
    assert after and after[0].at - limited[0].at >= 1.4  # it waited for Retry-After


def test_bot_killed_during_rolling_update_posts_the_outcome_once(
    bots: BotLab, gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    from sparkswarm.services import ops

    service = name("roll")
    ops.create_service(gw, name=service, image=web_images["v1"], replicas=2, stop_grace_period="1s")
    words = f"service update {service} --image {web_images['v2']} --update-delay 2s"
    bots.slash("/sparkswarm", words, OPERATOR)
    wait_for(lambda: any("*running*" in m.text for m in bots.status_of(words)), 30, "running")
    bot = next(p for p in reversed(bots.lab.processes) if "bot-http" in p.log.name and p.alive())
    bot.kill(signal.SIGKILL)
    time.sleep(1)
    assert not any("*succeeded*" in m.text for m in bots.status_of(words)), "too quick to test"
    bots.start_http(**BOT_ENV)  # the module's settings: later tests rely on them
    final = bots.wait_final(words)
    assert "*succeeded*" in final.text
    time.sleep(2.5)
    ts = final.ts
    finals = [
        c
        for c in bots.web.calls_of("chat.update")
        if c.args.get("ts") == ts and c.status == 200 and "*succeeded*" in str(c.args.get("text"))
    ]
    assert len(finals) == 1
    image = gw.inspect_service(service)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    assert image == web_images["v2"]


def test_socket_mode_slash_command_and_a_direct_message_run(
    bots: BotLab, gw: Any, web: str
) -> None:
    bots.start_socket()
    envelope = bots.sock.send(
        "slash_commands", payloads.slash_command("/swarm", f"scale {web}=2", user=OPERATOR)
    )
    bots.sock.wait_ack(envelope, timeout=3)
    assert "*succeeded*" in bots.wait_final(f"service scale {web}=2").text
    assert replicas(gw, web) == 2
    # A direct message from a member of the operators' user group.
    dm = payloads.event_callback(
        f"service scale {web}=1",
        user=GROUP_MEMBER,
        channel="D0DM",
        kind="message",
        channel_type="im",
    )
    bots.sock.wait_ack(bots.sock.send("events_api", dm), timeout=3)
    final = bots.wait_final(f"service scale {web}=1")
    assert "*succeeded*" in final.text and final.thread_ts == dm["event"]["ts"]
    assert replicas(gw, web) == 1


def test_reads_are_answered_by_a_worker_as_block_kit(bots: BotLab, lab: QueueLab, web: str) -> None:
    bots.slash("/swarm", f"ps {web}", VIEWER)
    answer = wait_for(
        lambda: next(
            (m for m in list(bots.web.messages.values()) if m.text.startswith(f"service ps {web}")),
            None,
        ),
        30,
        "the task table",
        explain=bots.dump,
    )
    assert answer.blocks[0]["type"] == "header"
    fields = [f["text"] for b in answer.blocks if b.get("fields") for f in b["fields"]]
    assert f"*name*\n{web}.1" in fields
    assert any(f.startswith("*current_state*\n") and "unning" in f for f in fields), fields
    run = next(r for r in lab.client().list(source="slack") if r.op == "service.ps")
    assert run.state == "succeeded" and run.requester == VIEWER  # a worker answered it


def test_spark_jobs_in_chat_lists_the_callers_own_unless_asked_for_all(
    bots: BotLab, lab: QueueLab
) -> None:
    from sparkswarm.spark.job_record import JobAsk, JobRecord
    from sparkswarm.workers.spark_jobs import JobStore

    store = JobStore.for_client(lab.client())
    tag = uuid.uuid4().hex[:6]
    ids = {who: f"{who[-4:].lower()}{tag}" for who in (VIEWER, OPERATOR)}
    for who, job_id in ids.items():
        record = JobRecord(
            id=job_id,
            stack="spark",
            service=f"spark_job-{job_id}",
            name="pi",
            script="pi.py",
            requester=who,
            source="slack",
            ask=JobAsk(cores=1, executor_memory_mb=512),
            state="QUEUED",
            reason="1 ahead of you (your quota: 1 job and 1 core at once)",
        )
        assert store.create(record)

    def answers() -> list[str]:
        return [
            str(m.blocks)
            for m in list(bots.web.messages.values())
            if m.text.startswith("spark jobs") and tag in str(m.blocks)
        ]

    bots.slash("/spark", "jobs", VIEWER)
    wait_for(lambda: len(answers()) == 1, 30, "the viewer's jobs", explain=bots.dump)
    assert ids[VIEWER] in answers()[0] and ids[OPERATOR] not in answers()[0]
    assert "1 ahead of you" in answers()[0]
    bots.slash("/spark", "jobs all", VIEWER)
    wait_for(lambda: len(answers()) == 2, 30, "everyone's jobs", explain=bots.dump)
    assert all(job_id in answers()[1] for job_id in ids.values())


def test_a_spark_job_from_chat_names_the_users_quota_groups(bots: BotLab, lab: QueueLab) -> None:
    """The bot tells the worker which of the user's groups have a Spark quota
    (SPARKSWARM_SPARK_QUOTAS names S0OPS): the job counts against them."""
    stack = f"nostack{uuid.uuid4().hex[:6]}"
    bots.slash("/spark", f"submit pi --stack {stack}", GROUP_MEMBER)
    bots.slash("/spark", f"submit pi --stack {stack}", OPERATOR)

    def runs() -> dict[str, Any]:
        found = {
            r.requester: r
            for r in lab.client().list(source="slack", limit=200)
            if r.op == "spark.submit" and r.params.get("stack") == stack
        }
        return found if len(found) == 2 else {}

    submitted = wait_for(runs, 30, "both submissions", explain=bots.dump)
    assert submitted[GROUP_MEMBER].params["groups"] == [OPS_GROUP]
    assert submitted[OPERATOR].params["groups"] == []
    # No such stack: the worker says so (the groups parameter is the bot's, not the core's).
    ended = wait_for(
        lambda: all(lab.client().get(r.id).error for r in submitted.values()), 60, "the refusals"
    )
    assert ended
    for run in submitted.values():
        error = lab.client().get(run.id).error or ""
        assert stack in error and "unexpected keyword" not in error, error
