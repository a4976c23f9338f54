"""Spark Connect, the pure parts: the `connect` parameter's overlays, the
refusal to publish without a token, the URL, and `spark sql` words (CLI and chat)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots.commands import words_of
from sparkswarm.errors import InvalidRequest
from sparkswarm.requests import parse
from sparkswarm.spark.connect import ConnectEndpoint, published_port, refuse_open_connect
from sparkswarm.spark.sql import MAX_STATEMENT, run_tag, validate_statement
from sparkswarm.stacks.params import is_on, overlay_files

SPARK = Path(__file__).resolve().parents[2] / "stacks" / "spark" / "stack.yml"


def _files(request: Any) -> list[str]:
    return [Path(f["name"]).name for f in request.params["files"]]


def _secrets(request: Any) -> list[str]:
    return [s["name"] for s in request.params["generated_secrets"]]


def test_connect_is_off_by_default() -> None:
    request = parse(["stack", "deploy", "spark"])
    assert _files(request) == ["stack.yml"]
    assert _secrets(request) == ["spark_auth"]


@pytest.mark.parametrize(
    "words",
    [["stack", "deploy", "spark", "--set", "connect=true"], ["spark", "up", "--connect"]],
)
def test_connect_adds_the_server_and_its_token_unpublished(words: list[str]) -> None:
    request = parse(words)
    assert _files(request) == ["stack.yml", "connect.yml", "connect-token.yml"]
    assert _secrets(request) == ["spark_auth", "spark_connect_token"]


def test_a_given_overlay_still_comes_after_the_connect_overlays() -> None:
    request = parse(
        [
            "stack",
            "deploy",
            "s",
            "-c",
            str(SPARK),
            "-c",
            str(SPARK.parent / "publish-ui.yml"),
            "--set",
            "connect=yes",
        ]
    )
    assert _files(request) == ["stack.yml", "connect.yml", "connect-token.yml", "publish-ui.yml"]


def test_publishing_with_the_token_is_allowed() -> None:
    request = parse(["spark", "up", "--connect-port", "25002"])
    assert _files(request)[-1] == "connect-publish.yml"


@pytest.mark.parametrize(
    "words",
    [
        [
            "stack",
            "deploy",
            "spark",
            "--set",
            "connect=true",
            "--set",
            "connect_port=25002",
            "--set",
            "connect_token_secret=",
        ],
        ["spark", "up", "--connect-port", "25002", "--stack", "s"],
    ],
)
def test_publishing_without_a_token_is_refused(words: list[str], monkeypatch: Any) -> None:
    if words[0] == "spark":
        monkeypatch.setenv("connect_token_secret", "")  # the environment feeds parameters too
    with pytest.raises(InvalidRequest, match=r"without a client token.*nothing was deployed"):
        parse(words)


def test_a_connect_value_that_is_not_a_boolean_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="expected true or false"):
        parse(["stack", "deploy", "spark", "--set", "connect=maybe"])


@pytest.mark.parametrize(
    ("value", "on"),
    [
        (None, False),
        ("", False),
        ("0", False),
        ("False", False),
        ("off", False),
        ("true", True),
        ("1", True),
        ("15002", True),
        ("a_secret", True),
    ],
)
def test_what_turns_an_overlay_on(value: str | None, on: bool) -> None:
    assert is_on(value) is on


def test_overlays_follow_every_condition() -> None:
    env = {"connect": "true", "connect_token_secret": "", "connect_port": "0"}
    assert [p.name for p in overlay_files(SPARK, env)] == ["connect.yml"]


def _service(**extra: Any) -> dict[str, Any]:
    return {"deploy": {"labels": {"org.sparkswarm.spark.role": "connect"}}, **extra}


def test_an_own_file_publishing_a_connect_server_needs_the_token() -> None:
    ports = [{"target": 15002, "published": 1, "mode": "host"}]
    with pytest.raises(InvalidRequest, match="without a client token"):
        refuse_open_connect({"services": {"c": _service(ports=ports)}})
    token = [{"source": "t", "target": "connect_token"}]
    refuse_open_connect({"services": {"c": _service(ports=ports, secrets=token)}})
    refuse_open_connect({"services": {"c": _service()}})  # not published
    refuse_open_connect({"services": {"web": {"ports": ports}}})  # not a Connect server


def test_the_url_has_the_token_only_when_there_is_one() -> None:
    with_token = ConnectEndpoint("s", "10.0.0.1", 25002, True, "abc")
    assert with_token.url() == "sc://10.0.0.1:25002/;token=abc"
    assert with_token.url(with_token=False) == "sc://10.0.0.1:25002/"
    assert ConnectEndpoint("s", "s_connect", 15002, False, None).url() == "sc://s_connect:15002/"


def test_the_published_port_is_read_from_the_spec() -> None:
    spec = {"Spec": {"EndpointSpec": {"Ports": [{"TargetPort": 15002, "PublishedPort": 9}]}}}
    assert published_port(spec) == 9
    assert published_port({"Spec": {}}) is None


def test_spark_sql_words_are_the_statement() -> None:
    request = parse(["spark", "sql", "SELECT", "-1", "AS", "x", "--stack", "s1"])
    assert request.op == "spark.sql"
    assert request.params == {"stack": "s1", "statement": "SELECT -1 AS x"}
    assert not request.read_only  # it may write: a recorded run on a worker


@pytest.mark.parametrize("statement", ["", " ; ", "x" * (MAX_STATEMENT + 1)])
def test_an_empty_or_huge_statement_is_refused(statement: str) -> None:
    with pytest.raises(InvalidRequest):
        validate_statement(statement)


@pytest.mark.parametrize(
    ("command", "text", "words"),
    [
        ("/spark", "sql SELECT 'a&lt;b', -1", ["spark", "sql", "--", "SELECT 'a<b', -1"]),
        (
            "/spark",
            "sql --stack s2 SELECT 1+1",
            ["spark", "sql", "--stack", "s2", "--", "SELECT 1+1"],
        ),
        (
            "",
            '<@U1> spark sql -s=s3 SELECT "x"',
            ["spark", "sql", "--stack", "s3", "--", 'SELECT "x"'],
        ),
        ("/sparkswarm", "spark sql SELECT 1", ["spark", "sql", "--", "SELECT 1"]),
        ("/spark", "sqlx", ["spark", "sqlx"]),
    ],
)
def test_chat_keeps_the_statement_as_typed(command: str, text: str, words: list[str]) -> None:
    assert words_of(command, text) == words


def test_chat_and_cli_parse_a_statement_alike() -> None:
    chat = parse(words_of("/spark", "sql --stack s1 SELECT 'x y'  ,  2"))
    cli = parse(["spark", "sql", "--stack", "s1", "SELECT 'x y'  ,  2"])
    assert chat.params == cli.params


def test_a_run_tag_names_the_run() -> None:
    assert run_tag("slack:abc") == "sparkswarm-sql-slack-abc"
    assert run_tag(None) != run_tag(None)
