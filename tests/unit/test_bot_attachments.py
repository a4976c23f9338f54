"""The pure checks on files attached to a chat ``spark submit`` (no Slack):
names, types and sizes, the words they complete, where the token may go,
what came back, and the request layer taking attachments by name."""

from __future__ import annotations

import base64

import pytest

from sparkswarm.bots.attachments import (
    Attachment,
    AttachmentLimits,
    allowed_url,
    check,
    complete_words,
    looks_like,
)
from sparkswarm.bots.commands import parse
from sparkswarm.errors import InvalidRequest

LIMITS = AttachmentLimits(script=1024 * 1024, data=20 * 1024 * 1024, files=5)
MIB = 1024 * 1024


def _file(name: str, size: int = 10, filetype: str = "", mimetype: str = "") -> Attachment:
    kind = filetype or ("python" if name.endswith(".py") else "csv")
    return Attachment("F1", name, size, kind, mimetype, "https://files.slack.com/x/" + name)


def test_a_script_and_data_within_the_limits_pass() -> None:
    check([_file("job.py", 5000), _file("a.csv", 19 * MIB)], LIMITS)


def test_a_30_mib_data_file_is_refused_with_the_limit() -> None:
    with pytest.raises(InvalidRequest, match=r"30\.0 MiB in all; at most 20\.0 MiB"):
        check([_file("job.py"), _file("big.csv", 30 * MIB)], LIMITS)


def test_data_files_count_together() -> None:
    with pytest.raises(InvalidRequest, match="in all"):
        check([_file("a.csv", 11 * MIB), _file("b.csv", 11 * MIB)], LIMITS)


def test_a_script_over_its_limit_is_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"job\.py is 2\.0 MiB; a script .* 1\.0 MiB"):
        check([_file("job.py", 2 * MIB)], LIMITS)


def test_a_py_that_slack_takes_for_a_binary_is_not_python() -> None:
    with pytest.raises(InvalidRequest, match=r"job\.py is not a Python script .*zip"):
        check([_file("job.py", filetype="zip", mimetype="application/zip")], LIMITS)
    check([_file("job.py", filetype="text", mimetype="text/plain")], LIMITS)


@pytest.mark.parametrize("name", ["../etc/passwd", "a b.py", ".hidden.py", "x" * 120 + ".py"])
def test_names_the_request_layer_refuses_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequest, match="letters, digits"):
        check([_file(name)], LIMITS)


def test_too_many_files_and_twice_the_same_name_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="at most 5"):
        check([_file(f"d{i}.csv") for i in range(6)], LIMITS)
    with pytest.raises(InvalidRequest, match=r"two attached files are called a\.csv"):
        check([_file("a.csv"), _file("a.csv")], LIMITS)


def test_an_unknown_size_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="no size"):
        check([_file("job.py", size=-1)], LIMITS)


def test_the_one_script_becomes_the_target_when_left_out() -> None:
    words = ["spark", "submit", "--stack", "s", "--total-executor-cores", "2"]
    assert complete_words(words, ["job.py"]) == ["spark", "submit", "job.py", *words[2:]]
    assert complete_words(["spark", "submit"], ["job.py"]) == ["spark", "submit", "job.py"]


def test_a_named_target_stays_and_other_attachments_travel_as_files() -> None:
    words = ["spark", "submit", "job.py", "--stack", "s", "arg1"]
    got = complete_words(words, ["job.py", "data.csv", "util.py"])
    assert got == [*words, "--py-files", "util.py", "--files", "data.csv"]
    named = ["spark", "submit", "job.py", "--files", "data.csv"]
    assert complete_words(named, ["job.py", "data.csv"]) == named


def test_options_go_before_a_double_dash() -> None:
    got = complete_words(["spark", "submit", "job.py", "--", "--x"], ["job.py", "d.txt"])
    assert got == ["spark", "submit", "job.py", "--files", "d.txt", "--", "--x"]


def test_without_a_named_script_two_py_files_or_none_are_refused() -> None:
    with pytest.raises(InvalidRequest, match=r"a\.py, b\.py"):
        complete_words(["spark", "submit", "--stack", "s"], ["a.py", "b.py"])
    with pytest.raises(InvalidRequest, match="attached: none"):
        complete_words(["spark", "submit"], ["data.csv"])


def test_attachments_go_with_spark_submit_only() -> None:
    with pytest.raises(InvalidRequest, match="`spark submit` only"):
        complete_words(["service", "ls"], ["job.py"])


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://files.slack.com/files-pri/T1-F1/job.py", True),
        ("https://slack.com/x", True),
        ("http://files.slack.com/x", False),  # no token in the clear
        ("https://files.slack.com.evil.example/x", False),
        ("https://evil.example/files.slack.com", False),
        ("http://127.0.0.1:5555/files-pri/F1/job.py", True),  # the configured API's host
        ("http://127.0.0.1:5556/files-pri/F1/job.py", False),
    ],
)
def test_the_token_goes_only_to_slack(url: str, ok: bool) -> None:
    assert allowed_url(url, "http://127.0.0.1:5555/api/") is ok


def test_a_login_page_or_another_size_is_not_the_file() -> None:
    f = _file("job.py", size=12)
    assert looks_like(b"print('hi')\n", "application/octet-stream", f) is None
    login = looks_like(b"<html>" + b" " * 6, "text/html; charset=utf-8", f)
    assert login and "web page instead of job.py" in login
    assert "declared 12 bytes and sent 3" in str(looks_like(b"abc", "text/plain", f))
    page = _file("page.html", size=6, filetype="html")
    assert looks_like(b"<html>", "text/html", page) is None  # an attached HTML file is fine


def test_the_grammar_takes_attachments_by_name_as_the_cli_takes_files() -> None:
    script, data = b"print('from chat')\n", b"a,b\n1,2\n"
    words = ["spark", "submit", "job.py", "x", "--stack", "s", "--files", "data.csv"]
    request = parse(words, {"job.py": script, "data.csv": data})
    assert request.op == "spark.submit"
    params = dict(request.params)
    assert params["script"] == script.decode() and params["script_name"] == "job.py"
    assert params["args"] == ["x"] and params["stack"] == "s"
    assert params["files"] == [{"name": "data.csv", "data": base64.b64encode(data).decode()}]


def test_without_the_attachment_chat_still_cannot_name_a_file() -> None:
    with pytest.raises(InvalidRequest, match="files of this host cannot be named"):
        parse(["spark", "submit", "job.py"], {"other.py": b"print(1)\n"})
    with pytest.raises(InvalidRequest, match="cannot be named"):
        parse(["spark", "submit", "/etc/job.py"], {"job.py": b"print(1)\n"})
