"""Alerts end to end: the real watcher (in a worker) on the real engine, the
real bot process, the Slack double. A crash loop is ONE message in the alerts
channel, edited (never re-posted, also across a bot restart) and edited to
resolved once the service is removed; its buttons go through roles and
confirmations like typed commands."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots import payloads
from sparkswarm.bots.double import Message
from tests.integration.test_swarm_watch import crashing_service
from tests.support.bot_harness import OPERATOR, VIEWER, BotLab
from tests.support.queue_harness import QueueLab, queue_lab, wait_for

pytestmark = pytest.mark.integration
ALERTS = "C0OPS"
WATCH_ENV = {
    "SPARKSWARM_SWARM_WATCHER_IN_WORKER": "true",
    "SPARKSWARM_SWARM_WATCH_INTERVAL": "1",
    "SPARKSWARM_ALERT_FLAP_FAILURES": "2",
    "SPARKSWARM_ALERT_FLAP_QUIET": "5",
    "SPARKSWARM_SLACK_ALERTS_CHANNEL": ALERTS,
}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[QueueLab]:
    with queue_lab(tmp_path) as lab:
        lab.start_worker(**WATCH_ENV)
        yield lab


@pytest.fixture
def bots(lab: QueueLab, tmp_path: Path) -> Iterator[BotLab]:
    bots = BotLab(lab, tmp_path)
    yield bots
    bots.stop()


def alerts_about(bots: BotLab, key: str) -> list[Message]:
    return [
        m
        for m in list(bots.web.messages.values())
        if m.channel == ALERTS and not m.thread_ts and key in json.dumps(m.blocks)
    ]


def posts_about(bots: BotLab, key: str) -> int:
    return sum(
        1
        for c in bots.web.calls_of("chat.postMessage")
        if c.args.get("channel") == ALERTS and key in json.dumps(c.args)
    )


def click(bots: BotLab, message: Message, action: str, user: str) -> None:
    buttons = message.blocks[-1]["elements"]
    (button,) = [b for b in buttons if b["action_id"] == f"sparkswarm_alert_{action}"]
    payload = payloads.block_action(
        button["action_id"], button["value"], user=user, channel=ALERTS, message_ts=message.ts
    )
    answer = bots.post(payloads.interactive_body(payload), "application/x-www-form-urlencoded")
    assert answer.status_code == 200


def test_a_crash_loop_is_one_alert_edited_then_resolved(
    gw: Any, name: Any, web_images: dict[str, str], lab: QueueLab, bots: BotLab
) -> None:
    bot = bots.start_http(**WATCH_ENV)
    service = name("crash")
    key = f"flapping:{service}"
    crashing_service(gw, service, web_images["broken"])

    (alert,) = wait_for(lambda: alerts_about(bots, key), 60, "the alert", explain=bot.tail)
    assert "*OPEN*" in alert.blocks[0]["text"]["text"]
    assert "exit code 3" in alert.blocks[0]["text"]["text"]
    wait_for(lambda: alert.edits >= 1, 60, "an edit as failures accumulate")

    # A viewer may not silence; an operator's "Scale to 0" asks first, in the thread.
    click(bots, alert, "silence", VIEWER)
    wait_for(
        lambda: any("operator role" in m.text for m in bots.ephemerals(VIEWER)),
        15,
        "the refusal",
    )
    click(bots, alert, "scale0", OPERATOR)
    asked = bots.asking(f"service scale {service}=0")
    assert asked.thread_ts == alert.ts

    # The bot restarts: nothing is posted again.
    bot.stop()
    bot = bots.start_http(**WATCH_ENV)
    gw.remove_service(service)
    wait_for(
        lambda: "*RESOLVED*" in alert.blocks[0]["text"]["text"],
        60,
        "the alert edited to resolved",
        explain=bot.tail,
    )
    assert posts_about(bots, key) == 1
    assert len(alerts_about(bots, key)) == 1
    assert alert.blocks[-1]["type"] != "actions"  # no buttons on a resolved incident


def test_the_app_home_names_every_service(
    gw: Any, name: Any, web_images: dict[str, str], lab: QueueLab, bots: BotLab
) -> None:
    bots.start_http(**WATCH_ENV)
    mine = [name("home-a"), name("home-b")]
    for service in mine:
        gw.create_service(
            {
                "Name": service,
                "TaskTemplate": {"ContainerSpec": {"Image": web_images["v1"]}},
                "Mode": {"Replicated": {"Replicas": 1}},
            }
        )
    opened = payloads.event_callback("", user=OPERATOR, kind="app_home_opened")
    opened["event"]["tab"] = "home"
    assert bots.event(opened).status_code == 200
    view = wait_for(lambda: bots.web.home_views.get(OPERATOR), 60, "the published Home")
    text = json.dumps(view)
    assert all(service in text for service in mine)
    assert len(view["blocks"]) <= 100
    # an incident opens: the Home of whoever opened it lately is published again
    crash = name("home-crash")
    crashing_service(gw, crash, web_images["broken"])
    wait_for(
        lambda: f"flapping:{crash}" in json.dumps(bots.web.home_views.get(OPERATOR)),
        90,
        "the Home republished with the incident",
    )
    # someone without a role sees no cluster
    stranger = payloads.event_callback("", user="U0NOBODY", kind="app_home_opened")
    assert bots.event(stranger).status_code == 200
    refused = wait_for(lambda: bots.web.home_views.get("U0NOBODY"), 30, "the stranger's Home")
    assert "no sparkswarm role" in json.dumps(refused)
    assert mine[0] not in json.dumps(refused)


def test_a_scheduled_run_posts_its_outcome_where_its_schedule_says(
    gw: Any, name: Any, web_images: dict[str, str], lab: QueueLab, bots: BotLab
) -> None:
    from sparkswarm.workers.schedules import ScheduleBook

    bots.start_http(**WATCH_ENV)
    service = name("sched")
    gw.create_service(
        {
            "Name": service,
            "TaskTemplate": {"ContainerSpec": {"Image": web_images["v1"]}},
            "Mode": {"Replicated": {"Replicas": 1}},
        }
    )
    cron = ["--cron", "0 3 1 1 *"]  # never during the test: fired by hand below
    refused = lab.cli(
        "schedule",
        "add",
        "x",
        *cron,
        "--notify-on",
        "sometimes",
        "--notify",
        ALERTS,
        "--",
        "service",
        "scale",
        f"{service}=1",
    )
    assert refused.returncode == 2 and "--notify-on" in refused.stderr
    for schedule, on, target in (
        (name("always"), "always", service),
        (name("quiet"), "failure", service),
        (name("broken"), "failure", name("missing")),
    ):
        added = lab.cli(
            "schedule",
            "add",
            schedule,
            *cron,
            "--notify",
            ALERTS,
            "--notify-on",
            on,
            "--",
            "service",
            "scale",
            f"{target}=1",
        )
        assert added.returncode == 0, added.stderr
    book = ScheduleBook(lab.client())
    fired = {s: book.fire(s)["run_id"] for s in (name("always"), name("quiet"), name("broken"))}

    def told(run_id: str) -> list[Message]:
        return [
            m for m in list(bots.web.messages.values()) if m.channel == ALERTS and run_id in m.text
        ]

    (ok,) = wait_for(lambda: told(fired[name("always")]), 60, "the outcome, always")
    assert "succeeded" in ok.text and " s" in ok.text
    (bad,) = wait_for(lambda: told(fired[name("broken")]), 60, "the failure")
    assert "failed" in bad.text and "```" in bad.blocks[0]["text"]["text"]
    record = lab.client().wait(fired[name("quiet")], timeout=60)
    assert record.state == "succeeded"
    time.sleep(3)  # the poster looks every second: a success under `failure` stays quiet
    assert told(fired[name("quiet")]) == []
