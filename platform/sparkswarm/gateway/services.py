"""Gateway methods for services and their tasks and logs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from sparkswarm.gateway.connection import JSON, Connection, as_object, as_objects
from sparkswarm.gateway.engine_errors import translated_errors
from sparkswarm.gateway.engine_http import demultiplexed, engine_path, filters_param

Filters = Mapping[str, str | list[str]]


class ServicesMixin(Connection):
    """Services, tasks and service logs."""

    def services(self, filters: Filters | None = None, *, status: bool = False) -> list[JSON]:
        """Services matching ``filters`` (``status``: with running/desired task counts)."""
        params = {**filters_param(filters), "status": True if status else None}
        return as_objects(self._call("list services", "GET", "/services", params=params))

    def inspect_service(self, service: str) -> JSON:
        """The service with that name, ID or ID prefix. NotFound if none."""
        return as_object(self._call("inspect service", "GET", engine_path("/services/{}", service)))

    def create_service(self, spec: Mapping[str, Any]) -> str:
        """Create a service from a complete ServiceSpec; its ID.

        Conflict when the name is taken, InvalidRequest when the spec is refused.
        """
        answer = self._call(
            "create service",
            "POST",
            "/services/create",
            body=spec,
            headers=self._auth_header(spec),
        )
        return str(answer["ID"])

    def update_service(
        self, service_id: str, version: int, spec: Mapping[str, Any], *, rollback: bool = False
    ) -> None:
        """Replace the spec of ``service_id`` at ``version`` (``rollback``: go to the previous).

        The engine replaces the whole spec. OutOfSequence when ``version`` is
        not current any more, InvalidRequest when the spec is refused.
        """
        params: dict[str, Any] = {"version": version}
        if rollback:
            params["rollback"] = "previous"
        self._call(
            "update service",
            "POST",
            engine_path("/services/{}/update", service_id),
            params=params,
            body=spec,
            headers=self._auth_header(spec),
        )

    def remove_service(self, service: str) -> None:
        """Remove a service (name or ID). NotFound if it does not exist."""
        self._call("remove service", "DELETE", engine_path("/services/{}", service))

    def tasks(self, filters: Filters | None = None) -> list[JSON]:
        """Tasks matching ``filters`` (``service``, ``node``, ``label``, ``desired-state``)."""
        return as_objects(self._call("list tasks", "GET", "/tasks", params=filters_param(filters)))

    def inspect_task(self, task_id: str) -> JSON:
        """One task. NotFound if it is gone."""
        return as_object(self._call("inspect task", "GET", engine_path("/tasks/{}", task_id)))

    def service_logs(
        self,
        service_id: str,
        *,
        stdout: bool = True,
        stderr: bool = True,
        follow: bool = False,
        details: bool = False,
        timestamps: bool = False,
        tail: int | None = None,
        is_tty: bool | None = None,
    ) -> Iterator[bytes]:
        """The raw log stream of a service's tasks, in chunks; errors translated while read.

        ``is_tty`` None: as the service's spec says (one more request).
        """
        wire = self._wire()
        if wire is not None:
            if is_tty is None:
                spec = self.inspect_service(service_id)["Spec"]
                is_tty = bool(spec["TaskTemplate"]["ContainerSpec"].get("TTY"))
            params = {
                "details": details,
                "follow": follow,
                "stdout": stdout,
                "stderr": stderr,
                "timestamps": timestamps,
                "tail": "all" if tail is None else tail,
            }
            path = engine_path("/services/{}/logs", service_id)
            chunks = wire.stream(
                "service logs", "GET", path, params=params, timeout=None if follow else self.timeout
            )
            yield from chunks if is_tty else demultiplexed(chunks)
            return
        with self._engine("service logs") as api:
            stream = api.service_logs(
                service_id,
                details=details,
                follow=follow,
                stdout=stdout,
                stderr=stderr,
                timestamps=timestamps,
                tail="all" if tail is None else tail,
                is_tty=is_tty,
            )
        # The stream is read after the call returned: translate its errors too.
        with translated_errors("service logs"):
            if isinstance(stream, bytes | str):
                yield stream.encode() if isinstance(stream, str) else stream
                return
            for chunk in stream:
                yield chunk.encode() if isinstance(chunk, str) else bytes(chunk)

    def _auth_header(self, spec: Mapping[str, Any]) -> dict[str, str]:
        """Registry credentials for the spec's image, as ``docker service create`` sends.

        Without a Docker client configuration that holds credentials (the
        usual case here: no registry), there is nothing to send and docker-py
        is not loaded; otherwise docker-py resolves them as the Docker CLI does.
        """
        image = (spec.get("TaskTemplate") or {}).get("ContainerSpec", {}).get("Image")
        if not image or not registry_credentials_configured():
            return {}
        with self._engine("registry auth") as api:
            import docker.auth

            registry, _ = docker.auth.resolve_repository_name(image)
            header = docker.auth.get_config_header(api, registry)
        return {"X-Registry-Auth": header} if header else {}


def registry_credentials_configured() -> bool:
    """Whether the Docker client configuration could hold registry credentials.

    Looks where docker-py and the Docker CLI look (``$DOCKER_CONFIG/config.json``,
    ``~/.docker/config.json``, ``~/.dockercfg``) for ``auths``, ``credsStore``
    or ``credHelpers``; a file that cannot be read as JSON counts as "maybe".
    """
    folder = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    for path in (os.path.join(folder, "config.json"), os.path.expanduser("~/.dockercfg")):
        try:
            with open(path, encoding="utf-8") as file:
                config = json.load(file)
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            return True
        if not isinstance(config, dict):
            return True
        if path.endswith(".dockercfg") or any(
            config.get(key) for key in ("auths", "credsStore", "credHelpers")
        ):
            return True
    return False
