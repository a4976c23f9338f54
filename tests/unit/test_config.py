"""The one settings object: every SPARKSWARM_* variable is read by
``sparkswarm.config.Settings``, and a malformed one is a configuration error
naming the variable (exit 2, one message, no traceback), never a crash
later or a silent fallback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from sparkswarm.config import Settings, get_settings
from sparkswarm.errors import InvalidRequest
from sparkswarm.stacks.params import packaged_stacks_dir, ready_made_stacks, stacks_dir
from tests.support.cli import cli_env, sparkswarm


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No SPARKSWARM_* variable nor .env file of the caller's; a fresh read."""
    import os

    for key in list(os.environ):
        if key.startswith("SPARKSWARM_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


BAD = [
    # variable, value, words the message must hold
    ("SPARKSWARM_HEARTBEAT_TTL", "abc", "valid number"),
    ("SPARKSWARM_RECOVERY_INTERVAL", "0", "greater than 0"),
    ("SPARKSWARM_LOST_AFTER", "nan", "finite"),
    ("SPARKSWARM_RETRY_BACKOFF_MAX", "inf", "finite"),
    ("SPARKSWARM_DOCKER_TIMEOUT", "-1", "greater than 0"),
    ("SPARKSWARM_MAX_DELIVERIES", "0", "greater than or equal to 1"),
    ("SPARKSWARM_RUN_RETENTION_DAYS", "soon", "valid integer"),
    ("SPARKSWARM_VISIBILITY_TIMEOUT", "1.5", "valid integer"),
    ("SPARKSWARM_QUEUE", "", "at least 1 character"),
    ("SPARKSWARM_REDIS_URL", "127.0.0.1:6391", "expected redis://"),
    ("SPARKSWARM_MANAGERS", "docker.example:2375", "not a manager endpoint"),
    ("SPARKSWARM_MANAGERS", "tcp://[::1", "not a valid endpoint"),  # unclosed bracket
    ("SPARKSWARM_TLS_VERIFY", "perhaps", "valid boolean"),
    ("SPARKSWARM_BOT_CONFIRM_TTL", "abc", "valid number"),
    ("SPARKSWARM_SPARK_WATCH_INTERVAL", "0", "greater than 0"),
]


@pytest.mark.parametrize(("variable", "value", "words"), BAD, ids=[f"{v}={x}" for v, x, _ in BAD])
def test_a_malformed_setting_is_an_error_naming_the_variable(
    variable: str, value: str, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidRequest) as raised:
        get_settings()
    message = str(raised.value)
    assert message.startswith(f"invalid configuration: {variable}: "), message
    assert words in message


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:6391",  # no scheme: kombu would take amqp://guest@localhost
        "localhost",
        "amqp://guest@localhost:5672//",
        "unix:///run/redis.sock",  # redis-py takes it, Celery's broker does not
        "redis:/127.0.0.1:6379",
        "redis://:s3cret@127.0.0.1:notaport/0",
    ],
)
def test_redis_urls_that_one_of_our_clients_cannot_use_are_refused_without_echo(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPARKSWARM_REDIS_URL", url)
    with pytest.raises(InvalidRequest, match="SPARKSWARM_REDIS_URL") as raised:
        get_settings()
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:6379/0", "rediss://:pw@redis.example:6380/2", "redis://localhost"],
)
def test_redis_urls_are_accepted(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARKSWARM_REDIS_URL", url)
    assert get_settings().redis_url == url


def test_one_object_holds_the_core_and_the_queue_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SPARKSWARM_HEARTBEAT_TTL", "4")
    monkeypatch.setenv("SPARKSWARM_RUN_RETENTION_DAYS", "7")
    monkeypatch.setenv("SPARKSWARM_WORKER_IMPORTS", "a.b, c")
    monkeypatch.setenv("SPARKSWARM_MANAGERS", "unix:///x.sock, ssh://me@host")
    monkeypatch.setenv("SPARKSWARM_STACKS_DIR", str(tmp_path))
    settings = get_settings()
    assert settings is get_settings()
    assert (settings.heartbeat_ttl, settings.run_retention_days) == (4.0, 7)
    assert settings.worker_imports == ["a.b", "c"]
    assert settings.managers == ["unix:///x.sock", "ssh://me@host"]
    assert settings.stacks_dir == tmp_path


def test_a_dot_env_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SPARKSWARM_QUEUE=from-dotenv\n")
    assert get_settings().queue == "from-dotenv"


def test_the_queue_reads_the_same_object(monkeypatch: pytest.MonkeyPatch) -> None:
    """The queue's client takes its settings from get_settings(): the
    run_retention_* settings reach the run store (no connection is made)."""
    monkeypatch.setenv("SPARKSWARM_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("SPARKSWARM_RUN_RETENTION_DAYS", "2")
    monkeypatch.setenv("SPARKSWARM_RUN_RETENTION_COUNT", "7")
    from sparkswarm.workers.client import QueueClient

    qc = QueueClient()
    assert qc.settings is get_settings()
    assert (qc.store.retention_seconds, qc.store.retention_count) == (2 * 86400, 7)


def test_without_the_setting_the_packaged_stacks_are_found() -> None:
    assert stacks_dir() == packaged_stacks_dir()
    assert {"spark", "web"} <= set(ready_made_stacks())
    assert (packaged_stacks_dir() / "spark" / "Dockerfile").is_file()


def test_the_stacks_dir_setting_replaces_the_packaged_stacks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "stack.yml").write_text("services: {}\n")
    monkeypatch.setenv("SPARKSWARM_STACKS_DIR", str(tmp_path))
    assert ready_made_stacks() == ["mine"]


@pytest.mark.parametrize(
    ("setting", "command"),
    [
        ("SPARKSWARM_HEARTBEAT_TTL=abc", ["worker"]),
        ("SPARKSWARM_REDIS_URL=127.0.0.1:6391", ["worker"]),
        ("SPARKSWARM_REDIS_URL=127.0.0.1:6391", ["beat"]),
        ("SPARKSWARM_REDIS_URL=127.0.0.1:6391", ["runs", "ls"]),
        ("SPARKSWARM_DOCKER_TIMEOUT=soon", ["service", "ls"]),
        ("SPARKSWARM_MANAGERS=tcp://[::1", ["service", "ls"]),
    ],
)
def test_the_cli_exits_2_with_one_message_naming_the_variable(
    setting: str, command: list[str], tmp_path: Path
) -> None:
    """Real subprocess, no engine and no Redis needed: it stops before either."""
    import os

    variable, _, value = setting.partition("=")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKSWARM_")}
    env.update({"SPARKSWARM_REDIS_URL": "redis://127.0.0.1:1/0", variable: value})
    done = sparkswarm(*command, env=env, queued=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: invalid configuration: {variable}: ")
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stdout == ""


def test_a_stack_missing_from_the_configured_folder_names_the_setting(tmp_path: Path) -> None:
    env = cli_env(SPARKSWARM_STACKS_DIR=str(tmp_path / "nowhere"))
    done = sparkswarm("stack", "diff", "web", env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"error: no ready-made stack 'web' in {tmp_path / 'nowhere'} (set by "
        "SPARKSWARM_STACKS_DIR); known: none; give files with -c\n"
    )


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [
        f"SPARKSWARM_{setting.name.upper()}"
        for setting in fields(Settings)
        if f"`SPARKSWARM_{setting.name.upper()}`" not in readme
    ]
    assert not missing, f"add to README's Configuration table: {missing}"
    undescribed = [setting.name for setting in fields(Settings) if not setting.metadata["doc"]]
    assert not undescribed, f"describe in Settings: {undescribed}"
