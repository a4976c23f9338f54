"""The bot's forms end to end: a real ``sparkswarm bot`` (HTTP) against the
Slack double, a real redis-server and worker, the real swarm.

- ``/spark submit``'s "the file you attach next": the user is told what the
  bot waits for; their next channel message with a ``.py`` runs the form's
  words with that script (the params typed words with the file get),
  followed in that message's thread; Cancel ends the wait.
- ``/swarm scale`` alone opens a form (``views.open`` with the trigger, then
  ``views.update`` with the services the worker read) whose submission runs
  ``service scale NAME=N`` as typed: the same roles, and the confirmation
  for a scale to 0.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sparkswarm.bots import modal, payloads, scale_modal
from sparkswarm.bots.awaited import CANCEL_ACTION
from tests.support.bot_harness import OPERATOR, VIEWER, BotLab, http_bot
from tests.support.queue_harness import QueueLab, holds_for, queue_lab, wait_for

pytestmark = pytest.mark.integration
SCRIPT = b"import sys\nprint('attached says', sys.argv[1:])\n"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("formsq")) as lab:
        lab.start_worker(concurrency=2)
        yield lab


@pytest.fixture
def bots(lab: QueueLab) -> Iterator[BotLab]:
    with http_bot(lab) as bot_lab:
        yield bot_lab


def trigger() -> str:
    return f"{int(time.time())}.1.{uuid.uuid4().hex}"


def runs_of(lab: QueueLab, op: str) -> list[Any]:
    return [r for r in lab.client().list(source="slack", limit=200) if r.op == op]


def opened_view(bots: BotLab, after: int = 0) -> dict[str, Any]:
    wait_for(lambda: len(bots.web.views) > after, 15, "the form", explain=bots.dump)
    return bots.web.views[after]


def channel_file(bots: BotLab, user: str, name: str, content: bytes) -> None:
    event = payloads.event_callback(
        "here it is",
        user=user,
        channel="C0GENERAL",
        kind="message",
        files=[bots.web.share_file(name, content)],
    )
    assert bots.event(event).status_code == 200


def _submit_values(job: str, args: str, stack: str, cores: str = "") -> dict[str, Any]:
    def text(value: str) -> dict[str, Any]:
        return {"value": {"type": "plain_text_input", "value": value or None}}

    select = {"type": "static_select", "selected_option": {"value": job}}
    return {
        "job": {"value": select},
        "args": text(args),
        "stack": text(stack),
        "cores": text(cores),
    }


def test_the_file_you_attach_next_runs_the_form_s_words(bots: BotLab, lab: QueueLab) -> None:
    from sparkswarm.requests import parse

    assert bots.slash("/spark", "submit", OPERATOR, trigger_id=trigger()).status_code == 200
    view = opened_view(bots)
    options = view["blocks"][0]["element"]["options"]
    assert options[-1] == {
        "text": {"type": "plain_text", "text": modal.NEXT_FILE_TEXT},
        "value": modal.NEXT_FILE,
    }
    stack = f"nosuch{secrets.token_hex(3)}"
    values = _submit_values(modal.NEXT_FILE, "7 '<!here>'", stack, "1")
    sent = payloads.view_submission(view, values, user=OPERATOR)
    assert bots.post(payloads.interactive_body(sent), FORM).status_code == 200
    told = wait_for(lambda: bots.web.responded(OPERATOR), 15, "what the bot waits for")
    text = str(told[0].args["text"])
    assert "Waiting for your next message with a .py file attached in this channel" in text
    assert "<!date^" in text and "&lt;!here&gt;" in text and "<!here>" not in text

    before = len(runs_of(lab, "spark.submit"))
    channel_file(bots, OPERATOR, "notes.csv", b"a,b\n")  # no .py: not the awaited file
    channel_file(bots, VIEWER, "other.py", SCRIPT)  # someone else's file
    holds_for(lambda: len(runs_of(lab, "spark.submit")) == before, 1.5, "no run yet")

    channel_file(bots, OPERATOR, "job.py", SCRIPT)
    run = wait_for(
        lambda: next(iter(runs_of(lab, "spark.submit")[: -before or None]), None), 20, "the run"
    )
    words = ["spark", "submit", "job.py", "7", "<!here>", "--stack", stack]
    words += ["--total-executor-cores", "1"]
    typed = dict(parse(words, attached={"job.py": SCRIPT}).params)
    assert run.params["groups"] == []
    assert {k: v for k, v in run.params.items() if k not in ("job_id", "groups")} == {
        k: v for k, v in typed.items() if k != "job_id"
    }
    status = wait_for(
        lambda: bots.status_of(" ".join(words).replace("<", "&lt;").replace(">", "&gt;")),
        15,
        "the thread",
        explain=bots.dump,
    )
    assert status[0].thread_ts  # followed in the file message's thread
    channel_file(bots, OPERATOR, "again.py", SCRIPT)  # the wait is over
    holds_for(lambda: len(runs_of(lab, "spark.submit")) == before + 1, 1.5, "one run only")


def test_cancel_ends_the_wait(bots: BotLab, lab: QueueLab) -> None:
    assert bots.slash("/spark", "submit", OPERATOR, trigger_id=trigger()).status_code == 200
    view = opened_view(bots)
    values = _submit_values(modal.NEXT_FILE, "", f"nosuch{secrets.token_hex(3)}")
    sent = payloads.view_submission(view, values, user=OPERATOR)
    assert bots.post(payloads.interactive_body(sent), FORM).status_code == 200
    told = wait_for(lambda: bots.web.responded(OPERATOR), 15, "what the bot waits for")
    wait_id = told[0].args["blocks"][1]["elements"][0]["value"]
    click = payloads.block_action(
        CANCEL_ACTION,
        wait_id,
        user=OPERATOR,
        channel="C0GENERAL",
        message_ts="",
        response_url=bots.web.response_url("C0GENERAL", OPERATOR),
    )
    assert bots.post(payloads.interactive_body(click), FORM).status_code == 200
    said = wait_for(
        lambda: [c for c in bots.web.responded(OPERATOR) if "cancelled" in str(c.args)],
        15,
        "the cancel",
        explain=bots.dump,
    )
    assert "Nothing ran" in str(said[0].args["text"])
    before = len(runs_of(lab, "spark.submit"))
    channel_file(bots, OPERATOR, "job.py", SCRIPT)
    holds_for(lambda: len(runs_of(lab, "spark.submit")) == before, 1.5, "no run")


def filled_form(bots: BotLab, service: str, at: int) -> dict[str, Any]:
    """The ``at``-th opened view once ``views.update`` put ``service`` in it."""

    def options() -> list[Any]:
        blocks = bots.web.views[at].get("blocks") if len(bots.web.views) > at else None
        element = (blocks or [{}])[0].get("element", {})
        return [o for o in element.get("options", []) if o["value"] == service]

    wait_for(options, 30, "the services in the form", explain=bots.dump)
    return bots.web.views[at]


@pytest.fixture
def web(gw: Any, name: Callable[[str], str], web_images: dict[str, str]) -> str:
    from sparkswarm.services import ops

    service = name("web")
    ops.create_service(gw, name=service, image=web_images["v1"], stop_grace_period="1s")
    return service


def test_swarm_scale_alone_opens_a_form_whose_submission_scales_as_typed(
    bots: BotLab, lab: QueueLab, gw: Any, web: str
) -> None:
    assert bots.slash("/swarm", "scale", OPERATOR, trigger_id=trigger()).status_code == 200
    view = opened_view(bots)
    assert view["callback_id"] == scale_modal.CALLBACK_ID
    view = filled_form(bots, web, 0)
    assert bots.web.calls_of("views.update")[0].response["ok"]
    assert len(view["blocks"][0]["element"]["options"]) <= 100

    def values(replicas: str) -> dict[str, Any]:
        option = {"value": web, "text": {"type": "plain_text", "text": web}}
        return {
            "service": {"value": {"type": "static_select", "selected_option": option}},
            "replicas": {"value": {"type": "number_input", "value": replicas}},
        }

    wrong = payloads.view_submission(view, values("-2"), user=OPERATOR)
    answer = bots.post(payloads.interactive_body(wrong), FORM)
    assert answer.json()["response_action"] == "errors" and "replicas" in answer.json()["errors"]

    good = payloads.view_submission(view, values("2"), user=OPERATOR)
    assert bots.post(payloads.interactive_body(good), FORM).status_code == 200
    final = bots.wait_final(f"service scale {web}=2")
    assert "*succeeded*" in final.text
    assert int(gw.inspect_service(web)["Spec"]["Mode"]["Replicated"]["Replicas"]) == 2

    # A sent form closes: scaling again is another form (another view id).
    assert bots.slash("/swarm", "scale", OPERATOR, trigger_id=trigger()).status_code == 200
    view = filled_form(bots, web, 1)
    zero = payloads.view_submission(view, values("0"), user=OPERATOR)
    assert bots.post(payloads.interactive_body(zero), FORM).status_code == 200
    question = bots.asking(f"service scale {web}=0")  # as typed: asked first
    assert question.blocks[1]["elements"]


def test_the_scale_form_is_refused_without_the_role_or_a_live_trigger(bots: BotLab) -> None:
    assert bots.slash("/swarm", "scale", VIEWER, trigger_id=trigger()).status_code == 200
    refused = wait_for(lambda: bots.web.responded(VIEWER), 15, "the viewer's refusal")
    assert "needs the operator role" in str(refused[0].args.get("text"))
    stale = f"{int(time.time()) - 30}.1.{uuid.uuid4().hex}"  # Slack's 3 s are long gone
    assert bots.slash("/swarm", "service scale", OPERATOR, trigger_id=stale).status_code == 200
    said = wait_for(lambda: bots.web.responded(OPERATOR), 15, "the answer")
    assert "Slack would not open the form" in str(said[0].args.get("text"))
    assert [c.response["error"] for c in bots.web.calls_of("views.open")] == ["expired_trigger_id"]
    assert bots.web.views == [] and bots.web.calls_of("views.update") == []


def test_a_file_in_a_mention_runs_once_though_slack_sends_it_twice(
    bots: BotLab, lab: QueueLab
) -> None:
    """A message that mentions the bot comes as ``app_mention`` and as a
    channel ``message``: the awaited file in it runs once (the mention's)."""
    from sparkswarm.bots import double

    assert bots.slash("/spark", "submit", OPERATOR, trigger_id=trigger()).status_code == 200
    view = opened_view(bots)
    stack = f"nosuch{secrets.token_hex(3)}"
    sent = payloads.view_submission(view, _submit_values(modal.NEXT_FILE, "", stack), user=OPERATOR)
    assert bots.post(payloads.interactive_body(sent), FORM).status_code == 200
    wait_for(lambda: bots.web.responded(OPERATOR), 15, "what the bot waits for")
    before = len(runs_of(lab, "spark.submit"))
    shared = bots.web.share_file("job.py", SCRIPT)
    text = f"<@{double.BOT_USER_ID}> here it is"
    for kind in ("app_mention", "message"):
        event = payloads.event_callback(text, user=OPERATOR, kind=kind, files=[shared])
        assert bots.event(event).status_code == 200
    wait_for(lambda: len(runs_of(lab, "spark.submit")) > before, 20, "the run", explain=bots.dump)
    holds_for(lambda: len(runs_of(lab, "spark.submit")) == before + 1, 1.5, "one run only")
    assert runs_of(lab, "spark.submit")[0].params["stack"] == stack
