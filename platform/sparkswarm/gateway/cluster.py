"""Gateway methods for the engine itself, the swarm and its nodes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sparkswarm.gateway.connection import JSON, Connection, as_object, as_objects
from sparkswarm.gateway.services import Filters


class ClusterMixin(Connection):
    """Engine info, swarm membership and settings, nodes."""

    def info(self) -> JSON:
        """The engine's ``/info`` (its ``Swarm`` part works on workers too)."""
        with self._engine("info") as api:
            return as_object(api.info())

    def version(self) -> JSON:
        """The engine's ``/version`` (``Version``, ``ApiVersion``, ...)."""
        with self._engine("version") as api:
            return as_object(api.version())

    def inspect_swarm(self) -> JSON:
        """The swarm's spec, version and join tokens (secrets!). Managers only."""
        with self._engine("inspect swarm") as api:
            return as_object(api.inspect_swarm())

    def init_swarm(
        self,
        *,
        advertise_addr: str | None,
        listen_addr: str,
        default_addr_pool: list[str] | None = None,
    ) -> str:
        """Make this engine the first manager of a new swarm; the node ID."""
        with self._engine("init swarm") as api:
            return str(
                api.init_swarm(
                    advertise_addr=advertise_addr,
                    listen_addr=listen_addr,
                    default_addr_pool=default_addr_pool,
                )
            )

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
        self._post_json("join swarm", "/swarm/join", body)

    def leave_swarm(self, *, force: bool = False) -> None:
        """Take this engine out of its swarm (a manager only with ``force``)."""
        with self._engine("leave swarm") as api:
            api.leave_swarm(force=force)

    def update_swarm(
        self,
        version: int,
        spec: Mapping[str, Any],
        *,
        rotate_worker_token: bool = False,
        rotate_manager_token: bool = False,
    ) -> None:
        """Replace the swarm spec at ``version``; OutOfSequence when it is stale."""
        with self._engine("update swarm") as api:
            api.update_swarm(
                version=version,
                swarm_spec=dict(spec),
                rotate_worker_token=rotate_worker_token,
                rotate_manager_token=rotate_manager_token,
            )

    def nodes(self, filters: Filters | None = None) -> list[JSON]:
        """The swarm's nodes matching ``filters`` (``role``, ``id``, ...). Managers only."""
        with self._engine("list nodes") as api:
            return as_objects(api.nodes(filters=filters))

    def inspect_node(self, node: str) -> JSON:
        """A node by ID, ID prefix or hostname. NotFound if none."""
        with self._engine("inspect node") as api:
            return as_object(api.inspect_node(node))

    def update_node(self, node_id: str, version: int, spec: Mapping[str, Any]) -> None:
        """Replace a node's spec at ``version``; OutOfSequence when it is stale."""
        with self._engine("update node") as api:
            api.update_node(node_id, version, dict(spec))
