"""Gateway methods for networks, configs and secrets."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from sparkswarm.gateway.connection import JSON, Connection, as_object, as_objects
from sparkswarm.gateway.engine_http import engine_path, filters_param
from sparkswarm.gateway.services import Filters


class ObjectsMixin(Connection):
    """Networks, configs and secrets."""

    def networks(
        self, filters: Filters | None = None, *, names: list[str] | None = None
    ) -> list[JSON]:
        """Networks matching ``filters`` or ``names`` (the engine matches name substrings)."""
        wanted = {**(filters or {}), **({"name": names} if names else {})}
        return as_objects(
            self._call("list networks", "GET", "/networks", params=filters_param(wanted))
        )

    def inspect_network(self, network: str) -> JSON:
        """A network by name or ID. NotFound if none."""
        return as_object(self._call("inspect network", "GET", engine_path("/networks/{}", network)))

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
        body = {
            "Name": name,
            "Driver": driver,
            "Options": options,
            "IPAM": ipam,
            "Labels": labels,
            "Internal": internal or None,
            "Attachable": attachable,
            "Scope": scope,
            "CheckDuplicate": check_duplicate,
        }
        created = self._call("create network", "POST", "/networks/create", body=body)
        return str(created["Id"])

    def remove_network(self, network: str) -> None:
        """Remove a network. NotFound if gone; refused while tasks still use it."""
        self._call("remove network", "DELETE", engine_path("/networks/{}", network))

    def configs(self, filters: Filters | None = None) -> list[JSON]:
        """Swarm configs matching ``filters`` (``name`` matches prefixes, ``label``)."""
        return as_objects(
            self._call("list configs", "GET", "/configs", params=filters_param(filters))
        )

    def inspect_config(self, config: str) -> JSON:
        """A config with its (base64) data. NotFound if none."""
        return as_object(self._call("inspect config", "GET", engine_path("/configs/{}", config)))

    def create_config(
        self,
        name: str,
        data: bytes,
        *,
        labels: Mapping[str, str] | None = None,
        templating: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a config holding ``data``; its ID. Conflict when the name is taken."""
        body = {"Name": name, "Data": _base64(data), "Labels": labels, "Templating": templating}
        return str(self._call("create config", "POST", "/configs/create", body=body)["ID"])

    def remove_config(self, config: str) -> None:
        """Remove a config. NotFound if gone; refused while a service uses it."""
        self._call("remove config", "DELETE", engine_path("/configs/{}", config))

    def secrets(self, filters: Filters | None = None) -> list[JSON]:
        """Swarm secrets (without their data) matching ``filters``."""
        return as_objects(
            self._call("list secrets", "GET", "/secrets", params=filters_param(filters))
        )

    def create_secret(
        self,
        name: str,
        data: bytes,
        *,
        labels: Mapping[str, str] | None = None,
        driver: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a secret holding ``data``; its ID. Conflict when the name is taken."""
        body = {"Name": name, "Data": _base64(data), "Labels": labels, "Driver": driver}
        return str(self._call("create secret", "POST", "/secrets/create", body=body)["ID"])

    def remove_secret(self, secret: str) -> None:
        """Remove a secret. NotFound if gone."""
        self._call("remove secret", "DELETE", engine_path("/secrets/{}", secret))


def _base64(data: bytes) -> str:
    """A config's or secret's content as the Engine takes it."""
    return base64.b64encode(data).decode("ascii")
