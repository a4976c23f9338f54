"""Root on the hosts from chat (issue #21 §5), through the real bot, the
Slack double, a real worker and the real swarm: host bind mounts need the
admin role and a confirmation that says why; folders in
SPARKSWARM_HOST_MOUNT_PATHS stay with operators; work stopped by any
spelling (a deploy to 0 workers, --prune) and removing ingress ask first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkswarm.bots.double import Message
from tests.support.bot_harness import ADMIN, OPERATOR, BotLab
from tests.support.queue_harness import QueueLab, holds_for, queue_lab, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def allowed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A host folder operators may bind-mount."""
    return tmp_path_factory.mktemp("allowed-mounts")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("hostq")) as lab:
        lab.start_worker(concurrency=2)
        yield lab


@pytest.fixture(scope="module")
def bots(lab: QueueLab, allowed: Path) -> Iterator[BotLab]:
    bot_lab = BotLab(lab, Path(lab.folder))
    bot_lab.start_http(SPARKSWARM_HOST_MOUNT_PATHS=str(allowed), SPARKSWARM_BOT_CONFIRM_TTL="60")
    yield bot_lab
    bot_lab.stop()


def exists(gw: Any, service: str) -> bool:
    return any(s["Spec"]["Name"] == service for s in gw.services())


def mounts(gw: Any, service: str) -> list[dict[str, Any]]:
    spec = gw.inspect_service(service)["Spec"]["TaskTemplate"]["ContainerSpec"]
    return list(spec.get("Mounts") or [])


def refusal(bots: BotLab, user: str, words: str) -> str:
    found: list[Message] = wait_for(
        lambda: [m for m in bots.ephemerals(user) if words in m.text], 15, f"refusal of {words!r}"
    )
    return found[0].text


def test_an_operator_cannot_mount_the_hosts_root(
    bots: BotLab, gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    service = name("root")
    words = (
        f"service create {service} {web_images['v1']} "
        "--mount type=bind,source=/,target=/host --replicas 0"
    )
    bots.slash("/sparkswarm", words, OPERATOR)
    text = refusal(bots, OPERATOR, service)
    assert "needs the admin role" in text and "Nothing ran" in text
    holds_for(lambda: not exists(gw, service), 2, "no service")


def test_an_admin_is_told_why_and_runs_it_only_on_confirm(
    bots: BotLab, gw: Any, name: Callable[[str], str], web_images: dict[str, str]
) -> None:
    service = name("root")
    words = (
        f"service create {service} {web_images['v1']} "
        "--mount type=bind,source=/,target=/host --replicas 0"
    )
    bots.slash("/sparkswarm", words, ADMIN)
    question = bots.asking(words)
    assert f"{service} bind-mounts the host's / at /host" in question.text
    holds_for(lambda: not exists(gw, service), 1.5, "nothing before the confirmation")
    bots.click(question, ADMIN)
    assert "*succeeded*" in bots.wait_final(words).text
    assert [(m["Type"], m["Source"]) for m in mounts(gw, service)] == [("bind", "/")]


def test_an_operator_may_mount_an_allowed_folder_without_a_question(
    bots: BotLab, gw: Any, name: Callable[[str], str], web_images: dict[str, str], allowed: Path
) -> None:
    service = name("data")
    words = (
        f"service create {service} {web_images['v1']} "
        f"--mount type=bind,source={allowed},target=/data --replicas 0"
    )
    bots.slash("/sparkswarm", words, OPERATOR)
    assert "*succeeded*" in bots.wait_final(words).text
    assert [(m["Type"], m["Source"]) for m in mounts(gw, service)] == [("bind", str(allowed))]
    # Outside the folder by `..`: back to admin.
    other = name("escape")
    escape = (
        f"service create {other} {web_images['v1']} "
        f"--mount type=bind,source={allowed}/../..,target=/data --replicas 0"
    )
    bots.slash("/sparkswarm", escape, OPERATOR)
    assert "needs the admin role" in refusal(bots, OPERATOR, other)
    holds_for(lambda: not exists(gw, other), 1.5, "no service")


@pytest.mark.parametrize(
    "words",
    ["stack deploy spark --set workers=0", "spark up --workers 0", "stack deploy web --prune"],
)
def test_stopping_work_asks_first_whatever_the_spelling(bots: BotLab, words: str) -> None:
    bots.slash("/sparkswarm", words, OPERATOR)
    question = bots.asking(words)
    bots.click(question, OPERATOR, action="sparkswarm_cancel")
    wait_for(
        lambda: any(f"`{words}` cancelled" in m.text for m in list(bots.web.messages.values())),
        10,
        "the cancellation",
    )
    holds_for(lambda: not bots.status_of(words), 1.5, "nothing ran")


def test_removing_ingress_in_chat_says_what_it_breaks(bots: BotLab, gw: Any) -> None:
    before = [n["Id"] for n in gw.networks() if n["Name"] == "ingress"]
    bots.slash("/sparkswarm", "network rm ingress", OPERATOR)
    question = bots.asking("network rm ingress")
    assert "routing mesh" in question.text and "every port published" in question.text
    bots.click(question, OPERATOR, action="sparkswarm_cancel")
    holds_for(lambda: not bots.status_of("network rm ingress"), 1.5, "nothing ran")
    assert [n["Id"] for n in gw.networks() if n["Name"] == "ingress"] == before
