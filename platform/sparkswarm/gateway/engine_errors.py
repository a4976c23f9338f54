"""Engine error answers and docker-py errors into the error tree of :mod:`sparkswarm.errors`.

:func:`classify` is the one place that reads an Engine error answer (from
:mod:`.engine_http`'s ``http.client`` transport or from docker-py): every
other module catches our classes (``OutOfSequence``, ``NotFound``, ...) and
never looks at an error's text to decide what to do.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sparkswarm.errors import (
    Conflict,
    InUse,
    InvalidRequest,
    NotFound,
    OutOfSequence,
    Refused,
    SparkswarmError,
    Unavailable,
)

# Statuses that say "try again later": the engine or its Raft store is busy/down.
_TRANSIENT = (500, 502, 503, 504)


def classify(status: int, text: str) -> SparkswarmError:
    """Our error for an Engine answer with HTTP ``status`` and message ``text``.

    By status code first. Text is read only where the engine gives no other
    signal: swarmkit's version conflict and gRPC ResourceExhausted both come
    as HTTP 500, and a node that is not a manager answers 503 (retrying the
    same node cannot help, so it is the caller's mistake of address).
    """
    lowered = text.lower()
    if "update out of sequence" in lowered:
        return OutOfSequence(text)
    if "code = resourceexhausted" in lowered:
        # e.g. a spec or config larger than the gRPC message limit: deterministic.
        return Refused(text)
    if "not a swarm manager" in lowered or "is not part of a swarm" in lowered:
        return InvalidRequest(text)
    if status in (400, 403) and ("is in use by" in lowered or "has active endpoints" in lowered):
        return InUse(text)
    if 300 <= status < 400:
        # A redirect (the engine's router cleaning "/services/../info"): the path
        # did not name one object. Never followed; a retry would get the same.
        return Refused(text)
    if status == 409:
        return Conflict(text)
    if status == 404:
        return NotFound(text)
    if status in (400, 406):
        return InvalidRequest(text)
    if 400 <= status < 500 or status == 501:
        return Refused(text)
    if status in _TRANSIENT:
        return Unavailable(text)
    return SparkswarmError(text)


def load_docker() -> None:
    """Import docker-py without paramiko (a heavy import every command would pay).

    docker-py imports its ssh transport, and with it paramiko, at load time,
    though only ``ssh://`` managers need it. Until docker is loaded its ssh
    module is marked missing, which docker-py tolerates; :func:`enable_ssh`
    loads it when an ``ssh://`` endpoint is actually used.
    """
    if "docker" in sys.modules:
        return
    sys.modules["docker.transport.sshconn"] = None  # type: ignore[assignment]
    try:
        import docker  # noqa: F401
    finally:
        if sys.modules.get("docker.transport.sshconn", 0) is None:
            del sys.modules["docker.transport.sshconn"]


def enable_ssh() -> None:
    """Give docker-py its ssh transport (paramiko) if :func:`load_docker` held it back."""
    import docker.api.client
    import docker.transport

    if not hasattr(docker.api.client, "SSHHTTPAdapter"):
        from docker.transport.sshconn import SSHHTTPAdapter

        docker.api.client.SSHHTTPAdapter = SSHHTTPAdapter
        docker.transport.SSHHTTPAdapter = SSHHTTPAdapter


def _explanation(exc: Any) -> str:
    return str(getattr(exc, "explanation", None) or exc)


@contextmanager
def translated_errors(what: str = "docker") -> Iterator[None]:
    """Convert docker-py and requests errors raised inside the block into ours.

    Our own errors, and any other exception, pass through unchanged. Only
    docker-py raises the errors converted here, so docker-py is never
    imported for this: while it is not loaded, there is nothing to convert.
    """
    try:
        yield
    except SparkswarmError:
        raise
    except Exception as exc:
        ours = _from_docker_py(exc, what) if "docker" in sys.modules else None
        if ours is None:
            raise
        raise ours from exc


def _from_docker_py(exc: Exception, what: str) -> SparkswarmError | None:
    """Our error for a docker-py or requests error; None for any other exception."""
    import docker.errors
    import requests.exceptions

    tls = _tls_problem(exc)
    if tls:
        return Unavailable(f"{what}: {tls}")
    if isinstance(exc, docker.errors.NotFound):
        return NotFound(_explanation(exc))
    if isinstance(exc, docker.errors.APIError):
        return classify(int(getattr(exc, "status_code", None) or 0), _explanation(exc))
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return Unavailable(f"{what}: engine unreachable: {exc}")
    if isinstance(exc, docker.errors.InvalidArgument | docker.errors.NullResource):
        return InvalidRequest(str(exc))
    if isinstance(exc, docker.errors.DockerException):
        return Unavailable(f"{what}: {exc}")
    return None


_VERIFY_REASON = re.compile(r"certificate verify failed: ([^(')]+)")


def _tls_problem(exc: BaseException) -> str:
    """A sentence for a failed TLS set-up or handshake with a manager, or "".

    docker-py wraps the ssl error (``version="auto"`` asks the engine at
    once) in a DockerException whose text is a urllib3 retry message; the
    reason is in the chain of causes.
    """
    import docker.errors

    if isinstance(exc, docker.errors.TLSParameterError):
        return (
            "TLS is on but the client certificate is missing: SPARKSWARM_CERT_PATH "
            "must hold ca.pem, cert.pem and key.pem"
        )
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        unverified = _VERIFY_REASON.search(text)
        if unverified:
            return (
                "TLS: the manager's certificate is not trusted by ca.pem in "
                "SPARKSWARM_CERT_PATH (signed by another CA, expired, or not for this "
                f"address): {unverified.group(1).strip()}"
            )
        if (
            "ALERT_BAD_CERTIFICATE" in text
            or "ALERT_CERTIFICATE" in text
            or ("ALERT_UNKNOWN_CA" in text)
        ):
            return (
                "TLS: the manager refused our client certificate (cert.pem in "
                "SPARKSWARM_CERT_PATH is expired, or not signed by the CA the manager trusts)"
            )
        seen = seen.__cause__ or seen.__context__
    return ""
