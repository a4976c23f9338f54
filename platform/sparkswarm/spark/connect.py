"""The spark stack's Spark Connect server: where a client reaches it, and
the rule that it is never published without a token.

The server is the ``connect`` service (``stacks/spark/connect.yml``, label
``org.sparkswarm.spark.role=connect``), gRPC on port 15002 of the stack's
overlay network. Its client token is a swarm secret mounted at
``/run/secrets/connect_token``; swarm never gives a secret back through its
API, so :func:`connect_endpoint` reads it from inside the server's own
container (as ``spark status`` reads the master's page), and the gateway must
reach the engine of the node running it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import InvalidRequest, SparkswarmError, Unavailable

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

CONNECT_PORT = 15002
CONNECT_SERVICE = "connect"
ROLE_LABEL = "org.sparkswarm.spark.role"
TOKEN_TARGET = "connect_token"
TOKEN_PATH = f"/run/secrets/{TOKEN_TARGET}"


def refuse_open_connect(model: Mapping[str, Any]) -> None:
    """Refuse a stack (a loaded compose model) that publishes a Spark Connect
    server without a client token: anyone reaching the port could run code
    on the workers.

    A Connect server is a service labelled ``org.sparkswarm.spark.role:
    connect``; its token is a secret mounted as ``connect_token``. Raises
    InvalidRequest saying how to fix it.
    """
    for name, service in (model.get("services") or {}).items():
        if not isinstance(service, dict):
            continue
        labels = (service.get("deploy") or {}).get("labels") or {}
        if not isinstance(labels, dict) or labels.get(ROLE_LABEL) != "connect":
            continue
        if not service.get("ports"):
            continue
        targets = {
            str(s.get("target") or s.get("source"))
            for s in service.get("secrets") or []
            if isinstance(s, dict)
        }
        if TOKEN_TARGET not in targets:
            raise InvalidRequest(
                f"service {name!r} publishes a Spark Connect server without a client token "
                "(anyone reaching the port could run code on the workers): set "
                "connect_token_secret (a swarm secret name, created when missing) or do not "
                "publish it (connect_port=0); nothing was deployed"
            )


@dataclass(frozen=True)
class ConnectEndpoint:
    """Where a Spark Connect client reaches a stack's server.

    ``host:port`` is the published port on the node running the server, or
    the service's name on the stack's network when it is not published
    (``published`` False: reachable from containers on that network only).
    ``token`` is None when the server asks for none.
    """

    stack: str
    host: str
    port: int
    published: bool
    token: str | None

    def url(self, *, with_token: bool = True) -> str:
        """The ``sc://host:port/;token=...`` URL (``;token=`` only when a
        token is set and ``with_token``)."""
        url = f"sc://{self.host}:{self.port}/"
        if self.token and with_token:
            url += f";token={self.token}"
        return url


def published_port(service: Mapping[str, Any]) -> int | None:
    """The host port publishing the server's gRPC port (15002), if any."""
    ports = (service.get("Spec", {}).get("EndpointSpec") or {}).get("Ports") or []
    for port in ports:
        if port.get("TargetPort") == CONNECT_PORT and port.get("PublishedPort"):
            return int(port["PublishedPort"])
    return None


def connect_endpoint(gw: Gateway, *, stack: str) -> ConnectEndpoint:
    """Where stack ``stack``'s Connect server is reached, and its token.

    Raises NotFound when the stack runs no Connect server (deploy it with
    ``connect=true``), Unavailable when the server has no running task on
    the engine the gateway talks to, or its token cannot be read.
    """
    # The engine queries load here: every stack deploy and diff imports this
    # module for refuse_open_connect, a pure check.
    from sparkswarm.spark.queries import require_stack_service, running_container

    service = require_stack_service(gw, stack, CONNECT_SERVICE)
    container = running_container(gw, dict(service), f"the Spark Connect server of {stack}")
    token = _read_token(gw, service, container)
    port = published_port(service)
    if port is None:
        # dnsrr: the service's name resolves to its task on the stack's network.
        return ConnectEndpoint(stack, f"{stack}_{CONNECT_SERVICE}", CONNECT_PORT, False, token)
    return ConnectEndpoint(stack, _task_node_address(gw, service), port, True, token)


def _read_token(gw: Gateway, service: Mapping[str, Any], container: str) -> str | None:
    container_spec = service["Spec"]["TaskTemplate"]["ContainerSpec"]
    mounted = [s for s in container_spec.get("Secrets") or [] if s.get("File")]
    if not any(s["File"].get("Name") == TOKEN_TARGET for s in mounted):
        return None
    try:
        done = gw.exec_run(container, ["cat", TOKEN_PATH])
    except SparkswarmError as exc:
        raise Unavailable(f"cannot read the Spark Connect token: {exc}") from exc
    if done.exit_code != 0:
        raise Unavailable("cannot read the Spark Connect token in its container")
    return done.output.decode("utf-8", "replace").strip() or None


def _task_node_address(gw: Gateway, service: Mapping[str, Any]) -> str:
    """The address of the node running the server's task (host-mode ports
    are published on that node only)."""
    tasks = gw.tasks(filters={"service": service["ID"], "desired-state": "running"})
    running = [t for t in tasks if t.get("Status", {}).get("State") == "running"]
    if not running:
        raise Unavailable("the Spark Connect server has no running task")
    node = gw.inspect_node(running[0]["NodeID"])
    address = str(node.get("Status", {}).get("Addr") or "")
    return address if address and address != "0.0.0.0" else "127.0.0.1"
