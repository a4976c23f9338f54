"""Health checks of the platform's own services (container HEALTHCHECKs).

``python3 -m sparkswarm.workers.health redis``: exit 0 when the queue's
Redis answers PING with this process's settings (password included, from
SPARKSWARM_REDIS_PASSWORD_FILE), 1 otherwise; used by beat, which serves
nothing a check could ask. ``... http URL``: exit 0 when URL answers 200
(the metrics exporter, the bot's ``/healthz``). The worker's check is Celery's own
``celery inspect ping`` (stacks/platform/stack.yml). One line on stderr says
why a check failed; it never repeats a URL's credentials.
"""

from __future__ import annotations

import sys


def redis_ok(timeout: float = 5.0) -> str | None:
    """None when the settings' Redis answers PING; else why not."""
    import redis

    from sparkswarm.config import get_settings
    from sparkswarm.errors import SparkswarmError
    from sparkswarm.workers.redis_connect import connect

    try:
        settings = get_settings()
    except SparkswarmError as exc:
        return str(exc)
    if not settings.redis_url:
        return "SPARKSWARM_REDIS_URL is not set"
    client = connect(settings, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"redis: {type(exc).__name__}"
    finally:
        client.close()
    return None


def http_ok(url: str, timeout: float = 5.0) -> str | None:
    """None when ``url`` answers 200; else why not."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            status = int(answer.status)
    except (urllib.error.URLError, OSError) as exc:
        return f"{url}: {exc}"
    return None if status == 200 else f"{url}: HTTP {status}"


def main(argv: list[str]) -> int:
    """Run the check ``argv`` names; the process's exit code."""
    if argv[:1] == ["redis"] and len(argv) == 1:
        problem = redis_ok()
    elif argv[:1] == ["http"] and len(argv) == 2:
        problem = http_ok(argv[1])
    else:
        print("usage: python -m sparkswarm.workers.health redis | http URL", file=sys.stderr)
        return 2
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
