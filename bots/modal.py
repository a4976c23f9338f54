"""The ``/spark submit`` modal: what it shows, and the words it stands for. Pure.

``/spark submit`` with no arguments opens :func:`submit_view` (``views.open``
with the command's ``trigger_id``): a catalogue job, the stack, arguments,
cores and executor memory. Its submission becomes command words
(:func:`words_of`), which go through the same grammar, role check and
thread as typed words. A modal cannot take a file: choosing "the file you
attach next" (:data:`NEXT_FILE` in the script's place in the words) makes
the bot wait for the user's next ``.py`` in that channel (see
``dispatch.Dispatcher`` and ``workers/attachment_waits.py``). The conversation and the command's
``response_url`` travel in the view's ``private_metadata`` (set by the bot,
returned by Slack as it was), so the run is posted where the command was typed.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from sparkswarm.bots import blockkit

CALLBACK_ID = "sparkswarm_submit"
OPTIONS = 100  # a static_select holds at most 100 options
OPTION_TEXT = 75  # an option's text, at most
OPTION_VALUE = 150  # an option's value, at most
# The select's value (and the words' script) for "the file you attach next":
# no catalogue job or file can be called this (a file name has no ``@``).
NEXT_FILE = "@next-attached-file"
NEXT_FILE_TEXT = "The .py file you attach next"
FIELD = "value"  # every input's action_id (also the scale form's)
INPUT_ERROR = 150  # characters of the error shown under a form's input: one line


def form_view(
    callback_id: str,
    title: str,
    channel: str,
    response_url: str,
    blocks: list[Any],
    submit: str | None = None,
) -> dict[str, Any]:
    """A modal form (slack_sdk's ``View``, checked against Block Kit's view
    limits) that remembers where it was opened: ``channel`` and the
    command's ``response_url`` travel in its ``private_metadata`` (:func:`origin`)."""
    from slack_sdk.models.views import View

    view = View(
        type="modal",
        callback_id=callback_id,
        title=blockkit.plain(title),
        submit=blockkit.plain(submit) if submit else None,
        close=blockkit.plain("Cancel"),
        private_metadata=json.dumps({"channel": channel, "response_url": response_url}),
        blocks=blocks,
    )
    return dict(view.to_dict())


def form_input(block_id: str, label: str, element: Any, optional: bool = False) -> Any:
    """An input block of a form; its element answers under :data:`FIELD`."""
    from slack_sdk.models.blocks import InputBlock

    element.action_id = FIELD
    label_text = blockkit.plain(label)
    return InputBlock(block_id=block_id, label=label_text, element=element, optional=optional)


def _text(initial: str = "", max_length: int = 200, hint: str = "") -> Any:
    from slack_sdk.models.blocks import PlainTextInputElement

    return PlainTextInputElement(
        max_length=max_length,
        initial_value=initial or None,
        placeholder=blockkit.plain(hint) if hint else None,
    )


def submit_view(jobs: list[str], channel: str, response_url: str = "") -> dict[str, Any]:
    """The modal for a ``spark submit`` in ``channel``: ``jobs`` (catalogue
    names, the first 99) and "the file you attach next" in a select, then
    stack, arguments, cores, memory."""
    from slack_sdk.models.blocks import Option, StaticSelectElement

    options = [
        Option(text=blockkit.plain(blockkit.clip(name, OPTION_TEXT)), value=name)
        for name in jobs
        if len(name) <= OPTION_VALUE
    ][: OPTIONS - 1]
    options.append(Option(text=blockkit.plain(NEXT_FILE_TEXT), value=NEXT_FILE))
    select = StaticSelectElement(options=options, initial_option=options[0])
    blocks = [
        form_input("job", "Job", select),
        form_input("stack", "Spark stack", _text("spark", 63)),
        form_input("args", "Arguments", _text(max_length=500, hint="e.g. 100"), optional=True),
        form_input(
            "cores", "Total executor cores", _text(max_length=4, hint="e.g. 2"), optional=True
        ),
        form_input(
            "memory", "Executor memory", _text(max_length=16, hint="e.g. 512m, 1g"), optional=True
        ),
        blockkit.context(
            "Your own script: choose *the .py file you attach next*, then attach it "
            "in this channel; or attach it to a message, "
            "`@sparkswarm spark submit job.py --stack spark`"
        ),
    ]
    return form_view(CALLBACK_ID, "Submit a Spark job", channel, response_url, blocks, "Submit")


def field_value(values: dict[str, Any], block: str) -> str:
    """What input ``block`` of a submitted form holds ("" when empty or absent)."""
    field = values.get(block, {}).get(FIELD, {})
    if not isinstance(field, dict):
        return ""
    if field.get("type") == "static_select":
        option = field.get("selected_option") or {}
        return str(option.get("value") or "") if isinstance(option, dict) else ""
    return str(field.get("value") or "").strip()


def words_of(state_values: dict[str, Any]) -> list[str]:
    """The ``spark submit`` words a submitted modal stands for (its
    ``view.state.values``). ValueError (said in the modal) for arguments
    with unbalanced quotes."""
    words = ["spark", "submit", field_value(state_values, "job")]
    try:
        words += shlex.split(field_value(state_values, "args"))
    except ValueError as exc:
        raise ValueError(f"cannot split the arguments into words: {exc}") from None
    words += ["--stack", field_value(state_values, "stack")]
    if cores := field_value(state_values, "cores"):
        words += ["--total-executor-cores", cores]
    if memory := field_value(state_values, "memory"):
        words += ["--executor-memory", memory]
    return words


def with_script(words: list[str], name: str) -> list[str]:
    """``spark submit`` words waiting for a file (:data:`NEXT_FILE` as the
    script) with the attached script ``name`` in its place."""
    return [name if i == 2 and word == NEXT_FILE else word for i, word in enumerate(words)]


def stand_in(words: list[str]) -> tuple[list[str], dict[str, bytes]]:
    """Words waiting for a file, with a stand-in script attached: what the
    grammar judges before the real one comes."""
    return with_script(words, "attached.py"), {"attached.py": b"pass\n"}


def origin(private_metadata: str) -> tuple[str, str]:
    """(channel, response_url) the modal was opened for; empty when unknown."""
    try:
        data = json.loads(private_metadata or "{}")
    except json.JSONDecodeError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("channel") or ""), str(data.get("response_url") or "")


def judge_submission(state_values: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """(the words, {}) when a submitted modal parses as the grammar's
    ``spark submit``, else ([], {block: what is wrong}) for Slack to show
    under that input (``response_action: errors``)."""
    from sparkswarm.bots import commands
    from sparkswarm.errors import InvalidRequest

    try:
        words = words_of(state_values)
        if words[2] == NEXT_FILE:  # judged as if the script were already attached
            commands.parse(*stand_in(words))
        else:
            commands.parse(words)
    except (ValueError, InvalidRequest) as exc:
        first = input_error(exc)
        lowered = first.lower()
        block = next(
            (b for b, word in _BLOCK_WORDS if word in lowered),
            "args",
        )
        return [], {block: first}
    return words, {}


def input_error(exc: Exception) -> str:
    """The first line of ``exc``, to show under a form's input (plain text;
    a longer one ends in an ellipsis)."""
    return blockkit.shorten_plain(str(exc).partition("\n")[0] or "not understood", INPUT_ERROR)


# Which input a grammar error is about, by a word in it (else the arguments).
_BLOCK_WORDS = (
    ("cores", "cores"),
    ("memory", "memory"),
    ("stack", "stack"),
    ("job", "catalogue"),
)
