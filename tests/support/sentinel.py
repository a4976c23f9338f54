"""A replicated Redis in containers for the Sentinel test: one primary, one
replica, three sentinels, each a ``redis-server`` container of the locally
built ``sparkswarm/redis`` image.

Host networking on loopback ports picked at random: the sentinels then
report addresses (127.0.0.1:port) the test process and its workers reach as
they are, and a killed container's port refuses connections at once.
Containers are named with the test's prefix and labelled; :meth:`remove`
(the fixture's teardown) removes them, also when the test failed.
"""

from __future__ import annotations

import contextlib
import shlex
from dataclasses import dataclass, field
from typing import Any

from tests.support.queue_harness import free_port, wait_for

IMAGE = "sparkswarm/redis:bookworm"
LABEL = "org.sparkswarm.test"
# Short enough that a failover ends within the test's patience: a primary
# unanswering for 1 s is down; a failover that stalls is retried after 5 s.
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000


@dataclass
class Node:
    """One container: its name and loopback port."""

    name: str
    port: int
    container: str = ""


@dataclass
class ReplicatedRedis:
    """Primary, replica and three sentinels (quorum 2) under ``prefix``."""

    api: Any  # docker-py's APIClient (tests/support/engine.EngineGateway.api)
    prefix: str
    password: str
    sentinel_password: str
    master_name: str = "main"
    primary: Node = field(init=False)
    replica: Node = field(init=False)
    sentinels: list[Node] = field(init=False)

    def __post_init__(self) -> None:
        self.primary = Node(f"{self.prefix}-redis-primary", free_port())
        self.replica = Node(f"{self.prefix}-redis-replica", free_port())
        self.sentinels = [Node(f"{self.prefix}-sentinel{i}", free_port()) for i in range(3)]

    @property
    def url(self) -> str:
        """SPARKSWARM_REDIS_URL: every sentinel, no password (the settings add it)."""
        return ";".join(f"sentinel://127.0.0.1:{s.port}" for s in self.sentinels)

    def start(self) -> None:
        """Start every node and wait until the sentinels know the primary,
        its replica and one another (a failover needs all three)."""
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        auth = ["--requirepass", self.password, "--masterauth", self.password]
        guard = ["--min-replicas-to-write", "1", "--min-replicas-max-lag", "10"]
        follow = ["--replicaof", "127.0.0.1", str(self.primary.port)]
        self._run(
            self.primary,
            # The primary refuses writes unless a replica is connected and
            # acknowledged within 10 s (README "A replicated Redis").
            ["redis-server", "--port", str(self.primary.port), *common, *auth, *guard],
        )
        self._run(
            self.replica,
            ["redis-server", "--port", str(self.replica.port), *common, *auth, *follow],
        )
        # Writes are refused until the replica is online and has acknowledged.
        wait_for(
            lambda: self.replication(self.primary).get("min_slaves_good_slaves") == "1",
            30,
            "the replica to be in sync",
            ignore=(Exception,),
        )
        for sentinel in self.sentinels:
            conf = [
                f"port {sentinel.port}",
                "bind 127.0.0.1",
                f"sentinel monitor {self.master_name} 127.0.0.1 {self.primary.port} 2",
                f"sentinel down-after-milliseconds {self.master_name} {DOWN_AFTER_MS}",
                f"sentinel failover-timeout {self.master_name} {FAILOVER_TIMEOUT_MS}",
                f"sentinel auth-pass {self.master_name} {self.password}",
                # Sentinels use their own requirepass towards one another too.
                f"requirepass {self.sentinel_password}",
            ]
            script = (
                "printf '%s\\n' "
                + " ".join(shlex.quote(line) for line in conf)
                + " > /tmp/sentinel.conf && exec redis-server /tmp/sentinel.conf --sentinel"
            )
            self._run(sentinel, ["/bin/sh", "-c", script])
        for sentinel in self.sentinels:
            wait_for(
                lambda s=sentinel: self._sentinel_sees_all(s),  # type: ignore[misc]
                60,
                f"{sentinel.name} to see the replica and two other sentinels",
                interval=0.3,
                explain=lambda s=sentinel: self.logs(s),  # type: ignore[misc]
                ignore=(Exception,),
            )

    def _run(self, node: Node, command: list[str]) -> None:
        host_config = self.api.create_host_config(network_mode="host")
        created = self.api.create_container(
            IMAGE,
            command=command,
            entrypoint=[],
            name=node.name,
            labels={LABEL: self.prefix},
            host_config=host_config,
        )
        node.container = created["Id"]
        self.api.start(node.container)

    def client(self, node: Node) -> Any:
        """A plain redis-py client of one data node (not through the sentinels)."""
        import redis

        return redis.Redis("127.0.0.1", node.port, password=self.password, decode_responses=True)

    def sentinel_client(self, node: Node) -> Any:
        import redis

        return redis.Redis(
            "127.0.0.1", node.port, password=self.sentinel_password, decode_responses=True
        )

    def replication(self, node: Node) -> dict[str, str]:
        """``INFO replication`` of a data node, as strings."""
        with self.client(node) as client:
            return {k: str(v) for k, v in client.info("replication").items()}

    def _sentinel_sees_all(self, sentinel: Node) -> bool:
        with self.sentinel_client(sentinel) as client:
            state = client.sentinel_master(self.master_name)
        return bool(state["num-slaves"] == 1 and state["num-other-sentinels"] == 2)

    def master_address(self) -> tuple[str, int] | None:
        """Where the sentinels (the first that answers) say the primary is."""
        for sentinel in self.sentinels:
            with contextlib.suppress(Exception), self.sentinel_client(sentinel) as client:
                address = client.sentinel_get_master_addr_by_name(self.master_name)
                if address:
                    return str(address[0]), int(address[1])
        return None

    def kill(self, node: Node) -> None:
        """SIGKILL the node's redis-server (a crash: nothing is flushed)."""
        self.api.kill(node.container)

    def logs(self, node: Node) -> str:
        with contextlib.suppress(Exception):
            return str(self.api.logs(node.container, tail=40).decode(errors="replace"))
        return "(no logs)"

    def remove(self) -> None:
        """Remove every container of this set (each one tried, whatever failed)."""
        for node in [self.primary, self.replica, *self.sentinels]:
            with contextlib.suppress(Exception):
                self.api.remove_container(node.name, force=True)
