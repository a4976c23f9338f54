"""Stand-in for ``sparkswarm.requests`` and the registry's chat fields until
the lead's request layer lands on main (issue #7). Deleted at that merge;
only :mod:`sparkswarm.bots.commands` imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparkswarm.errors import InvalidRequest

_USAGE = {
    ("service", "ls"): "service ls",
    ("service", "ps"): "service ps SERVICE",
    ("service", "scale"): "service scale SERVICE=REPLICAS...",
    ("service", "rm"): "service rm SERVICE...",
    ("service", "update"): "service update SERVICE --image IMAGE [--update-delay D]",
    ("runs", "ls"): "runs ls",
    ("runs", "show"): "runs show RUN_ID",
    ("spark", "submit"): "spark submit FILE|pi [ARGS]...",
    ("swarm", "join-token"): "swarm join-token worker|manager",
}


@dataclass(frozen=True)
class Request:
    op: str
    params: dict[str, Any]
    read_only: bool
    words: tuple[str, ...] = field(default_factory=tuple)


def usage(words: Sequence[str] = ()) -> str:
    key = tuple(words[:2])
    if key in _USAGE:
        return f"usage: {_USAGE[key]}"
    return "commands:\n" + "\n".join(f"  {u}" for u in _USAGE.values())


def parse(words: Sequence[str]) -> Request:
    import difflib

    w = tuple(words)
    key = w[:2]
    if key == ("service", "scale"):
        replicas: dict[str, int] = {}
        for pair in w[2:]:
            name, sep, count = pair.partition("=")
            if not sep or not name or not count.isdigit() or int(count) > 100:
                raise InvalidRequest(f"{pair!r}: expected SERVICE=REPLICAS\n{usage(key)}")
            replicas[name] = int(count)
        if not replicas:
            raise InvalidRequest(f"nothing to scale\n{usage(key)}")
        return Request("service.scale", {"replicas": replicas}, False, w)
    if key == ("service", "update") and len(w) > 2:
        opts = dict(zip(w[3::2], w[4::2], strict=False))
        update: dict[str, Any] = {}
        if "--update-delay" in opts:
            update["delay"] = opts["--update-delay"]
        if "--update-parallelism" in opts:
            update["parallelism"] = int(opts["--update-parallelism"])
        params: dict[str, Any] = {"name": w[2], "update": update, "rollback": {}}
        if "--image" in opts:
            params["image"] = opts["--image"]
        return Request("service.update", params, False, w)
    if key == ("service", "rm") and len(w) > 2:
        return Request("service.rm", {"names": list(w[2:])}, False, w)
    if key == ("service", "ls") and len(w) == 2:
        return Request("service.ls", {}, True, w)
    if key == ("runs", "ls") and len(w) == 2:
        return Request("runs.ls", {}, True, w)
    if key == ("runs", "show") and len(w) == 3:
        return Request("runs.show", {"run_id": w[2]}, True, w)
    if key == ("swarm", "join-token"):
        return Request("swarm.join_token", {}, True, w)
    if key == ("spark", "submit") and len(w) > 2:
        root = Path(__file__).resolve().parents[1]
        file, rest, stack = w[2], list(w[3:]), "spark"
        if "--stack" in rest:
            at = rest.index("--stack")
            stack, rest = rest[at + 1], rest[:at] + rest[at + 2 :]
        path = root / "stacks/spark/jobs" / f"{file}.py" if file == "pi" else Path(file)
        try:
            script = path.read_text(encoding="utf-8")
        except OSError:
            raise InvalidRequest(f"{file}: no such job\n{usage(key)}") from None
        params = {
            "stack": stack,
            "script": script,
            "script_name": path.name,
            "args": rest,
            "conf": {},
            "timeout": 900.0,
            "job_id": __import__("uuid").uuid4().hex[:12],
        }
        return Request("spark.submit", params, False, w)
    close = difflib.get_close_matches(" ".join(key), [" ".join(k) for k in _USAGE], n=1)
    hint = usage(tuple(close[0].split())) if close else usage()
    raise InvalidRequest(f"not understood: {' '.join(w)!r}\n{hint}")


@dataclass(frozen=True)
class InterimOperation:
    name: str
    role: str
    read_only: bool
    chat: bool
    local: bool = False

    def is_destructive(self, params: dict[str, Any]) -> bool:
        if self.name == "service.scale":
            return any(v == 0 for v in params.get("replicas", {}).values())
        return self.name in ("service.rm", "stack.rm", "node.demote", "spark.rm")


def get_operation(name: str) -> InterimOperation:
    from sparkswarm.operations import get_operation as real

    reads = {"service.ls", "service.ps", "node.ls", "stack.ls", "spark.status"}
    if name in reads:
        return InterimOperation(name, "viewer", True, True)
    if name == "swarm.join_token":
        return InterimOperation(name, "admin", True, False)
    op = real(name)
    admin = name.startswith("swarm.") or name in ("node.promote", "node.demote", "stack.rm")
    return InterimOperation(
        name,
        "admin" if admin else "operator",
        False,
        name != "swarm.rotate_join_token" and not op.local,
        op.local,
    )
