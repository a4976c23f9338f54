"""The ``/swarm scale`` modal (pure): every view is one Slack takes (checked
with slack_sdk's View and Block models, as the double checks), the select
holds at most 100 services, and a submitted form becomes the grammar's
``service scale NAME=N`` or errors under the input at fault."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.views import View

from sparkswarm.bots import scale_modal
from sparkswarm.bots.double_rules import VIEW_BYTES, view_error


def _values(service: str | None, replicas: str | None) -> dict[str, Any]:
    option = {"value": service, "text": {"type": "plain_text", "text": "x"}} if service else None
    return {
        "service": {"value": {"type": "static_select", "selected_option": option}},
        "replicas": {"value": {"type": "number_input", "value": replicas}},
    }


def _options(view: dict[str, Any]) -> list[dict[str, Any]]:
    return list(view["blocks"][0]["element"]["options"])


def test_every_view_is_one_slack_takes() -> None:
    views = [
        scale_modal.loading_view("C0", "http://x/respond/1"),
        scale_modal.problem_view("C0", "engine <down> & out " * 200),
        scale_modal.scale_view([("web", 2), ("db", None)], "C0", "http://x/respond/1"),
        scale_modal.scale_view([], "C0"),
    ]
    for view in views:
        assert view_error(view) == {}, view
        View(**view).validate_json()  # slack_sdk's own check, directly
    chosen = views[2]
    assert [o["value"] for o in _options(chosen)] == ["db", "web"]
    assert [o["text"]["text"] for o in _options(chosen)] == ["db", "web (2)"]
    assert chosen["blocks"][1]["element"]["type"] == "number_input"
    assert "submit" in chosen and "submit" not in views[0] and "submit" not in views[3]
    assert "&lt;down&gt; &amp; out" in json.dumps(views[1])


def test_many_services_are_held_to_100_options_and_the_view_says_so() -> None:
    services = [(f"svc{i:03d}", 1) for i in range(150)]
    view = scale_modal.scale_view(services, "C0")
    assert len(_options(view)) == 100 and view_error(view) == {}
    assert "100 of 150 services shown" in json.dumps(view)


def test_names_are_clipped_in_the_text_and_too_long_ones_left_out() -> None:
    long = "s" * 100  # over an option's 75 characters of text, within its 150 of value
    too_long = "t" * 151
    view = scale_modal.scale_view([(long, 12), (too_long, 1)], "C0")
    options = _options(view)
    assert [o["value"] for o in options] == [long]
    assert len(options[0]["text"]["text"]) <= 75 and options[0]["text"]["text"].endswith("(12)")
    assert "1 of 2 services shown" in json.dumps(view) and view_error(view) == {}


def test_the_double_refuses_a_view_over_250_kb() -> None:
    view = scale_modal.scale_view([("web", 1)], "C0")
    big = {**view, "private_metadata": "x" * VIEW_BYTES}
    assert view_error(big)["error"] == "view_too_large"


def test_a_form_becomes_the_words_typed_in_chat() -> None:
    assert scale_modal.judge_submission(_values("web", "3")) == (
        ["service", "scale", "web=3"],
        {},
    )
    words, errors = scale_modal.judge_submission(_values(None, "3"))
    assert words == [] and list(errors) == ["service"]
    words, errors = scale_modal.judge_submission(_values("web", "-1"))
    assert words == [] and list(errors) == ["replicas"] and len(errors["replicas"]) <= 150
    # Over the replica limit: the grammar's refusal, under the number, not a huge scale.
    words, errors = scale_modal.judge_submission(_values("web", "100000000000"))
    assert words == [] and "over the limit" in errors["replicas"]
    words, errors = scale_modal.judge_submission(_values("bad name!", "1"))
    assert words == [] and list(errors) == ["service"]


def test_service_ls_rows_become_the_select_s_services() -> None:
    rows = [{"name": "web", "desired": 2}, {"name": "job", "desired": None}, {"x": 1}]
    assert scale_modal.services_of(rows) == [("web", 2), ("job", None)]
    assert scale_modal.services_of({"items": rows}) == [("web", 2), ("job", None)]
    assert scale_modal.services_of("nonsense") == []
