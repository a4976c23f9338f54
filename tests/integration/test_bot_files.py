"""Files attached to a chat ``spark submit``: a real ``sparkswarm bot`` (HTTP)
against the Slack double, which serves ``files.info`` and ``url_private``
the way Slack does (the sign-in page for a token it does not take), a real
redis-server and worker. A script with data is submitted with exactly the
params the CLI builds from the same files on disk; a file too big, not
Python, unreadable or answered with the sign-in page is refused with a
sentence saying why, and nothing runs. (The script running on a real Spark
cluster: tests/e2e/test_bot_spark.py.)
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots import double, payloads
from tests.support.bot_harness import OPERATOR, VIEWER, BotLab, http_bot
from tests.support.queue_harness import QueueLab, holds_for, queue_lab, wait_for

pytestmark = pytest.mark.integration
SCRIPT = b"import sys\nprint('attached says', sys.argv[1:])\n"
DATA = b"x,y\n1,2\n"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("filesq")) as lab:
        lab.start_worker(concurrency=2)
        yield lab


@pytest.fixture
def bots(lab: QueueLab) -> Iterator[BotLab]:
    with http_bot(lab) as bot_lab:
        yield bot_lab


def mention(bots: BotLab, words: str, files: list[dict[str, Any]], user: str = OPERATOR) -> None:
    event = payloads.event_callback(
        f"<@{double.BOT_USER_ID}> {words}", user=user, channel="C0GENERAL", files=files
    )
    assert bots.event(event).status_code == 200


def answer_to(bots: BotLab, user: str, needle: str) -> str:
    found: list[str] = wait_for(
        lambda: [m.text for m in bots.ephemerals(user) if needle in m.text],
        15,
        f"an answer to {user} saying {needle!r}",
        explain=bots.dump,
    )
    return found[0]


def submits(lab: QueueLab) -> list[Any]:
    return [r for r in lab.client().list(source="slack", limit=200) if r.op == "spark.submit"]


def nothing_ran(bots: BotLab, lab: QueueLab, before: int) -> None:
    holds_for(lambda: len(submits(lab)) == before, 1.5, "no spark.submit run")
    posted = [m.text for m in bots.web.messages.values() if m.ephemeral_user is None]
    assert not [t for t in posted if "spark submit" in t], posted  # no run message either


def test_a_script_with_data_is_submitted_with_the_params_the_cli_builds(
    bots: BotLab, lab: QueueLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target left out (one .py attached), the data file not named: the
    run's params are those of ``spark submit job.py --stack S --files data.csv``
    run on the same files from disk."""
    from sparkswarm.requests import parse

    stack = f"nosuch{secrets.token_hex(3)}"
    files = [bots.web.share_file("job.py", SCRIPT), bots.web.share_file("data.csv", DATA)]
    mention(bots, f"spark submit --stack {stack} --total-executor-cores 2", files)
    run = wait_for(lambda: next(iter(submits(lab)), None), 20, "the submit run", explain=bots.dump)
    (tmp_path / "job.py").write_bytes(SCRIPT)
    (tmp_path / "data.csv").write_bytes(DATA)
    monkeypatch.chdir(tmp_path)
    words = ["spark", "submit", "job.py", "--stack", stack, "--total-executor-cores", "2"]
    cli = parse([*words, "--files", "data.csv"])
    # Chat adds the user's Spark-quota groups (none here); the rest is the CLI's.
    assert run.params["groups"] == []
    assert {k: v for k, v in run.params.items() if k not in ("job_id", "groups")} == {
        k: v for k, v in dict(cli.params).items() if k != "job_id"
    }
    shown = " ".join([*words, "--files", "data.csv"])
    assert bots.status_of(shown), bots.dump()  # followed in the thread under the full words
    served = bots.web.calls_of("url_private")
    assert [c.args["served"] for c in served] == [True, True]


def test_a_30_mib_attachment_is_refused_with_the_limit_before_any_download(
    bots: BotLab, lab: QueueLab
) -> None:
    before = len(submits(lab))
    files = [
        bots.web.share_file("job.py", SCRIPT),
        bots.web.share_file("big.csv", b"x", size=30 * MIB),
    ]
    mention(bots, "spark submit job.py --stack spark", files)
    text = answer_to(bots, OPERATOR, "big")
    assert "30.0 MiB in all; at most 20.0 MiB" in text and "Nothing ran" in text
    assert not bots.web.calls_of("url_private")  # refused on the declared size
    nothing_ran(bots, lab, before)


def test_a_file_that_is_not_python_is_refused(bots: BotLab, lab: QueueLab) -> None:
    before = len(submits(lab))
    zipped = bots.web.share_file("job.py", b"PK\x03\x04", filetype="zip")
    mention(bots, "spark submit job.py", [zipped])
    assert "Nothing ran" in answer_to(bots, OPERATOR, "job.py is not a Python script")
    notes = bots.web.share_file("notes.txt", b"hello\n")
    mention(bots, "spark submit --stack spark", [notes])
    assert "attached: none" in answer_to(bots, OPERATOR, "name the script to run")
    nothing_ran(bots, lab, before)


def test_the_sign_in_page_for_a_token_the_file_server_refuses_is_not_taken(
    bots: BotLab, lab: QueueLab
) -> None:
    before = len(submits(lab))
    bots.web.file_tokens = {"xoxb-some-other-token"}
    mention(bots, "spark submit job.py", [bots.web.share_file("job.py", SCRIPT)])
    text = answer_to(bots, OPERATOR, "web page instead of job.py")
    assert "files:read" in text and "Nothing ran" in text
    assert [c.args["served"] for c in bots.web.calls_of("url_private")] == [False]
    nothing_ran(bots, lab, before)


def test_a_file_the_bot_cannot_read_is_answered(bots: BotLab, lab: QueueLab) -> None:
    before = len(submits(lab))
    hidden = bots.web.share_file("job.py", SCRIPT, readable=False)
    mention(bots, "spark submit job.py", [hidden])
    assert "Nothing ran" in answer_to(bots, OPERATOR, f"attached file {hidden['id']}")
    nothing_ran(bots, lab, before)


def test_names_are_escaped_and_a_viewer_is_refused_before_any_download(
    bots: BotLab, lab: QueueLab
) -> None:
    before = len(submits(lab))
    odd = bots.web.share_file("<!channel>.py", SCRIPT)
    mention(bots, "spark submit --stack spark", [odd])
    text = answer_to(bots, OPERATOR, "&lt;!channel&gt;.py")
    assert "<!channel>" not in text and "letters, digits" in text
    mention(bots, "spark submit job.py", [bots.web.share_file("job.py", SCRIPT)], user=VIEWER)
    assert "needs the operator role" in answer_to(bots, VIEWER, "needs the")
    assert not bots.web.calls_of("url_private") and not bots.web.calls_of("files.info")[1:]
    nothing_ran(bots, lab, before)


def _form(job: str, args: str, stack: str, cores: str = "") -> dict[str, Any]:
    def text(value: str) -> dict[str, Any]:
        return {"value": {"type": "plain_text_input", "value": value or None}}

    select = {"type": "static_select", "selected_option": {"value": job}}
    return {
        "job": {"value": select},
        "args": text(args),
        "stack": text(stack),
        "cores": text(cores),
    }


def test_spark_submit_alone_opens_a_form_whose_submission_runs_its_words(
    bots: BotLab, lab: QueueLab
) -> None:
    """``/spark submit`` opens the modal with the command's trigger_id (the
    double checks it against Slack's view limits); a form the grammar refuses
    is answered in the form and runs nothing; a good one runs its words with
    the params typed words get, followed in the channel."""
    from sparkswarm.requests import parse

    trigger = f"{int(time.time())}.1.{uuid.uuid4().hex}"
    assert bots.slash("/spark", "submit", OPERATOR, trigger_id=trigger).status_code == 200
    opened = wait_for(
        lambda: [c for c in bots.web.calls_of("views.open") if c.response.get("ok")],
        15,
        "the form",
        explain=bots.dump,
    )
    assert opened[0].args["trigger_id"] == trigger and len(bots.web.views) == 1
    view = bots.web.views[0]
    form = "application/x-www-form-urlencoded"
    stack = f"nosuch{secrets.token_hex(3)}"
    before = len(submits(lab))
    wrong = payloads.view_submission(view, _form("pi", "7", stack, "many"), user=OPERATOR)
    answer = bots.post(payloads.interactive_body(wrong), form)
    assert answer.json()["response_action"] == "errors", answer.text
    assert "many" in answer.json()["errors"]["cores"]
    holds_for(lambda: len(submits(lab)) == before, 1.5, "no run of the refused form")

    good = payloads.view_submission(view, _form("pi", "7 '<!here>'", stack, "1"), user=OPERATOR)
    assert bots.post(payloads.interactive_body(good), form).status_code == 200
    words = ["spark", "submit", "pi", "7", "<!here>", "--stack", stack]
    words += ["--total-executor-cores", "1"]
    run = wait_for(lambda: next(iter(submits(lab)[: len(submits(lab)) - before]), None), 20, "run")
    typed = dict(parse(words).params)
    assert run.params["groups"] == []  # chat adds the user's quota groups
    assert {k: v for k, v in run.params.items() if k not in ("job_id", "groups")} == {
        k: v for k, v in typed.items() if k != "job_id"
    }
    posted = [m.text for m in bots.web.messages.values() if m.ephemeral_user is None]
    assert any("&lt;!here&gt;" in t for t in posted), posted
    assert not any("<!here>" in t for t in posted)

    assert bots.slash("/spark", "submit", VIEWER).status_code == 200
    refused = wait_for(lambda: bots.web.responded(VIEWER), 15, "the viewer's refusal")
    assert "needs the operator role" in str(refused[0].args.get("text"))
    assert len(bots.web.views) == 1


def test_a_script_attached_in_a_direct_message_is_taken_too(bots: BotLab, lab: QueueLab) -> None:
    """A DM with a file is a ``message`` of subtype ``file_share``: taken like
    a mention (other subtypes, edits and joins, still are not)."""
    before = len(submits(lab))
    stack = f"nosuch{secrets.token_hex(3)}"
    event = payloads.event_callback(
        f"spark submit --stack {stack}",
        user=OPERATOR,
        channel="D0DM",
        kind="message",
        channel_type="im",
        files=[bots.web.share_file("job.py", SCRIPT)],
    )
    assert event["event"]["subtype"] == "file_share"
    assert bots.event(event).status_code == 200
    run = wait_for(
        lambda: next(iter(submits(lab)[: len(submits(lab)) - before]), None), 20, "the run"
    )
    assert run.params["script"] == SCRIPT.decode() and run.params["stack"] == stack
