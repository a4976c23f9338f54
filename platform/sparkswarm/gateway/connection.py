"""The connection under the gateway: manager failover, TLS, error translation.

:class:`Connection` holds the one ``docker.APIClient``. The per-area mixins
(services, cluster, objects, containers) reach it only through
:meth:`Connection._engine`, which connects on first use, translates errors and
drops a connection that stopped answering, so the next call fails over.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from sparkswarm.errors import SparkswarmError, Unavailable
from sparkswarm.gateway.translate import enable_ssh, load_docker, translated_errors

# Named for the package: users filter the failover warnings by this name.
log = logging.getLogger("sparkswarm.gateway")

JSON = dict[str, Any]


def as_object(value: Any) -> JSON:
    """An Engine JSON object as the typed dict it is."""
    return cast(JSON, value)


def as_objects(value: Any) -> list[JSON]:
    """An Engine JSON array of objects (``null`` is an empty list)."""
    return cast(list[JSON], value or [])


def _is_swarm_manager(api: Any) -> bool:
    swarm = api.info().get("Swarm") or {}
    return swarm.get("LocalNodeState") == "active" and bool(swarm.get("ControlAvailable"))


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
        self._api: Any = None
        self.endpoint: str | None = None

    @contextmanager
    def _engine(self, what: str) -> Iterator[Any]:
        """The docker client, with errors translated; a dead connection is dropped."""
        if self._api is None:
            self._api = self._connect()
        try:
            with translated_errors(what):
                yield self._api
        except Unavailable:
            self._api = None
            raise

    def _post_json(
        self,
        what: str,
        path: str,
        body: Mapping[str, Any],
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """POST ``body`` to the versioned Engine endpoint ``path``; its JSON answer or None.

        For requests docker-py cannot express (rollback=previous, a join's
        Availability, a whole ServiceSpec); built from docker-py's public API only.
        """
        load_docker()
        import docker.errors
        import requests

        with self._engine(what) as api:
            url = f"{api.base_url}/v{api.api_version}{path}"
            # The Engine's Go decoder refuses null for strings: leave unset keys out.
            data = {key: value for key, value in body.items() if value is not None}
            response = api.post(
                url, json=data, params=dict(params or {}), headers=headers, timeout=api.timeout
            )
            try:
                response.raise_for_status()
            except requests.exceptions.HTTPError as exc:
                docker.errors.create_api_error_from_http_exception(exc)
            return response.json() if response.content else None

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
