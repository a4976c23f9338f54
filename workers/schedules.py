"""Schedules: an operation submitted on a cron, through RedBeat.

Each schedule is two things in Redis:

- our definition ``ssw:schedule:<name>`` (operation, parameters, cron,
  timezone, concurrency policy, the CLI words it came from) and its status
  (last run id, skipped ticks);
- a RedBeat entry that sends the task ``sparkswarm.schedule.fire`` on the
  cron. RedBeat keeps entries in Redis (add/remove without restarting beat)
  and lets one beat process hold a lock, so a standby beat never fires twice.

A tick submits an ordinary run (source ``schedule``) unless the concurrency
policy says otherwise: ``forbid`` skips the tick while the previous run is
queued or running, ``replace`` cancels a previous run still queued (a running
swarm operation is never interrupted half-way), ``allow`` always submits.
"""

from __future__ import annotations

import contextlib
import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from redbeat import RedBeatScheduler, RedBeatSchedulerEntry

from sparkswarm.errors import Conflict, InvalidRequest, NotFound
from sparkswarm.executor import Origin
from sparkswarm.model_base import LazyModel
from sparkswarm.requests.model import Request

if TYPE_CHECKING:
    from sparkswarm.executor import Executor
    from sparkswarm.workers.client import QueueClient

Concurrency = Literal["forbid", "allow", "replace"]
NotifyOn = Literal["failure", "always"]
FIRE_TASK = "sparkswarm.schedule.fire"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class ScheduleDefinition(LazyModel):
    """What a schedule runs and when; in Redis, secret ``params`` are sealed
    (see sealing.py)."""

    name: str
    cron: str
    timezone: str = "UTC"
    concurrency: Concurrency = "forbid"
    op: str
    params: dict[str, Any] = Field(default_factory=dict)
    command: list[str] = Field(default_factory=list)
    created_by: str = ""
    created_at: float = Field(default_factory=time.time)
    paused: bool = False
    notify: str = ""  # a Slack channel the bot posts each run's outcome to
    notify_on: NotifyOn = "failure"


class ScheduleView(LazyModel):
    """A schedule as ``schedule ls`` shows it."""

    name: str
    cron: str
    timezone: str
    concurrency: str
    op: str
    command: str
    paused: bool
    next_run: str | None = None
    last_run: str | None = None
    last_state: str | None = None
    skipped: int = 0


def parse_cron(cron: str, timezone: str = "UTC") -> Any:
    """A celery ``crontab`` for five-field ``cron`` evaluated in ``timezone``.

    Raises InvalidRequest for a malformed expression or an unknown zone.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from celery.schedules import crontab

    fields = cron.split()
    if len(fields) != 5:
        raise InvalidRequest(
            f"cron {cron!r} needs five fields: minute hour day-of-month month day-of-week"
        )
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequest(f"unknown timezone {timezone!r}") from exc
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        schedule = crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
        )
    except (ValueError, TypeError) as exc:
        raise InvalidRequest(f"bad cron {cron!r}: {exc}") from exc
    schedule.tz = zone  # crontab evaluates in `tz` (a cached property; per entry here)
    return schedule


def next_run(schedule: Any, last_run_at: datetime | None) -> str:
    """When ``schedule`` fires next, ISO 8601 in its own zone.

    Not RedBeat's ``due_at``: that adds the time remaining *from now* to the
    last run, which is only right just after a run.
    """
    from datetime import timedelta

    now = datetime.now(UTC)
    remaining = schedule.remaining_estimate(last_run_at or now)
    due = now + max(remaining, timedelta(0)) + timedelta(microseconds=500_000)
    return str(due.astimezone(schedule.tz).replace(microsecond=0).isoformat())


class ZonedRedBeatSchedulerEntry(RedBeatSchedulerEntry):  # type: ignore[misc]
    """A RedBeat entry whose crontab runs in the timezone named in its kwargs.

    RedBeat stores a crontab's five fields only; the zone travels in the
    task's kwargs and is put back here whenever an entry is loaded.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = (self.kwargs or {}).get("timezone")
        if zone and hasattr(self.schedule, "tz"):
            from zoneinfo import ZoneInfo

            self.schedule.tz = ZoneInfo(zone)


class ZonedRedBeatScheduler(RedBeatScheduler):  # type: ignore[misc]
    """RedBeat's scheduler with per-schedule timezones (``sparkswarm beat`` uses it)."""

    Entry = ZonedRedBeatSchedulerEntry


class ScheduleBook:
    """The schedules stored in one queue's Redis; a tick submits through
    ``executor`` (default: the queue of ``client``). Redis errors propagate."""

    def __init__(self, client: QueueClient, executor: Executor | None = None) -> None:
        from sparkswarm.workers.app import app_for
        from sparkswarm.workers.executor import QueueExecutor

        self.qc = client
        self.executor: Executor = executor or QueueExecutor(client)
        self.app = app_for(client.settings)
        self.redis = client.redis
        self.prefix = client.settings.key_prefix
        self.names_key = f"{self.prefix}schedules"

    def _key(self, name: str) -> str:
        return f"{self.prefix}schedule:{name}"

    def _entry_key(self, name: str) -> str:
        from redbeat.schedulers import ensure_conf

        ensure_conf(self.app)
        return str(self.app.redbeat_conf.key_prefix + name)

    def add(self, definition: ScheduleDefinition) -> ScheduleDefinition:
        """Store a new schedule and its RedBeat entry; Conflict if the name is taken."""
        from sparkswarm.operations import get_operation

        if not _NAME.match(definition.name):
            raise InvalidRequest("a schedule name is 1-63 letters, digits, _ . -")
        if get_operation(definition.op).local:
            raise InvalidRequest(
                f"{definition.op} acts on the engine of the machine that runs it; "
                "it cannot be scheduled"
            )
        schedule = parse_cron(definition.cron, definition.timezone)
        definition = self._sealed(definition)
        if not self.redis.hsetnx(
            self._key(definition.name), "definition", definition.model_dump_json()
        ):
            raise Conflict(f"schedule {definition.name!r} exists; remove it first")
        self.redis.sadd(self.names_key, definition.name)
        self._save_entry(definition, schedule)
        return definition

    def _sealed(self, definition: ScheduleDefinition) -> ScheduleDefinition:
        """``definition`` with its secret parameters sealed; InvalidRequest,
        naming the setting, if it has some and no key is set."""
        from sparkswarm.operations import get_operation
        from sparkswarm.workers.sealing import GENERATE_HINT, SETTING, seal_params, secret_values

        secret = get_operation(definition.op).secret_params
        names = secret_values(secret, definition.params)
        if not names:
            return definition
        if not self.qc.secret_key:
            raise InvalidRequest(
                f"schedule {definition.name!r} has secret parameters ({', '.join(names)}): "
                f"set {SETTING} to keep them sealed in Redis ({GENERATE_HINT})"
            )
        params = seal_params(secret, definition.params, self.qc.secret_key)
        return definition.model_copy(update={"params": params})

    def _save_entry(self, definition: ScheduleDefinition, schedule: Any) -> None:
        entry = ZonedRedBeatSchedulerEntry(
            name=definition.name,
            task=FIRE_TASK,
            schedule=schedule,
            kwargs={"name": definition.name, "timezone": definition.timezone},
            options={"queue": self.qc.settings.queue},
            app=self.app,
            enabled=not definition.paused,
        )
        # Without a last run RedBeat treats a new entry as overdue and fires at once.
        entry.last_run_at = datetime.now(UTC)
        entry.save()

    def get(self, name: str) -> ScheduleDefinition:
        """The definition of ``name``; NotFound if there is none."""
        raw = self.redis.hget(self._key(name), "definition")
        if not raw:
            raise NotFound(f"no schedule {name!r}")
        return ScheduleDefinition.model_validate_json(raw)

    def remove(self, name: str) -> None:
        """Delete the schedule and its RedBeat entry; NotFound if there is none."""
        self.get(name)
        with contextlib.suppress(KeyError):
            ZonedRedBeatSchedulerEntry.from_key(self._entry_key(name), app=self.app).delete()
        self.redis.delete(self._key(name))
        self.redis.srem(self.names_key, name)

    def set_paused(self, name: str, paused: bool) -> ScheduleDefinition:
        """Pause or resume ``name`` (RedBeat skips disabled entries); NotFound."""
        definition = self.get(name).model_copy(update={"paused": paused})
        self.redis.hset(self._key(name), "definition", definition.model_dump_json())
        try:
            entry = ZonedRedBeatSchedulerEntry.from_key(self._entry_key(name), app=self.app)
        except KeyError:
            self._save_entry(definition, parse_cron(definition.cron, definition.timezone))
        else:
            entry.enabled = not paused
            entry.save()
        return definition

    def views(self) -> list[ScheduleView]:
        """Every schedule with its next run, last run and that run's state."""
        out: list[ScheduleView] = []
        for name in sorted(self.redis.smembers(self.names_key)):
            try:
                definition = self.get(name)
            except NotFound:
                continue
            status = self.redis.hgetall(self._key(name))
            view = ScheduleView(
                name=name,
                cron=definition.cron,
                timezone=definition.timezone,
                concurrency=definition.concurrency,
                op=definition.op,
                command=" ".join(definition.command),
                paused=definition.paused,
                last_run=status.get("last_run_id"),
                skipped=int(status.get("skipped", 0)),
            )
            try:
                entry = ZonedRedBeatSchedulerEntry.from_key(self._entry_key(name), app=self.app)
                if not definition.paused:
                    view.next_run = next_run(entry.schedule, entry.last_run_at)
            except KeyError:
                pass
            if view.last_run:
                record = self.qc.store.find(view.last_run)
                view.last_state = record.state if record else "expired"
            out.append(view)
        return out

    def fire(self, name: str) -> dict[str, Any]:
        """One tick of schedule ``name``: submit its run, or skip (see module doc)."""
        from sparkswarm.workers.events import ScheduleSkipped

        try:
            definition = self.get(name)
        except NotFound:
            return {"schedule": name, "outcome": "missing"}
        if definition.paused:
            return {"schedule": name, "outcome": "paused"}
        key = self._key(name)
        self.redis.hincrby(key, "fires", 1)
        previous_id = self.redis.hget(key, "last_run_id")
        previous = self.qc.store.find(previous_id) if previous_id else None
        if previous is not None and not previous.done:
            if definition.concurrency == "forbid":
                reason = f"previous run {previous.id} is still {previous.state} (forbid)"
                self.redis.hincrby(key, "skipped", 1)
                self.redis.hset(
                    key, mapping={"last_skip_at": time.time(), "last_skip_reason": reason}
                )
                self.qc.events.publish(
                    ScheduleSkipped(
                        run_id=previous.id,
                        op=definition.op,
                        target=previous.target,
                        schedule=name,
                        message=f"schedule {name}: tick skipped, {reason}",
                    )
                )
                return {"schedule": name, "outcome": "skipped", "reason": reason}
            if definition.concurrency == "replace" and previous.state == "queued":
                # If it started meanwhile, the new run waits for its target instead.
                with contextlib.suppress(Conflict):
                    self.qc.cancel(previous.id, requester=f"schedule:{name}")
        try:
            from sparkswarm.workers.sealing import unseal_params

            params = unseal_params(definition.params, self.qc.secret_key)
            # Refuses a local operation (a definition written before that rule,
            # or straight into Redis): defence in depth, a worker must never
            # join or leave a swarm on a schedule's word.
            run = self.executor.submit(
                Request(op=definition.op, params=params),
                origin=Origin(requester=f"schedule:{name}", source="schedule", schedule=name),
            )
        except InvalidRequest as exc:
            reason = f"refused: {exc}"
            self.redis.hincrby(key, "refused", 1)
            self.redis.hset(key, mapping={"last_skip_at": time.time(), "last_skip_reason": reason})
            self.qc.events.publish(
                ScheduleSkipped(
                    run_id="",
                    op=definition.op,
                    schedule=name,
                    message=f"schedule {name}: tick refused, {exc}",
                )
            )
            return {"schedule": name, "outcome": "refused", "reason": reason}
        self.redis.hset(key, mapping={"last_run_id": run.run_id or "", "last_fire_at": time.time()})
        if definition.notify and run.run_id:
            from sparkswarm.workers.outcomes import OutcomeNotices

            OutcomeNotices(self.redis, self.qc.settings.key_prefix).expect(
                run.run_id,
                channel=definition.notify,
                on=definition.notify_on,
                what=f"schedule {name}: {' '.join(definition.command) or definition.op}",
            )
        return {"schedule": name, "outcome": "submitted", "run_id": run.run_id}


def fire(name: str) -> dict[str, Any]:
    """Entry point of the ``sparkswarm.schedule.fire`` task (on a worker)."""
    from sparkswarm.workers.runner import worker_client

    return ScheduleBook(worker_client()).fire(name)
