"""Refuse to start a queue process against a Redis that refuses its credentials.

Celery retries a broker connection forever (``broker_connection_max_retries``
is None so a worker survives a Redis restart), and redis-py's
AuthenticationError is a ConnectionError: a worker started without the
password, or with a wrong one, would retry "Authentication required" for
ever and look like a hang. So ``sparkswarm worker``, ``beat``,
``spark-watcher`` and ``metrics`` ask Redis once before Celery starts: a
refusal of the credentials (with sentinels: theirs too, and a master name
none of them monitors), or a ``rediss://`` server whose certificate
cannot be verified, ends the process with a clear error; an unreachable
Redis does not (it may still be starting; Celery waits for it as before).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from sparkswarm.config import Settings
from sparkswarm.config_values import is_sentinel, sentinel_url
from sparkswarm.errors import Forbidden

# Redis' own words when the credentials are the problem (redis-py maps some
# to AuthenticationError, others to a plain ResponseError).
_AUTH_WORDS = ("NOAUTH", "WRONGPASS", "Authentication required", "invalid password", "AUTH")


def without_credentials(url: str) -> str:
    """``redis://:pw@host:6379/0`` -> ``redis://host:6379/0`` (for messages;
    each of ``;``-joined sentinel URLs)."""
    shown = []
    for part in url.split(";"):
        parts = urlsplit(part)
        host = parts.netloc.rpartition("@")[2]
        shown.append(urlunsplit((parts.scheme, host, parts.path, "", "")))
    return ";".join(shown)


def check_broker_credentials(settings: Settings, *, timeout: float = 5.0) -> None:
    """Return when the settings' Redis accepts our credentials or cannot be reached.

    Raises Forbidden, naming the URL without credentials and the setting to
    fix, when Redis refuses them (no password given, a wrong one, or one given
    to a Redis that has none); with sentinels, also when a sentinel refuses
    its password or none of those answering monitors the master name.
    """
    import redis

    from sparkswarm.workers.redis_connect import connect

    url = str(settings.redis_url)
    if is_sentinel(url):
        _check_sentinels(settings)
    client = connect(settings, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        raise Forbidden(_refusal(url, str(exc))) from None
    except redis.ResponseError as exc:
        if not any(word.lower() in str(exc).lower() for word in _AUTH_WORDS):
            raise
        raise Forbidden(_refusal(url, str(exc))) from None
    except redis.ConnectionError as exc:
        if "certificate verify failed" in str(exc) or "SSL" in str(exc):
            raise Forbidden(
                f"TLS to Redis at {without_credentials(url)} failed ({_tls_reason(exc)}): "
                "name the CA that signed its certificate with ?ssl_ca_certs=/path/ca.pem"
            ) from None
        return  # unreachable (or no primary yet): Celery's retries wait for it
    except redis.RedisError:
        return  # still loading: Celery's retries wait for it
    finally:
        client.close()


def _check_sentinels(settings: Settings) -> None:
    """Ask each sentinel which primaries it monitors. Raises Forbidden when one
    refuses the sentinel password, or when some answered and none knows the
    master name (a typo would otherwise look like a Redis that never comes)."""
    import redis

    from sparkswarm.workers.redis_connect import sentinel_kwargs

    name = str(settings.redis_master_name)
    answered: set[str] = set()
    for host, port in sentinel_url(str(settings.redis_url)).sentinels:
        sentinel = redis.Redis(host, port, **sentinel_kwargs(settings))
        try:
            masters = sentinel.sentinel_masters()  # a dict by name (RESP2), a list (RESP3)
            answered.update(
                masters if isinstance(masters, dict) else (str(m.get("name")) for m in masters)
            )
        except (redis.AuthenticationError, redis.ResponseError) as exc:
            auth = isinstance(exc, redis.AuthenticationError) or any(
                word.lower() in str(exc).lower() for word in _AUTH_WORDS
            )
            if not auth:
                raise
            given = settings.redis_sentinel_password is not None
            reason = "the password was refused" if given else "it requires a password"
            raise Forbidden(
                f"the sentinel at {host}:{port} refused the connection ({reason}): "
                "check SPARKSWARM_REDIS_SENTINEL_PASSWORD (or _FILE)"
            ) from None
        except redis.RedisError:
            continue  # down: another may answer, or Celery's retries wait
        finally:
            sentinel.close()
    if answered and name not in answered:
        raise Forbidden(
            f"no sentinel monitors a primary named {name!r} (they monitor "
            f"{', '.join(sorted(answered))}): check SPARKSWARM_REDIS_MASTER_NAME"
        )


def _tls_reason(exc: Exception) -> str:
    text = str(exc)
    return "certificate verify failed" if "certificate verify failed" in text else "TLS error"


def _refusal(url: str, answer: str) -> str:
    given = urlsplit(url).password is not None
    if "without any password configured" in answer:
        reason, fix = "it has no password, one was given", "drop the password from the settings"
    elif given:
        reason = "the password was refused"
        fix = "check SPARKSWARM_REDIS_PASSWORD (or _FILE) or the password in SPARKSWARM_REDIS_URL"
    else:
        reason = "it requires a password"
        fix = "set SPARKSWARM_REDIS_PASSWORD or SPARKSWARM_REDIS_PASSWORD_FILE"
    return f"Redis at {without_credentials(url)} refused the connection ({reason}): {fix}"
