"""run_sql's control flow over a stand-in Connect session (no Spark): a warm
session is reused, a broken one made again once, a failure while running is
not retried (it may have written), Spark's verdict is the user's error, and
the time limit and a cancel interrupt the statement's tag, once a Spark job of
it runs (the server's progress report), not while the server still plans it."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sparkswarm.errors import InvalidRequest, OperationFailed, Unavailable
from sparkswarm.spark import sql
from sparkswarm.spark.connect import ConnectEndpoint


class ParseException(Exception):
    """Named as pyspark's: the user's fault."""


class Frame:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows, self.columns = rows, ["x"]

    def limit(self, n: int) -> Frame:
        return Frame(self.rows[:n])

    def collect(self) -> list[tuple[Any, ...]]:
        return self.rows


class Session:
    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes = outcomes
        self.statements: list[str] = []
        self.interrupted: list[str] = []
        self.client = self
        self.released = threading.Event()
        self.planning = threading.Event()  # set while a "plan" outcome waits
        self.planned = threading.Event()  # set by the test: the plan's job starts
        self.progress: list[Any] = []

    def registerProgressHandler(self, handler: Any) -> None:
        self.progress.append(handler)

    def job_starts(self) -> None:
        """What pyspark does when the server reports a stage of the statement."""
        for handler in self.progress:
            handler(stages=["stage 0"], inflight_tasks=1, operation_id="op", done=False)

    def close(self) -> None:
        pass

    def addTag(self, tag: str) -> None:
        pass

    def removeTag(self, tag: str) -> None:
        pass

    def interruptTag(self, tag: str) -> None:
        self.interrupted.append(tag)
        self.released.set()

    def sql(self, statement: str) -> Frame:
        self.statements.append(statement)
        outcome = self.outcomes.pop(0)
        if outcome == "hang":  # runs a Spark job until interrupted
            self.job_starts()
            assert self.released.wait(5), "never interrupted"
            raise RuntimeError("OPERATION_CANCELED")
        if outcome == "plan":  # planned by the server until interrupted or planned
            self.planning.set()
            while not (self.released.is_set() or self.planned.wait(0.01)):
                pass
            if not self.released.is_set():
                self.job_starts()
            assert self.released.wait(5), "never interrupted"
            raise RuntimeError("OPERATION_CANCELED")
        if isinstance(outcome, Exception):
            raise outcome
        return Frame(outcome)


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[Session]:
    """The sessions run_sql makes, in order; fill each one's outcomes first."""
    made: list[Session] = []
    queued: list[Session] = []
    monkeypatch.setattr(sql, "SESSIONS", sql.SessionPool())
    monkeypatch.setattr(
        "sparkswarm.spark.connect.connect_endpoint",
        lambda gw, stack: ConnectEndpoint(stack, "h", 1, True, "t"),
    )

    def open_session(endpoint: ConnectEndpoint) -> Session:
        made.append(queued.pop(0))
        return made[-1]

    monkeypatch.setattr(sql, "open_session", open_session)
    return queued


def test_the_second_statement_is_warm(sessions: list[Session]) -> None:
    sessions.append(Session([[(2,)], [(3,)]]))
    first = sql.run_sql(None, stack="s", statement="SELECT 2", timeout=5)  # type: ignore[arg-type]
    second = sql.run_sql(None, stack="s", statement="SELECT 3;", timeout=5)  # type: ignore[arg-type]
    assert (first.rows, first.warm) == ([["2"]], False)
    assert (second.rows, second.warm, second.statement) == ([["3"]], True, "SELECT 3")


def test_a_broken_session_is_made_again_once(sessions: list[Session]) -> None:
    sessions += [Session([RuntimeError("StatusCode.UNAVAILABLE")]), Session([[(1,)]])]
    answer = sql.run_sql(None, stack="s", statement="SELECT 1", timeout=5)  # type: ignore[arg-type]
    assert answer.rows == [["1"]] and not answer.warm
    sql.SESSIONS.drop("s")
    sessions += [Session([RuntimeError("Socket closed")]), Session([RuntimeError("UNAVAILABLE")])]
    with pytest.raises(Unavailable):
        sql.run_sql(None, stack="s", statement="SELECT 1", timeout=5)  # type: ignore[arg-type]


def test_a_failure_while_running_is_not_run_again(sessions: list[Session]) -> None:
    session = Session([RuntimeError("[DIVIDE_BY_ZERO] Division by zero"), [(1,)]])
    sessions.append(session)
    with pytest.raises(OperationFailed, match="DIVIDE_BY_ZERO"):
        sql.run_sql(None, stack="s", statement="INSERT 1/0", timeout=5)  # type: ignore[arg-type]
    assert session.statements == ["INSERT 1/0"]
    again = sql.run_sql(None, stack="s", statement="SELECT 1", timeout=5)  # type: ignore[arg-type]
    assert again.warm  # the session was kept


def test_sparks_verdict_is_the_users_error(sessions: list[Session]) -> None:
    sessions.append(Session([ParseException("[PARSE_SYNTAX_ERROR] near 'SELEC'")]))
    with pytest.raises(InvalidRequest, match="PARSE_SYNTAX_ERROR"):
        sql.run_sql(None, stack="s", statement="SELEC 1", timeout=5)  # type: ignore[arg-type]


def test_the_time_limit_interrupts_the_statements_tag(sessions: list[Session]) -> None:
    session = Session(["hang"])
    sessions.append(session)
    with pytest.raises(OperationFailed, match=r"time limit of 0\.2 s"):
        sql.run_sql(None, stack="s", statement="SELECT slow", timeout=0.2, run_id="r:1")  # type: ignore[arg-type]
    assert session.interrupted == ["sparkswarm-sql-r-1"]


def test_cancel_interrupts_the_runs_tag(sessions: list[Session]) -> None:
    session = Session([[(1,)]])
    sessions.append(session)
    assert sql.cancel_sql(None, stack="s", run_id="r1") == {  # type: ignore[arg-type]
        "stack": "s",
        "run_id": "r1",
        "interrupted": False,  # no session here yet
    }
    sql.run_sql(None, stack="s", statement="SELECT 1", timeout=5)  # type: ignore[arg-type]
    assert sql.cancel_sql(None, stack="s", run_id="r1", requester="U1")["interrupted"]  # type: ignore[arg-type]
    assert session.interrupted == ["sparkswarm-sql-r1"]
    assert sql.SESSIONS.interrupted["sparkswarm-sql-r1"] == "cancelled by U1"


def test_a_cancel_while_the_server_plans_waits_for_the_statements_job(
    sessions: list[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "JOB_WAIT", 30.0)
    session = Session([[(1,)], "plan"])
    sessions.append(session)
    sql.run_sql(None, stack="s", statement="SELECT 1", timeout=5)  # type: ignore[arg-type]
    failed: list[Exception] = []

    def statement() -> None:
        try:
            sql.run_sql(None, stack="s", statement="SELECT big", timeout=60, run_id="r2")  # type: ignore[arg-type]
        except OperationFailed as exc:
            failed.append(exc)

    running = threading.Thread(target=statement)
    running.start()
    assert session.planning.wait(5)
    assert sql.cancel_sql(None, stack="s", run_id="r2", requester="U1")["interrupted"]  # type: ignore[arg-type]
    assert not session.released.wait(0.3), "interrupted while the server still plans"
    session.planned.set()
    running.join(5)
    assert session.interrupted == ["sparkswarm-sql-r2"]
    assert [str(e) for e in failed] == ["statement interrupted: cancelled by U1"]


def test_an_interrupt_is_sent_after_job_wait_when_no_job_starts(
    sessions: list[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "JOB_WAIT", 0.2)
    session = Session(["plan"])
    sessions.append(session)
    with pytest.raises(OperationFailed, match=r"time limit of 0\.1 s"):
        sql.run_sql(None, stack="s", statement="SELECT slow", timeout=0.1, run_id="r3")  # type: ignore[arg-type]
    assert session.interrupted == ["sparkswarm-sql-r3"]


def test_a_statement_cancelled_before_it_began_never_runs(sessions: list[Session]) -> None:
    session = Session([[(1,)], [(2,)]])
    sessions.append(session)
    sql.run_sql(None, stack="s", statement="SELECT 1", timeout=5)  # type: ignore[arg-type]
    assert sql.cancel_sql(None, stack="s", run_id="r4", requester="U1")["interrupted"]  # type: ignore[arg-type]
    with pytest.raises(OperationFailed, match="cancelled by U1"):
        sql.run_sql(None, stack="s", statement="SELECT 2", timeout=5, run_id="r4")  # type: ignore[arg-type]
    assert session.statements == ["SELECT 1"]
