"""Gateway methods for networks, configs and secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sparkswarm.gateway.connection import JSON, Connection, as_object, as_objects
from sparkswarm.gateway.services import Filters


class ObjectsMixin(Connection):
    """Networks, configs and secrets."""

    def networks(
        self, filters: Filters | None = None, *, names: list[str] | None = None
    ) -> list[JSON]:
        """Networks matching ``filters`` or ``names`` (the engine matches name substrings)."""
        with self._engine("list networks") as api:
            return as_objects(api.networks(names=names, filters=filters))

    def inspect_network(self, network: str) -> JSON:
        """A network by name or ID. NotFound if none."""
        with self._engine("inspect network") as api:
            return as_object(api.inspect_network(network))

    def create_network(
        self,
        name: str,
        *,
        driver: str | None = None,
        options: Mapping[str, str] | None = None,
        ipam: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        internal: bool = False,
        attachable: bool | None = None,
        scope: str | None = None,
        check_duplicate: bool | None = None,
    ) -> str:
        """Create a network; its ID. Conflict when ``check_duplicate`` finds the name taken."""
        with self._engine("create network") as api:
            created = api.create_network(
                name,
                driver=driver,
                options=dict(options) if options is not None else None,
                ipam=dict(ipam) if ipam is not None else None,
                labels=dict(labels) if labels is not None else None,
                internal=internal,
                attachable=attachable,
                scope=scope,
                check_duplicate=check_duplicate,
            )
            return str(created["Id"])

    def remove_network(self, network: str) -> None:
        """Remove a network. NotFound if gone; refused while tasks still use it."""
        with self._engine("remove network") as api:
            api.remove_network(network)

    def configs(self, filters: Filters | None = None) -> list[JSON]:
        """Swarm configs matching ``filters`` (``name`` matches prefixes, ``label``)."""
        with self._engine("list configs") as api:
            return as_objects(api.configs(filters=filters))

    def inspect_config(self, config: str) -> JSON:
        """A config with its (base64) data. NotFound if none."""
        with self._engine("inspect config") as api:
            return as_object(api.inspect_config(config))

    def create_config(
        self,
        name: str,
        data: bytes,
        *,
        labels: Mapping[str, str] | None = None,
        templating: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a config holding ``data``; its ID. Conflict when the name is taken."""
        with self._engine("create config") as api:
            created = api.create_config(
                name,
                data,
                labels=dict(labels) if labels is not None else None,
                templating=dict(templating) if templating is not None else None,
            )
            return str(created["ID"])

    def remove_config(self, config: str) -> None:
        """Remove a config. NotFound if gone; refused while a service uses it."""
        with self._engine("remove config") as api:
            api.remove_config(config)

    def secrets(self, filters: Filters | None = None) -> list[JSON]:
        """Swarm secrets (without their data) matching ``filters``."""
        with self._engine("list secrets") as api:
            return as_objects(api.secrets(filters=filters))

    def create_secret(
        self,
        name: str,
        data: bytes,
        *,
        labels: Mapping[str, str] | None = None,
        driver: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a secret holding ``data``; its ID. Conflict when the name is taken."""
        with self._engine("create secret") as api:
            created = api.create_secret(
                name,
                data,
                labels=dict(labels) if labels is not None else None,
                driver=dict(driver) if driver is not None else None,
            )
            return str(created["ID"])

    def remove_secret(self, secret: str) -> None:
        """Remove a secret. NotFound if gone."""
        with self._engine("remove secret") as api:
            api.remove_secret(secret)
