"""The registry of mutating operations, by name.

One name per core operation (``service.scale``, ``node.drain``, ...). The CLI,
the Celery worker and the Slack bot all refer to operations by these names;
only this module knows which function implements each. Functions are given
as import paths and resolved on first use, so the CLI starts fast.

Every registered function has the signature
``func(gw: Gateway, *, progress: ProgressFn, **params) -> BaseModel | dict``
with JSON-able params, and is safe to run twice.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import InvalidRequest

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway
    from sparkswarm.progress import ProgressFn


@dataclass(frozen=True)
class Operation:
    """A named core operation.

    ``target_param`` names the parameter that identifies what the operation
    changes (a service, node, stack, ...); the worker serialises operations on
    the same target. ``secret_params`` are masked in records and logs. A
    ``local`` operation acts on the engine the caller is connected to (joining
    or leaving a swarm), not on the swarm as a whole, so it never goes through
    the queue: a worker would apply it to its own engine.
    """

    name: str
    path: str
    kind: str
    target_param: str | None = None
    secret_params: tuple[str, ...] = field(default_factory=tuple)
    local: bool = False

    def resolve(self) -> Callable[..., Any]:
        module, _, attr = self.path.partition(":")
        func: Callable[..., Any] = getattr(importlib.import_module(module), attr)
        return func

    def target(self, params: dict[str, Any]) -> str:
        """The lock key for ``params``: ``service:web``, or the kind alone."""
        if self.target_param is None:
            return self.kind
        value = params.get(self.target_param)
        if isinstance(value, dict):  # e.g. service.scale's {name: replicas}: lock the names
            value = list(value)
        if isinstance(value, list):
            value = ",".join(sorted(str(v) for v in value))
        return f"{self.kind}:{value}"


REGISTRY: dict[str, Operation] = {}


def register(
    name: str,
    path: str,
    *,
    target_param: str | None = None,
    secret_params: tuple[str, ...] = (),
    local: bool = False,
    kind: str | None = None,
) -> None:
    """Add an operation to the registry (called at import of this module).

    ``kind`` (default: the name's first part) is the lock namespace: an
    operation of kind ``stack`` serialises with the other stack operations
    on the same target.
    """
    kind = kind or name.split(".", 1)[0]
    REGISTRY[name] = Operation(name, path, kind, target_param, secret_params, local)


def get_operation(name: str) -> Operation:
    """The operation called ``name``; InvalidRequest if there is none."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise InvalidRequest(f"unknown operation {name!r}") from None


def mask_secrets(op: Operation, params: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` safe to record or show: secrets replaced by ``***``."""
    return {k: ("***" if k in op.secret_params and v else v) for k, v in params.items()}


def run_operation(
    gw: Gateway, name: str, params: dict[str, Any], progress: ProgressFn
) -> dict[str, Any]:
    """Run operation ``name`` in this process and return its JSON-able result."""
    op = get_operation(name)
    result = op.resolve()(gw, progress=progress, **params)
    if hasattr(result, "model_dump"):
        dumped: dict[str, Any] = result.model_dump(mode="json")
        return dumped
    if result is None:
        return {}
    return dict(result)


# --- the operations -------------------------------------------------------
# Filled in by the modules that implement them; keep one line per operation.
register("swarm.init", "sparkswarm.swarm:init_swarm", local=True)
register("swarm.join", "sparkswarm.swarm:join_swarm", secret_params=("token",), local=True)
register("swarm.leave", "sparkswarm.swarm:leave_swarm", local=True)
register("swarm.rotate_join_token", "sparkswarm.swarm:rotate_join_token")
register("node.promote", "sparkswarm.nodes:promote_node", target_param="node")
register("node.demote", "sparkswarm.nodes:demote_node", target_param="node")
register("node.availability", "sparkswarm.nodes:set_node_availability", target_param="node")
register("node.label", "sparkswarm.nodes:label_node", target_param="node")
register("network.create", "sparkswarm.networks:create_network", target_param="name")
register("network.rm", "sparkswarm.networks:remove_network", target_param="name")
register("service.create", "sparkswarm.services.ops:create_service", target_param="name")
register("service.update", "sparkswarm.services.ops:update_service", target_param="name")
register("service.scale", "sparkswarm.services.scale:scale_services", target_param="replicas")
register("service.rollback", "sparkswarm.services.ops:rollback_service", target_param="name")
register("service.rm", "sparkswarm.services.ops:remove_service", target_param="names")
register(
    "stack.deploy",
    "sparkswarm.stacks.deploy:deploy_stack",
    target_param="name",
    secret_params=("env", "attachments"),
)
register("stack.rm", "sparkswarm.stacks.deploy:remove_stack", target_param="name")
register("stack.rollback", "sparkswarm.stacks.deploy:rollback_stack", target_param="name")
register("image.build", "sparkswarm.images:build_image", target_param="name")
# A job is not a swarm change: spark.submit holds its stack's "spark:" lock only
# while it starts the driver (seconds); the job then lives in its own record
# (sparkswarm.workers.spark_jobs), followed by the watcher. The workers
# module wraps the core operation to record who asked; without a broker it
# is the core operation alone.
register("spark.submit", "sparkswarm.workers.spark_jobs:submit", target_param="stack")
register("spark.cancel", "sparkswarm.workers.spark_jobs:cancel", target_param="job_id")
register("spark.rm", "sparkswarm.spark.jobs:remove_job", target_param="job_id")
register("spark.up", "sparkswarm.spark.cluster:spark_up", target_param="name", kind="stack")
register("spark.down", "sparkswarm.spark.cluster:spark_down", target_param="name", kind="stack")
