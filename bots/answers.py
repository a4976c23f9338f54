"""Answers to read commands in chat: a result's rows as a table, else its
lines (``service ls``, ``runs ls``, ``spark jobs``, ``spark job ID``).

Each answer is (the whole answer as text, blocks): the blocks hold what a
message can, and say what they leave out; the text goes up as a file when
the message cannot hold it (``blockkit.reply``). Pure: no Slack, no Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sparkswarm.bots.blockkit import (
    CUT,
    FIELD_TEXT,
    MESSAGE_BLOCKS,
    clip,
    code,
    code_block,
    escape,
    fields_section,
    header,
    section,
)
from sparkswarm.bots.jobview import duration
from sparkswarm.bots.present import EMOJI, Blocks, summarize

if TYPE_CHECKING:
    from sparkswarm.spark.job_record import JobRecord


def table_answer(
    title: str, rows: list[dict[str, Any]], columns: list[str], command: str = ""
) -> tuple[str, Blocks]:
    """(the whole table as text, blocks): a header and a section of fields
    per row, as many rows as a message holds; the rest are counted in a note
    ("and 73 more: `sparkswarm service ls`", block_id ``CUT``) and the whole
    table goes up as a file (``blockkit.reply``)."""
    text_lines = [title] + [" | ".join(str(r.get(c, "")) for c in columns) for r in rows]
    blocks: Blocks = [header(title)]
    if not rows:
        blocks.append(section("_nothing_"))
    room = MESSAGE_BLOCKS - 2  # the header and the note
    clipped = False
    for row in rows[:room]:
        cells = [(c, _cell(c, row.get(c))) for c in columns]
        clipped = clipped or any(len(escape(v)) > FIELD_TEXT - 110 for _, v in cells)
        blocks.append(fields_section(cells))
    left = len(rows) - room
    if left > 0 or clipped:
        where = f": {code('sparkswarm ' + command)}" if command else ""
        more = f"and {left} more{where}" if left > 0 else "some cells are cut"
        blocks.append(section(f"{more} (the whole table is in the file below)", block_id=CUT))
    return "\n".join(text_lines), blocks


def _cell(column: str, value: Any) -> str:
    if value in (None, ""):
        return "-"
    if column == "state":
        return f"{EMOJI.get(str(value), '')} {value}"
    return str(value)


def read_answer(op: str, result: dict[str, Any] | list[Any]) -> tuple[str, Blocks]:
    """A read operation's result: rows (or the first list of rows) as a table, else lines."""
    if isinstance(result, list):
        rows = [r for r in result if isinstance(r, dict)]
        return table_answer(op, rows, _columns(rows), op)
    for key, value in result.items():
        if isinstance(value, list) and (not value or isinstance(value[0], dict)):
            return table_answer(f"{op}: {key}", value, _columns(value), op)
    lines = summarize(result, limit=40)
    head = f"*{clip(op, 200)}*\n"
    block, cut = code_block(lines, limit=3000 - len(head))
    answer = section(head + block, block_id=CUT if cut else None)
    return f"{op}\n" + "\n".join(lines), [answer]


_PREFERRED = (
    "name",
    "hostname",
    "replicas",
    "mode",
    "image",
    "role",
    "status",
    "availability",
    "state",
    "current_state",
    "desired_state",
    "node",
    "ports",
    "error",
)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    """Up to six columns worth showing, in a readable order."""
    if not rows:
        return []
    keys = list(rows[0])
    chosen = [k for k in _PREFERRED if k in keys][:6]
    return chosen or keys[:6]


def runs_answer(records: list[Any]) -> tuple[str, Blocks]:
    """``runs ls`` as a table of run id, operation, state, who, duration."""
    rows = [
        {
            "run": r.id[:12],
            "op": r.op,
            "state": r.state,
            "by": f"{r.requester} ({r.source})",
            "took": duration(
                (r.finished_at - (r.started_at or r.created_at)) if r.finished_at else None
            ),
        }
        for r in records
    ]
    return table_answer("runs", rows, ["run", "op", "state", "by", "took"], "runs ls")


def jobs_answer(records: list[Any]) -> tuple[str, Blocks]:
    """``spark jobs`` as a table of job id, name, state, who, duration, reason."""
    from sparkswarm.spark.job_record import record_row

    rows = []
    for record in records:
        row = record_row(record)
        row["state"] = str(row["state"]).lower()
        row["by"] = f"{row['requester']} ({row['source']})"
        rows.append(row)
    columns = ["id", "name", "stack", "state", "by", "duration", "reason"]
    return table_answer("spark jobs", rows, columns, "spark jobs")


def job_answer(record: JobRecord) -> tuple[str, Blocks]:
    """``spark job ID``: the record's state as a header and its lines as code."""
    from sparkswarm.spark.job_record import describe

    lines = describe(record)
    state = str(record.state).lower()
    head = (
        f"{EMOJI.get(state, '')} *{escape(state)}* spark job {code(str(record.id))}"
        f" ({clip(str(record.name), 200)})"
    )
    text = f"spark job {record.id} ({record.name}): {state}\n" + "\n".join(lines)
    return text, [section(head), section(code_block(lines[1:])[0])]
