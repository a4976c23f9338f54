"""Secrets from files: each secret setting has a ``SPARKSWARM_<NAME>_FILE``
variant naming a file to read it from (``/run/secrets/...`` in a swarm
service), as official images do; giving both, or a file that cannot be read,
is a configuration error naming the variable and never the value."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sparkswarm.config import Settings, from_environment
from sparkswarm.errors import InvalidRequest

SECRETS = [
    # setting, the value read back
    ("slack_bot_token", lambda s: s.slack_bot_token.get_secret_value()),
    ("slack_app_token", lambda s: s.slack_app_token.get_secret_value()),
    ("slack_signing_secret", lambda s: s.slack_signing_secret.get_secret_value()),
    ("secret_key", lambda s: s.secret_key.get_secret_value()),
    ("redis_url", lambda s: s.redis_url),
]


@pytest.mark.parametrize(("name", "read"), SECRETS, ids=[n for n, _ in SECRETS])
def test_each_secret_setting_is_read_from_its_file(name: str, read: object, tmp_path: Path) -> None:
    value = "redis://redis:6379/0" if name == "redis_url" else f"value-of-{name}"
    secret = tmp_path / name
    secret.write_text(value + "\n")  # `echo x | docker secret create` leaves a newline
    variable = f"SPARKSWARM_{name.upper()}_FILE"
    settings = from_environment({variable: str(secret)}, env_file=None)
    assert read(settings) == value  # type: ignore[operator]


def test_the_file_variants_are_exactly_the_secrets() -> None:
    with_file = {f.name for f in dataclasses.fields(Settings) if f.metadata["from_file"]}
    assert with_file == {name for name, _ in SECRETS} | {
        "redis_password",
        "redis_sentinel_password",
    }


def test_a_file_variable_in_dot_env_is_read_too(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("xoxb-from-file")
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"SPARKSWARM_SLACK_BOT_TOKEN_FILE={tmp_path / 'token'}\n")
    settings = from_environment({}, env_file=dotenv)
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-file"


def test_both_the_setting_and_its_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("from-file")
    environ = {
        "SPARKSWARM_SECRET_KEY": "inline",
        "SPARKSWARM_SECRET_KEY_FILE": str(tmp_path / "key"),
    }
    with pytest.raises(InvalidRequest) as raised:
        from_environment(environ, env_file=None)
    message = str(raised.value)
    assert "both SPARKSWARM_SECRET_KEY and SPARKSWARM_SECRET_KEY_FILE" in message
    assert "inline" not in message and "from-file" not in message


def test_an_empty_setting_beside_its_file_counts_as_unset(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("from-file")
    environ = {
        "SPARKSWARM_REDIS_PASSWORD": "",
        "SPARKSWARM_REDIS_PASSWORD_FILE": str(tmp_path / "pw"),
    }
    settings = from_environment(environ, env_file=None)
    assert settings.redis_password is not None
    assert settings.redis_password.get_secret_value() == "from-file"


def test_a_missing_file_names_the_variable_and_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(InvalidRequest) as raised:
        from_environment({"SPARKSWARM_SLACK_APP_TOKEN_FILE": str(missing)}, env_file=None)
    assert str(raised.value) == (
        f"invalid configuration: SPARKSWARM_SLACK_APP_TOKEN_FILE: cannot read {missing}: "
        "No such file or directory"
    )


def test_a_bad_value_in_a_file_names_the_variable_not_the_value(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("amqp://guest:hunter2@x//")
    with pytest.raises(InvalidRequest) as raised:
        from_environment({"SPARKSWARM_REDIS_URL_FILE": str(tmp_path / "url")}, env_file=None)
    assert "SPARKSWARM_REDIS_URL" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_a_non_secret_setting_has_no_file_variant(tmp_path: Path) -> None:
    (tmp_path / "q").write_text("from-file")
    settings = from_environment({"SPARKSWARM_QUEUE_FILE": str(tmp_path / "q")}, env_file=None)
    assert settings.queue == "sparkswarm"


def test_the_roles_file_setting_keeps_its_meaning() -> None:
    settings = from_environment({"SPARKSWARM_BOT_ROLES_FILE": "/etc/roles.yml"}, env_file=None)
    assert settings.bot_roles_file == "/etc/roles.yml"


@pytest.mark.parametrize(
    ("url", "password", "expected"),
    [
        ("redis://redis:6379/0", "s3cret", "redis://:s3cret@redis:6379/0"),
        ("rediss://redis:6380/1", "p@ss:/w", "rediss://:p%40ss%3A%2Fw@redis:6380/1"),
        ("redis://platform@redis:6379/0", "pw", "redis://platform:pw@redis:6379/0"),
        ("redis://:pw@redis:6379/0", "pw", "redis://:pw@redis:6379/0"),  # the same: kept
    ],
)
def test_the_redis_password_goes_into_the_url(url: str, password: str, expected: str) -> None:
    settings = from_environment(
        {"SPARKSWARM_REDIS_URL": url, "SPARKSWARM_REDIS_PASSWORD": password}, env_file=None
    )
    assert settings.redis_url == expected
    assert password in settings.secret_values()
    # Derived settings (dataclasses.replace re-parses every field) keep it.
    assert dataclasses.replace(settings, queue="other").redis_url == expected


def test_redis_clients_decode_the_password_we_encoded() -> None:
    import redis

    settings = Settings(redis_url="redis://127.0.0.1:1/0", redis_password="p@ss:/w%")
    assert settings.redis_url is not None
    pool = redis.ConnectionPool.from_url(settings.redis_url)
    assert pool.connection_kwargs["password"] == "p@ss:/w%"


def test_two_different_redis_passwords_are_refused_without_echo() -> None:
    with pytest.raises(InvalidRequest) as raised:
        Settings(redis_url="redis://:first@redis:6379/0", redis_password="second")
    message = str(raised.value)
    assert "SPARKSWARM_REDIS_PASSWORD" in message and "give it once" in message
    assert "first" not in message and "second" not in message


def test_the_password_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("from-a-secret\n")
    settings = from_environment(
        {
            "SPARKSWARM_REDIS_URL": "redis://redis:6379/0",
            "SPARKSWARM_REDIS_PASSWORD_FILE": str(tmp_path / "pw"),
        },
        env_file=None,
    )
    assert settings.redis_url == "redis://:from-a-secret@redis:6379/0"
    assert "from-a-secret" not in repr(settings.redis_password)
