"""Settings of the queue side: worker, beat and the submitting clients.

Read from ``SPARKSWARM_*`` variables like :mod:`sparkswarm.config`; kept apart
so the core settings stay about the swarm. Free of celery imports: the CLI
reads these before it decides whether to import celery at all.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class QueueSettings(BaseSettings):
    """Knobs of the queue. Defaults suit production; tests shorten the timings."""

    model_config = SettingsConfigDict(
        env_prefix="SPARKSWARM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    redis_url: str | None = Field(None, description="Broker, record store and event stream.")
    queue: str = Field("sparkswarm", description="Celery queue the operations go to.")
    key_prefix: str = Field("ssw:", description="Prefix of every Redis key we write.")
    visibility_timeout: int = Field(
        6 * 3600,
        description="Seconds before Redis hands an unacked message to another worker. "
        "Longer than the longest operation; prompt recovery uses heartbeats instead.",
    )
    heartbeat_ttl: float = Field(10.0, description="Seconds a run's heartbeat lives unrefreshed.")
    recovery_interval: float = Field(5.0, description="Seconds between recovery passes.")
    lost_after: float = Field(
        30.0,
        description="Seconds after which a queued run whose message is nowhere in Redis "
        "(its worker died between taking it and starting it) is re-queued.",
    )
    max_deliveries: int = Field(3, description="Starts of one run before it is failed.")
    retry_attempts: int = Field(4, description="Tries of an op whose engine is unavailable.")
    retry_backoff: float = Field(1.0, description="First retry delay in seconds; doubles.")
    retry_backoff_max: float = Field(30.0, description="Longest retry delay in seconds.")
    events_maxlen: int = Field(10_000, description="Approximate length of the event stream.")
    run_retention_days: int = Field(30, description="How long operation records are kept.")
    run_retention_count: int = Field(5000, description="How many operation records are kept.")
    spark_watcher_in_worker: bool = Field(
        True,
        description="Run the Spark job watcher as a thread of every worker (one is active "
        "at a time, by lock); off: run `sparkswarm spark-watcher` yourself.",
    )
    spark_watch_interval: float = Field(1.0, description="Seconds between watcher passes.")
    spark_watcher_ttl: float = Field(
        15.0, description="Seconds the watcher lock lives unrefreshed (takeover after a crash)."
    )
    spark_resource_timeout: float = Field(
        600.0, description="Seconds a job may wait for workers or cores before it is failed."
    )
    spark_job_keep: float = Field(
        3600.0,
        description="Seconds a finished job's containers and configs are kept (for docker "
        "logs); its record, output and log tail stay as long as run records.",
    )
    follow_grace: float = Field(
        30.0,
        description="Seconds a CLI following a run waits for Redis to come back "
        "before it gives up (the run goes on; `runs show ID --follow` re-attaches).",
    )
    queued_notice: float = Field(
        10.0,
        description="Seconds a followed run may stay queued before the CLI says why "
        "(the run it waits for, or no worker taking it).",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Fernet key sealing secret parameters in Redis (run parameters, "
        "schedules). Without it schedules with secret parameters are refused.",
    )
    worker_imports: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra modules the worker imports before it creates its tasks "
        "(they may register more operations).",
    )

    @field_validator("worker_imports", mode="before")
    @classmethod
    def _split_imports(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


@lru_cache(maxsize=1)
def get_queue_settings() -> QueueSettings:
    """The process-wide queue settings (read once)."""
    return QueueSettings()


def retry_delays(attempts: int, first: float, cap: float) -> list[float]:
    """Delays between ``attempts`` tries: ``first``, doubling, at most ``cap``.

    >>> retry_delays(4, 1.0, 3.0)
    [1.0, 2.0, 3.0]
    """
    return [min(first * 2**n, cap) for n in range(max(attempts - 1, 0))]
