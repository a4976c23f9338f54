"""Every core operation's registry entry: what implements it, what it locks,
who may run it from chat, whether chat asks to confirm, what it returns.

Data, kept apart from the registry's machinery (:mod:`sparkswarm.operations`
calls :func:`register_core_operations` with its ``register``), so each file
stays easy to read and neither imports the other back. Also here: the
predicates that say, from the params, whether an operation is destructive.
Changes first, then reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sparkswarm.hazards import (
    network_rm_breaks,
    service_create_access,
    spark_up_stops_work,
    stack_host_access,
    stack_stops_work,
)

Destructive = Callable[[dict[str, Any]], bool]
# Sentences about given params (empty: nothing to say); see sparkswarm.hazards.
Hazards = Callable[[dict[str, Any]], list[str]]


def always(params: dict[str, Any]) -> bool:
    """Destructive whatever the parameters (removals)."""
    return True


def never(params: dict[str, Any]) -> bool:
    """Never destructive."""
    return False


def scales_to_zero(params: dict[str, Any]) -> bool:
    """service.scale / service.update that stop every task of a service."""
    replicas = params.get("replicas")
    if isinstance(replicas, dict):
        return any(value == 0 for value in replicas.values())
    return replicas == 0


def nothing(params: dict[str, Any]) -> list[str]:
    """No hazard whatever the parameters."""
    return []


def drains(params: dict[str, Any]) -> bool:
    """node.availability to drain (moves every task away from the node)."""
    return params.get("availability") == "drain"


_SVC = "sparkswarm.services"
_SVC_MODELS = "sparkswarm.services.models"
_NODE_CHANGE = "sparkswarm.nodes:NodeChange"
_NETWORK_CHANGE = "sparkswarm.networks:NetworkChange"


def register_core_operations(register: Callable[..., None]) -> None:
    """Call ``register`` (:func:`sparkswarm.operations.register`) once per core operation."""
    register(
        "swarm.init",
        "sparkswarm.swarm:init_swarm",
        local=True,
        role="admin",
        result="sparkswarm.swarm:SwarmStatus",
    )
    register(
        "swarm.join",
        "sparkswarm.swarm:join_swarm",
        secret_params=("token",),
        local=True,
        role="admin",
        result="sparkswarm.swarm:SwarmStatus",
    )
    register(
        "swarm.leave",
        "sparkswarm.swarm:leave_swarm",
        local=True,
        role="admin",
        destructive=always,
        result="sparkswarm.swarm:SwarmStatus",
    )
    register(
        "swarm.rotate_join_token",
        "sparkswarm.swarm:rotate_join_token",
        role="admin",
        destructive=always,
        chat=False,
        result="sparkswarm.swarm:TokenRotation",
    )
    register(
        "node.promote",
        "sparkswarm.nodes:promote_node",
        target_param="node",
        role="admin",
        result=_NODE_CHANGE,
    )
    register(
        "node.demote",
        "sparkswarm.nodes:demote_node",
        target_param="node",
        role="admin",
        destructive=always,
        result=_NODE_CHANGE,
    )
    register(
        "node.availability",
        "sparkswarm.nodes:set_node_availability",
        target_param="node",
        destructive=drains,
        result=_NODE_CHANGE,
    )
    register("node.label", "sparkswarm.nodes:label_node", target_param="node", result=_NODE_CHANGE)
    register(
        "network.create",
        "sparkswarm.networks:create_network",
        target_param="name",
        result=_NETWORK_CHANGE,
    )
    register(
        "network.rm",
        "sparkswarm.networks:remove_network",
        target_param="name",
        destructive=always,
        warns=network_rm_breaks,
        result=_NETWORK_CHANGE,
    )
    register(
        "service.create",
        f"{_SVC}.ops:create_service",
        target_param="name",
        elevates=service_create_access,
        result=f"{_SVC_MODELS}:ServiceOutcome",
    )
    register(
        "service.update",
        f"{_SVC}.ops:update_service",
        target_param="name",
        destructive=scales_to_zero,
        result=f"{_SVC_MODELS}:ServiceOutcome",
    )
    register(
        "service.scale",
        f"{_SVC}.scale:scale_services",
        target_param="replicas",
        destructive=scales_to_zero,
        result=f"{_SVC_MODELS}:ScaleResult",
    )
    register(
        "service.rollback",
        f"{_SVC}.ops:rollback_service",
        target_param="name",
        result=f"{_SVC_MODELS}:ServiceOutcome",
    )
    register(
        "service.rm",
        f"{_SVC}.ops:remove_service",
        target_param="names",
        destructive=always,
        result=f"{_SVC_MODELS}:RemoveResult",
    )
    register(
        "stack.deploy",
        "sparkswarm.stacks.deploy:deploy_stack",
        target_param="name",
        secret_params=("env", "attachments"),
        destructive=stack_stops_work,
        elevates=stack_host_access,
        result="sparkswarm.stacks.models:StackResult",
    )
    register(
        "stack.rm",
        "sparkswarm.stacks.removal:remove_stack",
        target_param="name",
        role="admin",
        destructive=always,
        result="sparkswarm.stacks.models:StackRemoval",
    )
    register(
        "stack.rollback",
        "sparkswarm.stacks.deploy:rollback_stack",
        target_param="name",
        result="sparkswarm.stacks.models:StackResult",
    )
    register(
        "image.build",
        "sparkswarm.images:build_image",
        target_param="name",
        role="admin",
        result="sparkswarm.images:ImageBuildResult",
    )
    # A job is not a swarm change: spark.submit holds its stack's "spark:" lock only
    # while it starts the driver; the job then lives in its own record, kept by
    # whoever records runs (the queue replaces these two entries with wrappers
    # that file the job under its run). spark.up/down are stack operations (kind
    # "stack"): they serialise with stack deploy/rm of the same stack, never
    # with jobs.
    register(
        "spark.submit",
        "sparkswarm.spark.jobs:submit_job",
        target_param="stack",
        result="sparkswarm.spark.jobs:SparkJobSubmitted",
    )
    register(
        "spark.cancel",
        "sparkswarm.spark.jobs:cancel_job",
        target_param="job_id",
        destructive=always,
    )
    register(
        "spark.rm", "sparkswarm.spark.jobs:remove_job", target_param="job_id", destructive=always
    )
    # A statement runs in the worker's warm Spark Connect session of its stack;
    # statements on one stack take turns ("sql:<stack>"), and a cancel is never
    # queued behind the statement it interrupts ("sql-cancel:<run>").
    register(
        "spark.sql",
        "sparkswarm.spark.sql:run_sql",
        target_param="stack",
        kind="sql",
        takes_run=True,
        result="sparkswarm.spark.sql:SqlAnswer",
    )
    register(
        "spark.sql_cancel",
        "sparkswarm.spark.sql:cancel_sql",
        target_param="run_id",
        kind="sql-cancel",
    )
    register(
        "spark.up",
        "sparkswarm.spark.cluster:spark_up",
        target_param="name",
        kind="stack",
        destructive=spark_up_stops_work,
        elevates=stack_host_access,
    )
    register(
        "spark.down",
        "sparkswarm.spark.cluster:spark_down",
        target_param="name",
        kind="stack",
        role="admin",
        destructive=always,
    )

    # Reads run wherever the engine is reachable (in the CLI's process, or a
    # worker for the bot).
    register(
        "service.ls",
        f"{_SVC}.queries:list_services",
        read_only=True,
        result=f"{_SVC_MODELS}:ServiceSummary",
        many=True,
    )
    register(
        "service.ps",
        f"{_SVC}.queries:service_tasks",
        read_only=True,
        result=f"{_SVC_MODELS}:TaskInfo",
        many=True,
    )
    register("service.inspect", f"{_SVC}.queries:inspect_service", read_only=True)
    register(
        "node.ls",
        "sparkswarm.nodes:list_nodes",
        read_only=True,
        result="sparkswarm.nodes:NodeInfo",
        many=True,
    )
    register("node.inspect", "sparkswarm.nodes:inspect_node", read_only=True)
    register(
        "network.ls",
        "sparkswarm.networks:list_networks",
        read_only=True,
        result="sparkswarm.networks:NetworkInfo",
        many=True,
    )
    register(
        "stack.ls",
        "sparkswarm.stacks.queries:list_stacks",
        read_only=True,
        result="sparkswarm.stacks.models:StackSummary",
        many=True,
    )
    register(
        "stack.services",
        "sparkswarm.stacks.queries:stack_services",
        read_only=True,
        result=f"{_SVC_MODELS}:ServiceSummary",
        many=True,
    )
    register(
        "stack.ps",
        "sparkswarm.stacks.queries:stack_tasks",
        read_only=True,
        result=f"{_SVC_MODELS}:TaskInfo",
        many=True,
    )
    register(
        "spark.status",
        "sparkswarm.spark.status:spark_status",
        read_only=True,
        result="sparkswarm.spark.status:SparkStatus",
    )
