"""sentinel:// URLs (a replicated Redis): what the settings accept and refuse,
and how each client is configured from them: our redis-py client, Celery's
broker (kombu's Sentinel transport, ours over it) and RedBeat. No Redis here:
tests/integration/test_sentinel.py runs a failover."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sparkswarm import config_values as v
from sparkswarm.config import Settings, from_environment
from sparkswarm.errors import InvalidRequest

THREE = "sentinel://:s3cret@10.0.0.1:26379/2;sentinel://10.0.0.2:26380;sentinel://s3"


def sentinel_settings(**extra: Any) -> Settings:
    return Settings(redis_url=THREE, redis_master_name="primary", **extra)


def test_a_sentinel_url_names_every_sentinel_and_the_primary_s_password_and_db() -> None:
    assert v.redis_url(THREE) == THREE
    assert v.sentinel_url(THREE) == v.SentinelURL(
        sentinels=(("10.0.0.1", 26379), ("10.0.0.2", 26380), ("s3", 26379)),
        username=None,
        password="s3cret",
        db=2,
    )


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("sentinel://", "sentinel 1 of 1: expected sentinel://host:port"),
        ("sentinel://h:1;redis://h:2", "sentinel 2 of 2: expected sentinel://host:port"),
        ("sentinel://h:1; sentinel://h:2", "no spaces"),
        ("sentinel://h:1;", "sentinel 2 of 2"),
        ("sentinel://h:port", "sentinel 1 of 1 is not a valid URL"),
        ("sentinel://h:1?ssl_cert_reqs=required", "no TLS through sentinels"),
        ("sentinel://h:1;sentinel://:s3cret@h:2", "password and database on the first"),
        ("sentinel://h:1;sentinel://h:2/3", "password and database on the first"),
        ("sentinel://:s3cret@h:1/zero", "database of a sentinel URL is a number"),
        ("sentinels://h:1", "expected redis://"),
    ],
)
def test_bad_sentinel_urls_are_refused_with_the_rule(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as raised:
        v.redis_url(url)
    assert "s3cret" not in str(raised.value)


def test_the_master_name_is_required_with_sentinels_and_refused_without() -> None:
    with pytest.raises(InvalidRequest, match="set SPARKSWARM_REDIS_MASTER_NAME"):
        Settings(redis_url=THREE)
    with pytest.raises(InvalidRequest, match="REDIS_MASTER_NAME is only for a sentinel://"):
        Settings(redis_url="redis://h:6379/0", redis_master_name="primary")
    with pytest.raises(InvalidRequest, match="REDIS_SENTINEL_PASSWORD is only for a sentinel"):
        Settings(redis_url="redis://h:6379/0", redis_sentinel_password="x")


def test_the_redis_password_goes_into_the_first_sentinel_url() -> None:
    settings = Settings(
        redis_url="sentinel://a:1;sentinel://b:2",
        redis_master_name="primary",
        redis_password="p@ss",
    )
    assert settings.redis_url == "sentinel://:p%40ss@a:1;sentinel://b:2"
    assert v.sentinel_url(str(settings.redis_url)).password == "p@ss"


def test_passwords_and_master_name_come_from_files_too(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("primary-pw\n")
    (tmp_path / "spw").write_text("sentinel-pw\n")
    settings = from_environment(
        {
            "SPARKSWARM_REDIS_URL": "sentinel://a:1;sentinel://b:2",
            "SPARKSWARM_REDIS_MASTER_NAME": "primary",
            "SPARKSWARM_REDIS_PASSWORD_FILE": str(tmp_path / "pw"),
            "SPARKSWARM_REDIS_SENTINEL_PASSWORD_FILE": str(tmp_path / "spw"),
        },
        env_file=None,
    )
    assert v.sentinel_url(str(settings.redis_url)).password == "primary-pw"
    assert settings.redis_sentinel_password is not None
    assert settings.redis_sentinel_password.get_secret_value() == "sentinel-pw"
    assert "sentinel-pw" in settings.secret_values()
    assert "sentinel-pw" not in repr(settings)


def test_our_client_asks_the_sentinels_for_the_named_primary() -> None:
    from redis.sentinel import SentinelConnectionPool

    from sparkswarm.workers.redis_connect import connect

    client = connect(sentinel_settings(redis_sentinel_password="spw"), decode_responses=True)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "primary"
    assert pool.connection_kwargs["password"] == "s3cret"
    assert pool.connection_kwargs["db"] == 2
    assert pool.connection_kwargs["decode_responses"] is True
    sentinels = pool.sentinel_manager.sentinels
    assert [s.connection_pool.connection_kwargs["host"] for s in sentinels] == [
        "10.0.0.1",
        "10.0.0.2",
        "s3",
    ]
    assert {s.connection_pool.connection_kwargs["password"] for s in sentinels} == {"spw"}


def test_the_broker_and_redbeat_use_the_sentinels() -> None:
    from sparkswarm.workers.app import make_app

    app = make_app(sentinel_settings(redis_sentinel_password="spw"))
    options = app.conf.broker_transport_options
    assert app.conf.broker_transport == "sparkswarm.workers.transport:SentinelTransport"
    assert options["master_name"] == "primary"
    assert options["sentinel_kwargs"]["password"] == "spw"
    assert options["visibility_timeout"] == Settings().visibility_timeout
    redbeat = app.conf.redbeat_redis_options
    assert app.conf.redbeat_redis_url.startswith("redis-sentinel")
    assert redbeat["sentinels"] == [("10.0.0.1", 26379), ("10.0.0.2", 26380), ("s3", 26379)]
    assert (redbeat["service_name"], redbeat["password"], redbeat["db"]) == ("primary", "s3cret", 2)


def test_a_failed_connect_keeps_our_transport() -> None:
    """kombu's Connection.switch takes the next sentinel URL's scheme for the
    transport: without the failover strategy the worker would run on kombu's
    own Sentinel transport (no guard, no poison handling) after one failed
    connect during a failover."""
    from sparkswarm.workers.app import make_app
    from sparkswarm.workers.transport import SentinelChannel, SentinelTransport

    conn = make_app(sentinel_settings()).connection_for_read()
    try:
        for _ in range(4):
            conn.maybe_switch_next()
            assert conn.get_transport_cls() is SentinelTransport
            assert conn.transport.Channel is SentinelChannel
            assert (conn.hostname, conn.port, conn.password) == ("10.0.0.1", 26379, "s3cret")
            assert conn.alt == THREE.split(";")
    finally:
        conn.release()


def test_messages_name_every_sentinel_without_the_password() -> None:
    from sparkswarm.workers.broker_check import without_credentials

    shown = without_credentials(THREE)
    assert shown == "sentinel://10.0.0.1:26379/2;sentinel://10.0.0.2:26380;sentinel://s3"
