"""run_sql's control flow over a stand-in Connect session (no Spark): a warm
session is reused, a broken one made again once, a failure while running is
not retried (it may have written), Spark's verdict is the user's error, and
the time limit interrupts the statement's tag."""

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
        if outcome == "hang":
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
