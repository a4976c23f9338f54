"""The registry of operations, by name.

One name per core operation (``service.scale``, ``node.availability``,
``service.ls``, ...). The request layer, the CLI, the Celery worker, the
scheduler and the Slack bot all refer to operations by these names; only this
module knows which function implements each, who may run it and what it
returns. Functions and result models are given as import paths and resolved
on first use, so the CLI starts fast.

Signatures:

- a mutating operation: ``func(gw, *, progress, **params) -> model``;
- an engine read: ``func(gw, **params) -> model | list[model]``;
- a queue read (``executor="queue"``): ``func(client, **params)``, answered
  from Redis by whoever holds a queue client (no engine needed).

Params are JSON-able and every operation is safe to run twice.
``tests/unit/test_operations_contract.py`` checks these promises for every
entry against what the request parser produces.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sparkswarm.errors import InvalidRequest

if TYPE_CHECKING:
    from pydantic import BaseModel

    from sparkswarm.gateway import Gateway
    from sparkswarm.progress import ProgressFn

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
Executor = Literal["engine", "queue"]
Destructive = Callable[[dict[str, Any]], bool]


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


def drains(params: dict[str, Any]) -> bool:
    """node.availability to drain (moves every task away from the node)."""
    return params.get("availability") == "drain"


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
    ``chat`` is False for what is never offered in a channel (join tokens,
    local operations). ``result`` is the import path of the result model
    (``many``: a list of them); None means a plain JSON object.
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
    executor: Executor = "engine"

    def resolve(self) -> Callable[..., Any]:
        """The function that implements the operation."""
        return _import(self.path)  # type: ignore[no-any-return]

    def result_model(self) -> type[BaseModel] | None:
        """The pydantic model of the result (or of each item when ``many``)."""
        model: type[BaseModel] | None = _import(self.result) if self.result else None
        return model

    def is_destructive(self, params: dict[str, Any]) -> bool:
        """True when running this with ``params`` removes or stops something."""
        return self.destructive(params)

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
    executor: Executor = "engine",
    kind: str | None = None,
) -> None:
    """Add an operation to the registry (called at import of this module).

    Reads default to the viewer role, changes to operator. ``kind`` (default:
    the name's first part) is the lock namespace: an operation of kind
    ``stack`` serialises with the other stack operations on the same target.
    """
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
    )


def get_operation(name: str) -> Operation:
    """The operation called ``name``; InvalidRequest if there is none."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise InvalidRequest(f"unknown operation {name!r}") from None


def role_allows(role: Role, op: Operation) -> bool:
    """True when ``role`` may run ``op`` (admin > operator > viewer)."""
    return ROLES.index(role) >= ROLES.index(op.role)


def mask_secrets(op: Operation, params: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` safe to record or show: secrets replaced by ``***``."""
    return {k: ("***" if k in op.secret_params and v else v) for k, v in params.items()}


def call_operation(
    gw: Gateway, name: str, params: dict[str, Any], progress: ProgressFn | None = None
) -> Any:
    """Run engine operation ``name`` in this process; return its typed result."""
    op = get_operation(name)
    if op.executor != "engine":
        raise InvalidRequest(f"{name} is answered by the queue, not by the engine")
    func = op.resolve()
    if op.read_only:
        return func(gw, **params)
    from sparkswarm.progress import no_progress

    return func(gw, progress=progress or no_progress, **params)


def to_json(result: Any) -> Any:
    """A typed result as JSON-able data (models dumped, lists of them too);
    ``None`` (an operation with nothing to report) as ``{}``."""
    from pydantic_core import to_jsonable_python

    return {} if result is None else to_jsonable_python(result)


def run_operation(gw: Gateway, name: str, params: dict[str, Any], progress: ProgressFn) -> Any:
    """Run operation ``name`` in this process; return its JSON-able result (what
    a worker records)."""
    return to_json(call_operation(gw, name, params, progress))


def rebuild_result(name: str, data: Any) -> Any:
    """The typed result of ``name`` from its recorded JSON (the run record)."""
    model = get_operation(name).result_model()
    if model is None or data is None:
        return data
    if get_operation(name).many:
        return [model.model_validate(item) for item in data]
    return model.model_validate(data)


# The entries themselves, one per operation (they call register above).
from sparkswarm import operation_table  # noqa: E402, F401
