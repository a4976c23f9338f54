"""The bot's pure parts: chat text -> words, roles, the scrubber, message
rendering, Slack's request signature, and a fuzz of the whole text path."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sparkswarm.bots import commands, present
from sparkswarm.bots.payloads import signed_headers
from sparkswarm.bots.roles import RoleMap, allows, role_map
from sparkswarm.bots.scrub import MASK, Scrubber
from sparkswarm.errors import InvalidRequest


@pytest.mark.parametrize(
    ("command", "text", "words"),
    [
        ("/sparkswarm", "service scale web=3", ["service", "scale", "web=3"]),
        ("/spark", "submit pi 100", ["spark", "submit", "pi", "100"]),
        ("/spark", "status", ["spark", "status"]),
        ("/swarm", "services", ["service", "ls"]),
        ("/swarm", "scale web=3 db=1", ["service", "scale", "web=3", "db=1"]),
        ("/swarm", "nodes", ["node", "ls"]),
        ("/swarm", "service ps web", ["service", "ps", "web"]),
        ("", "<@U0BOT> runs ls", ["runs", "ls"]),
        ("", "<@U0BOT|sparkswarm> sparkswarm runs ls", ["runs", "ls"]),
        ("", "schedule ls", ["schedule", "ls"]),
        ("/sparkswarm", "\u201cservice\u201d ls", ["service", "ls"]),
        ("/sparkswarm", "", []),
    ],
)
def test_chat_text_becomes_cli_words(command: str, text: str, words: list[str]) -> None:
    assert commands.words_of(command, text) == words


@pytest.mark.parametrize("text", ['service "scale', "x" * 2001])
def test_unusable_text_is_invalid(text: str) -> None:
    with pytest.raises(InvalidRequest):
        commands.words_of("/sparkswarm", text)


def test_policy_comes_from_the_registry() -> None:
    scale = commands.policy("service.scale", {"replicas": {"web": 3}})
    assert (scale.role, scale.read_only, scale.chat, scale.destructive) == (
        "operator",
        False,
        True,
        False,
    )
    assert commands.policy("service.scale", {"replicas": {"web": 0}}).destructive
    assert commands.policy("stack.rm", {"name": "x"}).role == "admin"
    assert not commands.policy("swarm.rotate_join_token", {}).chat
    assert not commands.policy("swarm.init", {}).chat
    assert commands.policy("runs.ls", {}).queue_read
    assert commands.policy("service.ls", {}).read_only


def test_chat_cannot_name_files_of_the_bots_host(tmp_path: Any) -> None:
    script = tmp_path / "job.py"
    script.write_text("print(1)\n")
    with pytest.raises(InvalidRequest, match="files of this host"):
        commands.parse(["spark", "submit", str(script)])
    assert commands.parse(["spark", "submit", "pi", "100"]).params["script_name"] == "pi.py"


def test_roles_highest_grant_wins() -> None:
    roles = role_map({"viewer": ["*"], "operator": ["S0OPS", "C0OPS"], "admin": ["U0ADMIN"]})
    assert roles.role_of("U0ANY", "C0GENERAL") == "viewer"
    assert roles.role_of("U0ANY", "C0OPS") == "operator"
    assert roles.role_of("U0ANY", "C0GENERAL", ["S0OPS"]) == "operator"
    assert roles.role_of("U0ADMIN", "C0OPS") == "admin"
    assert RoleMap({}).role_of("U0ANY", "C0GENERAL") is None
    assert roles.groups == ["S0OPS"]
    assert allows("admin", "operator") and not allows("viewer", "operator")
    assert not allows(None, "viewer")


@pytest.mark.parametrize("lists", [{"root": ["U1"]}, {"admin": ["not an id"]}, {"admin": ["X123"]}])
def test_bad_role_config_is_refused(lists: dict[str, list[str]]) -> None:
    with pytest.raises(InvalidRequest):
        role_map(lists)


def test_scrubber_removes_tokens_and_configured_secrets() -> None:
    scrub = Scrubber(["hunter2hunter2", "xoxb-123-abc"])
    text = (
        "join with SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-7p73s1dx5in4tatdymy"
        " unlock SWMKEY-1-7c37Cc8654o6p38HnroywCi19pllOnGtbdZEgtKxZu8 password hunter2hunter2"
        " bot xoxb-123-abc app xapp-1-A0-1-abc user xoxp-9-9"
    )
    clean = scrub.text(text)
    for secret in ("SWMTKN-", "SWMKEY-", "hunter2", "xoxb-", "xapp-", "xoxp-"):
        assert secret not in clean
    assert clean.count(MASK) == 6
    data = scrub.data({"blocks": [{"text": {"text": "SWMTKN-1-abc"}}], "n": 3})
    assert data == {"blocks": [{"text": {"text": MASK}}], "n": 3}


def test_status_message_shows_state_progress_and_outcome() -> None:
    view = present.RunView("slack:123.456", "service scale web=3", created_at=100.0)
    text, blocks = present.status_message(view)
    assert ":hourglass_flowing_sand: *queued*" in text and "123.456" in text

    @dataclass
    class Ev:
        type: str
        at: float = 101.0
        message: str = ""
        task: str = ""
        state: str = ""
        result: dict[str, Any] = field(default_factory=dict)
        error: str = ""

    view.apply(Ev("operation.started", message="started on w1"))
    view.apply(Ev("task.state", task="abc", state="running", message="web.1 running"))
    view.apply(Ev("task.state", task="def", state="starting", message="web.2 starting"))
    text, _ = present.status_message(view)
    assert "*running*" in text and "1 running, 1 starting" in text
    view.apply(Ev("operation.succeeded", at=105.5, result={"output": ["Pi is roughly 3.14"]}))
    text, blocks = present.status_message(view)
    assert ":white_check_mark: *succeeded*" in text and "in 4.5 s" in text
    assert "Pi is roughly 3.14" in json.dumps(blocks)
    failed = present.RunView("r", "service rm x")
    failed.apply(Ev("operation.failed", error="service 'x' not found"))
    assert "reason: service 'x' not found" in present.status_message(failed)[0]


def test_a_result_too_long_for_the_thread_says_how_much_is_not_shown() -> None:
    services = [{"name": f"s{i}", "replicas": i} for i in range(20)]
    lines = present.summarize(services)
    assert len(lines) == 8 and lines[:2] == ["name=s0, replicas=0", "name=s1, replicas=1"]
    assert lines[-1] == "… 13 more"
    output = [f"line {i}" for i in range(30)]
    lines = present.summarize({"output": output, "exit_code": 0})
    assert lines[0] == "… 23 earlier lines of output" and lines[1:7] == output[-7:-1]
    assert lines[-1] == "… 2 more"  # the last output line and exit_code
    assert present.summarize({"output": ["only"], "exit_code": 0}) == ["only", "exit_code: 0"]
    odd = present.summarize([{"x": "y" * 500}])[0]
    assert len(odd) == present.ROW_TEXT and odd.endswith("…")


def test_durations_and_usage_messages() -> None:
    assert present.duration(4.24) == "4.2 s"
    assert present.duration(185) == "3 min 05 s"
    shown = present.usage_message("unknown command 'x'\ncommands:\n  service ...")
    assert shown.startswith(":grey_question: unknown command 'x'\n```commands:")


def test_our_signature_is_the_one_slack_sdk_verifies() -> None:
    from slack_sdk.signature import SignatureVerifier

    body = b"command=%2Fspark&text=status"
    headers = signed_headers("secret", body)
    verifier = SignatureVerifier("secret")
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = signed_headers("secret", body, timestamp=1)
    assert not verifier.is_valid_request(body, stale)


# --- fuzz: arbitrary chat text never crashes and never submits garbage ------


class _FakeRedis:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def set(self, key: str, value: str, **kwargs: Any) -> bool:
        if kwargs.get("nx") and key in self.data:
            return False
        self.data[key] = value
        return True


class _FakeQueue:
    """Stands in for the queue client (a pure unit test: no Redis)."""

    def __init__(self) -> None:
        self.settings = type("S", (), {"key_prefix": "t:"})()
        self.redis = _FakeRedis()
        self.submitted: list[tuple[str, dict[str, Any]]] = []
        self.refused: list[Any] = []
        self.store = type("Store", (), {"note": lambda s, run_id, text: None})()

    def refuse(self, **refusal: str) -> None:
        self.refused.append(refusal)

    def submit(self, op: str, params: dict[str, Any], **kwargs: Any) -> Any:
        from sparkswarm.workers.client import Submission

        self.submitted.append((op, params))
        return Submission("r1", True, "1-0")

    def list(self, **kwargs: Any) -> list[Any]:
        return []

    def get(self, run_id: str) -> Any:
        from sparkswarm.errors import NotFound

        raise NotFound(f"no operation run {run_id!r}")

    def wait(self, run_id: str, timeout: float) -> Any:
        return type("Rec", (), {"state": "failed", "error": "no worker here", "result": None})()


class _FakeOut:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.halted = threading.Event()

    def ephemeral(self, channel: str, user: str, text: str, thread_ts: Any = None) -> None:
        self.sent.append(text)

    def post(self, channel: str, text: str, blocks: Any = None, thread_ts: Any = None) -> str:
        self.sent.append(text)
        return "1.1"

    def upload(self, *args: Any, **kwargs: Any) -> bool:
        return True

    def call(self, method: str, **args: Any) -> None:
        return None  # any other Web API call (views.open, files.info): Slack refused it


# A pool that runs what it is given at once (the read pool, made synchronous).
_INLINE: Any = type("Inline", (), {"submit": lambda self, fn, *args: fn(*args) or True})()

_PREFIXES = st.sampled_from(
    ["", "service ", "service scale ", "runs ", "spark submit ", "node ", "swarm ", "help "]
)


@settings(max_examples=300, deadline=None)
@example(command="/sparkswarm", prefix="service ", text="inspect 0")  # an engine read: submitted
@given(
    command=st.sampled_from(["/sparkswarm", "/spark", "/swarm", ""]),
    prefix=_PREFIXES,
    text=st.text(max_size=80),
)
def test_fuzzed_text_never_crashes_and_never_submits_unparsed_words(
    command: str, prefix: str, text: str
) -> None:
    from sparkswarm.bots.dispatch import ChatRequest, Dispatcher
    from sparkswarm.config import Settings

    qc, out = _FakeQueue(), _FakeOut()
    notifier: Any = type("N", (), {"follow": lambda *a: None})()
    dispatcher = Dispatcher(
        qc,
        out,
        role_map({"admin": ["U0ADMIN"]}),
        notifier,
        Settings(),  # type: ignore[arg-type]
        reads=_INLINE,  # reads answer before handle() returns
    )
    dispatcher.handle(ChatRequest(command, prefix + text, "U0ADMIN", "C0GENERAL", "k1"))
    assert out.sent, "every command gets an answer"
    assert not any("internal error" in m or "Traceback" in m for m in out.sent)
    try:
        request = commands.parse(commands.words_of(command, prefix + text))
    except InvalidRequest:
        assert qc.submitted == []
        return
    for op, params in qc.submitted:  # only what the parser produced, never anything else
        assert (op, params) == (request.op, dict(request.params))


def test_log_records_are_scrubbed() -> None:
    import logging

    from sparkswarm.bots.scrub import ScrubbingFilter

    record = logging.LogRecord(
        "x", logging.WARNING, "f", 1, "user typed %s", ("SWMTKN-1-abc",), None
    )
    try:
        raise ValueError("xoxb-1-2-secret")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert ScrubbingFilter(Scrubber()).filter(record)
    text = logging.Formatter().format(record)
    assert "SWMTKN-" not in text and "xoxb-" not in text and "ValueError" in text
