"""`sparkswarm worker` and `sparkswarm beat`: the queue's processes."""

from __future__ import annotations

import typer


def worker(
    concurrency: int = typer.Option(4, "--concurrency", "-c", help="Operations run at once."),
    pool: str = typer.Option(
        "threads", "--pool", help="Celery pool: threads (default), prefork or solo."
    ),
    loglevel: str = typer.Option("info", "--loglevel", "-l", help="Log level."),
    hostname: str = typer.Option("", "--hostname", "-n", help="Worker name (default: host)."),
) -> None:
    """Run a worker that executes queued operations (needs SPARKSWARM_REDIS_URL)."""
    from sparkswarm.cli.common import fail
    from sparkswarm.config import get_settings

    settings = get_settings()
    if not settings.redis_url:
        raise fail("set SPARKSWARM_REDIS_URL to the broker, e.g. redis://127.0.0.1:6379/0")
    if pool not in ("threads", "prefork", "solo"):
        raise fail("--pool is one of threads, prefork, solo")
    from sparkswarm.workers.app import app

    # Threads by default: operations wait on the Engine API (I/O), and a
    # worker killed with SIGKILL then takes every running operation with it,
    # so no orphaned pool process keeps running one unseen.
    argv = [
        "worker",
        f"--concurrency={concurrency}",
        f"--pool={pool}",
        f"--loglevel={loglevel}",
        f"--queues={settings.queue}",
        "--without-gossip",
        "--without-mingle",
    ]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)


def beat(
    loglevel: str = typer.Option("info", "--loglevel", "-l", help="Log level."),
) -> None:
    """Run the scheduler (RedBeat; a second beat waits on the lock as a standby)."""
    from sparkswarm.cli.common import fail
    from sparkswarm.config import get_settings

    if not get_settings().redis_url:
        raise fail("set SPARKSWARM_REDIS_URL to the broker, e.g. redis://127.0.0.1:6379/0")
    from sparkswarm.workers.app import app

    app.start(
        [
            "beat",
            "--scheduler=sparkswarm.workers.schedules:ZonedRedBeatScheduler",
            f"--loglevel={loglevel}",
            "--max-interval=5",
        ]
    )
