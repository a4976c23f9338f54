"""Gateway methods for services and their tasks and logs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sparkswarm.gateway.connection import JSON, Connection, as_object, as_objects
from sparkswarm.gateway.translate import translated_errors

Filters = Mapping[str, str | list[str]]


class ServicesMixin(Connection):
    """Services, tasks and service logs."""

    def services(self, filters: Filters | None = None, *, status: bool = False) -> list[JSON]:
        """Services matching ``filters`` (``status``: with running/desired task counts)."""
        with self._engine("list services") as api:
            return as_objects(api.services(filters=filters, status=status or None))

    def inspect_service(self, service: str) -> JSON:
        """The service with that name, ID or ID prefix. NotFound if none."""
        with self._engine("inspect service") as api:
            return as_object(api.inspect_service(service))

    def create_service(self, spec: Mapping[str, Any]) -> str:
        """Create a service from a complete ServiceSpec; its ID.

        Conflict when the name is taken, InvalidRequest when the spec is refused.
        """
        answer = self._post_json(
            "create service", "/services/create", spec, headers=self._auth_header(spec)
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
        self._post_json(
            "update service",
            f"/services/{_quoted(service_id)}/update",
            spec,
            params=params,
            headers=self._auth_header(spec),
        )

    def remove_service(self, service: str) -> None:
        """Remove a service (name or ID). NotFound if it does not exist."""
        with self._engine("remove service") as api:
            api.remove_service(service)

    def tasks(self, filters: Filters | None = None) -> list[JSON]:
        """Tasks matching ``filters`` (``service``, ``node``, ``label``, ``desired-state``)."""
        with self._engine("list tasks") as api:
            return as_objects(api.tasks(filters=filters))

    def inspect_task(self, task_id: str) -> JSON:
        """One task. NotFound if it is gone."""
        with self._engine("inspect task") as api:
            return as_object(api.inspect_task(task_id))

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
        """Registry credentials for the spec's image, as ``docker service create`` sends."""
        image = (spec.get("TaskTemplate") or {}).get("ContainerSpec", {}).get("Image")
        if not image:
            return {}
        with self._engine("registry auth") as api:
            import docker.auth

            registry, _ = docker.auth.resolve_repository_name(image)
            header = docker.auth.get_config_header(api, registry)
        return {"X-Registry-Auth": header} if header else {}


def _quoted(part: str) -> str:
    from urllib.parse import quote

    return quote(part, safe="")
