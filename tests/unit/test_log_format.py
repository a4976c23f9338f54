"""JSON log lines (--log-format json): one object per line with time, level,
logger, message and the run context; secrets scrubbed as in chat."""

from __future__ import annotations

import io
import json
import logging
import types

import pytest

from sparkswarm.config import Settings
from sparkswarm.workers import log_format
from sparkswarm.workers.log_format import use_json


def logged(settings: Settings, emit: object) -> list[dict[str, object]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    use_json(handler, settings)
    logger = logging.getLogger("sparkswarm.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        emit(logger)  # type: ignore[operator]
    finally:
        logger.removeHandler(handler)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_line_is_one_object_with_the_fields() -> None:
    lines = logged(Settings(), lambda log: log.warning("hello %s", "there"))
    assert len(lines) == 1
    line = lines[0]
    assert line["level"] == "WARNING"
    assert line["logger"] == "sparkswarm.test.json"
    assert line["message"] == "hello there"
    assert str(line["time"]).endswith("+00:00")
    assert line["run_id"] is None and line["op"] is None and line["target"] is None


def test_inside_a_run_the_line_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Celery's current task, as a worker thread running a run sees it (the
    # real thing is checked by tests/integration/test_json_logs.py).
    task = types.SimpleNamespace(
        name="service.scale",
        request=types.SimpleNamespace(
            kwargs={"run_id": "run-123", "params": {"replicas": {"web": 2}}}
        ),
    )
    monkeypatch.setattr(log_format, "_current_task", lambda: task)

    line = logged(Settings(), lambda log: log.info("working"))[0]
    assert (line["run_id"], line["op"], line["target"]) == (
        "run-123",
        "service.scale",
        "service:web",
    )


@pytest.mark.parametrize(
    "secret",
    ["xoxb-1234-abcd-efgh", "SWMTKN-1-abc-def", "my-redis-password-xyz"],
)
def test_secrets_are_scrubbed_from_messages_and_tracebacks(secret: str) -> None:
    settings = Settings(redis_url="redis://redis:6379/0", redis_password="my-redis-password-xyz")

    def emit(log: logging.Logger) -> None:
        log.info("token is %s", secret)
        try:
            raise RuntimeError(f"failed with {secret}")
        except RuntimeError:
            log.exception("boom")

    lines = logged(settings, emit)
    text = json.dumps(lines)
    assert secret not in text
    assert "[redacted]" in lines[0]["message"]  # type: ignore[operator]
    assert "RuntimeError" in str(lines[1].get("exc_info"))
