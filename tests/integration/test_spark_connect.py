"""Spark Connect on the real engine with the real Spark image: the session's
spark stack deployed with ``connect=true`` and its server published on a free
host port, token on (``connect_stack``, tests/conftest.py), a queue of the
module's own (a redis-server and one ``sparkswarm worker`` with two slots),
and ``sparkswarm spark sql`` answered through the worker's warm session.
Everything is named with a random prefix (the stack and both of its secrets)
and removed after.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cli import cli_env, sparkswarm
from tests.support.wait import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.spark]

TIME_LIMIT = 30  # the module's worker interrupts a statement after this many seconds
LONG = "SELECT count(*) FROM range(100000000003)"  # hours of work on the stack's one core


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A queue of the module's own: one worker, two slots (a cancel runs
    beside the statement it interrupts)."""
    from tests.support.queue_harness import queue_lab

    with queue_lab(tmp_path_factory.mktemp("connect-queue")) as running:
        running.start_worker(
            concurrency=2,
            SPARKSWARM_SPARK_WATCHER_IN_WORKER="false",
            SPARKSWARM_SPARK_SQL_TIMEOUT=str(TIME_LIMIT),
        )
        yield running


def sql(lab: Any, stack: str, statement: str) -> subprocess.CompletedProcess[str]:
    return lab.cli("spark", "sql", "--stack", stack, "--json", statement, timeout=300)


def test_the_server_is_published_only_with_its_token(gw: Any, connect_stack: str) -> None:
    spec = gw.api.inspect_service(f"{connect_stack}_connect")["Spec"]
    mounted = [s["File"]["Name"] for s in spec["TaskTemplate"]["ContainerSpec"]["Secrets"]]
    assert sorted(mounted) == ["connect_token", "spark_auth"]
    assert [p["PublishMode"] for p in spec["EndpointSpec"]["Ports"]] == ["host"]
    assert "token" not in json.dumps(spec["TaskTemplate"]["ContainerSpec"].get("Env")).lower()


def test_spark_sql_answers_from_a_warm_session(lab: Any, connect_stack: str) -> None:
    first = sql(lab, connect_stack, "SELECT 1+1 AS two")
    assert first.returncode == 0, first.stderr
    again = sql(lab, connect_stack, "SELECT 1+1 AS two")
    assert again.returncode == 0, again.stderr
    answer = json.loads(again.stdout)
    assert answer["columns"] == ["two"]
    assert answer["rows"] == [["2"]]
    assert answer["warm"] is True  # the worker kept the session of the first statement


def test_the_cli_prints_a_table_the_count_and_the_time(lab: Any, connect_stack: str) -> None:
    done = lab.cli("spark", "sql", "--stack", connect_stack, "SELECT 'a' AS x", timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["X", "a"]
    assert "1 rows in" in done.stderr


def test_a_statement_spark_refuses_is_the_users_error(lab: Any, connect_stack: str) -> None:
    done = sql(lab, connect_stack, "SELEC 1")
    assert done.returncode == 2, done.stderr
    assert "PARSE_SYNTAX_ERROR" in done.stderr


def test_a_long_statement_is_interrupted_at_the_time_limit(lab: Any, connect_stack: str) -> None:
    started = time.monotonic()
    # Hours of work on one core: only the time limit ends it.
    done = sql(lab, connect_stack, "SELECT count(*) FROM range(100000000000)")
    assert done.returncode == 1, done.stderr
    assert f"time limit of {TIME_LIMIT} s" in done.stderr
    assert time.monotonic() - started < 120
    after = sql(lab, connect_stack, "SELECT 3")
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["rows"] == [["3"]]


def test_sql_cancel_interrupts_a_running_statement(lab: Any, connect_stack: str) -> None:
    qc = lab.client()
    statement = "SELECT count(*) FROM range(100000000001)"
    sub = qc.submit("spark.sql", {"stack": connect_stack, "statement": statement}, requester="test")
    wait_for(lambda: qc.get(sub.run_id).state == "running", 60, "the statement running")
    time.sleep(2)  # under way on the server
    cancel = lab.cli("spark", "sql-cancel", sub.run_id, "--stack", connect_stack, "--json")
    assert cancel.returncode == 0, cancel.stderr
    assert json.loads(cancel.stdout)["interrupted"] is True
    record = qc.wait(sub.run_id, timeout=60)
    assert record.state == "failed"
    assert "statement interrupted: cancelled" in record.error
    assert "time limit" not in record.error


def test_a_cancel_in_a_statements_first_moments_leaves_no_job_holding_the_core(
    gw: Any, connect_stack: str
) -> None:
    """A cancel that arrives while the server still plans the statement (the
    moment right after a user's click) ends it and leaves nothing running:
    the stack's one core answers the next statement at once. Spark Connect
    alone may leave the job running there or lose the interrupt; run in this
    process, at three moments of the first second."""
    from sparkswarm.errors import OperationFailed
    from sparkswarm.spark.sql import SESSIONS, cancel_sql, run_sql

    try:
        assert run_sql(gw, stack=connect_stack, statement="SELECT 1", timeout=120).rows == [["1"]]
        for attempt, delay in enumerate((0.05, 0.15, 0.4)):
            run_id = f"early-{attempt}"
            outcome: list[BaseException] = []

            def statement(run_id: str = run_id, outcome: list[BaseException] = outcome) -> None:
                try:
                    run_sql(gw, stack=connect_stack, statement=LONG, timeout=600, run_id=run_id)
                except BaseException as exc:  # the test's verdict below
                    outcome.append(exc)

            running = threading.Thread(target=statement, daemon=True)
            running.start()
            time.sleep(delay)
            assert cancel_sql(gw, stack=connect_stack, run_id=run_id, requester="U1")["interrupted"]
            running.join(60)
            assert not running.is_alive(), f"the statement cancelled after {delay} s ran on"
            assert [type(e) for e in outcome] == [OperationFailed], outcome
            assert "cancelled by U1" in str(outcome[0])
            after = run_sql(
                gw, stack=connect_stack, statement="SELECT count(*) FROM range(1000)", timeout=30
            )
            assert after.rows == [["1000"]]
    finally:
        SESSIONS.drop(connect_stack)


def test_connect_url_carries_the_token_and_a_wrong_token_is_refused(
    gw: Any, connect_stack: str
) -> None:
    import dataclasses

    from sparkswarm.spark.connect import connect_endpoint
    from sparkswarm.spark.sql import open_session

    done = sparkswarm("spark", "connect-url", "--stack", connect_stack, timeout=60)
    assert done.returncode == 0, done.stderr
    endpoint = connect_endpoint(gw, stack=connect_stack)
    assert endpoint.token and len(endpoint.token) == 64
    assert done.stdout.strip() == endpoint.url()
    assert endpoint.token not in done.stderr
    session = open_session(dataclasses.replace(endpoint, token="not-the-token"))
    try:
        with pytest.raises(Exception, match="UNAUTHENTICATED"):
            session.sql("SELECT 1").collect()
    finally:
        session.client.close()


def test_publishing_without_a_token_is_refused_and_nothing_deployed(gw: Any, prefix: str) -> None:
    stack = f"{prefix}-open"
    done = sparkswarm(
        "spark",
        "up",
        "--stack",
        stack,
        "--connect-port",
        "15999",
        env=cli_env(connect_token_secret=""),
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "without a client token" in done.stderr
    assert not gw.api.services(filters={"name": stack})
