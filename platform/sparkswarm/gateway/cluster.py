"""Gateway methods for the engine itself, the swarm and its nodes."""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Iterator, Mapping
from typing import Any

from sparkswarm.errors import InvalidRequest, Unavailable
from sparkswarm.gateway.connection import JSON, Connection, as_object, as_objects
from sparkswarm.gateway.engine_errors import translated_errors
from sparkswarm.gateway.engine_http import engine_path, filters_param
from sparkswarm.gateway.services import Filters


class ClusterMixin(Connection):
    """Engine info, swarm membership and settings, nodes."""

    def info(self) -> JSON:
        """The engine's ``/info`` (its ``Swarm`` part works on workers too)."""
        return as_object(self._call("info", "GET", "/info"))

    def version(self) -> JSON:
        """The engine's ``/version`` (``Version``, ``ApiVersion``, ...)."""
        return as_object(self._call("version", "GET", "/version"))

    def inspect_swarm(self) -> JSON:
        """The swarm's spec, version and join tokens (secrets!). Managers only."""
        return as_object(self._call("inspect swarm", "GET", "/swarm"))

    def init_swarm(
        self,
        *,
        advertise_addr: str | None,
        listen_addr: str,
        default_addr_pool: list[str] | None = None,
    ) -> str:
        """Make this engine the first manager of a new swarm; the node ID."""
        body = {
            "AdvertiseAddr": advertise_addr,
            "ListenAddr": listen_addr,
            "ForceNewCluster": False,
            "DefaultAddrPool": default_addr_pool,
            # The Docker CLI's default size of the subnets carved from a pool.
            "SubnetSize": 24 if default_addr_pool else None,
        }
        return str(self._call("init swarm", "POST", "/swarm/init", body=body))

    def join_swarm(
        self,
        *,
        remote: str,
        token: str,
        listen_addr: str,
        advertise_addr: str | None,
        availability: str = "active",
    ) -> None:
        """Join the swarm managed at ``remote`` with a join ``token``."""
        # docker-py's join_swarm has no availability; the Engine's JoinRequest
        # does (it is what `docker swarm join --availability` sends).
        body = {
            "RemoteAddrs": [remote],
            "JoinToken": token,
            "ListenAddr": listen_addr,
            "AdvertiseAddr": advertise_addr or None,
            "Availability": availability,
        }
        self._call("join swarm", "POST", "/swarm/join", body=body)

    def leave_swarm(self, *, force: bool = False) -> None:
        """Take this engine out of its swarm (a manager only with ``force``)."""
        try:
            self._call("leave swarm", "POST", "/swarm/leave", params={"force": force})
        except InvalidRequest as exc:
            # Forced: an engine that is in no swarm (any more) is what was asked for.
            if not (force and "not part of a swarm" in str(exc)):
                raise

    def update_swarm(
        self,
        version: int,
        spec: Mapping[str, Any],
        *,
        rotate_worker_token: bool = False,
        rotate_manager_token: bool = False,
    ) -> None:
        """Replace the swarm spec at ``version``; OutOfSequence when it is stale."""
        params = {
            "version": version,
            "rotateWorkerToken": rotate_worker_token,
            "rotateManagerToken": rotate_manager_token,
        }
        self._call("update swarm", "POST", "/swarm/update", params=params, body=spec)

    def nodes(self, filters: Filters | None = None) -> list[JSON]:
        """The swarm's nodes matching ``filters`` (``role``, ``id``, ...). Managers only."""
        return as_objects(self._call("list nodes", "GET", "/nodes", params=filters_param(filters)))

    def inspect_node(self, node: str) -> JSON:
        """A node by ID, ID prefix or hostname. NotFound if none."""
        return as_object(self._call("inspect node", "GET", engine_path("/nodes/{}", node)))

    def update_node(self, node_id: str, version: int, spec: Mapping[str, Any]) -> None:
        """Replace a node's spec at ``version``; OutOfSequence when it is stale."""
        path = engine_path("/nodes/{}/update", node_id)
        self._call("update node", "POST", path, params={"version": version}, body=spec)

    def events(
        self, *, since: float, until: float, filters: Filters | None = None
    ) -> Generator[JSON, None, None]:
        """The engine's events from ``since`` to ``until`` (Unix seconds), as they happen.

        The engine replays what it still holds from ``since`` (its buffer keeps
        the last events only), then streams until ``until`` and closes the
        answer: a bounded long poll (``close()`` the generator to end it
        sooner). Filters as ``docker events --filter`` (``type``: ``service``,
        ``node``, ...). Errors translated while read;
        Unavailable when the engine stops answering.
        """
        params = {
            "since": f"{since:.9f}",
            "until": f"{until:.9f}",
            **filters_param(filters),
        }
        # The stream may stay quiet until ``until``: the read timeout covers the wait.
        wait = max(0.0, until - time.time()) + self.timeout
        try:
            wire = self._wire()
            if wire is not None:
                chunks = wire.stream("events", "GET", "/events", params=params, timeout=wait)
                yield from _json_objects(chunks, "events")
                return
            with self._engine("events") as api:
                stream = api.events(
                    since=params["since"],
                    until=params["until"],
                    filters=json.loads(params["filters"]) if "filters" in params else None,
                    decode=True,
                )
            with translated_errors("events"):
                for event in stream:
                    yield as_object(event)
        except Unavailable:
            # A stream has a connection of its own: drop the manager in use
            # too, so the next call fails over as a JSON call's failure does.
            self.close()
            raise


def _json_objects(chunks: Iterator[bytes], what: str) -> Iterator[JSON]:
    """The JSON objects of a stream the engine writes one per line."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                try:
                    yield as_object(json.loads(line))
                except ValueError as exc:
                    raise Unavailable(f"{what}: the engine sent no JSON: {exc}") from exc
    if pending.strip():
        yield as_object(json.loads(pending))
