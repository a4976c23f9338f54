"""``spark.status`` (read-only): the standalone master's view of a spark stack.

The master's ``/json/`` page is read from inside the master's own container
(``docker exec`` of the Python that every Spark image has), so it needs no
published port, works with or without IPVS, and never opens the UI to the
network. The gateway must reach the engine of the node running the master.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from pydantic import Field

from sparkswarm.errors import InvalidRequest, OperationFailed, SparkswarmError, Unavailable
from sparkswarm.model_base import LazyModel
from sparkswarm.spark.queries import require_stack_service, running_container
from sparkswarm.waiting import poll

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

MASTER_UI_PORT = 8080
_FETCH = (
    "import sys, urllib.request\n"
    f"sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:{MASTER_UI_PORT}/json/',"
    " timeout=10).read().decode())\n"
)


class SparkWorker(LazyModel):
    """One worker as the master sees it."""

    id: str
    host: str
    state: str = Field(description="ALIVE, DEAD, DECOMMISSIONED, UNKNOWN.")
    cores: int
    cores_used: int
    memory_mb: int
    memory_used_mb: int


class SparkApp(LazyModel):
    """One application (a driver) registered with the master."""

    id: str
    name: str
    state: str
    cores: int
    duration_ms: int


class SparkStatus(LazyModel):
    """The master's state: workers, capacity and applications."""

    stack: str
    url: str
    status: str = Field(description="The master's own state: ALIVE, STANDBY, ...")
    alive_workers: int
    workers: list[SparkWorker]
    cores: int
    cores_used: int
    memory_mb: int
    memory_used_mb: int
    active_apps: list[SparkApp]
    completed_apps: int
    finished_apps: list[SparkApp] = Field(
        default_factory=list, description="Completed applications (FINISHED, KILLED, FAILED)."
    )

    def app(self, app_id: str) -> SparkApp | None:
        """The application ``app_id``, active or completed, or None."""
        for app in [*self.active_apps, *self.finished_apps]:
            if app.id == app_id:
                return app
        return None


def parse_master_json(stack: str, data: dict[str, Any]) -> SparkStatus:
    """Turn the master's ``/json/`` document into a :class:`SparkStatus` (pure)."""
    workers = [
        SparkWorker(
            id=str(w.get("id", "")),
            host=str(w.get("host", "")),
            state=str(w.get("state", "UNKNOWN")),
            cores=int(w.get("cores", 0)),
            cores_used=int(w.get("coresused", 0)),
            memory_mb=int(w.get("memory", 0)),
            memory_used_mb=int(w.get("memoryused", 0)),
        )
        for w in data.get("workers") or []
    ]
    apps = [_app(a) for a in data.get("activeapps") or []]
    alive = [w for w in workers if w.state == "ALIVE"]
    return SparkStatus(
        stack=stack,
        url=str(data.get("url", "")),
        status=str(data.get("status", "UNKNOWN")),
        alive_workers=len(alive),
        workers=workers,
        cores=int(data.get("cores", sum(w.cores for w in alive))),
        cores_used=int(data.get("coresused", 0)),
        memory_mb=int(data.get("memory", sum(w.memory_mb for w in alive))),
        memory_used_mb=int(data.get("memoryused", 0)),
        active_apps=apps,
        completed_apps=len(data.get("completedapps") or []),
        finished_apps=[_app(a) for a in data.get("completedapps") or []],
    )


def _app(data: dict[str, Any]) -> SparkApp:
    return SparkApp(
        id=str(data.get("id", "")),
        name=str(data.get("name", "")),
        state=str(data.get("state", "")),
        cores=int(data.get("cores", 0)),
        duration_ms=int(data.get("duration", 0)),
    )


def _master_container(gw: Gateway, stack: str) -> str:
    """The id of the master's running container on this engine; Unavailable if none."""
    service = require_stack_service(gw, stack, "master")
    return running_container(gw, service, f"the master of {stack}")


def kill_app(gw: Gateway, *, stack: str, app_id: str) -> bool:
    """Ask the master to kill application ``app_id`` (its UI's kill action,
    from inside the master container); True if the master accepted.

    The master then lists the app as KILLED and tells its driver to stop.
    Raises Unavailable when the master cannot be reached.
    """
    if not re.match(r"^app-[0-9]+-[0-9]+$", app_id):
        raise InvalidRequest(f"not a Spark application id: {app_id!r}")
    # Spark 4 wants the UI's CSRF token on state-changing requests: it is in
    # the kill forms of the master's page while the app is active.
    script = (
        "import re, sys, urllib.parse, urllib.request\n"
        f"base = 'http://127.0.0.1:{MASTER_UI_PORT}'\n"
        "page = urllib.request.urlopen(base + '/', timeout=10).read().decode()\n"
        "found = re.search(r'name=.csrfToken.\\s+value=.([^\"\\']+)', page)\n"
        f"form = {{'id': '{app_id}', 'terminate': 'true'}}\n"
        "if found: form['csrfToken'] = found.group(1)\n"
        "data = urllib.parse.urlencode(form).encode()\n"
        "req = urllib.request.Request(base + '/app/kill/', data=data, method='POST')\n"
        "urllib.request.urlopen(req, timeout=10).read()\n"
    )
    _, code = _exec(gw, _master_container(gw, stack), ["python3", "-c", script])
    return code == 0


def spark_status(gw: Gateway, *, stack: str = "spark") -> SparkStatus:
    """The master's view of spark stack ``stack``.

    Raises NotFound when the stack has no master service, Unavailable when
    its master is not running on the engine the gateway talks to (or its UI
    is not up yet), OperationFailed when the answer is not the master's JSON.
    """
    output, code = _exec(gw, _master_container(gw, stack), ["python3", "-c", _FETCH])
    if code != 0:
        last = output.strip().splitlines()[-1:] or ["no output"]
        raise Unavailable(f"the master UI of {stack} did not answer: {last[0]}")
    try:
        data = json.loads(output)
    except ValueError as exc:
        raise OperationFailed(f"the master of {stack} answered something not JSON") from exc
    return parse_master_json(stack, data)


def wait_for_workers(
    gw: Gateway, *, stack: str, workers: int, timeout: float = 180.0
) -> SparkStatus:
    """Poll :func:`spark_status` until ``workers`` workers are ALIVE.

    Raises OperationFailed after ``timeout`` seconds, saying how many were.
    """
    last: SparkStatus | None = None
    problem = ""

    def ready() -> SparkStatus | None:
        nonlocal last, problem
        try:
            last = spark_status(gw, stack=stack)
        except (Unavailable, OperationFailed) as exc:
            problem = str(exc)
            return None
        return last if last.alive_workers >= workers else None

    found = poll(ready, timeout=timeout, interval=2.0)
    if found is not None:
        return found
    seen = last.alive_workers if last else 0
    raise OperationFailed(
        f"{stack}: {seen} of {workers} workers ALIVE after {timeout:.0f} s {problem}".strip()
    )


CONNECT_APP_NAME = "Spark Connect server"  # stacks/spark/conf/connect.sh


def wait_for_connect(gw: Gateway, *, stack: str, timeout: float = 180.0) -> SparkStatus:
    """Poll :func:`spark_status` until the stack's Spark Connect server runs
    as an application of the master. Raises OperationFailed after ``timeout`` s."""

    def ready() -> SparkStatus | None:
        try:
            status = spark_status(gw, stack=stack)
        except (Unavailable, OperationFailed):
            return None
        running = any(app.name == CONNECT_APP_NAME for app in status.active_apps)
        return status if running else None

    found = poll(ready, timeout=timeout, interval=2.0)
    if found is None:
        raise OperationFailed(
            f"{stack}: the Spark Connect server did not register with the master within "
            f"{timeout:.0f} s (see `docker service logs {stack}_connect`)"
        )
    return found


def _exec(gw: Gateway, container_id: str, command: list[str]) -> tuple[str, int]:
    try:
        done = gw.exec_run(container_id, command)
    except SparkswarmError as exc:
        raise Unavailable(f"cannot run a command in the master container: {exc}") from exc
    return done.output.decode("utf-8", "replace"), done.exit_code
