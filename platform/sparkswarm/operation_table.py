"""Every operation's registry entry: what implements it, what it locks, who
may run it from chat, whether chat asks to confirm, what it returns.

Imported by :mod:`sparkswarm.operations` once its machinery is defined; the
table is data, kept apart so each file stays easy to read. Changes first,
then reads.
"""

from __future__ import annotations

from sparkswarm.hazards import (
    network_rm_breaks,
    service_create_access,
    spark_up_stops_work,
    stack_host_access,
    stack_stops_work,
)
from sparkswarm.operations import always, drains, register, scales_to_zero

# One entry per operation. Changes first, then reads.
_SVC = "sparkswarm.services"
_SVC_MODELS = "sparkswarm.services.models"
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
_NODE_CHANGE = "sparkswarm.nodes:NodeChange"
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
_NETWORK_CHANGE = "sparkswarm.networks:NetworkChange"
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
# while it starts the driver (seconds); the job then lives in its own record
# (sparkswarm.workers.spark_jobs), followed by the watcher. The workers
# module wraps the core operation to record who asked; without a broker it
# is the core operation alone. spark.up/down are stack operations (kind
# "stack"): they serialise with stack deploy/rm of the same stack, never
# with jobs.
register(
    "spark.submit",
    "sparkswarm.workers.spark_jobs:submit",
    target_param="stack",
    result="sparkswarm.spark.jobs:SparkJobSubmitted",
)
register(
    "spark.cancel",
    "sparkswarm.workers.spark_jobs:cancel",
    target_param="job_id",
    destructive=always,
)
register("spark.rm", "sparkswarm.spark.jobs:remove_job", target_param="job_id", destructive=always)
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

# Reads: engine reads run wherever the engine is reachable (in the CLI's
# process, or a worker for the bot); queue reads are answered from Redis.
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
    "sparkswarm.stacks.reads:list_stacks",
    read_only=True,
    result="sparkswarm.stacks.reads:StackSummary",
    many=True,
)
register(
    "stack.services",
    "sparkswarm.stacks.reads:stack_services",
    read_only=True,
    result=f"{_SVC_MODELS}:ServiceSummary",
    many=True,
)
register(
    "stack.ps",
    "sparkswarm.stacks.reads:stack_tasks",
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
register(
    "runs.ls",
    "sparkswarm.workers.reads:list_runs",
    read_only=True,
    executor="queue",
    result="sparkswarm.workers.records:RunRecord",
    many=True,
)
register(
    "runs.show",
    "sparkswarm.workers.reads:show_run",
    read_only=True,
    executor="queue",
    result="sparkswarm.workers.records:RunRecord",
)
register(
    "schedule.ls",
    "sparkswarm.workers.reads:list_schedules",
    read_only=True,
    executor="queue",
    result="sparkswarm.workers.schedules:ScheduleView",
    many=True,
)
register(
    "spark.jobs",
    "sparkswarm.workers.spark_jobs:list_jobs",
    read_only=True,
    executor="queue",
    result="sparkswarm.spark.job_record:JobRecord",
    many=True,
)
register(
    "spark.job",
    "sparkswarm.workers.spark_jobs:show_job",
    read_only=True,
    executor="queue",
    result="sparkswarm.spark.job_record:JobRecord",
)
