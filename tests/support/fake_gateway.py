"""An in-memory swarm behind the Gateway's typed methods, for fast unit tests of
core control flow (conflict retries, convergence, rollback detection).

Like httpx's ``MockTransport``: the core runs unchanged against it. It is a
``Gateway`` whose engine is a few dicts; any method it does not fake fails the
test (it never reaches a real engine). It models only what the control flow
needs: versions that must match (``update out of sequence``), tasks that start
one poll after they are scheduled, images that fail (and the automatic
rollback swarmkit then does), nodes and the swarm's join tokens.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sparkswarm.errors import Conflict, InvalidRequest, NotFound, OutOfSequence
from sparkswarm.gateway import Filters, Gateway

JSON = dict[str, Any]
_ids = itertools.count(1)


def _new_id() -> str:
    return f"{next(_ids):025x}"


class FakeGateway(Gateway):
    """A swarm in memory. Knobs for tests:

    - ``race(n)``: the next ``n`` updates (service, node, swarm) find that someone
      else changed the object just before: the version moved, OutOfSequence.
    - ``failing_images``: tasks of these images fail, and an update to one is
      rolled back (the service's ``UpdateConfig.FailureAction`` is ``rollback``)
      or paused (any other action).
    - ``stuck_images``: tasks of these images never start.
    """

    def __init__(self) -> None:
        super().__init__()
        self.service_objects: dict[str, JSON] = {}
        self.task_objects: list[JSON] = []
        self.node_objects: dict[str, JSON] = {}
        self.swarm: JSON = {
            "Version": {"Index": 1},
            "Spec": {"Name": "default"},
            "JoinTokens": {"Worker": _token("w0"), "Manager": _token("m0")},
        }
        self.failing_images: set[str] = set()
        self.stuck_images: set[str] = set()
        self.calls: list[str] = []
        self._races = 0

    def race(self, times: int = 1) -> None:
        """Make the next ``times`` updates arrive out of sequence."""
        self._races = times

    @contextmanager
    def _engine(self, what: str) -> Iterator[Any]:
        raise AssertionError(f"the fake gateway does not fake {what!r}")
        yield  # pragma: no cover

    # --- services and tasks -------------------------------------------------

    def services(self, filters: Filters | None = None, *, status: bool = False) -> list[JSON]:
        self.calls.append("services")
        name = (filters or {}).get("name")
        found = [s for s in self.service_objects.values() if not name or s["Spec"]["Name"] == name]
        return copy.deepcopy(found)

    def inspect_service(self, service: str) -> JSON:
        self.calls.append("inspect_service")
        self._schedule_all()
        return copy.deepcopy(self._service(service))

    def create_service(self, spec: Mapping[str, Any]) -> str:
        self.calls.append("create_service")
        if any(s["Spec"]["Name"] == spec["Name"] for s in self.service_objects.values()):
            raise Conflict(f"service {spec['Name']} already exists")
        service_id = _new_id()
        self.service_objects[service_id] = {
            "ID": service_id,
            "Version": {"Index": 1},
            "Spec": copy.deepcopy(dict(spec)),
        }
        self._schedule(self.service_objects[service_id])
        return service_id

    def update_service(
        self, service_id: str, version: int, spec: Mapping[str, Any], *, rollback: bool = False
    ) -> None:
        self.calls.append("update_service")
        service = self._service(service_id)
        self._check_version(service, version, "service")
        if rollback:
            if "PreviousSpec" not in service:
                raise InvalidRequest("service has no previous spec")
            spec = service["PreviousSpec"]
        service["PreviousSpec"] = service["Spec"]
        service["Spec"] = copy.deepcopy(dict(spec))
        service["Version"]["Index"] += 1
        if service["PreviousSpec"]["TaskTemplate"] != service["Spec"]["TaskTemplate"]:
            # A changed task template replaces every task: a rolling update.
            service["UpdateStatus"] = {"State": "rollback_started" if rollback else "updating"}
            for task in self._tasks_of(service_id):
                task["DesiredState"] = "shutdown"
        self._schedule(service)

    def remove_service(self, service: str) -> None:
        self.calls.append("remove_service")
        removed = self._service(service)
        del self.service_objects[removed["ID"]]
        self.task_objects = [t for t in self.task_objects if t["ServiceID"] != removed["ID"]]

    def tasks(self, filters: Filters | None = None) -> list[JSON]:
        self.calls.append("tasks")
        service_id = (filters or {}).get("service")
        self._advance()
        found = [t for t in self.task_objects if not service_id or t["ServiceID"] == service_id]
        return copy.deepcopy(found)

    def inspect_task(self, task_id: str) -> JSON:
        for task in self.task_objects:
            if task["ID"] == task_id:
                return copy.deepcopy(task)
        raise NotFound(f"task {task_id} not found")

    # --- nodes and swarm ------------------------------------------------------

    def add_node(self, hostname: str, *, role: str = "worker") -> str:
        """Put a ready, active node in the fake swarm; its ID."""
        node_id = _new_id()
        self.node_objects[node_id] = {
            "ID": node_id,
            "Version": {"Index": 1},
            "Spec": {"Role": role, "Availability": "active", "Labels": {}},
            "Description": {"Hostname": hostname},
            "Status": {"State": "ready", "Addr": "10.0.0.1"},
            **({"ManagerStatus": {"Reachability": "reachable"}} if role == "manager" else {}),
        }
        return node_id

    def nodes(self, filters: Filters | None = None) -> list[JSON]:
        role = (filters or {}).get("role")
        found = [n for n in self.node_objects.values() if not role or n["Spec"]["Role"] == role]
        return copy.deepcopy(found)

    def inspect_node(self, node: str) -> JSON:
        for found in self.node_objects.values():
            if node in (found["ID"], found["Description"]["Hostname"]):
                return copy.deepcopy(found)
        raise NotFound(f"node {node} not found")

    def update_node(self, node_id: str, version: int, spec: Mapping[str, Any]) -> None:
        self.calls.append("update_node")
        node = self.node_objects[node_id]
        self._check_version(node, version, "node")
        node["Spec"] = copy.deepcopy(dict(spec))
        node["Version"]["Index"] += 1

    def inspect_swarm(self) -> JSON:
        return copy.deepcopy(self.swarm)

    def update_swarm(
        self,
        version: int,
        spec: Mapping[str, Any],
        *,
        rotate_worker_token: bool = False,
        rotate_manager_token: bool = False,
    ) -> None:
        self.calls.append("update_swarm")
        self._check_version(self.swarm, version, "swarm")
        self.swarm["Spec"] = copy.deepcopy(dict(spec))
        self.swarm["Version"]["Index"] += 1
        if rotate_worker_token:
            self.swarm["JoinTokens"]["Worker"] = _token(f"w{self.swarm['Version']['Index']}")
        if rotate_manager_token:
            self.swarm["JoinTokens"]["Manager"] = _token(f"m{self.swarm['Version']['Index']}")

    # --- the model ------------------------------------------------------------

    def _check_version(self, obj: JSON, version: int, kind: str) -> None:
        if self._races:
            # Someone else's update lands first: the version moves on.
            self._races -= 1
            obj["Version"]["Index"] += 1
        if version != obj["Version"]["Index"]:
            raise OutOfSequence(f"rpc error: code = Unknown desc = update out of sequence ({kind})")

    def _service(self, name_or_id: str) -> JSON:
        for service in self.service_objects.values():
            if name_or_id in (service["ID"], service["Spec"]["Name"]):
                return service
        raise NotFound(f"service {name_or_id} not found")

    def _tasks_of(self, service_id: str) -> list[JSON]:
        return [
            t
            for t in self.task_objects
            if t["ServiceID"] == service_id and t["DesiredState"] == "running"
        ]

    def _schedule_all(self) -> None:
        for service in self.service_objects.values():
            self._schedule(service)

    def _schedule(self, service: JSON) -> None:
        """Start tasks up to the replica count (as the orchestrator does)."""
        mode = service["Spec"].get("Mode") or {"Replicated": {"Replicas": 1}}
        wanted = int((mode.get("Replicated") or {}).get("Replicas", 1))
        current = self._tasks_of(service["ID"])
        for task in current[wanted:]:
            task["DesiredState"] = "shutdown"
            task["Status"]["State"] = "shutdown"
        for slot in range(len(current) + 1, wanted + 1):
            self.task_objects.append(
                {
                    "ID": _new_id(),
                    "ServiceID": service["ID"],
                    "Slot": slot,
                    "DesiredState": "running",
                    "Spec": {"ContainerSpec": {"Image": _image(service["Spec"])}},
                    "Status": {"State": "new", "Timestamp": str(next(_ids))},
                }
            )

    def _advance(self) -> None:
        """One tick of the world: new tasks start (or fail), updates end."""
        for task in self.task_objects:
            state = task["Status"]["State"]
            image = task["Spec"]["ContainerSpec"]["Image"]
            if task["DesiredState"] != "running" or state not in ("new", "pending"):
                continue
            if image in self.stuck_images:
                task["Status"]["State"] = "pending"
            elif image in self.failing_images:
                task["Status"].update(State="failed", Err="task: non-zero exit (1)")
                task["DesiredState"] = "shutdown"
                self._on_failed_task(task)
            else:
                task["Status"]["State"] = "running"
        for service in self.service_objects.values():
            self._end_update(service)

    def _on_failed_task(self, task: JSON) -> None:
        service = self.service_objects[task["ServiceID"]]
        status = service.get("UpdateStatus") or {}
        if status.get("State") != "updating":
            return
        action = (service["Spec"].get("UpdateConfig") or {}).get("FailureAction", "pause")
        message = f"update paused due to failure or early termination of task {task['ID']}"
        if action == "rollback":
            message = f"update rolled back due to failure or early termination of task {task['ID']}"
            service["UpdateStatus"] = {"State": "rollback_started", "Message": message}
            service["Spec"], service["PreviousSpec"] = service["PreviousSpec"], service["Spec"]
            service["Version"]["Index"] += 1
            for old in self._tasks_of(service["ID"]):
                old["DesiredState"] = "shutdown"
            self._schedule(service)
        else:
            service["UpdateStatus"] = {"State": "paused", "Message": message}

    def _end_update(self, service: JSON) -> None:
        status = service.get("UpdateStatus") or {}
        tasks = self._tasks_of(service["ID"])
        if tasks and all(t["Status"]["State"] == "running" for t in tasks):
            if status.get("State") == "updating":
                service["UpdateStatus"] = {"State": "completed", "Message": "update completed"}
            elif status.get("State") == "rollback_started":
                service["UpdateStatus"] = {
                    "State": "rollback_completed",
                    "Message": "rollback completed",
                }


def _image(spec: Mapping[str, Any]) -> str:
    return str(spec["TaskTemplate"]["ContainerSpec"]["Image"])


def _token(seed: str) -> str:
    return f"SWMTKN-1-{seed:0>50}-{seed:0>25}"
