"""Gateway methods for this engine's containers and images."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import IO, NamedTuple

from sparkswarm.gateway.connection import JSON, Connection, as_object, as_objects
from sparkswarm.gateway.engine_errors import translated_errors
from sparkswarm.gateway.engine_http import demultiplexed, engine_path, filters_param
from sparkswarm.gateway.services import Filters


class ExecResult(NamedTuple):
    """What a command run in a container printed (stdout and stderr) and its exit code."""

    output: bytes
    exit_code: int


class ContainersMixin(Connection):
    """Containers (of the engine the gateway talks to) and images."""

    def containers(self, filters: Filters | None = None, *, all: bool = False) -> list[JSON]:
        """Containers matching ``filters`` (``all``: stopped ones too)."""
        params = {"all": 1 if all else 0, **filters_param(filters)}
        return as_objects(self._call("list containers", "GET", "/containers/json", params=params))

    def inspect_container(self, container: str) -> JSON:
        """A container of this engine (``State.OOMKilled``, ...). NotFound if gone."""
        path = engine_path("/containers/{}/json", container)
        return as_object(self._call("inspect container", "GET", path))

    def remove_container(self, container: str, *, force: bool = False) -> None:
        """Remove a container (``force``: even a running one). NotFound if gone."""
        path = engine_path("/containers/{}", container)
        self._call("remove container", "DELETE", path, params={"force": force})

    def volumes(self, filters: Filters | None = None) -> list[JSON]:
        """This engine's volumes matching ``filters`` (``label``, ``name``, ``dangling``)."""
        answer = as_object(
            self._call("list volumes", "GET", "/volumes", params=filters_param(filters))
        )
        return as_objects(answer.get("Volumes") or [])

    def remove_volume(self, volume: str) -> None:
        """Remove a volume of this engine. NotFound if gone; Conflict while a container uses it."""
        self._call("remove volume", "DELETE", engine_path("/volumes/{}", volume))

    def exec_run(self, container: str, command: list[str]) -> ExecResult:
        """Run ``command`` in a running container and wait for it to end."""
        wire = self._wire()
        if wire is None:
            with self._engine("exec") as api:
                created = api.exec_create(container, command, stdout=True, stderr=True)
                output = api.exec_start(created["Id"])
                code = api.exec_inspect(created["Id"]).get("ExitCode")
            data = output.encode() if isinstance(output, str) else bytes(output or b"")
            return ExecResult(data, int(code if code is not None else 1))
        body = {"AttachStdout": True, "AttachStderr": True, "Cmd": list(command)}
        created = self._call(
            "exec", "POST", engine_path("/containers/{}/exec", container), body=body
        )
        exec_path = engine_path("/exec/{}", created["Id"])
        started = wire.stream(
            "exec",
            "POST",
            f"{exec_path}/start",
            body={"Detach": False, "Tty": False},
            timeout=self.timeout,
        )
        data = b"".join(demultiplexed(started))
        code = self._call("exec", "GET", f"{exec_path}/json").get("ExitCode")
        return ExecResult(data, int(code if code is not None else 1))

    def inspect_image(self, image: str) -> JSON:
        """An image by reference or ID. NotFound if the engine does not have it."""
        return as_object(self._call("inspect image", "GET", engine_path("/images/{}/json", image)))

    def tag_image(self, image: str, repository: str, tag: str) -> None:
        """Give ``image`` the extra name ``repository:tag``."""
        params = {"repo": repository, "tag": tag}
        self._call("tag image", "POST", engine_path("/images/{}/tag", image), params=params)

    def import_image(self, tarball: str, *, repository: str, tag: str) -> None:
        """Import a root filesystem tarball (a file path) as ``repository:tag``."""
        with self._engine("import image") as api:
            api.import_image_from_file(tarball, repository=repository, tag=tag)

    def save_image(self, image: str) -> Iterator[bytes]:
        """``image`` as a ``docker save`` tar stream, in chunks; errors translated while read."""
        with self._engine("image save") as api:
            stream = api.get_image(image)
        with translated_errors("image save"):
            yield from stream

    def load_image(self, archive: IO[bytes]) -> Iterator[JSON]:
        """Load a ``docker save`` tar; the engine's messages (``stream``, ``error``)."""
        with self._engine("image load") as api:
            messages = api.load_image(archive)
        with translated_errors("image load"):
            for message in messages:
                yield as_object(message)

    def build_image(
        self,
        *,
        tag: str,
        path: str | None = None,
        fileobj: IO[bytes] | None = None,
        buildargs: Mapping[str, str] | None = None,
        nocache: bool = False,
        forcerm: bool = False,
    ) -> Iterator[JSON]:
        """Build from a folder (``path``) or a tar context (``fileobj``); the decoded
        progress messages (``stream``, ``error``), errors translated while read.

        Never pulls: bases are local. A failed step shows up as a message with ``error``.
        """
        with self._engine("build") as api:
            stream = api.build(
                path=path,
                fileobj=fileobj,
                custom_context=fileobj is not None,
                tag=tag,
                buildargs=dict(buildargs) if buildargs is not None else None,
                rm=True,
                forcerm=forcerm,
                pull=False,
                nocache=nocache,
                decode=True,
            )
        with translated_errors("build"):
            for chunk in stream:
                yield as_object(chunk)
