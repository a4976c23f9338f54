"""``--log-format json``: one JSON object per log line, for the long-running
processes (worker, beat, bot, spark-watcher, metrics exporter).

Each line holds ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``
and, inside an operation, ``run_id``, ``op`` and ``target``; the message and
any traceback pass the chat's scrubber first (:mod:`sparkswarm.bots.scrub`:
swarm and Slack tokens, every configured secret). The format is
python-json-logger's; this module only chooses the fields and the filters.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from sparkswarm.config import Settings

FIELDS = ("level", "logger", "message", "run_id", "op", "target")


class RunContextFilter(logging.Filter):
    """Adds ``run_id``, ``op`` and ``target`` of the operation this thread runs
    (None outside one), from Celery's current task: its message carries them."""

    def filter(self, record: logging.LogRecord) -> bool:
        run_id, op, target = None, None, None
        task = _current_task()
        if task is not None:
            kwargs = getattr(task.request, "kwargs", None) or {}
            run_id = kwargs.get("run_id")
            op = task.name
            target = _target_of(op, kwargs.get("params"))
        record.run_id, record.op, record.target = run_id, op, target
        return True


def _current_task() -> Any:
    """Celery's task of this thread, if Celery is loaded at all (never imported here)."""
    if "celery" not in sys.modules:
        return None
    from celery import current_task

    task = current_task._get_current_object()
    return None if task is None or getattr(task, "request", None) is None else task


def _target_of(op: str, params: object) -> str | None:
    from sparkswarm.errors import SparkswarmError
    from sparkswarm.operations import get_operation

    if not isinstance(params, dict):
        return None
    try:
        return get_operation(op).target(params)
    except (SparkswarmError, KeyError, TypeError, ValueError):
        return None


def json_formatter(scrub: Callable[[str], str] | None = None) -> logging.Formatter:
    """python-json-logger's formatter with our field names; ``scrub`` cleans
    tracebacks (it formats ``exc_info`` itself, ignoring a filter's ``exc_text``)."""
    from pythonjsonlogger.json import JsonFormatter

    clean = scrub or (lambda text: text)

    class ScrubbedJsonFormatter(JsonFormatter):
        def formatException(self, ei: Any) -> Any:
            return _clean(clean, super().formatException(ei))

        def formatStack(self, stack_info: str) -> Any:
            return _clean(clean, super().formatStack(stack_info))

    return ScrubbedJsonFormatter(
        "{levelname}{name}{message}{run_id}{op}{target}",
        style="{",
        timestamp="time",
        rename_fields={"levelname": "level", "name": "logger"},
    )


def _clean(clean: Callable[[str], str], text: str | list[str]) -> str | list[str]:
    """A traceback (text, or its lines with ``exc_info_as_array``) scrubbed."""
    return clean(text) if isinstance(text, str) else [clean(line) for line in text]


def use_json(handler: logging.Handler, settings: Settings) -> None:
    """Make ``handler`` write JSON lines with the run context, secrets scrubbed."""
    from sparkswarm.bots.scrub import Scrubber, ScrubbingFilter

    scrubber = Scrubber(settings.secret_values())
    handler.setFormatter(json_formatter(scrubber.text))
    if not any(isinstance(f, RunContextFilter) for f in handler.filters):
        handler.addFilter(RunContextFilter())
    if not any(isinstance(f, ScrubbingFilter) for f in handler.filters):
        handler.addFilter(ScrubbingFilter(scrubber))


def configure(settings: Settings, level: str = "INFO", log_format: str | None = None) -> None:
    """Root logging for a process of ours: text as before, or JSON lines
    (``log_format``, default the ``log_format`` setting)."""
    chosen = log_format or settings.log_format
    if chosen == "json":
        logging.basicConfig(level=level.upper(), force=True)
        logging.captureWarnings(True)
        for handler in logging.getLogger().handlers:
            use_json(handler, settings)
    else:
        logging.basicConfig(
            level=level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            force=True,
        )


def json_for_celery(settings: Settings) -> None:
    """JSON lines for a Celery worker or beat: Celery sets its logging up
    itself after we start it, so its own signals hand us its loggers."""
    from celery import signals

    # Until Celery sets its logging up (and for its warnings, such as running
    # as root, which go through the warnings module): JSON lines already.
    configure(settings, "INFO", "json")
    logging.captureWarnings(True)

    def after_setup(logger: logging.Logger, **_: Any) -> None:
        for handler in logger.handlers:
            use_json(handler, settings)

    signals.after_setup_logger.connect(after_setup, weak=False)
    signals.after_setup_task_logger.connect(after_setup, weak=False)
