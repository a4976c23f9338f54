"""The gateway: the one place that holds a Docker client.

Every Engine API call goes through :class:`Gateway`. It picks the first
reachable manager from the configured list (an unreachable one is skipped
with a warning) and converts every docker / requests error into the error
tree of :mod:`sparkswarm.errors`, so no other module handles docker's
exceptions.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    SparkswarmError,
    Unavailable,
)

if TYPE_CHECKING:
    import docker

log = logging.getLogger(__name__)

# Engine API 1.41 (Docker 20.10) is the oldest we test; it has job modes and
# everything else we use.
MIN_API_VERSION = "1.41"


def _load_docker() -> None:
    """Import docker-py without paramiko (0.1 s of every command's start).

    docker-py imports its ssh transport, and with it paramiko, at load time,
    though only ``ssh://`` managers need it. Until docker is loaded its ssh
    module is marked missing, which docker-py tolerates; :func:`_enable_ssh`
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


def _enable_ssh() -> None:
    """Give docker-py its ssh transport (paramiko) if :func:`_load_docker` held it back."""
    import docker.api.client
    import docker.transport

    if not hasattr(docker.api.client, "SSHHTTPAdapter"):
        from docker.transport.sshconn import SSHHTTPAdapter

        docker.api.client.SSHHTTPAdapter = SSHHTTPAdapter
        docker.transport.SSHHTTPAdapter = SSHHTTPAdapter


@contextmanager
def translated_errors(what: str = "docker") -> Iterator[None]:
    """Convert docker and requests errors raised inside the block into ours."""
    _load_docker()
    import docker.errors
    import requests.exceptions

    try:
        yield
    except SparkswarmError:
        raise
    except docker.errors.NotFound as exc:
        raise NotFound(_explanation(exc)) from exc
    except docker.errors.APIError as exc:
        raise _from_api_error(exc) from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise Unavailable(f"{what}: engine unreachable: {exc}") from exc
    except (docker.errors.InvalidArgument, docker.errors.NullResource) as exc:
        raise InvalidRequest(str(exc)) from exc
    except docker.errors.DockerException as exc:
        raise Unavailable(f"{what}: {exc}") from exc


def _explanation(exc: Any) -> str:
    text = getattr(exc, "explanation", None) or str(exc)
    return str(text)


def _from_api_error(exc: Any) -> SparkswarmError:
    status = getattr(exc, "status_code", None) or 0
    text = _explanation(exc)
    lowered = text.lower()
    if "update out of sequence" in lowered or status == 409:
        return Conflict(text)
    if "not a swarm manager" in lowered or "is not part of a swarm" in lowered:
        return InvalidRequest(text)
    if status in (400, 406):
        return InvalidRequest(text)
    if status == 404:
        return NotFound(text)
    if status in (500, 502, 503, 504):
        return Unavailable(text)
    return SparkswarmError(text)


def _is_swarm_manager(api: Any) -> bool:
    swarm = api.info().get("Swarm") or {}
    return swarm.get("LocalNodeState") == "active" and bool(swarm.get("ControlAvailable"))


class _TranslatingAPI:
    """Wraps a ``docker.APIClient`` so every method call translates errors."""

    def __init__(self, api: Any, on_connection_error: Callable[[], None]) -> None:
        self._api = api
        self._on_connection_error = on_connection_error

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._api, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                with translated_errors(name):
                    return attr(*args, **kwargs)
            except Unavailable:
                self._on_connection_error()
                raise

        return call


class Gateway:
    """A connection to a swarm through the first reachable manager.

    ``managers`` is a list of endpoints (``unix://``, ``tcp://``, ``ssh://``).
    Empty means: ``DOCKER_HOST`` / ``DOCKER_TLS_VERIFY`` / ``DOCKER_CERT_PATH``
    or the local socket, as the Docker CLI does.
    """

    def __init__(
        self,
        managers: list[str] | None = None,
        *,
        tls_verify: bool = False,
        cert_path: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.managers = list(managers or [])
        self.tls_verify = tls_verify
        self.cert_path = cert_path
        self.timeout = timeout
        self._api: Any = None
        self.endpoint: str | None = None

    @classmethod
    def from_settings(cls) -> Gateway:
        """A gateway configured from :func:`sparkswarm.config.get_settings`."""
        from sparkswarm.config import get_settings

        s = get_settings()
        return cls(
            s.managers, tls_verify=s.tls_verify, cert_path=s.cert_path, timeout=s.docker_timeout
        )

    @property
    def api(self) -> Any:
        """The low-level Engine API (``docker.APIClient``), errors translated."""
        if self._api is None:
            self._api = self._connect()
        return _TranslatingAPI(self._api, self._forget)

    def _forget(self) -> None:
        self._api = None

    def _connect(self) -> Any:
        """The first reachable endpoint that is a swarm manager.

        With several endpoints configured, a reachable one that is not (or no
        longer) a manager, say a demoted node, is passed over with a warning;
        if none is a manager, the first reachable one is used all the same
        (join, leave and the doctor work on any engine).
        """
        candidates = self.managers or [""]
        failures: list[str] = []
        fallback: tuple[str, Any] | None = None
        for endpoint in candidates:
            shown = endpoint or os.environ.get("DOCKER_HOST", "local socket")
            try:
                api = self._client_for(endpoint)
                with translated_errors("ping"):
                    api.ping()
                    is_manager = len(candidates) == 1 or _is_swarm_manager(api)
            except SparkswarmError as exc:
                log.warning("manager %s unreachable, skipping: %s", shown, exc)
                failures.append(f"{shown}: {exc}")
                continue
            if is_manager:
                return self._use(endpoint, api)
            log.warning("endpoint %s is reachable but not a swarm manager, trying the next", shown)
            if fallback is None:
                fallback = (endpoint, api)
            else:
                api.close()
        if fallback is not None:
            return self._use(*fallback)
        raise Unavailable("no swarm manager reachable: " + "; ".join(failures))

    def _use(self, endpoint: str, api: Any) -> Any:
        self.endpoint = endpoint or os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return api

    def _client_for(self, endpoint: str) -> docker.APIClient:
        _load_docker()
        import docker

        if endpoint.startswith("ssh://") or (
            not endpoint and os.environ.get("DOCKER_HOST", "").startswith("ssh://")
        ):
            _enable_ssh()
        with translated_errors("connect"):
            if not endpoint:
                kwargs = docker.utils.kwargs_from_env()
                return docker.APIClient(version="auto", timeout=int(self.timeout), **kwargs)
            tls: Any = False
            if endpoint.startswith("tcp://") and (self.tls_verify or self.cert_path):
                tls = self._tls_config()
            return docker.APIClient(
                base_url=endpoint,
                version="auto",
                timeout=int(self.timeout),
                tls=tls,
                use_ssh_client=endpoint.startswith("ssh://"),
            )

    def _tls_config(self) -> Any:
        import docker.tls

        folder = (
            self.cert_path or os.environ.get("DOCKER_CERT_PATH") or os.path.expanduser("~/.docker")
        )
        return docker.tls.TLSConfig(
            client_cert=(os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")),
            ca_cert=os.path.join(folder, "ca.pem"),
            verify=self.tls_verify,
        )

    def close(self) -> None:
        """Close the underlying HTTP session, if any."""
        if self._api is not None:
            self._api.close()
            self._api = None
