"""The ``/spark submit`` modal (pure): Slack would take the view, and a
submitted form becomes the words the grammar parses, or errors per input."""

from __future__ import annotations

import json
from typing import Any

from sparkswarm.bots import modal
from sparkswarm.bots.double_rules import view_error
from sparkswarm.spark.job_request import catalogue


def _values(job: str = "pi", args: str = "", stack: str = "spark", **more: str) -> dict[str, Any]:
    def text(value: str) -> dict[str, Any]:
        return {"value": {"type": "plain_text_input", "value": value or None}}

    values = {
        "job": {"value": {"type": "static_select", "selected_option": {"value": job, "text": {}}}},
        "args": text(args),
        "stack": text(stack),
    }
    for block, value in more.items():
        values[block] = text(value)
    return values


def test_the_view_is_one_slack_takes_with_the_catalogue() -> None:
    view = modal.submit_view(catalogue(), "C0GENERAL", "http://x/respond/1")
    assert view_error(view) == {}
    options = view["blocks"][0]["element"]["options"]
    assert [o["value"] for o in options] == [*catalogue(), modal.NEXT_FILE]
    assert "pi" in catalogue() and modal.NEXT_FILE not in catalogue()
    assert modal.origin(view["private_metadata"]) == ("C0GENERAL", "http://x/respond/1")


def test_a_long_catalogue_is_held_to_a_select_s_100_options() -> None:
    view = modal.submit_view([f"job{i}" for i in range(150)], "C0")
    options = view["blocks"][0]["element"]["options"]
    assert len(options) == 100 and options[-1]["value"] == modal.NEXT_FILE
    assert view_error(view) == {}


def test_the_double_refuses_a_view_over_slack_s_limits() -> None:
    view = modal.submit_view(["pi"], "C0")
    long_title = {**view, "title": {"type": "plain_text", "text": "x" * 25}}
    assert view_error(long_title)["error"] == "invalid_arguments"
    many = {**view, "blocks": view["blocks"] * 30}
    assert "no more than 100" in json.dumps(view_error(many))


def test_a_form_becomes_the_words_typed_in_chat() -> None:
    words = modal.words_of(_values("pi", "100 'a b'", "s1", cores="2", memory="512m"))
    assert words == [
        "spark",
        "submit",
        "pi",
        "100",
        "a b",
        "--stack",
        "s1",
        "--total-executor-cores",
        "2",
        "--executor-memory",
        "512m",
    ]
    assert modal.judge_submission(_values("pi", "10")) == (
        ["spark", "submit", "pi", "10", "--stack", "spark"],
        {},
    )


def test_what_the_grammar_refuses_is_shown_under_its_input() -> None:
    words, errors = modal.judge_submission(_values(cores="many"))
    assert words == [] and list(errors) == ["cores"] and "many" in errors["cores"]
    _, errors = modal.judge_submission(_values(memory="lots"))
    assert list(errors) == ["memory"]
    _, errors = modal.judge_submission(_values(args="'unbalanced"))
    assert list(errors) == ["args"] and "quotation" in errors["args"]
    _, errors = modal.judge_submission(_values(stack="Bad Name!"))
    assert list(errors) == ["stack"]
    assert all(len(text) <= 150 for text in errors.values())


def test_metadata_that_is_not_ours_gives_no_origin() -> None:
    assert modal.origin("not json") == ("", "")
    assert modal.origin("[1]") == ("", "")


def test_the_file_you_attach_next_stands_in_the_script_s_place() -> None:
    """The form's words keep a placeholder no file can be called (a file's
    name has no ``@``); they are judged as if a script were attached, and the
    script's name takes the placeholder's place when it comes."""
    words, errors = modal.judge_submission(_values(modal.NEXT_FILE, "7 x", "s1", cores="1"))
    assert errors == {}
    assert words == [
        "spark", "submit", modal.NEXT_FILE, "7", "x", "--stack", "s1",
        "--total-executor-cores", "1",
    ]  # fmt: skip
    assert modal.with_script(words, "job.py")[2:4] == ["job.py", "7"]
    assert modal.with_script(["spark", "submit", "pi"], "job.py") == ["spark", "submit", "pi"]
    _, errors = modal.judge_submission(_values(modal.NEXT_FILE, cores="many"))
    assert list(errors) == ["cores"]


def test_a_long_grammar_error_under_an_input_ends_in_an_ellipsis() -> None:
    long = "x" * 400 + "\nsecond line"
    shown = modal.input_error(ValueError(long))
    assert len(shown) == modal.INPUT_ERROR and shown.endswith("…") and "second" not in shown
    assert modal.input_error(ValueError("short")) == "short"
    assert modal.input_error(ValueError("")) == "not understood"
