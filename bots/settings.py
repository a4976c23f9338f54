"""Settings of the Slack bot, from ``SPARKSWARM_*`` variables (and ``.env``).

Tokens are :class:`pydantic.SecretStr`: they never appear in a repr, a log
line or an error message.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class BotSettings(BaseSettings):
    """What the bot is configured with. See README "Slack"."""

    model_config = SettingsConfigDict(
        env_prefix="SPARKSWARM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    slack_api_url: str = Field(
        "https://slack.com/api/",
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
    bot_confirm_ttl: float = Field(
        120.0, description="Seconds a destructive command's confirm button stays valid."
    )
    bot_edit_interval: float = Field(
        1.0, description="Least seconds between two edits of one message (Slack: ~1/s)."
    )
    bot_read_timeout: float = Field(
        60.0, description="Seconds a read command waits for the worker's answer."
    )
    bot_file_threshold: int = Field(
        2800, description="Answers longer than this many characters go up as a file."
    )
    bot_secrets: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra secret values never posted (comma separated)."
    )

    @field_validator("bot_admins", "bot_operators", "bot_viewers", "bot_secrets", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def secret_values(self) -> list[str]:
        """Every configured secret the scrubber must remove."""
        values = [
            s.get_secret_value()
            for s in (self.slack_bot_token, self.slack_signing_secret, self.slack_app_token)
            if s is not None
        ]
        return [v for v in [*values, *self.bot_secrets] if v]


@lru_cache(maxsize=1)
def get_bot_settings() -> BotSettings:
    """The process-wide bot settings (read once)."""
    return BotSettings()
