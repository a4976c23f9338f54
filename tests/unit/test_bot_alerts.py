"""Alert messages (pure): escaped, within Block Kit's limits, buttons by kind."""

from __future__ import annotations

import json

import pytest

from sparkswarm.bots.alerts import buttons_for, incident_message, summary_message, words_for
from sparkswarm.bots.blockkit import SECTION_TEXT as SECTION_LIMIT
from sparkswarm.bots.blockkit import bounded, escape
from sparkswarm.workers.incidents import Incident


def incident(kind: str = "flapping", obj: str = "web", **changes: object) -> Incident:
    values: dict[str, object] = {
        "key": f"{kind}:{obj}",
        "kind": kind,
        "object": obj,
        "title": f"service {obj} is flapping",
        "opened_at": 0.0,
        "updated_at": 0.0,
        "detail": {"last_error": "task: non-zero exit (3)", "exit_code": 3},
    }
    values.update(changes)
    return Incident.model_validate(values)


def test_escape() -> None:
    assert escape("a <!channel> & <@U1>") == "a &lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_bounded_says_what_was_left_out() -> None:
    text = bounded("x" * 5000, 3000, "`sparkswarm alerts show k`")
    assert len(text) <= 3000
    assert text.endswith("more characters: `sparkswarm alerts show k`)")
    kept = text.index("…")
    assert f"({5000 - kept} more characters" in text
    assert bounded("short", 3000, "") == "short"


def test_everything_from_the_swarm_is_escaped() -> None:
    hostile = incident(title="<!here> & <https://evil|click>", detail={"last_error": "<@U1>"})
    text, blocks = incident_message(hostile)
    body = text + json.dumps(blocks)
    assert "<!here>" not in body and "<@U1>" not in body and "<https://evil" not in body
    assert "&lt;!here&gt; &amp;" in blocks[0]["text"]["text"]


def test_a_huge_error_stays_within_the_section_limit() -> None:
    big = incident(detail={"last_error": "e" * 10_000, "exit_code": 1})
    _, blocks = incident_message(big)
    assert len(blocks[0]["text"]["text"]) <= SECTION_LIMIT
    assert "sparkswarm alerts show flapping:web" in blocks[0]["text"]["text"]


@pytest.mark.parametrize(
    ("kind", "state", "actions"),
    [
        ("flapping", "open", ["tasks", "rollback", "scale0", "silence"]),
        ("node_down", "open", ["drain", "silence"]),
        ("manager_lost", "open", ["silence"]),
        ("flapping", "resolved", []),
    ],
)
def test_buttons_by_kind(kind: str, state: str, actions: list[str]) -> None:
    found = incident(kind, state=state)
    assert [a for a, _ in buttons_for(found)] == actions
    _, blocks = incident_message(found)
    if actions:
        ids = [e["action_id"] for e in blocks[-1]["elements"]]
        assert ids == [f"sparkswarm_alert_{a}" for a in actions]
    else:
        assert blocks[-1]["type"] != "actions"


def test_buttons_are_the_typed_commands() -> None:
    assert words_for("scale0", incident()) == ["service", "scale", "web=0"]
    assert words_for("rollback", incident()) == ["service", "rollback", "web"]
    down = incident("node_down", "w1", detail={"node_id": "abc"})
    assert words_for("drain", down) == ["node", "drain", "abc"]
    assert words_for("silence", down) is None


def test_a_summary_lists_at_most_a_screenful() -> None:
    many = [incident(obj=f"s{i}") for i in range(100)]
    _, blocks = summary_message(many)
    assert len(blocks) == 2
    assert "and 60 more" in blocks[1]["text"]["text"]
    assert len(blocks[1]["text"]["text"]) <= SECTION_LIMIT


def test_bounded_never_cuts_an_entity_in_two() -> None:
    text = bounded(escape("<" * 2000), 3000, "`x`")
    assert len(text) <= 3000
    kept = text.partition("…")[0]
    assert kept.endswith("&lt;") and kept.count("&") == kept.count(";")
    assert f"({8000 - len(kept)} more characters: `x`)" in text
