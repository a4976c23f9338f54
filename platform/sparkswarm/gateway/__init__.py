"""The gateway: the one place that holds a Docker client.

Every Engine API call goes through a named, typed method of :class:`Gateway`;
no other module imports docker-py. It picks the first reachable manager from
the configured list (an unreachable one is skipped with a warning) and
converts every docker / requests error into the error tree of
:mod:`sparkswarm.errors` (:func:`~sparkswarm.gateway.engine_errors.classify`
is the one place that reads an engine's error answer).

Engine objects come back as the Engine's JSON (``dict[str, Any]``), as the
API reference documents them; methods that create something return its ID.

- :mod:`.connection`: failover, TLS, error translation per call
- :mod:`.services`: services, tasks, service logs
- :mod:`.cluster`: engine info, swarm, nodes
- :mod:`.objects`: networks, configs, secrets
- :mod:`.containers`: containers, exec, images
"""

from __future__ import annotations

from sparkswarm.gateway.cluster import ClusterMixin
from sparkswarm.gateway.connection import JSON
from sparkswarm.gateway.containers import ContainersMixin, ExecResult
from sparkswarm.gateway.engine_errors import classify, translated_errors
from sparkswarm.gateway.objects import ObjectsMixin
from sparkswarm.gateway.services import Filters, ServicesMixin

__all__ = [
    "JSON",
    "ExecResult",
    "Filters",
    "Gateway",
    "classify",
    "translated_errors",
]


class Gateway(ServicesMixin, ClusterMixin, ObjectsMixin, ContainersMixin):
    """A connection to a swarm through the first reachable manager.

    ``managers`` is a list of endpoints (``unix://``, ``tcp://``, ``ssh://``).
    Empty means: ``DOCKER_HOST`` / ``DOCKER_TLS_VERIFY`` / ``DOCKER_CERT_PATH``
    or the local socket, as the Docker CLI does.
    """

    @classmethod
    def from_settings(cls) -> Gateway:
        """A gateway configured from :func:`sparkswarm.config.get_settings`."""
        from sparkswarm.config import get_settings

        s = get_settings()
        return cls(
            s.managers, tls_verify=s.tls_verify, cert_path=s.cert_path, timeout=s.docker_timeout
        )
