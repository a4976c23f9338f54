"""The queue's Redis with a password: a real redis-server started with
``requirepass``, real ``sparkswarm worker``/``beat`` processes.

Without the password (or with a wrong one) a worker ends at once with one
clear sentence instead of retrying "Authentication required" for ever; with
it (SPARKSWARM_REDIS_PASSWORD, or its _FILE variant) the worker runs
operations, and a client without it is refused by Redis itself.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tests.support.queue_ops  # noqa: F401 - registers test.* operations here too
from tests.support.cli import SPARKSWARM
from tests.support.queue_harness import ROOT, QueueLab, queue_lab

pytestmark = pytest.mark.integration

PASSWORD = secrets.token_hex(16)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    with queue_lab(tmp_path_factory.mktemp("redis-auth"), password=PASSWORD) as running:
        yield running


def run_process(lab: QueueLab, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environ = lab.env(**env)
    environ.pop("SPARKSWARM_REDIS_PASSWORD", None)
    environ.update(env)
    return subprocess.run(
        [SPARKSWARM, *args],
        env=environ,
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", [["worker", "-c", "1"], ["beat"]])
def test_a_queue_process_without_the_password_exits_with_a_clear_error(
    lab: QueueLab, command: list[str]
) -> None:
    done = run_process(lab, command)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        f"error: Redis at {lab.url} refused the connection (it requires a password): "
        "set SPARKSWARM_REDIS_PASSWORD or SPARKSWARM_REDIS_PASSWORD_FILE\n"
    )
    assert "Traceback" not in done.stdout


def test_a_worker_with_a_wrong_password_exits_without_showing_it(lab: QueueLab) -> None:
    done = run_process(lab, ["worker", "-c", "1"], SPARKSWARM_REDIS_PASSWORD="not-the-one")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "the password was refused" in done.stderr
    assert "not-the-one" not in done.stderr + done.stdout


def test_a_client_without_the_password_is_refused_by_redis(lab: QueueLab) -> None:
    import redis

    client = redis.Redis.from_url(lab.url, socket_connect_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        client.set("ssw:intruder", "1")
    client.close()


def test_the_worker_with_the_password_file_runs_operations(lab: QueueLab, tmp_path: Path) -> None:
    secret = tmp_path / "redis_password"
    secret.write_text(PASSWORD + "\n")
    # Empty SPARKSWARM_REDIS_PASSWORD: unset (the lab's environment sets it).
    lab.start_worker(
        concurrency=2, SPARKSWARM_REDIS_PASSWORD="", SPARKSWARM_REDIS_PASSWORD_FILE=str(secret)
    )
    qc: Any = lab.client()
    submission = qc.submit("test.sleep", {"key": "auth", "seconds": 0.1}, requester="t")
    record = qc.wait(submission.run_id, 60)
    assert record.state == "succeeded", record


@pytest.fixture(scope="module")
def tls_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueLab]:
    from tests.support.tls_engine import issue, make_ca, write_pem

    folder = tmp_path_factory.mktemp("redis-tls")
    ca = make_ca("sparkswarm test redis CA")
    certs = write_pem(folder / "certs", ca, issue(ca, "127.0.0.1", server=True))
    with queue_lab(folder, password=PASSWORD, tls=certs) as running:
        yield running


def test_a_worker_and_beat_over_rediss_run_operations(tls_lab: QueueLab) -> None:
    assert tls_lab.url.startswith("rediss://")
    tls_lab.start_worker(concurrency=1)
    tls_lab.start_beat()
    qc: Any = tls_lab.client()
    submission = qc.submit("test.sleep", {"key": "tls", "seconds": 0.1}, requester="t")
    assert qc.wait(submission.run_id, 60).state == "succeeded"


def test_rediss_without_the_ca_is_refused_never_spoken_to_in_plain_tcp(tls_lab: QueueLab) -> None:
    """kombu spoke plain TCP to a bare rediss:// URL (and retried for ever)."""
    bare = tls_lab.url.partition("?")[0]  # the system's CAs do not know the test CA
    done = run_process(
        tls_lab,
        ["worker", "-c", "1"],
        SPARKSWARM_REDIS_URL=bare,
        SPARKSWARM_REDIS_PASSWORD=PASSWORD,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        f"error: TLS to Redis at {bare} failed (certificate verify failed): "
        "name the CA that signed its certificate with ?ssl_ca_certs=/path/ca.pem\n"
    )


def test_kombu_gets_tls_options_for_every_rediss_url() -> None:
    import ssl

    from sparkswarm.config import Settings
    from sparkswarm.workers.app import make_app

    app = make_app(Settings(redis_url="rediss://redis.example:6380/0"))
    assert app.conf.broker_use_ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    assert app.conf.redbeat_redis_use_ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    plain = make_app(Settings(redis_url="redis://redis.example:6379/0"))
    assert not plain.conf.broker_use_ssl
