"""Chat text that holds on a real workspace, end to end: a real ``sparkswarm
bot`` process, the Slack double (which refuses what Slack refuses and meters
methods by tier), a real redis-server, a real worker and the real swarm.

What Slack sends is encoded as Slack encodes it (``&lt;``, ``&amp;``,
``<!channel>`` markup); what the bot sends must reach the double escaped,
within Block Kit's limits, and without pausing every method for one
method's 429.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots import double
from tests.support.bot_harness import GROUP_MEMBER, OPERATOR, VIEWER, BotLab
from tests.support.queue_harness import QueueLab, free_port, queue_lab, wait_for

pytestmark = pytest.mark.integration
# Markup the bot may send: mentions of user ids. Anything else in "<...>" came
# from a user, the swarm or a job and was not escaped.
_OURS = re.compile(r"<@[UW][A-Z0-9]+>")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("bottext")) as lab:
        lab.start_worker(concurrency=2)
        yield lab


@pytest.fixture(scope="module")
def bots(lab: QueueLab) -> Iterator[BotLab]:
    bot_lab = BotLab(lab, Path(lab.folder))
    bot_lab.start_http(SPARKSWARM_BOT_FILE_THRESHOLD="600")
    yield bot_lab
    bot_lab.stop()


def sent_since(bots: BotLab, mark: int) -> list[Any]:
    """The double's calls after the ``mark``-th (what the bot sent since)."""
    return list(bots.web.calls)[mark:]


def raw_markup(calls: list[Any]) -> list[str]:
    """Every ``<...>`` in what the bot sent that is not one of its own mentions."""
    text = "\n".join(json.dumps(c.args) for c in calls)
    return re.findall(r"<[^<>]*>", _OURS.sub("", text))


def test_hostile_words_are_decoded_for_the_swarm_and_escaped_for_slack(
    bots: BotLab, gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    service = name("hostile")
    mark = len(bots.web.calls)
    # What a user typed: --label "a=<!channel> x&y" --env "X=<!here> a&b" --label b=`tick`;
    # Slack sends the typed &, <, > as entities.
    typed = (
        f"service create {service} {web_images['v1']} --replicas 0 "
        '--label "a=&lt;!channel&gt; x&amp;y" --env "X=&lt;!here&gt; a&amp;b" --label b=`tick`'
    )
    bots.slash("/sparkswarm", typed, OPERATOR)
    words_shown = f"service create {service}"
    final = wait_for(
        lambda: next(
            (
                m
                for m in list(bots.web.messages.values())
                if words_shown in m.text and any(k in m.text for k in ("*succeeded*", "*failed*"))
            ),
            None,
        ),
        60,
        "the outcome",
        explain=bots.dump,
    )
    assert "*succeeded*" in final.text, final.text
    spec = gw.inspect_service(service)["Spec"]
    assert spec["Labels"]["a"] == "<!channel> x&y"  # what the user typed, not "&lt;"
    assert spec["Labels"]["b"] == "`tick`"
    assert "X=<!here> a&b" in spec["TaskTemplate"]["ContainerSpec"]["Env"]
    calls = sent_since(bots, mark)
    assert raw_markup(calls) == []
    head = next(
        c.args["text"]
        for c in calls
        if c.method == "chat.postMessage" and str(c.args.get("text", "")).startswith("<@")
    )
    assert "&lt;!channel&gt; x&amp;y" in head
    assert head.count("`") == 2  # the backticks in the words did not end the code span


def test_special_mentions_and_invalid_names_are_answered_escaped(bots: BotLab) -> None:
    mark = len(bots.web.calls)
    bots.slash("/swarm", "scale <!channel>=3", OPERATOR)  # a typed @channel, as Slack sends it
    bots.slash("/sparkswarm", "service scale &lt;!channel&gt;=3", VIEWER)  # typed "<!channel>"
    bots.slash("/sparkswarm", "service ps <https://evil.example|click me>", VIEWER)
    refused = wait_for(
        lambda: [m for m in bots.ephemerals(OPERATOR) if "special mention" in m.text], 10, "refusal"
    )
    assert "cannot be part of a command" in refused[0].text
    wait_for(lambda: len(bots.ephemerals(VIEWER)) >= 2 or None, 30, "the usage answers")
    wait_for(
        lambda: any("&lt;!channel&gt;" in m.text for m in bots.ephemerals(VIEWER)) or None,
        10,
        "the invalid name, escaped",
    )
    assert raw_markup(sent_since(bots, mark)) == []


def test_a_listing_longer_than_a_message_says_how_many_more_and_attaches_the_table(
    bots: BotLab, gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    from sparkswarm.services import ops

    names = [name(f"many{i:03d}") for i in range(120)]
    for service in names:
        ops.create_service(gw, name=service, image=web_images["v1"], replicas=0, detach=True)
    mark = len(bots.web.calls)
    bots.slash("/swarm", "services", VIEWER)
    answer = wait_for(
        lambda: next((c for c in sent_since(bots, mark) if c.method == "chat.postMessage"), None),
        60,
        "the listing",
        explain=bots.dump,
    )
    assert answer.status == 200 and answer.response["ok"], answer.response
    blocks = answer.args["blocks"]
    assert len(blocks) <= 50 and len(str(answer.args["text"])) <= 40_000
    note = blocks[-1]["text"]["text"]
    shown = sum(1 for b in blocks if b.get("fields"))
    more = re.search(r"and (\d+) more: `sparkswarm service ls`", note)
    assert more, note
    files = wait_for(
        lambda: [
            f["content"].decode()
            for f in list(bots.web.files.values())
            if names[0] in f.get("content", b"").decode()
        ],
        30,
        "the whole table as a file",
        explain=bots.dump,
    )
    rows = files[0].splitlines()[1:]  # the title, then a row per service
    assert len(rows) == shown + int(more.group(1))
    assert all(any(service in row for row in rows) for service in names)


def test_one_methods_retry_after_does_not_hold_back_the_others(
    bots: BotLab, gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    from sparkswarm.services import ops

    service = name("limited")
    ops.create_service(gw, name=service, image=web_images["v1"], stop_grace_period="1s")
    bots.web.rate_limit("chat.update", 1, retry_after=8)
    mark = len(bots.web.calls)
    bots.slash("/swarm", f"scale {service}=2", OPERATOR)
    limited = wait_for(
        lambda: next(
            (c for c in sent_since(bots, mark) if c.method == "chat.update" and c.status == 429),
            None,
        ),
        30,
        "the edit Slack refused",
        explain=bots.dump,
    )
    bots.slash("/sparkswarm", "runs ls", VIEWER)  # answered with chat.postMessage
    answer = wait_for(
        lambda: next(
            (
                c
                for c in sent_since(bots, mark)
                if c.method == "chat.postMessage" and str(c.args.get("text")).startswith("runs")
            ),
            None,
        ),
        30,
        "the runs answer",
        explain=bots.dump,
    )
    # Posted while chat.update was still held back: the 429 paused that method only.
    assert answer.at < limited.at + 6
    final = bots.wait_final(f"service scale {service}=2")
    assert "*succeeded*" in final.text
    edits = [c for c in bots.web.calls_of("chat.update") if c.at > limited.at and c.status == 200]
    assert edits and edits[0].at - limited.at >= 7.5  # its own Retry-After was honoured


def test_the_user_group_lookup_waits_out_its_retry_after(
    bots: BotLab, gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    from sparkswarm.services import ops

    service = name("grouped")
    ops.create_service(gw, name=service, image=web_images["v1"], stop_grace_period="1s")
    bots.web.rate_limit("usergroups.users.list", 1, retry_after=1)
    # A bot that has not looked the group up yet (lookups are kept a minute).
    bots.start_http(free_port(), SPARKSWARM_BOT_FILE_THRESHOLD="600")
    bots.slash("/swarm", f"scale {service}=2", GROUP_MEMBER)
    final = bots.wait_final(f"service scale {service}=2", timeout=60)
    assert "*succeeded*" in final.text  # the member's role came from the group
    lookups = bots.web.calls_of("usergroups.users.list")
    refused = [c for c in lookups if c.status == 429]
    assert refused and any(c.status == 200 and c.at - refused[0].at >= 1 for c in lookups)
    assert not [m for m in bots.ephemerals(GROUP_MEMBER) if "needs the operator role" in m.text]


def test_the_double_keeps_blocks_when_an_edit_names_none(bots: BotLab) -> None:
    from slack_sdk import WebClient

    client = WebClient(token=double.BOT_TOKEN, base_url=bots.web.api_url)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "first"}}]
    ts = client.chat_postMessage(channel="C0OPS", text="first", blocks=blocks)["ts"]
    client.chat_update(channel="C0OPS", ts=ts, text="second")
    message = bots.web.messages[("C0OPS", ts)]
    assert (message.text, message.blocks) == ("second", blocks)
    client.chat_update(channel="C0OPS", ts=ts, text="third", blocks=[])
    assert bots.web.messages[("C0OPS", ts)].blocks == []


def test_slack_out_keeps_each_method_within_its_budget_against_the_metered_double() -> None:
    from slack_sdk import WebClient

    from sparkswarm.bots.blockkit import section
    from sparkswarm.bots.scrub import Scrubber
    from sparkswarm.bots.slack_out import RateLimited, SlackOut

    with double.SlackDouble() as web:
        web.invite("C0OPS", "C0GENERAL")
        out = SlackOut(WebClient(token=double.BOT_TOKEN, base_url=web.api_url), Scrubber([]))
        ts = out.post("C0OPS", "first", [section("first")])
        assert ts is not None
        web.rate_limit("chat.update", 1, retry_after=3)
        with pytest.raises(RateLimited):
            out.update("C0OPS", ts, "second", [section("second")], wait=False)
        refused = web.calls_of("chat.update")[-1]
        assert out.post("C0OPS", "another method") is not None
        assert web.calls_of("chat.postMessage")[-1].at - refused.at < 2  # not held back
        with pytest.raises(RateLimited):  # held back by the budget: Slack is not asked
            out.update("C0OPS", ts, "second", [section("second")], wait=False)
        assert len(web.calls_of("chat.update")) == 1
        assert out.update("C0OPS", ts, "second", [section("second")])  # waits its turn
        assert web.calls_of("chat.update")[-1].at - refused.at >= 2.5
        # A burst of posts to one channel is spaced by the budget: Slack refuses none.
        for i in range(6):
            assert out.post("C0GENERAL", f"post {i}") is not None
        posts = [c for c in web.calls_of("chat.postMessage") if c.args["channel"] == "C0GENERAL"]
        assert [c.status for c in posts] == [200] * 6
        assert posts[-1].at - posts[0].at >= 3.5  # about one a second after a burst of two
