"""The thread message of a ``spark sql`` run. Pure: no Slack, no Redis.

While the statement runs the message carries a Cancel button (action
``sparkswarm_sql_cancel``, value: the run id; the click is checked against
the clicker's role like every button). Its answer is a fixed-width table in
a code block, with as many rows as one section holds; the rows left out and
a result larger than what was fetched are said in words, never cut silently.
"""

from __future__ import annotations

from typing import Any

from sparkswarm.bots.blockkit import (
    ELLIPSIS,
    SECTION_TEXT,
    Block,
    buttons,
    code_block,
    escape,
    section,
)

CANCEL_ACTION = "sparkswarm_sql_cancel"
CELL = 40  # characters of a cell shown; longer ones end in an ellipsis (said below the table)


def cancel_button(run_id: str) -> Block:
    """An actions block with the statement's Cancel button."""
    cancel = (CANCEL_ACTION, "Cancel statement", run_id[:2000], "danger")
    return buttons([cancel], block_id=f"sql-cancel-{run_id}"[:255])


def _clip(value: str) -> tuple[str, bool]:
    flat = " ".join(value.split())
    if len(flat) <= CELL:
        return flat, False
    return flat[: CELL - 1] + ELLIPSIS, True


def table_lines(columns: list[str], rows: list[list[str]]) -> tuple[list[str], bool]:
    """(a header, a rule and one fixed-width line per row; whether a cell was clipped)."""
    clipped = False
    cells: list[list[str]] = []
    for row in [columns, *rows]:
        line = []
        for value in row:
            text, cut = _clip(str(value))
            clipped = clipped or cut
            line.append(text)
        cells.append(line)
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(len(columns))]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in cells
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return lines, clipped


def answer_body(result: dict[str, Any], limit: int = SECTION_TEXT) -> tuple[list[Block], str]:
    """(blocks, plain text) of a ``SqlAnswer`` (as JSON): the table, then
    the row count, the time, and what was left out."""
    columns = [str(c) for c in result.get("columns") or []]
    rows = [[str(c) for c in row] for row in result.get("rows") or []]
    seconds = float(result.get("seconds") or 0.0)
    session = "warm" if result.get("warm") else "new"
    summary = f"{len(rows)} rows in {seconds:.2f} s ({session} session)"
    if result.get("more"):
        summary = f"more than {len(rows)} rows: the first {len(rows)} were fetched; " + summary
    if not columns:
        return [section(escape(summary))], summary
    lines, clipped = table_lines(columns, rows)
    budget = limit - 60
    shown, used = 2, len(escape(lines[0])) + len(lines[1]) + 2
    while shown < len(lines) and used + len(escape(lines[shown])) + 1 <= budget:
        used += len(escape(lines[shown])) + 1
        shown += 1
    block, _ = code_block(lines[:shown], limit=limit)
    notes = [summary]
    left = len(lines) - shown
    if left:
        notes.append(f"{left} of {len(rows)} rows not shown here (run it in a terminal for all)")
    if clipped:
        notes.append(f"cells longer than {CELL} characters end in {ELLIPSIS}")
    text = "\n".join(lines[:shown] + notes)
    return [section(block), section(escape("; ".join(notes)))], text
