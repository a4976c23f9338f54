"""How every part of the platform reaches the queue's Redis: one server
(``redis://``, ``rediss://``) or the current primary of a replicated one
(``sentinel://``, see README "A replicated Redis").

For sentinels, redis-py's ``redis.sentinel.Sentinel.master_for`` gives a
client whose pool asks the sentinels for the primary's address on every new
connection, and whose connections drop themselves when the server they talk
to turned out to be a replica (a ``READONLY`` reply) or stopped being the
primary: a command after a failover reconnects to the new primary. Our own
client (records, events, the run scripts of ``lua.py``, locks) is made by
:func:`connect`; Celery's broker and RedBeat get the same sentinels, master
name and passwords through :func:`kombu_sentinel_options` and
:func:`redbeat_sentinel_options` (each library builds its own ``Sentinel``).

The sentinels' own connections get the sentinel password (if any) and
short socket timeouts: without ``sentinel_kwargs`` redis-py would give them
only the ``socket_*`` options of the data connections, no password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sparkswarm.config import Settings
from sparkswarm.config_values import is_sentinel, sentinel_url

if TYPE_CHECKING:
    import redis

# Seconds a sentinel may take to connect or answer before the next one is asked.
SENTINEL_TIMEOUT = 2.0


def connect(settings: Settings, url: str | None = None, **options: Any) -> redis.Redis:
    """A redis-py client of the Redis ``url`` names (default: the settings'),
    made with ``options`` (``decode_responses``, ``socket_timeout``, ...).

    A ``sentinel://`` URL gives a client of its current primary, found by
    the settings' master name. Raises InvalidRequest when no URL is
    configured; connection errors come later, from the commands.
    """
    import redis
    from redis.sentinel import Sentinel

    from sparkswarm.errors import InvalidRequest

    url = url or settings.redis_url
    if not url:
        raise InvalidRequest("no broker configured: set SPARKSWARM_REDIS_URL")
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    address = sentinel_url(url)
    sentinel = Sentinel(
        list(address.sentinels),
        sentinel_kwargs=sentinel_kwargs(settings),
        username=address.username,
        password=address.password,
        db=address.db,
    )
    return sentinel.master_for(str(settings.redis_master_name), **options)


def sentinel_kwargs(settings: Settings) -> dict[str, Any]:
    """Connection options of the sentinels themselves (not of the primary)."""
    options: dict[str, Any] = {
        "socket_connect_timeout": SENTINEL_TIMEOUT,
        "socket_timeout": SENTINEL_TIMEOUT,
    }
    if settings.redis_sentinel_password is not None:
        options["password"] = settings.redis_sentinel_password.get_secret_value()
    return options


def kombu_sentinel_options(settings: Settings) -> dict[str, Any]:
    """``broker_transport_options`` that kombu's Sentinel channel reads
    (``master_name``, ``sentinel_kwargs``); the sentinels themselves and the
    primary's password come from the broker URL."""
    return {
        "master_name": settings.redis_master_name,
        "sentinel_kwargs": sentinel_kwargs(settings),
    }


def redbeat_sentinel_options(settings: Settings) -> dict[str, Any]:
    """``redbeat_redis_options`` for RedBeat's Sentinel branch (taken when
    ``redbeat_redis_url`` starts with ``redis-sentinel`` and the options name
    ``sentinels``)."""
    address = sentinel_url(str(settings.redis_url))
    options: dict[str, Any] = {
        "sentinels": list(address.sentinels),
        "service_name": settings.redis_master_name,
        "password": address.password,
        "db": address.db,
        "sentinel_kwargs": sentinel_kwargs(settings),
    }
    if address.username:
        options["username"] = address.username
    return options
