"""The request layer: command words -> typed requests, with nothing run and
nothing printed; the CLI builds the very same requests."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparkswarm.errors import InvalidRequest
from sparkswarm.requests import Request, parse, usage
from tests.support.cli import invoke
from tests.unit.test_operations_contract import SAMPLES


@pytest.mark.parametrize(
    ("words", "op", "params"),
    [
        (["service", "scale", "web=3"], "service.scale", {"replicas": {"web": 3}}),
        (["service", "scale", "web=3", "--timeout", "5"], "service.scale", {"timeout": 5.0}),
        (
            ["service", "update", "web", "--update-delay", "5s", "--rollback-order", "start-first"],
            "service.update",
            {"update": {"delay": "5s"}, "rollback": {"order": "start-first"}},
        ),
        (["node", "drain", "n1"], "node.availability", {"availability": "drain"}),
        (["node", "activate", "n1"], "node.availability", {"availability": "active"}),
        (["spark", "submit", "pi", "100"], "spark.submit", {"args": ["100"]}),
        (["spark", "submit", "pi", "--arg", "7"], "spark.submit", {"args": ["7"]}),
        (["stack", "deploy", "spark", "--set", "workers=3"], "stack.deploy", {"name": "spark"}),
        (["runs", "ls", "--limit", "5"], "runs.ls", {"limit": 5}),
    ],
)
def test_words_become_the_request_they_ask_for(
    words: list[str], op: str, params: dict[str, Any]
) -> None:
    request = parse(words)
    assert request.op == op
    assert request.words == tuple(words)
    for key, value in params.items():
        assert request.params[key] == value


def test_reads_are_read_requests_and_changes_are_not() -> None:
    assert parse(["service", "ls"]).read_only
    assert parse(["spark", "status"]).read_only
    assert parse(["runs", "ls"]).read_only
    assert not parse(["service", "rm", "web"]).read_only


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ([], "no command given"),
        (["servce", "ls"], "did you mean `service`"),
        (["service", "scal", "web=3"], "did you mean `service scale`"),
        (["service"], "needs a command"),
        (["service", "scale", "web"], "SERVICE=REPLICAS"),
        (["service", "scale", "x=\u00b2"], "SERVICE=REPLICAS"),
        (["service", "scale", "x=\u0661"], "SERVICE=REPLICAS"),
        (["service", "scale", "x=\uff11"], "SERVICE=REPLICAS"),
        (["service", "scale", "web=3", "--timeout", "-1"], "--timeout must be a positive"),
        (["service", "scale", "web=3", "--timeout", "nan"], "--timeout must be a positive"),
        (["service", "scale", "web=3", "--timeout", "inf"], "--timeout must be a positive"),
        (["service", "scale", "--bogus"], "No such option"),
        (["service", "create", "Bad Name", "busybox"], "invalid service name"),
        (["service", "create", "web", "busybox", "--publish", "x:y"], "publish"),
        (["service", "update", "web", "--update-delay", "soon"], "invalid duration"),
        (["service", "logs", "web"], "not a request"),
        (["swarm", "doctor"], "not a request"),
        (["swarm", "join-token", "worker"], "run it in a terminal"),
        (["swarm", "join", "10.77.0.1:2377", "--token", "nope"], "not a join token"),
        (["node", "ls", "--role", "boss"], "--role must be one of"),
        (["node", "label", "n1"], "give key=value labels"),
        (["network", "create", "n1", "--subnet", "10.0.0.1/8"], "not a network CIDR"),
        (["stack", "deploy", "nosuchstack"], "nosuchstack"),
        (["stack", "deploy", "web", "--set", "nope=1"], "nope"),
        (["spark", "submit", "/dev/zero"], "not a regular file"),
        (["spark", "submit", "pi", "--conf", "novalue"], "expected key=value"),
        (["images", "build", "everything"], "nothing to build"),
        (["runs", "ls", "--state", "sleeping"], "unknown state"),
        (["schedule", "add", "x"], "not a request"),
        (["service", "scale", "--help"], "usage|Usage"),
    ],
)
def test_bad_words_are_refused_with_a_sentence(words: list[str], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse(words)


def test_chat_cannot_name_files_of_the_bots_host(tmp_path: Any) -> None:
    script = tmp_path / "job.py"
    script.write_text("print(1)\n")
    assert parse(["spark", "submit", str(script)]).params["script"] == "print(1)\n"
    with pytest.raises(InvalidRequest, match="files of this host"):
        parse(["spark", "submit", str(script)], allow_files=False)
    with pytest.raises(InvalidRequest, match="compose files of this host"):
        parse(["stack", "deploy", "x", "-c", "/etc/hostname"], allow_files=False)
    assert parse(["spark", "submit", "pi"], allow_files=False).params["script_name"] == "pi.py"


def test_a_big_file_is_refused_before_it_is_read(tmp_path: Any) -> None:
    big = tmp_path / "big.py"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: nothing to read if refused first
    with pytest.raises(InvalidRequest, match="larger than"):
        parse(["spark", "submit", str(big)])


def test_usage_lists_groups_and_commands_in_plain_text() -> None:
    everything = usage()
    assert "service (" in everything and "scale" in everything
    one = usage(["service", "scale"])
    assert "Usage: sparkswarm service scale" in one
    assert "\x1b[" not in one and "\u256d" not in one  # no colours, no rich boxes


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=6))
def test_arbitrary_words_never_crash_and_never_print(words: list[str]) -> None:
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            request = parse(words)
        except InvalidRequest:
            request = None
    assert out.getvalue() == "" and err.getvalue() == ""
    assert request is None or isinstance(request, Request)


@settings(max_examples=200, deadline=None)
@given(
    group=st.sampled_from(["service", "node", "stack", "spark", "runs", "swarm", "network"]),
    rest=st.lists(
        st.one_of(
            st.sampled_from(["scale", "create", "rm", "ls", "--timeout", "--json", "=", "web=1"]),
            st.text(max_size=8),
        ),
        max_size=5,
    ),
)
def test_near_valid_words_never_crash(group: str, rest: list[str]) -> None:
    """Words either parse into a request or are refused with InvalidRequest."""
    with contextlib.suppress(InvalidRequest):
        request = parse([group, *rest])
        assert request.op and isinstance(request.params, dict)


MUTATING = sorted(name for name, words in SAMPLES.items() if not parse(words).read_only)


@pytest.mark.parametrize("name", MUTATING)
def test_the_cli_builds_the_same_request_as_the_parser(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a schedule or chat would run is what the terminal runs."""
    from sparkswarm.cli import common, spark

    seen: list[Request] = []

    def capture(request: Request, **_: Any) -> Any:
        seen.append(request)
        raise SystemExit(0)

    monkeypatch.setattr(common, "perform", capture)
    monkeypatch.setattr(spark, "perform", capture)
    monkeypatch.setattr("sparkswarm.cli.network.perform", capture)
    result = invoke(*SAMPLES[name])
    assert result.exit_code == 0, result.output
    assert len(seen) == 1
    parsed = parse(SAMPLES[name])
    cli_params = dict(seen[0].params)
    if name == "spark.submit":  # the job id comes from the run (one per firing of a schedule)
        assert cli_params["job_id"] is None
    assert (seen[0].op, cli_params) == (parsed.op, parsed.params)


@pytest.mark.parametrize(
    "words",
    [
        ["service", "scale", "web=\u00b2", "--detach"],
        ["service", "create", "web", "busybox", "--replicas", "-1", "--detach"],
        ["service", "update", "web", "--update-delay", "soon", "--detach"],
        ["stack", "deploy", "web", "--set", "nope=1", "--detach"],
    ],
)
def test_detached_commands_refuse_bad_input_before_submitting(
    words: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a queue configured (a closed port: any contact would fail as
    'unreachable', exit 1), bad input is refused first: exit 2, no run id."""
    from sparkswarm.config import get_settings

    monkeypatch.setenv("SPARKSWARM_REDIS_URL", "redis://127.0.0.1:9/0")
    get_settings.cache_clear()
    try:
        result = invoke(*words)
    finally:
        get_settings.cache_clear()
    # The console script turns our errors into exit codes; invoke() hands
    # them back as the exception.
    assert isinstance(result.exception, InvalidRequest), (result.exception, result.output)
    assert "unreachable" not in str(result.exception)
