"""`sparkswarm worker` and `sparkswarm beat`: the queue's processes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    import threading

    from sparkswarm.config import Settings

# Operations mostly wait on the Engine API; beyond this many at once a worker
# only adds lock contention and Engine load.
MAX_CONCURRENCY = 64
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOGLEVEL_OPTION = typer.Option("info", "--loglevel", "-l", help="Log level.")
LOG_FORMAT_OPTION = typer.Option(
    None,
    "--log-format",
    help="text or json: one JSON object per line (default SPARKSWARM_LOG_FORMAT).",
)


def checked_log_format(text: str | None) -> str | None:
    """``text`` checked (text or json); None: the setting decides."""
    from sparkswarm.cli.common import fail

    if text is None or text.strip().lower() in ("text", "json"):
        return None if text is None else text.strip().lower()
    raise fail(f"--log-format {text!r} is not one of text, json")


def _celery_log_format(chosen: str) -> None:
    """JSON lines for Celery's own logging setup when ``chosen`` is json."""
    if chosen == "json":
        from sparkswarm.config import get_settings
        from sparkswarm.workers.log_format import json_for_celery

        json_for_celery(get_settings())


def _loglevel(text: str) -> str:
    """``text`` as a Celery log level; a one-line refusal (exit 2) otherwise."""
    from sparkswarm.cli.common import fail

    level = text.strip().lower()
    if level not in LOG_LEVELS:
        raise fail(f"--loglevel {text!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def _settings_with_broker(*, check_credentials: bool = True) -> Settings:
    """The settings; exit 2 with one sentence when no broker is configured,
    or (``check_credentials``) when Redis refuses our credentials (Celery
    would retry that for ever). An unreachable Redis is left to Celery."""
    from sparkswarm.cli.common import fail
    from sparkswarm.config import get_settings

    settings = get_settings()
    if not settings.redis_url:
        raise fail("set SPARKSWARM_REDIS_URL to the broker, e.g. redis://127.0.0.1:6379/0")
    if check_credentials:
        from sparkswarm.workers.broker_check import check_broker_credentials

        check_broker_credentials(settings)
    return settings


def _until_stopped(watch_forever: Callable[[threading.Event], None], what: str) -> None:
    """Run a watcher's ``watch_forever`` until SIGTERM or Ctrl-C."""
    import logging
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    logging.getLogger("sparkswarm").warning("%s started", what)
    try:
        watch_forever(stop)
    except KeyboardInterrupt:
        stop.set()


def worker(
    concurrency: int = typer.Option(4, "--concurrency", "-c", help="Operations run at once."),
    pool: str = typer.Option(
        "threads", "--pool", help="Celery pool: threads (default), prefork or solo."
    ),
    loglevel: str = LOGLEVEL_OPTION,
    hostname: str = typer.Option("", "--hostname", "-n", help="Worker name (default: host)."),
    log_format: str | None = LOG_FORMAT_OPTION,
) -> None:
    """Run a worker that executes queued operations (needs SPARKSWARM_REDIS_URL)."""
    from sparkswarm.cli.common import fail

    # Checked before Celery sees them: its own checks end in a traceback.
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise fail(f"--concurrency must be between 1 and {MAX_CONCURRENCY}, not {concurrency}")
    level = _loglevel(loglevel)
    if pool not in ("threads", "prefork", "solo"):
        raise fail("--pool is one of threads, prefork, solo")
    settings = _settings_with_broker()
    chosen_format = checked_log_format(log_format) or settings.log_format
    _celery_log_format(chosen_format)
    from sparkswarm.workers.app import app

    # Threads by default: operations wait on the Engine API (I/O), and a
    # worker killed with SIGKILL then takes every running operation with it,
    # so no orphaned pool process keeps running one unseen.
    argv = [
        "worker",
        f"--concurrency={concurrency}",
        f"--pool={pool}",
        f"--loglevel={level}",
        f"--queues={settings.queue}",
        "--without-gossip",
        "--without-mingle",
    ]
    if hostname:
        argv.append(f"--hostname={hostname}")
    if chosen_format == "json":
        argv.insert(0, "--quiet")  # celery's global option: no banner, only JSON lines
    app.worker_main(argv)


def beat(
    loglevel: str = LOGLEVEL_OPTION,
    log_format: str | None = LOG_FORMAT_OPTION,
) -> None:
    """Run the scheduler (RedBeat; a second beat waits on the lock as a standby)."""
    level = _loglevel(loglevel)
    settings = _settings_with_broker()
    _celery_log_format(checked_log_format(log_format) or settings.log_format)
    from sparkswarm.workers.app import app

    app.start(
        [
            "beat",
            "--scheduler=sparkswarm.workers.schedules:ZonedRedBeatScheduler",
            f"--loglevel={level}",
            "--max-interval=5",
        ]
    )


def spark_watcher(
    loglevel: str = LOGLEVEL_OPTION,
    log_format: str | None = LOG_FORMAT_OPTION,
) -> None:
    """Run the Spark job watcher (one is active at a time; others stand by)."""
    settings = _settings_with_broker()
    from sparkswarm.workers.log_format import configure
    from sparkswarm.workers.spark_watcher import watch_forever

    configure(settings, _loglevel(loglevel), checked_log_format(log_format))
    _until_stopped(watch_forever, "spark watcher")


def watch(
    loglevel: str = LOGLEVEL_OPTION,
) -> None:
    """Run the swarm watcher: engine events and task states -> incidents (one active at a time)."""
    import logging

    _settings_with_broker(check_credentials=False)
    from sparkswarm.workers.swarm_watch import watch_forever

    logging.basicConfig(
        level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    _until_stopped(watch_forever, "swarm watcher")
