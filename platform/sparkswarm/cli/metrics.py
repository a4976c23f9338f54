"""`sparkswarm metrics`: the Prometheus exporter (:mod:`sparkswarm.workers.metrics`)."""

from __future__ import annotations

import typer


def metrics(
    port: int = typer.Option(
        None,
        "--port",
        "-p",
        help="Port to serve /metrics on (default SPARKSWARM_METRICS_PORT, 9808).",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    log_format: str | None = typer.Option(
        None, "--log-format", help="text or json (default SPARKSWARM_LOG_FORMAT)."
    ),
) -> None:
    """Serve Prometheus metrics read from the queue's Redis (needs SPARKSWARM_REDIS_URL)."""
    import signal
    import threading

    from sparkswarm.cli.common import fail
    from sparkswarm.config import get_settings

    settings = get_settings()
    if not settings.redis_url:
        raise fail("set SPARKSWARM_REDIS_URL to the queue's Redis, e.g. redis://127.0.0.1:6379/0")
    chosen = settings.metrics_port if port is None else port
    if not 0 < chosen < 65536:
        raise fail(f"--port {chosen}: not a port")
    from sparkswarm.cli.worker import checked_log_format
    from sparkswarm.workers.broker_check import check_broker_credentials
    from sparkswarm.workers.client import QueueClient
    from sparkswarm.workers.log_format import configure
    from sparkswarm.workers.metrics import serve_metrics

    configure(settings, "INFO", checked_log_format(log_format))
    check_broker_credentials(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        serve_metrics(QueueClient(settings), port=chosen, host=host, stop=stop)
    except OSError as exc:
        raise fail(f"cannot serve on {host}:{chosen}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        stop.set()
