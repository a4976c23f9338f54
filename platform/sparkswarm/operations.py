"""The registry of operations, by name.

One name per core operation (``service.scale``, ``node.availability``,
``service.ls``, ...). The request layer, the CLI, the Celery worker, the
scheduler and the Slack bot all refer to operations by these names; only this
module knows which function implements each, who may run it and what it
returns. Functions and result types are given as import paths and resolved
on first use, so the CLI starts fast.

Result types are frozen stdlib dataclasses (engine operations: made by our
code from the engine's answers, so nothing to validate and no pydantic to
load on an engine command) or pydantic models (Spark jobs and the queue's
records, which validate what they read); pydantic dumps both
(:func:`to_json`) and rebuilds both from a recorded run (:func:`rebuild_result`).

Signatures:

- a mutating operation: ``func(gw, *, progress, **params) -> result``;
- an engine read: ``func(gw, **params) -> result | list[result]``;
- a queue read (``executor="queue"``): ``func(client, **params)``, answered
  from Redis by whoever holds a queue client (no engine needed).

The core registers its own operations (:mod:`sparkswarm.operation_table`)
and names no other package. The registry is open for extension: an installed
package adds its operations through the entry point group
``sparkswarm.operations`` (the queue: runs, schedules, Spark job records; see
``pyproject.toml``), loaded the first time a name is not found or the whole
registry is asked for (:func:`all_operations`).

Params are JSON-able and every operation is safe to run twice.
``tests/unit/test_operations_contract.py`` checks these promises for every
entry against what the request parser produces.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from sparkswarm.errors import InvalidRequest
from sparkswarm.operation_table import (
    Destructive,
    Hazards,
    always,
    drains,
    never,
    nothing,
    register_core_operations,
    scales_to_zero,
)

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from sparkswarm.gateway import Gateway
    from sparkswarm.progress import ProgressFn

__all__ = [
    "ROLES",
    "Operation",
    "Role",
    "all_operations",
    "always",
    "call_operation",
    "drains",
    "get_operation",
    "never",
    "nothing",
    "register",
    "scales_to_zero",
]

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
AnsweredBy = Literal["engine", "queue"]  # who answers: the engine, or the queue from Redis
ENTRY_POINT_GROUP = "sparkswarm.operations"


@dataclass(frozen=True)
class Operation:
    """A named operation.

    ``target_param`` names the parameter that identifies what the operation
    changes (a service, node, stack, ...); the worker serialises operations on
    the same target. ``secret_params`` are masked in records and logs. A
    ``local`` operation acts on the engine the caller is connected to (joining
    or leaving a swarm), not on the swarm as a whole, so it never goes through
    the queue or a schedule: a worker would apply it to its own engine.
    ``role`` is the least role that may run it from chat; ``destructive``
    says, for given params, whether chat asks for a confirmation first;
    ``elevates`` says how given params reach the hosts (host bind mounts,
    capabilities): then the admin role and a confirmation are needed;
    ``warns`` says what given params break (shown when asking first, and a
    reason to ask). ``role_for``, ``is_destructive`` and ``hazards`` are
    the per-request verdict every front end uses.
    ``chat`` is False for what is never offered in a channel (join tokens,
    local operations). ``result`` is the import path of the result type
    (``many``: a list of them); None means a plain JSON object. A
    ``takes_run`` function is also given ``run_id``: the recorded run it
    executes for (None in-process), to file what it did under that run.
    """

    name: str
    path: str
    kind: str
    target_param: str | None = None
    secret_params: tuple[str, ...] = field(default_factory=tuple)
    local: bool = False
    read_only: bool = False
    role: Role = "operator"
    destructive: Destructive = never
    chat: bool = True
    result: str | None = None
    many: bool = False
    executor: AnsweredBy = "engine"
    takes_run: bool = False
    elevates: Hazards = nothing
    warns: Hazards = nothing

    def resolve(self) -> Callable[..., Any]:
        """The function that implements the operation."""
        return _import(self.path)  # type: ignore[no-any-return]

    def result_type(self) -> type[Any] | None:
        """The type of the result (or of each item when ``many``): a frozen
        dataclass or a pydantic model."""
        kind: type[Any] | None = _import(self.result) if self.result else None
        return kind

    def is_destructive(self, params: dict[str, Any]) -> bool:
        """True when ``params`` remove or stop something, reach the hosts or
        break something: chat asks for a confirmation first."""
        return self.destructive(params) or bool(self.hazards(params))

    def role_for(self, params: dict[str, Any]) -> Role:
        """The least role that may run this with ``params`` (admin when they
        reach the hosts)."""
        return "admin" if self.elevates(params) else self.role

    def hazards(self, params: dict[str, Any]) -> list[str]:
        """What ``params`` reach or break beyond what they name (sentences)."""
        return [*self.elevates(params), *self.warns(params)]

    def target(self, params: dict[str, Any]) -> str:
        """The lock key for ``params``: ``service:web``, or the kind alone.

        Reads never change anything, so they only queue behind reads of the
        same name (``read:service.ls``), never behind a change.
        """
        if self.read_only:
            return f"read:{self.name}"
        if self.target_param is None:
            return self.kind
        value = params.get(self.target_param)
        if isinstance(value, dict):  # e.g. service.scale's {name: replicas}: lock the names
            value = list(value)
        if isinstance(value, list):
            value = ",".join(sorted(str(v) for v in value))
        return f"{self.kind}:{value}"


def _import(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


REGISTRY: dict[str, Operation] = {}


def register(
    name: str,
    path: str,
    *,
    target_param: str | None = None,
    secret_params: tuple[str, ...] = (),
    local: bool = False,
    read_only: bool = False,
    role: Role | None = None,
    destructive: Destructive = never,
    chat: bool = True,
    result: str | None = None,
    many: bool = False,
    executor: AnsweredBy = "engine",
    kind: str | None = None,
    takes_run: bool = False,
    replace: bool = False,
    elevates: Hazards = nothing,
    warns: Hazards = nothing,
) -> None:
    """Add an operation to the registry.

    Reads default to the viewer role, changes to operator. ``kind`` (default:
    the name's first part) is the lock namespace: an operation of kind
    ``stack`` serialises with the other stack operations on the same target.
    An extension may ``replace`` an entry of the same name (the queue wraps
    ``spark.submit`` to file the job under its run); without ``replace`` a
    name registered twice raises ValueError (a programming error).
    """
    if name in REGISTRY and not replace:
        raise ValueError(f"operation {name!r} is registered already")
    kind = kind or name.split(".", 1)[0]
    REGISTRY[name] = Operation(
        name=name,
        path=path,
        kind=kind,
        target_param=target_param,
        secret_params=secret_params,
        local=local,
        read_only=read_only,
        role=role or ("viewer" if read_only else "operator"),
        destructive=destructive,
        chat=chat and not local,
        result=result,
        many=many,
        executor=executor,
        takes_run=takes_run,
        elevates=elevates,
        warns=warns,
    )


_extensions_loaded = False


def load_extensions() -> None:
    """Let every ``sparkswarm.operations`` entry point register its operations.

    Each entry point is a function called with :func:`register`. Only the
    first call reads the installed packages' metadata; an extension that
    registered itself at import already (the queue package does) is skipped
    by its own guard.
    """
    global _extensions_loaded
    if _extensions_loaded:
        return
    _extensions_loaded = True
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        entry.load()(register)


def all_operations() -> dict[str, Operation]:
    """Every registered operation by name, the extensions' included."""
    load_extensions()
    return REGISTRY


def get_operation(name: str) -> Operation:
    """The operation called ``name``; InvalidRequest if there is none."""
    op = REGISTRY.get(name)
    if op is None:
        load_extensions()
        op = REGISTRY.get(name)
    if op is None:
        raise InvalidRequest(f"unknown operation {name!r}")
    return op


def role_allows(role: Role, op: Operation, params: dict[str, Any] | None = None) -> bool:
    """True when ``role`` may run ``op`` (with ``params``: see
    :meth:`Operation.role_for`); admin > operator > viewer."""
    needed = op.role if params is None else op.role_for(params)
    return ROLES.index(role) >= ROLES.index(needed)


def mask_secrets(op: Operation, params: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` safe to record or show: secrets replaced by ``***``."""
    return {k: ("***" if k in op.secret_params and v else v) for k, v in params.items()}


def call_operation(
    gw: Gateway,
    name: str,
    params: dict[str, Any],
    progress: ProgressFn | None = None,
    *,
    run_id: str | None = None,
) -> Any:
    """Run engine operation ``name`` in this process; return its typed result.

    ``run_id`` is the recorded run this call executes (on a worker), given
    to the operations that take it. Raises InvalidRequest for a queue read,
    and what the operation raises.
    """
    op = get_operation(name)
    if op.executor != "engine":
        raise InvalidRequest(f"{name} is answered by the queue, not by the engine")
    func = op.resolve()
    if op.read_only:
        return func(gw, **params)
    from sparkswarm.progress import no_progress

    if op.takes_run:
        params = {**params, "run_id": run_id}
    return func(gw, progress=progress or no_progress, **params)


def to_json(result: Any) -> Any:
    """A typed result as JSON-able data (dataclasses and models dumped, lists
    of them too);
    ``None`` (an operation with nothing to report) as ``{}``."""
    from pydantic_core import to_jsonable_python

    return {} if result is None else to_jsonable_python(result)


def run_operation(
    gw: Gateway,
    name: str,
    params: dict[str, Any],
    progress: ProgressFn,
    *,
    run_id: str | None = None,
) -> Any:
    """Run operation ``name`` in this process for run ``run_id``; return its
    JSON-able result (what a worker records)."""
    return to_json(call_operation(gw, name, params, progress, run_id=run_id))


def rebuild_result(name: str, data: Any) -> Any:
    """The typed result of ``name`` from its recorded JSON (the run record).

    Raises pydantic's ValidationError when ``data`` does not fit the type.
    """
    op = get_operation(name)
    if op.result is None or data is None:
        return data
    return _adapter(op.result, op.many).validate_python(data)


@cache
def _adapter(result: str, many: bool) -> TypeAdapter[Any]:
    """pydantic's validator for the result type at import path ``result``
    (a list of them when ``many``), built once per type. A result is rebuilt
    only after a queued run: pydantic loads here, never on an engine command
    that ran in-process."""
    from pydantic import TypeAdapter

    kind = _import(result)
    return TypeAdapter(list[kind] if many else kind)  # type: ignore[valid-type]


register_core_operations(register)
