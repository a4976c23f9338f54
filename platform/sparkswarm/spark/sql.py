"""``spark.sql``: a SQL statement answered by a spark stack's Spark Connect
server through a warm session held by the process that runs it (a queue
worker), and ``spark.sql_cancel``, which interrupts one.

One session per stack is made on first use and kept in :data:`SESSIONS`
(the worker process lives long, so the second statement finds it warm); a
session whose server went away is dropped and made again once. Each
statement is tagged with its run; a timer interrupts the tag when the time
limit (``SPARKSWARM_SPARK_SQL_TIMEOUT``) passes, and ``spark.sql_cancel``
interrupts it on request. The Connect client (``pyspark[connect]``, the
``connect`` extra) is imported here only, on first use.

An interrupt is sent once the statement runs a Spark job (the server's
progress report says so), not while the server still plans it: Spark
Connect's interrupt is best effort in that phase (SPARK-43331), and one that
lands there can leave the statement's job running with nobody waiting for it,
holding the stack's cores, or be lost while the statement runs on; the
server takes an operation's interrupt only once. :data:`JOB_WAIT` bounds the
wait for a statement that never starts a job.

The client sends the token as a gRPC ``authorization: Bearer`` header on a
plaintext channel: the server speaks no TLS, and pyspark's own handling of
``;token=`` insists on TLS for any host but ``localhost``.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import Field

from sparkswarm.errors import InvalidRequest, OperationFailed, Unavailable
from sparkswarm.model_base import LazyModel
from sparkswarm.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway
    from sparkswarm.spark.connect import ConnectEndpoint

MAX_ROWS = 1000  # rows fetched per statement; the answer says when there were more
MAX_CELL = 1000  # characters kept of a cell (the answer is recorded in Redis)
MAX_ANSWER = 1 << 20  # characters of cells in all; rows beyond are left out (said: ``more``)
MAX_STATEMENT = 20_000  # characters
EXTRA = "connect"  # pip install 'sparkswarm[connect]'
JOB_WAIT = 15.0  # seconds an interrupt waits for the statement's first Spark job


class SqlAnswer(LazyModel):
    """What a statement answered: its columns and rows (cells as text,
    ``NULL`` for null), how long it took, and whether the session was warm."""

    stack: str
    statement: str
    columns: list[str] = Field(default_factory=list)
    rows: list[list[str]] = Field(default_factory=list)
    more: bool = Field(
        False, description=f"More rows than these ({MAX_ROWS} at most, {MAX_ANSWER} characters)."
    )
    seconds: float = 0.0
    warm: bool = False

    @property
    def row_count(self) -> int:
        """Rows fetched (all of them unless ``more``)."""
        return len(self.rows)


def validate_statement(statement: str) -> str:
    """The statement stripped; InvalidRequest when empty or too long."""
    text = statement.strip().rstrip(";").strip()
    if not text:
        raise InvalidRequest('give a SQL statement, e.g. spark sql "SELECT 1+1"')
    if len(text) > MAX_STATEMENT:
        raise InvalidRequest(f"the statement is longer than {MAX_STATEMENT} characters")
    return text


def connect_client() -> Any:
    """The ``pyspark.sql.connect`` session module; InvalidRequest naming the
    extra when the Connect client is not installed."""
    try:
        from pyspark.sql.connect import session
    except ImportError as exc:
        raise InvalidRequest(
            "spark sql needs the Spark Connect client where it runs: "
            f"pip install 'sparkswarm[{EXTRA}]' ({exc})"
        ) from None
    return session


class SessionPool:
    """One Spark Connect session per stack in this process, made on first use,
    and the statements running on them (by tag)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Any] = {}
        # tag -> why it was interrupted (time limit, or who cancelled)
        self.interrupted: dict[str, str] = {}
        # tag -> set once the statement runs a Spark job, or has ended
        self._job_started: dict[str, threading.Event] = {}
        self._current = threading.local()  # the tag of this thread's statement

    def get(self, gw: Gateway, stack: str) -> tuple[Any, bool]:
        """(session, warm): the stack's session, made now when there is none."""
        with self._lock:
            session = self._sessions.get(stack)
            if session is not None:
                return session, True
        from sparkswarm.spark.connect import connect_endpoint

        session = open_session(connect_endpoint(gw, stack=stack))
        session.registerProgressHandler(self._on_progress)
        with self._lock:
            self._sessions.setdefault(stack, session)
            return self._sessions[stack], False

    def drop(self, stack: str) -> None:
        """Forget the stack's session (its server went away or was redeployed)."""
        with self._lock:
            session = self._sessions.pop(stack, None)
        if session is not None:
            # The channel may be gone already: nothing left to close then.
            with contextlib.suppress(Exception):
                session.client.close()

    @contextlib.contextmanager
    def statement(self, tag: str) -> Iterator[None]:
        """The span of this thread's statement tagged ``tag``. Raises
        OperationFailed at once when the tag was interrupted before it began."""
        with self._lock:
            why = self.interrupted.get(tag)
            if why is None:
                self._job_started[tag] = threading.Event()
        if why is not None:
            raise OperationFailed(f"statement interrupted: {why}")
        self._current.tag = tag
        try:
            yield
        finally:
            self._current.tag = None
            with self._lock:
                self._job_started.pop(tag).set()

    def _on_progress(self, stages: Any, inflight_tasks: int, operation_id: Any, done: bool) -> None:
        """pyspark's progress handler, called in the thread that waits for the
        statement: reported stages mean a Spark job of it runs."""
        tag = getattr(self._current, "tag", None)
        if tag is not None and stages:
            with self._lock:
                started = self._job_started.get(tag)
            if started is not None:
                started.set()

    def interrupt(self, stack: str, tag: str, why: str) -> bool:
        """Interrupt the statement tagged ``tag`` on the stack's session in
        this process once it runs a Spark job (at once when it does already,
        after :data:`JOB_WAIT` seconds at most); False when this process
        holds no session for the stack."""
        with self._lock:
            session = self._sessions.get(stack)
            if session is None:
                return False
            self.interrupted[tag] = why
            started = self._job_started.get(tag)
        if started is None or started.is_set():
            session.interruptTag(tag)
            return True

        def when_started() -> None:
            started.wait(JOB_WAIT)
            session.interruptTag(tag)

        threading.Thread(target=when_started, name=f"interrupt {tag}", daemon=True).start()
        return True


SESSIONS = SessionPool()


def open_session(endpoint: ConnectEndpoint) -> Any:
    """A new Spark Connect session on ``endpoint`` (token as a Bearer header)."""
    module = connect_client()
    import atexit

    from pyspark.sql.connect.client import DefaultChannelBuilder

    builder = DefaultChannelBuilder(endpoint.url(with_token=False))
    if endpoint.token:
        builder.set("authorization", f"Bearer {endpoint.token}")
    session = module.SparkSession.builder.channelBuilder(builder).create()
    # Closed before pyspark's own exit hook (atexit runs last-registered
    # first), which otherwise sends clean-up calls to a server that may be
    # gone and holds the process's exit for as long as it retries.
    atexit.register(session.client.close)
    return session


def run_tag(run_id: str | None) -> str:
    """The tag of a run's statement (a fresh one for a run in this process)."""
    return f"sparkswarm-sql-{run_id or uuid.uuid4().hex}".replace(":", "-")


def run_sql(
    gw: Gateway,
    *,
    stack: str,
    statement: str,
    timeout: float | None = None,
    progress: ProgressFn = no_progress,
    run_id: str | None = None,
) -> SqlAnswer:
    """Answer ``statement`` on stack ``stack``'s Connect server.

    Raises NotFound when the stack runs no Connect server, InvalidRequest
    for a statement Spark refuses (its message) or without the client,
    OperationFailed when it was interrupted (time limit or cancelled) or
    failed while running, Unavailable when the server cannot be reached
    (twice: a broken session is made again once).
    """
    from sparkswarm.config import get_settings

    statement = validate_statement(statement)
    limit = timeout if timeout is not None else get_settings().spark_sql_timeout
    tag = run_tag(run_id)
    started = time.monotonic()
    for attempt in (1, 2):
        session, warm = SESSIONS.get(gw, stack)
        progress(f"running on {'a warm' if warm else 'a new'} session of {stack}", log=True)
        try:
            columns, rows, more = _execute(session, stack, statement, tag, limit)
        except Exception as exc:
            why = SESSIONS.interrupted.pop(tag, None)
            if why is not None:
                raise OperationFailed(f"statement interrupted: {why}") from None
            if _is_users_fault(exc):
                raise InvalidRequest(f"Spark refused the statement: {_first_line(exc)}") from None
            if not _is_broken(exc):
                raise OperationFailed(f"Spark: {_first_line(exc)}") from None
            SESSIONS.drop(stack)
            if attempt == 2:
                raise Unavailable(f"Spark Connect of {stack}: {_first_line(exc)}") from None
            progress("the session was broken; making a new one", log=True)
            continue
        SESSIONS.interrupted.pop(tag, None)  # a cancel that came too late
        return SqlAnswer(
            stack=stack,
            statement=statement,
            columns=columns,
            rows=rows,
            more=more,
            seconds=round(time.monotonic() - started, 3),
            warm=warm,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _execute(
    session: Any, stack: str, statement: str, tag: str, limit: float
) -> tuple[list[str], list[list[str]], bool]:
    """Run the statement tagged ``tag``; interrupt the tag after ``limit`` s."""

    def stop() -> None:
        SESSIONS.interrupt(stack, tag, f"it ran longer than the time limit of {limit:g} s")

    timer = threading.Timer(limit, stop)
    timer.daemon = True
    with SESSIONS.statement(tag):
        session.addTag(tag)  # tags are per thread: only this statement carries it
        timer.start()
        try:
            frame = session.sql(statement)
            fetched = frame.limit(MAX_ROWS + 1).collect()
            columns = list(frame.columns)
        finally:
            timer.cancel()
            session.removeTag(tag)
    rows: list[list[str]] = []
    size = 0
    for row in fetched[:MAX_ROWS]:
        cells = [_cell(value) for value in row]
        size += sum(len(c) for c in cells)
        if size > MAX_ANSWER:
            return columns, rows, True
        rows.append(cells)
    return columns, rows, len(fetched) > MAX_ROWS


def _cell(value: Any) -> str:
    text = "NULL" if value is None else str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "\u2026"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:500]


def _is_users_fault(exc: BaseException) -> bool:
    """Spark's own verdict on the statement (parse or analysis error)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"AnalysisException", "ParseException", "IllegalArgumentException"})


_BROKEN = ("UNAVAILABLE", "Connection refused", "Socket closed", "INVALID_HANDLE", "SESSION_")


def _is_broken(exc: BaseException) -> bool:
    """The session cannot be used (the server is gone, or restarted and forgot
    it): the statement never ran, so a new session may run it once more."""
    text = str(exc)
    return any(mark in text for mark in _BROKEN)


def cancel_sql(
    gw: Gateway,
    *,
    stack: str,
    run_id: str,
    requester: str = "",
    progress: ProgressFn = no_progress,
) -> dict[str, Any]:
    """Interrupt the statement of run ``run_id`` on ``stack`` (if it still runs
    in this process's session); says whether there was one to interrupt."""
    why = f"cancelled by {requester}" if requester else "cancelled"
    done = SESSIONS.interrupt(stack, run_tag(run_id), why)
    progress(f"interrupt sent for run {run_id}" if done else "no running statement here", log=True)
    return {"stack": stack, "run_id": run_id, "interrupted": done}
