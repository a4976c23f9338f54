"""A `spark sql` run's thread message: the table within Block Kit limits,
escaped, rows left out said in words, and the Cancel button while it runs."""

from __future__ import annotations

import json

from sparkswarm.bots.blockkit import SECTION_TEXT
from sparkswarm.bots.present import RunView, status_message
from sparkswarm.bots.sqlview import CANCEL_ACTION, answer_body


def _answer(rows: list[list[str]], **extra: object) -> dict[str, object]:
    return {"columns": ["n", "s"], "rows": rows, "seconds": 0.42, "warm": True, **extra}


def test_a_small_answer_is_a_table_with_its_count_and_time() -> None:
    blocks, text = answer_body(_answer([["2", "a<b & c"]]))
    shown = json.dumps(blocks)
    assert "a&lt;b &amp; c" in shown and "a<b" not in shown
    assert "1 rows in 0.42 s (warm session)" in text
    assert "not shown" not in text


def test_rows_that_do_not_fit_are_counted_never_cut_silently() -> None:
    rows = [[str(i), "x" * 30] for i in range(1000)]
    blocks, text = answer_body(_answer(rows, more=True))
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in blocks)
    shown = blocks[0]["text"]["text"].count("\n") - 1  # the header and the rule
    assert f"{1000 - shown} of 1000 rows not shown" in text
    assert "more than 1000 rows" in text


def test_long_cells_are_clipped_and_said_so() -> None:
    _, text = answer_body(_answer([["1", "y" * 500]]))
    assert "cells longer than 40 characters" in text


def test_a_running_statement_has_a_cancel_button_and_an_answer_has_none() -> None:
    view = RunView("r1", "spark sql -- SELECT 1", state="running", op="spark.sql")
    _, blocks = status_message(view)
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [(CANCEL_ACTION, "r1")]
    view.state, view.finished_at, view.result = "succeeded", view.created_at + 1, _answer([])
    _, blocks = status_message(view)
    assert not [b for b in blocks if b["type"] == "actions"]


def test_an_interrupted_statement_says_why() -> None:
    view = RunView("r1", "spark sql -- SELECT 1", state="failed", op="spark.sql")
    view.error = "statement interrupted: it ran longer than the time limit of 3 s"
    view.finished_at = view.created_at + 3
    _, blocks = status_message(view)
    assert "time limit of 3 s" in json.dumps(blocks)
    assert not [b for b in blocks if b["type"] == "actions"]
