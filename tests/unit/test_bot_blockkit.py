"""Chat text as Slack reads it: escaping, decoding, Block Kit's limits, and
the rate budgets. Every block the bot can produce is checked with slack_sdk's
Block Kit models and the limits Slack documents (``double_rules``), never
against the bot's own idea of them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparkswarm.bots import answers, approvals, blockkit, commands, present
from sparkswarm.bots.budget import Budgets, retry_after
from sparkswarm.bots.double_rules import Meter, block_errors, message_error
from sparkswarm.bots.jobview import JobView
from sparkswarm.config import Settings
from sparkswarm.errors import InvalidRequest

HOSTILE = [
    "<!channel>",
    "<!here|here>",
    "<@U0ADMIN>",
    "<#C0OPS|ops>",
    "<https://evil.example|click me>",
    "a=`<!channel>`",
    "```<!everyone>```",
    "&lt;!here&gt; & <b>",
]
# The only markup the bot may send: mentions of user ids.
_OURS = re.compile(r"<@[UW][A-Z0-9]+>")


def assert_valid(blocks: list[dict[str, Any]], text: str = "") -> None:
    """Valid for slack_sdk's models and within Slack's documented limits."""
    from slack_sdk.models.blocks import Block

    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.to_dict()  # raises SlackObjectFormationError over a limit
    assert block_errors(blocks) == []
    assert message_error({"text": text, "blocks": blocks}) == {}


def assert_no_markup_but_ours(value: Any) -> None:
    text = json.dumps(value)
    assert "<" not in _OURS.sub("", text), text


# --- escaping ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("a & b", "a &amp; b"),
        ("&lt;", "&amp;lt;"),
        ("<https://evil.example|click me>", "&lt;https://evil.example|click me&gt;"),
        ("plain", "plain"),
    ],
)
def test_escape_turns_slack_markup_into_text(raw: str, escaped: str) -> None:
    assert blockkit.escape(raw) == escaped


def test_a_backtick_cannot_close_a_code_span_and_clipping_keeps_entities_whole() -> None:
    span = blockkit.code("x` <!channel> `y")
    assert span.count("`") == 2 and span.startswith("`") and span.endswith("`")
    assert "<!channel>" not in span and "&lt;!channel&gt;" in span
    clipped = blockkit.clip("ab<<<<", 8)  # "ab&lt;&lt;..." cut inside an entity
    assert clipped == "ab…" or clipped.endswith(";…")
    assert len(blockkit.clip("x" * 500, 100)) == 100 and blockkit.clip("x" * 500, 100)[-1] == "…"


def test_code_block_says_what_it_left_out() -> None:
    block, cut = blockkit.code_block([f"line {i} " + "x" * 80 for i in range(100)])
    assert cut and len(block) <= blockkit.SECTION_TEXT and "more lines" in block
    block, cut = blockkit.code_block(["a```b", "<!here>"])
    assert not cut and block.count("```") == 2 and "&lt;!here&gt;" in block


# --- decoding what Slack sends ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            'service update web --env "X=&lt;!here&gt; a&amp;b"',
            ["service", "update", "web", "--env", "X=<!here> a&b"],
        ),
        ("runs ls --by <@U123ABC|alice>", ["runs", "ls", "--by", "U123ABC"]),
        ("stack ls <#C0OPS|ops>", ["stack", "ls", "C0OPS"]),
        (
            "x --url <https://a.example/?q=1&amp;r=2|a.example>",
            ["x", "--url", "https://a.example/?q=1&r=2"],
        ),
        ("x &amp;lt;", ["x", "&lt;"]),  # the user typed "&lt;"
    ],
)
def test_slack_encoding_is_decoded_before_parsing(text: str, words: list[str]) -> None:
    assert commands.words_of("/sparkswarm", text) == words


@pytest.mark.parametrize(
    "text", ["service scale <!channel>=3", "x <!here>", "x <!subteam^S1|@ops>"]
)
def test_special_mentions_are_refused_as_words(text: str) -> None:
    with pytest.raises(InvalidRequest, match="special mention"):
        commands.words_of("/sparkswarm", text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_what_the_user_typed_comes_back_exactly(typed: str) -> None:
    # Slack encodes typed &, <, > as entities; decoding gives the typed text back.
    assert commands.decode(blockkit.escape(typed)) == typed


# --- every message the bot makes is valid Block Kit and escaped ------------------


@dataclass
class Ev:
    type: str
    at: float = 101.0
    message: str = ""
    task: str = ""
    state: str = ""
    result: Any = field(default_factory=dict)
    error: str = ""
    job_id: str = ""
    reason: str = ""
    app_id: str = ""


@pytest.mark.parametrize("hostile", HOSTILE)
def test_status_messages_escape_the_swarms_and_the_users_text(hostile: str) -> None:
    view = present.RunView("slack:1.2", f"service create x IMG --label a={hostile}")
    view.apply(Ev("operation.started", message=f"started {hostile}"))
    view.apply(Ev("task.state", task="t1", state="running", message=hostile))
    for text, blocks in [present.status_message(view)]:
        assert_valid(blocks, text)
        assert_no_markup_but_ours([text, blocks])
    view.apply(Ev("operation.failed", error=f"bad label {hostile}" * 200))
    text, blocks = present.status_message(view)
    assert_valid(blocks, text)
    assert_no_markup_but_ours([text, blocks])
    done = present.RunView("r", "service ls")
    done.apply(Ev("operation.succeeded", result={"output": [hostile * 300] * 40, "n": hostile}))
    text, blocks = present.status_message(done)
    assert_valid(blocks, text)
    assert_no_markup_but_ours([text, blocks])


def test_job_heads_escape_names_and_mention_only_user_ids() -> None:
    view = present.RunView("r", "spark submit pi")
    view.apply(Ev("operation.succeeded", result={"job_id": "j<1>"}))
    view.op = "spark.submit"
    view.job = JobView("j<1>", state="CANCELLED", cancelled_by="<!channel>")
    view.state = "succeeded"
    text, blocks = present.status_message(view)
    assert_valid(blocks, text)
    assert_no_markup_but_ours([text, blocks])
    view.job.cancelled_by = "U0OPER"
    assert "by <@U0OPER>" in present.status_message(view)[0]


def test_a_listing_of_120_services_fits_and_counts_what_it_leaves_out() -> None:
    rows = [
        {"name": f"svc-{i:03d}", "replicas": "1/1", "mode": "replicated", "image": "busybox:1"}
        for i in range(120)
    ]
    text, blocks = answers.read_answer("service ls", rows)
    assert_valid(blocks)
    assert len(blocks) == 50
    note = blocks[-1]
    assert note["block_id"] == blockkit.CUT
    assert "and 72 more: `sparkswarm service ls`" in note["text"]["text"]
    assert all(f"svc-{i:03d}" in text for i in range(120))  # the file holds every row
    answer = blockkit.reply(text, text, blocks, threshold=2800)
    assert answer.blocks == blocks and answer.file == text
    assert answer.text is not None and len(answer.text) <= 3000


def test_long_read_answers_hostile_cells_and_empty_values_stay_within_limits() -> None:
    result = {"output": ["x" * 4427], "status": "<!channel>"}
    text, blocks = answers.read_answer("swarm status", result)
    answer = blockkit.reply(text, text, blocks, 2800)
    assert answer.blocks is not None and answer.text is not None
    assert_valid(answer.blocks, answer.text)
    assert blocks[0]["block_id"] == blockkit.CUT  # the line was clipped: the file follows
    rows = [{"name": h, "error": "", "image": "y" * 5000} for h in HOSTILE]
    text, blocks = answers.table_answer("<!here> " * 40, rows, ["name", "error", "image"])
    answer = blockkit.reply(text, text, blocks, 2800)
    assert answer.blocks is not None and answer.text is not None
    assert_valid(answer.blocks, answer.text)
    assert_no_markup_but_ours([answer.text, answer.blocks])
    assert blocks[-1]["block_id"] == blockkit.CUT  # the cut cells are said too


@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_other_answer_is_valid_and_escaped(hostile: str) -> None:
    @dataclass
    class Record:
        id: str = "j1"
        name: str = hostile
        state: str = "FAILED"
        reason: str = hostile
        requester: str = "U0OPER"
        source: str = "slack"
        created_at: float = 1.0
        started_at: float | None = 2.0
        finished_at: float | None = 3.0
        op: str = hostile
        output: list[str] = field(default_factory=lambda: [hostile] * 3)
        app_id: str = ""
        stack: str = "spark"
        script: str = hostile
        args: list[str] = field(default_factory=list)
        cancelled_by: str = ""

    for _text, blocks in [
        answers.runs_answer([Record()]),
        present.confirm_blocks("c1", f"service rm {hostile}", "U0OPER", 120),
        answers.read_answer(f"service ps {hostile}", [{"name": hostile, "state": hostile}]),
    ]:
        assert_valid(blocks)
        assert_no_markup_but_ours(blocks)
    answer = blockkit.reply(f"run {hostile}", json.dumps({"x": hostile}), None, 2800)
    assert answer.blocks is not None
    assert_valid(answer.blocks)
    assert_no_markup_but_ours(answer.blocks)
    for text in [
        present.usage_message(f"invalid name {hostile!r}\nusage: service scale NAME=N {hostile}"),
        present.thread_head("U0OPER", f"service create x --label a={hostile}"),
        present.read_failed(hostile, hostile),
        approvals.expired_text(hostile),
        approvals.answered_text(
            approvals.Pending(
                op="service.rm",
                params={},
                words=hostile,
                requester=hostile,
                requester_team="",
                channel="C0OPS",
                thread_ts="",
                expires=0.0,
                role="operator",
                two_person=False,
                answer="confirmed",
                done_by=hostile,
            )
        ),
        present.problem(hostile),
    ]:
        assert_no_markup_but_ours(text)


def test_a_file_threshold_outside_what_a_section_holds_is_refused() -> None:
    for bad in ("0", "5000", "abc"):
        with pytest.raises(InvalidRequest, match="SPARKSWARM_BOT_FILE_THRESHOLD"):
            Settings(bot_file_threshold=bad)
    assert Settings(bot_file_threshold="600").bot_file_threshold == 600


# --- the double refuses what Slack refuses ----------------------------------------


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"blocks": "[not json"}, "invalid_blocks_format"),
        ({"blocks": [_section("x")] * 51}, "invalid_blocks"),
        ({"blocks": [_section("x" * 3001)]}, "invalid_blocks"),
        ({"blocks": [_section("")]}, "invalid_blocks"),
        (
            {"blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": ""}]}]},
            "invalid_blocks",
        ),
        (
            {"blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}]},
            "invalid_blocks",
        ),
        (
            {"blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x"}] * 11}]},
            "invalid_blocks",
        ),
        (
            {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]},
            "invalid_blocks",
        ),
        ({"blocks": [{"type": "no-such-block"}]}, "invalid_blocks"),
        ({"text": "x" * 40_000, "blocks": [_section("x" * 3000)] * 50}, ""),
    ],
)
def test_the_double_refuses_what_slack_refuses(args: dict[str, Any], error: str) -> None:
    assert message_error(args).get("error", "") == error
    if error == "invalid_blocks":
        assert all("[json-pointer:/blocks" in e for e in message_error(args)["errors"])


def test_the_double_meters_each_method_by_its_tier() -> None:
    meter = Meter()
    assert [meter.admit("chat.update", "", 0.0) for _ in range(12)] == [0] * 12
    assert meter.admit("chat.update", "", 0.0) == 1  # 50 a minute, whole seconds
    assert meter.admit("chat.postEphemeral", "", 0.0) == 0  # another method: its own budget
    assert meter.admit("chat.update", "", 1.3) == 0
    posts = [meter.admit("chat.postMessage", "C1", 0.0) for _ in range(4)]
    assert posts == [0, 0, 0, 1] and meter.admit("chat.postMessage", "C2", 0.0) == 0


# --- the bot's budgets ---------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_429_holds_back_its_method_only_for_its_retry_after() -> None:
    clock = Clock()
    budgets = Budgets(clock)
    budgets.limited("chat.update", "", 3.0)
    assert budgets.take("chat.update") == pytest.approx(3.0)
    assert budgets.take("chat.postMessage", "C1") == 0.0  # not a global pause
    assert budgets.take("usergroups.users.list") == 0.0
    clock.now += 3.0
    assert budgets.take("chat.update") == 0.0


def test_budgets_follow_the_tiers_per_channel_posts_and_keep_a_reserve() -> None:
    clock = Clock()
    budgets = Budgets(clock)
    assert [budgets.take("chat.postMessage", "C1") for _ in range(2)] == [0.0, 0.0]
    assert budgets.take("chat.postMessage", "C1") == pytest.approx(1.0)
    assert budgets.take("chat.postMessage", "C2") == 0.0
    groups = [budgets.take("usergroups.users.list") for _ in range(5)]
    assert groups[:4] == [0.0] * 4 and groups[4] == pytest.approx(3.0)  # tier 2: 20 a minute
    # Progress edits leave three edits of chat.update's budget to outcomes.
    edits = [budgets.take("chat.update", reserve=3) for _ in range(12)]
    assert edits.count(0.0) == 8
    assert [budgets.take("chat.update") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budgets.take("chat.update") > 0


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": ["7"]}, 7.0),
        ({}, 1.0),
        ({"Retry-After": "x"}, 1.0),
    ],
)
def test_retry_after_is_read_like_slack_sends_it(headers: dict[str, Any], seconds: float) -> None:
    assert retry_after(headers) == seconds


_ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)


@settings(max_examples=150, deadline=None)
@given(words=_ANY_TEXT, lines=st.lists(_ANY_TEXT, max_size=60), rows=st.integers(0, 130))
def test_any_text_from_anywhere_makes_valid_escaped_messages(
    words: str, lines: list[str], rows: int
) -> None:
    view = present.RunView("slack:1", words)
    for line in lines:
        view.apply(Ev("task.state", task=line[:5], state=line[:20], message=line))
    view.apply(Ev("operation.failed", error="\n".join(lines)))
    table = [
        {"name": (lines or [words])[i % max(1, len(lines))], "state": words} for i in range(rows)
    ]
    rendered = [
        present.status_message(view),
        answers.read_answer(words, table),
        answers.read_answer(words, {"output": lines, "note": words}),
        present.confirm_blocks("c", words, words, 60),
    ]
    for text, blocks in rendered:
        reply = blockkit.reply(text, text, blocks, 2800)
        assert reply.blocks is not None and reply.text is not None
        assert_valid(reply.blocks, reply.text)
        assert_no_markup_but_ours([reply.text, reply.blocks])


def test_a_secret_with_markup_characters_is_scrubbed_after_escaping_too() -> None:
    from sparkswarm.bots.scrub import MASK, Scrubber

    secret = "p&ss<w>rd-1234"
    _, blocks = answers.read_answer("swarm status", {"output": [f"password={secret}"]})
    clean = Scrubber([secret]).data(blocks)
    assert "p&amp;ss&lt;w&gt;rd" not in json.dumps(clean) and MASK in json.dumps(clean)
