"""Settings, read from ``SPARKSWARM_*`` environment variables and an optional ``.env``.

One object, :class:`Settings`, holds every setting of the CLI, the core and
the queue (worker, beat, submitting clients); :func:`get_settings` reads it
once per process and turns a malformed value into an
:class:`~sparkswarm.errors.InvalidRequest` that names the variable (exit 2).

Kept free of heavy imports: the CLI reads settings on every start, before it
decides whether to import celery at all.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MANAGER_SCHEMES = ("unix://", "tcp://", "ssh://", "http://", "https://", "npipe://")
# Both clients of the queue's Redis must understand the URL: kombu (Celery's
# broker), which takes any other scheme for another transport (a URL without
# one silently becomes amqp://guest@localhost), and redis-py (records, events).
REDIS_SCHEMES = ("redis", "rediss")


# A duration: positive and finite (pydantic takes "nan" and "inf" otherwise).
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class Settings(BaseSettings):
    """Everything sparkswarm can be configured with. See README "Configuration"."""

    model_config = SettingsConfigDict(
        env_prefix="SPARKSWARM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- The swarm: which engine to talk to and how -------------------------

    managers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Manager endpoints tried in order (unix://, tcp://, ssh://). "
        "Empty: DOCKER_HOST or the local socket, as the docker CLI does.",
    )
    tls_verify: bool = Field(False, description="Verify tcp:// managers with TLS.")
    cert_path: str | None = Field(
        None, description="Folder with ca.pem, cert.pem, key.pem for tcp:// managers."
    )
    docker_timeout: Seconds = Field(60.0, description="Seconds per Engine API call.")
    stacks_dir: Path | None = Field(
        None,
        description="Folder of ready-made stacks (one sub-folder with a stack.yml each). "
        "Unset: the stacks shipped in the package (spark, web).",
    )
    lab_dir: str = Field(
        "/var/lib/sparkswarm-lab",
        min_length=1,
        description="Where `sparkswarm lab` keeps each lab's state and node folders.",
    )
    max_replicas: int = Field(
        100, ge=1, description="Most tasks one service may have (refused before sending)."
    )
    max_stack_replicas: int = Field(
        200, ge=1, description="Most tasks all services of one stack may have together."
    )

    # --- The queue: worker, beat and the clients that submit to it ----------

    redis_url: str | None = Field(
        None,
        description="Broker, run records and event stream (redis:// or rediss://). "
        "Unset: mutating commands run in-process.",
    )
    queue: str = Field("sparkswarm", min_length=1, description="Celery queue operations go to.")
    key_prefix: str = Field("ssw:", min_length=1, description="Prefix of every Redis key we write.")
    visibility_timeout: int = Field(
        6 * 3600,
        gt=0,
        description="Seconds before Redis hands an unacked message to another worker. "
        "Longer than the longest operation; prompt recovery uses heartbeats instead.",
    )
    heartbeat_ttl: Seconds = Field(10.0, description="Seconds a run's heartbeat lives unrefreshed.")
    recovery_interval: Seconds = Field(5.0, description="Seconds between recovery passes.")
    lost_after: Seconds = Field(
        30.0,
        description="Seconds after which a queued run whose message is nowhere in Redis "
        "(its worker died between taking it and starting it) is re-queued.",
    )
    max_deliveries: int = Field(3, ge=1, description="Starts of one run before it is failed.")
    retry_attempts: int = Field(4, ge=1, description="Tries of an op whose engine is unavailable.")
    retry_backoff: Seconds = Field(1.0, description="First retry delay in seconds; doubles.")
    retry_backoff_max: Seconds = Field(30.0, description="Longest retry delay in seconds.")
    events_maxlen: int = Field(10_000, gt=0, description="Approximate length of the event stream.")
    run_retention_days: int = Field(30, gt=0, description="How long run records are kept.")
    run_retention_count: int = Field(5000, gt=0, description="How many run records are kept.")
    worker_imports: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra modules the worker imports before it creates its tasks "
        "(they may register more operations).",
    )
    spark_watcher_in_worker: bool = Field(
        True,
        description="Run the Spark job watcher as a thread of every worker (one is active "
        "at a time, by lock); off: run `sparkswarm spark-watcher` yourself.",
    )
    spark_watch_interval: Seconds = Field(1.0, description="Seconds between watcher passes.")
    spark_watcher_ttl: Seconds = Field(
        15.0, description="Seconds the watcher lock lives unrefreshed (takeover after a crash)."
    )
    spark_resource_timeout: Seconds = Field(
        600.0, description="Seconds a job may wait for workers or cores before it is failed."
    )
    spark_job_keep: Seconds = Field(
        3600.0,
        description="Seconds a finished job's containers and configs are kept (for docker "
        "logs); its record, output and log tail stay as long as run records.",
    )
    follow_grace: Seconds = Field(
        30.0,
        description="Seconds a CLI following a run waits for Redis to come back "
        "before it gives up (the run goes on; `runs show ID --follow` re-attaches).",
    )
    queued_notice: Seconds = Field(
        10.0,
        description="Seconds a followed run may stay queued before the CLI says why "
        "(the run it waits for, or no worker taking it).",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Fernet key sealing secret parameters in Redis (run parameters, "
        "schedules). Without it schedules with secret parameters are refused; "
        "`swarm doctor` warns when the queue is configured without one.",
    )

    # --- The Slack bot (tokens are SecretStr: never in a repr, log or error) --

    slack_api_url: str = Field(
        "https://slack.com/api/",
        min_length=1,
        description="Base URL of the Slack Web API (a local double in tests and `bot try`).",
    )
    slack_bot_token: SecretStr | None = Field(None, description="Bot token, xoxb-...")
    slack_signing_secret: SecretStr | None = Field(
        None, description="Signing secret: HTTP requests not signed with it are refused."
    )
    slack_app_token: SecretStr | None = Field(
        None, description="App-level token (xapp-..., connections:write) for Socket Mode."
    )
    bot_roles_file: str | None = Field(
        None, description="YAML file: role -> Slack user, user-group and channel ids."
    )
    bot_admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    bot_operators: Annotated[list[str], NoDecode] = Field(default_factory=list)
    bot_viewers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    bot_confirm_ttl: Seconds = Field(
        120.0, description="Seconds a destructive command's confirm button stays valid."
    )
    bot_edit_interval: Seconds = Field(
        1.0, description="Least seconds between two edits of one message (Slack: ~1/s)."
    )
    bot_read_timeout: Seconds = Field(
        60.0, description="Seconds a read command waits for the worker's answer."
    )
    bot_file_threshold: int = Field(
        2800, gt=0, description="Answers longer than this many characters go up as a file."
    )
    bot_secrets: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra secret values never posted (comma separated)."
    )

    @field_validator("managers", mode="before")
    @classmethod
    def _split_managers(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        for endpoint in value if isinstance(value, list) else []:
            # A typo here would otherwise look like an unreachable manager.
            if not str(endpoint).startswith(MANAGER_SCHEMES):
                raise ValueError(
                    f"{endpoint!r} is not a manager endpoint: "
                    "use unix:///path, tcp://host:port or ssh://user@host"
                )
            _check_endpoint(str(endpoint))
        return value

    @field_validator(
        "worker_imports", "bot_admins", "bot_operators", "bot_viewers", "bot_secrets", mode="before"
    )
    @classmethod
    def _split_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        # The URL may hold a password: messages never repeat it.
        if not value:
            return None
        if not _parses(value):
            raise ValueError("not a valid URL, expected redis://host:port/db")
        parts = urlsplit(value)
        if parts.scheme not in REDIS_SCHEMES or not value.startswith(f"{parts.scheme}://"):
            raise ValueError("expected redis://host:port/db or rediss://host:port/db")
        return value

    def secret_values(self) -> list[str]:
        """Every configured secret the bot's scrubber must remove from what it posts."""
        values = [
            s.get_secret_value()
            for s in (
                self.slack_bot_token,
                self.slack_signing_secret,
                self.slack_app_token,
                self.secret_key,
            )
            if s is not None
        ]
        return [v for v in [*values, *self.bot_secrets] if v]

    @field_validator("stacks_dir", mode="before")
    @classmethod
    def _empty_stacks_dir_is_unset(cls, value: object) -> object:
        return None if value == "" else value


def _parses(url: str) -> bool:
    """Whether ``url`` splits into parts with a numeric port, if any (an
    unclosed ``[`` or a port like ``:x`` raise deep in the clients otherwise)."""
    try:
        urlsplit(url).port  # noqa: B018 - the property raises ValueError
    except ValueError:
        return False
    return True


def _check_endpoint(endpoint: str) -> None:
    """ValueError when a network endpoint has no host or a malformed host/port.

    Checked here, not left to docker-py, which raises a bare ValueError from
    urllib (``tcp://[::1``: "Invalid IPv6 URL") deep inside a command.
    """
    if endpoint.startswith(("unix://", "npipe://")):
        if not endpoint.partition("://")[2]:
            raise ValueError(f"{endpoint!r} has no socket path")
        return
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        raise ValueError(f"{endpoint!r} is not a valid endpoint: {exc}") from None
    if not parts.hostname:
        raise ValueError(f"{endpoint!r} has no host")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once).

    Raises InvalidRequest naming the variable when a setting is malformed
    (its value is not repeated: SPARKSWARM_REDIS_URL may hold a password).
    """
    from pydantic import ValidationError

    from sparkswarm.errors import InvalidRequest

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"SPARKSWARM_{str(error['loc'][0]).upper() if error['loc'] else '*'}: "
            + str(error["msg"]).removeprefix("Value error, ")
            for error in exc.errors()
        )
        raise InvalidRequest(f"invalid configuration: {problems}") from None


def retry_delays(attempts: int, first: float, cap: float) -> list[float]:
    """Delays between ``attempts`` tries: ``first``, doubling, at most ``cap``
    (from the ``retry_*`` settings).

    >>> retry_delays(4, 1.0, 3.0)
    [1.0, 2.0, 3.0]
    """
    return [min(first * 2**n, cap) for n in range(max(attempts - 1, 0))]
