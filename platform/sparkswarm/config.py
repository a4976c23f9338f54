"""Settings, read from ``SPARKSWARM_*`` environment variables and an optional ``.env``.

Kept free of heavy imports: the CLI reads settings on every start.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Everything sparkswarm can be configured with. See README "Configuration"."""

    model_config = SettingsConfigDict(
        env_prefix="SPARKSWARM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    managers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Manager endpoints tried in order (unix://, tcp://, ssh://). "
        "Empty: DOCKER_HOST or the local socket, as the docker CLI does.",
    )
    tls_verify: bool = Field(False, description="Verify tcp:// managers with TLS.")
    cert_path: str | None = Field(
        None, description="Folder with ca.pem, cert.pem, key.pem for tcp:// managers."
    )
    docker_timeout: float = Field(60.0, description="Seconds per Engine API call.")
    redis_url: str | None = Field(
        None, description="Broker and record store. Unset: mutating commands run in-process."
    )
    lab_dir: str = Field(
        "/var/lib/sparkswarm-lab",
        description="Where `sparkswarm lab` keeps each lab's state and node folders.",
    )
    run_retention_days: int = Field(30, description="How long operation records are kept.")
    run_retention_count: int = Field(5000, description="How many operation records are kept.")
    max_replicas: int = Field(
        100, ge=1, description="Most tasks one service may have (refused before sending)."
    )
    max_stack_replicas: int = Field(
        200, ge=1, description="Most tasks all services of one stack may have together."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Fernet key sealing secret parameters in Redis (the queue's too); "
        "`swarm doctor` warns when the queue is configured without one.",
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


def _check_endpoint(endpoint: str) -> None:
    """ValueError when a network endpoint has no host or a malformed host/port.

    Checked here, not left to docker-py, which raises a bare ValueError from
    urllib (``tcp://[::1``: "Invalid IPv6 URL") deep inside a command.
    """
    from urllib.parse import urlsplit

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


MANAGER_SCHEMES = ("unix://", "tcp://", "ssh://", "http://", "https://", "npipe://")


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
            f"SPARKSWARM_{str(error['loc'][0]).upper()}: {error['msg']}" for error in exc.errors()
        )
        raise InvalidRequest(f"invalid configuration: {problems}") from None
