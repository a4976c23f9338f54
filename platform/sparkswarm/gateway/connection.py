"""The connection under the gateway: manager failover, transports, error translation.

:class:`Connection` talks to the first reachable manager through one
*transport*: a :class:`~sparkswarm.gateway.engine_http.Wire` (``http.client``) for
Unix sockets and plain ``tcp://``, docker-py for TLS and ``ssh://``. The
per-area mixins (services, cluster, objects, containers) send JSON requests
with :meth:`Connection._call`; the few streaming calls (logs, exec, image
save/load/build) use docker-py's client through :meth:`Connection._engine`,
created on first use. A connection that stopped answering is dropped, so the
next call fails over.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, Unpack, cast

from sparkswarm.errors import SparkswarmError, Unavailable
from sparkswarm.gateway.engine_errors import classify, enable_ssh, load_docker, translated_errors
from sparkswarm.gateway.engine_http import RequestParts, Wire, encoded_request, speaks_plain_http

# Named for the package: users filter the failover warnings by this name.
log = logging.getLogger("sparkswarm.gateway")

JSON = dict[str, Any]
LOCAL_SOCKET = "unix:///var/run/docker.sock"


def as_object(value: Any) -> JSON:
    """An Engine JSON object as the typed dict it is."""
    return cast(JSON, value)


def as_objects(value: Any) -> list[JSON]:
    """An Engine JSON array of objects (``null`` is an empty list)."""
    return cast(list[JSON], value or [])


class EngineTransport(Protocol):
    """What :class:`Connection` needs of a way to reach one engine."""

    def ping(self) -> str: ...

    def request(self, what: str, method: str, path: str, **parts: Unpack[RequestParts]) -> Any: ...

    def close(self) -> None: ...


class DockerPyTransport:
    """JSON requests through docker-py's client: TLS and ``ssh://`` endpoints."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def ping(self) -> str:
        with translated_errors("ping"):
            self.api.ping()
        return str(self.api.api_version)

    def request(self, what: str, method: str, path: str, **parts: Unpack[RequestParts]) -> Any:
        """As :meth:`Wire.request`, over docker-py's session (its public API only)."""
        import docker.errors
        import requests

        api = self.api
        target, data, sent = encoded_request(api.api_version, path, parts)
        url = f"{api.base_url}{target}"
        with translated_errors(what):
            response = api.request(
                method, url, data=data, headers=sent, timeout=api.timeout, allow_redirects=False
            )
            if (
                300 <= response.status_code < 400
            ):  # as the Wire: a redirect is an error, never followed
                raise classify(
                    response.status_code, f"{what}: the engine answered {response.status_code}"
                )
            try:
                response.raise_for_status()
            except requests.exceptions.HTTPError as exc:
                docker.errors.create_api_error_from_http_exception(exc)
            return response.json() if response.content else None

    def close(self) -> None:
        self.api.close()


def _is_swarm_manager(transport: EngineTransport) -> bool:
    info = transport.request("info", "GET", "/info") or {}
    swarm = info.get("Swarm") or {}
    return swarm.get("LocalNodeState") == "active" and bool(swarm.get("ControlAvailable"))


def _docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or LOCAL_SOCKET


def _environment_wants_tls() -> bool:
    """As docker-py's ``kwargs_from_env``: a cert path, or DOCKER_TLS_VERIFY set non-empty."""
    return bool(os.environ.get("DOCKER_CERT_PATH") or os.environ.get("DOCKER_TLS_VERIFY"))


class Connection:
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
        self._transport: EngineTransport | None = None
        self._api: Any = None  # docker-py's client, only once a streaming call needs it
        self._chosen = ""  # the configured endpoint in use ("" = the environment's)
        self.endpoint: str | None = None

    def _call(self, what: str, method: str, path: str, **parts: Unpack[RequestParts]) -> Any:
        """Send one JSON request to the manager in use; its decoded answer or None.

        ``path`` is the Engine API path without version (``/services``).
        Raises our errors; an unreachable manager is dropped (the next call fails over).
        """
        transport = self._in_use()
        try:
            return transport.request(what, method, path, **parts)
        except Unavailable:
            self.close()
            raise

    def _wire(self) -> Wire | None:
        """The :class:`Wire` to the manager in use, or None when docker-py carries the calls."""
        transport = self._in_use()
        return transport if isinstance(transport, Wire) else None

    def _in_use(self) -> EngineTransport:
        """The transport to the manager in use, connecting (with failover) first if needed."""
        if self._transport is None:
            self._transport = self._connect()
        return self._transport

    @contextmanager
    def _engine(self, what: str) -> Iterator[Any]:
        """docker-py's client for the manager in use, with errors translated.

        For the calls the :class:`Wire` does not make (image save/load/build,
        registry credentials, and logs and exec over TLS or ssh); a dead
        connection is dropped.
        """
        transport = self._in_use()
        if self._api is None:
            if isinstance(transport, DockerPyTransport):
                self._api = transport.api
            else:
                self._api = self._client_for(self._chosen)
        try:
            with translated_errors(what):
                yield self._api
        except Unavailable:
            self.close()
            raise

    def _connect(self) -> EngineTransport:
        """The first reachable endpoint that is a swarm manager.

        With several endpoints configured, a reachable one that is not (or no
        longer) a manager, say a demoted node, is passed over with a warning;
        if none is a manager, the first reachable one is used all the same
        (join, leave and the doctor work on any engine).
        """
        candidates = self.managers or [""]
        failures: list[str] = []
        fallback: tuple[str, EngineTransport] | None = None
        for endpoint in candidates:
            shown = endpoint or os.environ.get("DOCKER_HOST", "local socket")
            try:
                transport = self._transport_for(endpoint)
                transport.ping()
                is_manager = len(candidates) == 1 or _is_swarm_manager(transport)
            except SparkswarmError as exc:
                log.warning("manager %s unreachable, skipping: %s", shown, exc)
                failures.append(f"{shown}: {exc}")
                continue
            if is_manager:
                return self._use(endpoint, transport)
            log.warning("endpoint %s is reachable but not a swarm manager, trying the next", shown)
            if fallback is None:
                fallback = (endpoint, transport)
            else:
                transport.close()
        if fallback is not None:
            return self._use(*fallback)
        raise Unavailable("no swarm manager reachable: " + "; ".join(failures))

    def _use(self, endpoint: str, transport: EngineTransport) -> EngineTransport:
        self._chosen = endpoint
        self.endpoint = endpoint or _docker_host()
        return transport

    def _transport_for(self, endpoint: str) -> EngineTransport:
        """A :class:`Wire` where plain HTTP reaches the engine, else docker-py."""
        address = endpoint or _docker_host()
        plain = speaks_plain_http(address) and (
            not _environment_wants_tls()
            if not endpoint
            else not (address.startswith("tcp://") and (self.tls_verify or self.cert_path))
        )
        if plain:
            return Wire(address, timeout=self.timeout)
        return DockerPyTransport(self._client_for(endpoint))

    def _client_for(self, endpoint: str) -> Any:
        load_docker()
        import docker

        if endpoint.startswith("ssh://") or (
            not endpoint and os.environ.get("DOCKER_HOST", "").startswith("ssh://")
        ):
            enable_ssh()
        with translated_errors("connect"):
            if not endpoint:
                kwargs = docker.utils.kwargs_from_env()
                return docker.APIClient(version="auto", timeout=int(self.timeout), **kwargs)
            tls: Any = False
            client_class: Any = docker.APIClient
            if endpoint.startswith("tcp://") and (self.tls_verify or self.cert_path):
                tls = self._tls_config()
                client_class = _configured_ca_client(docker.APIClient)
            return client_class(
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
        """Close the connections to the manager in use, if any; the next call reconnects."""
        if self._api is not None:
            self._api.close()
            self._api = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None


def _configured_ca_client(base: Any) -> Any:
    """docker-py's client class, keeping the CA of ``SPARKSWARM_CERT_PATH``.

    requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` replace a session's
    own ``verify`` on every request (psf/requests#3829), so on a machine with
    either set (common where a proxy re-signs HTTPS) the manager's certificate
    was checked against the system bundle and always refused. The CA the
    settings name is the only one that may vouch for a manager.
    """

    class ConfiguredCAClient(base):  # type: ignore[misc]
        def merge_environment_settings(self, *args: Any, **kwargs: Any) -> Any:
            settings = super().merge_environment_settings(*args, **kwargs)
            if isinstance(self.verify, str):
                settings["verify"] = self.verify
            return settings

    return ConfiguredCAClient
