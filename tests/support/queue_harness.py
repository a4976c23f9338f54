"""Real redis-server, worker and beat processes for the queue's tests.

Each test module gets its own redis-server on a free loopback port (its
data in a temp dir), so nothing collides with the shared Redis on 6379 or
with other test sessions, and a test may kill or restart it. Workers and
beats are ``sparkswarm worker`` / ``sparkswarm beat`` subprocesses in their
own process group, killed at teardown.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.cli import SPARKSWARM, sparkswarm

# Re-exported: the queue's tests import them from here.
from tests.support.wait import holds_for as holds_for
from tests.support.wait import wait_for as wait_for

ROOT = Path(__file__).resolve().parents[2]

# Short timings so recovery and retries happen within a test's patience.
FAST_SETTINGS = {
    "SPARKSWARM_HEARTBEAT_TTL": "4",
    "SPARKSWARM_RECOVERY_INTERVAL": "1",
    "SPARKSWARM_RETRY_ATTEMPTS": "3",
    "SPARKSWARM_RETRY_BACKOFF": "0.5",
    "SPARKSWARM_LOST_AFTER": "3",
    "SPARKSWARM_WORKER_IMPORTS": "tests.support.queue_ops",
    # Each worker would watch the shared engine; tests of the watcher turn it on.
    "SPARKSWARM_SWARM_WATCHER_IN_WORKER": "false",
    # Every lab's Spark watcher would autoscale any autoscaled stack on the
    # shared engine (recording the run in its own Redis); the autoscaling test
    # gives its own watcher a short interval.
    "SPARKSWARM_SPARK_AUTOSCALE_INTERVAL": "86400",
}


def executions(qc: Any, key: str) -> list[str]:
    """What the test operations (tests/support/queue_ops.py) ran for ``key``, in order."""
    return list(qc.redis.lrange(f"test:exec:{key}", 0, -1))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def recovery_cycle(settings: Any) -> float:
    """Seconds within which the workers' recovery re-queues a run whose worker
    died: its heartbeat expires, two passes ``heartbeat_ttl / 2`` apart see it
    missing, plus a pass interval of slack on each side."""
    ttl = float(settings.heartbeat_ttl)
    return ttl + ttl / 2 + 2 * float(settings.recovery_interval)


class RedisServer:
    """A redis-server of our own; ``aof=True`` turns on appendonly (fsync always);
    ``password`` makes it require that password (``requirepass``, given in a
    config file on stdin, not on its command line)."""

    def __init__(
        self,
        folder: Path,
        *,
        aof: bool = False,
        password: str | None = None,
        tls: Path | None = None,
    ) -> None:
        self.folder = folder
        self.port = free_port()
        self.aof = aof
        self.password = password
        # A folder with ca.pem, cert.pem, key.pem: TLS only (rediss://), no plain port.
        self.tls = tls
        self.proc: subprocess.Popen[bytes] | None = None
        self._started_once = False

    @property
    def url(self) -> str:
        """The URL without the password (clients add SPARKSWARM_REDIS_PASSWORD);
        with TLS a ``rediss://`` URL naming the CA."""
        if self.tls is not None:
            return f"rediss://127.0.0.1:{self.port}/0?ssl_ca_certs={self.tls / 'ca.pem'}"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start redis-server and wait until it is the one answering on the port.

        ``free_port`` only finds a port that was free a moment ago: another
        process (a test session next door, an outgoing connection) may take it
        before redis-server binds it, and a bare PING would then talk to
        somebody else's server. So the answering server must report our
        process id. On the first start another port is tried; a restart keeps
        its port (workers know the URL), and fails clearly if it is taken.
        """
        attempts = 1 if self._started_once else 5
        for attempt in range(attempts):
            if attempt:
                self.port = free_port()
            if self._start_on_port():
                self._started_once = True
                return
        raise AssertionError(f"redis-server could not serve port {self.port}:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        log = self.folder / "redis.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no redis.log)"

    def _start_on_port(self) -> bool:
        args = [
            "redis-server",
            *(["-"] if self.password is not None else []),  # the config on stdin first
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
            "--save",
            "",
            "--logfile",
            "redis.log",
        ]
        if self.tls is not None:
            args[args.index("--port") + 1] = "0"
            args += [
                "--tls-port",
                str(self.port),
                "--tls-cert-file",
                str(self.tls / "cert.pem"),
                "--tls-key-file",
                str(self.tls / "key.pem"),
                "--tls-ca-cert-file",
                str(self.tls / "ca.pem"),
                "--tls-auth-clients",
                "no",
            ]
        if self.aof:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        stdin = subprocess.PIPE if self.password is not None else subprocess.DEVNULL
        proc = subprocess.Popen(
            args, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if proc.stdin is not None:
            proc.stdin.write(f'requirepass "{self.password}"\n'.encode())
            proc.stdin.close()
        self.proc = proc
        import redis

        client = redis.Redis.from_url(self.url, password=self.password, socket_connect_timeout=1)
        try:
            wait_for(
                lambda: proc.poll() is not None or _served_by(client, proc.pid),
                20,
                f"redis-server on port {self.port}",
            )
        except AssertionError:
            proc.kill()
            proc.wait(10)
            self.proc = None
            raise
        finally:
            client.close()
        if proc.poll() is not None:  # it could not bind the port
            self.proc = None
            return False
        return True

    def kill(self) -> None:
        """SIGKILL: a crash, no shutdown save (only the AOF survives)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None


def _served_by(client: Any, pid: int) -> bool:
    """True if the server answering ``client`` is process ``pid`` and it has
    loaded its data (while it replays its AOF it answers INFO, and every
    other command with ``LOADING``)."""
    import redis

    try:
        info = client.info()
        return int(info["process_id"]) == pid and not int(info.get("loading", 0))
    except redis.RedisError:
        return False


def has_redis_server() -> bool:
    return shutil.which("redis-server") is not None


class Process:
    """A ``sparkswarm`` subprocess (worker or beat) in its own process group;
    ``program``: another command to run with ``args`` (``celery flower``)."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        log: Path,
        program: tuple[str, ...] = (SPARKSWARM,),
    ) -> None:
        self.log = log
        self._log_file = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*program, *args],
            env=env,
            cwd=str(ROOT),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def exit_code(self) -> int | None:
        """None while running; negative signal number if a signal ended it."""
        return self.proc.poll()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, chars: int = 3000) -> str:
        """The end of the log, for assertion messages."""
        return f"--- {self.log.name} (exit {self.exit_code}) ---\n{self.output()[-chars:]}"

    def wait_ready(self, marker: str, timeout: float = 60) -> None:
        wait_for(lambda: marker in self.output() or not self.alive(), timeout, f"{marker!r}")
        if not self.alive():
            raise AssertionError(f"process exited early:\n{self.output()[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (pool threads/processes included)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
        if sig == signal.SIGKILL:
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            self.kill(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
        self._log_file.close()


class QueueLab:
    """One test module's queue: its Redis, a queue name, workers and beats."""

    def __init__(self, folder: Path, redis_server: RedisServer) -> None:
        self.folder = folder
        self.redis_server = redis_server
        self.queue = f"q-{uuid.uuid4().hex[:8]}"
        self.processes: list[Process] = []

    @property
    def url(self) -> str:
        return self.redis_server.url

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKSWARM_")}
        env.update(FAST_SETTINGS)
        env.update(
            {
                "SPARKSWARM_REDIS_URL": self.url,
                "SPARKSWARM_QUEUE": self.queue,
                "PYTHONPATH": str(ROOT),
            }
        )
        if self.redis_server.password is not None:
            env["SPARKSWARM_REDIS_PASSWORD"] = self.redis_server.password
        env.update(extra)
        return env

    def cli(
        self, *args: str, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``sparkswarm ARGS`` with this lab's broker (``env``, default
        :meth:`env`): mutating commands go through the queue."""
        return sparkswarm(
            *args, env=self.env() if env is None else env, queued=True, timeout=timeout
        )

    def settings(self) -> Any:
        from sparkswarm.config import Settings

        return Settings(
            **{  # type: ignore[arg-type]
                "redis_url": self.url,
                "redis_password": self.redis_server.password,
                "queue": self.queue,
                **{
                    k.removeprefix("SPARKSWARM_").lower(): v
                    for k, v in FAST_SETTINGS.items()
                    if k != "SPARKSWARM_WORKER_IMPORTS"
                },
            }
        )

    def client(self) -> Any:
        from sparkswarm.workers.client import QueueClient

        return QueueClient(self.settings())

    def start_worker(
        self, concurrency: int = 4, *, ready: bool = True, **extra_env: str
    ) -> Process:
        """Start ``sparkswarm worker``; with ``ready``, wait until it serves."""
        name = f"w{len(self.processes)}-{uuid.uuid4().hex[:4]}"
        proc = Process(
            ["worker", "--concurrency", str(concurrency), "--hostname", f"{name}@%h"],
            self.env(**extra_env),
            self.folder / f"{name}.log",
        )
        self.processes.append(proc)
        if ready:
            proc.wait_ready("ready.")
        return proc

    def start_beat(self) -> Process:
        name = f"beat{len(self.processes)}"
        proc = Process(["beat", "--loglevel", "debug"], self.env(), self.folder / f"{name}.log")
        self.processes.append(proc)
        proc.wait_ready("beat: Starting", 60)
        return proc

    def stop_all(self) -> None:
        for proc in self.processes:
            proc.stop()
        self.processes.clear()


@contextlib.contextmanager
def queue_lab(
    folder: Path, *, password: str | None = None, tls: Path | None = None
) -> Iterator[QueueLab]:
    """A QueueLab on its own fresh redis-server in ``folder`` (requiring
    ``password`` if given: the lab's processes get SPARKSWARM_REDIS_PASSWORD);
    every process it started and the server are stopped on exit (also when
    the test failed; ``tls``: a folder with ca.pem, cert.pem and key.pem, and
    the lab speaks rediss://). Skips (fails under CI) when redis-server is not
    installed."""
    from tests.conftest import unavailable

    if not has_redis_server():
        unavailable("redis-server is not installed")
    server = RedisServer(folder, password=password, tls=tls)
    server.start()
    lab = QueueLab(folder, server)
    try:
        yield lab
    finally:
        lab.stop_all()
        server.stop()
