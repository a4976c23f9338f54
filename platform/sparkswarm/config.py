"""Settings, read from ``SPARKSWARM_*`` environment variables and an optional ``.env``.

One object, :class:`Settings`, holds every setting of the CLI, the core and
the queue (worker, beat, submitting clients); :func:`get_settings` reads it
once per process and turns a malformed value into an
:class:`~sparkswarm.errors.InvalidRequest` that names the variable (exit 2).

Why a stdlib dataclass and not pydantic-settings (kept on purpose, #17): the
CLI reads settings on every start, and pydantic-settings would load pydantic
and its settings sources there, a large share of an engine command's budget
of own overhead (``bench/settings_start.py`` prints what reading costs); and it reads list
fields (``SPARKSWARM_MANAGERS=a,b``) as JSON, which needs a custom source to
keep the comma lists users write. python-dotenv is loaded only when a
``.env`` file exists, pydantic's ``SecretStr`` only once a secret is set.
Each field is declared
once, in the class, with its default, its parser (a pure function of
:mod:`sparkswarm.config_values`) and its description; :func:`from_environment`
is the one reader of variables and ``.env``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkswarm import config_values as v
from sparkswarm.errors import InvalidRequest

if TYPE_CHECKING:
    from pydantic import SecretStr

    from sparkswarm.spark.quota import Quota

__all__ = [
    "ENV_PREFIX",
    "Settings",
    "from_environment",
    "get_settings",
]

ENV_PREFIX = "SPARKSWARM_"


def _setting(
    default: Any, parse: Callable[[object], object], doc: str, *, from_file: bool = False
) -> Any:
    """A field of :class:`Settings`: its ``default`` (an empty list or dict is
    made anew for each instance), its parser and its description, in the
    field's ``metadata`` (``parse`` turns a variable's string or a keyword's
    value into the field's type, or raises ValueError; ``doc`` is what
    README's table says; ``from_file``: a secret that
    ``SPARKSWARM_<NAME>_FILE`` may name a file of, as official images read
    Docker secrets from ``/run/secrets``)."""
    metadata = {"parse": parse, "doc": doc, "from_file": from_file}
    if isinstance(default, list | dict):
        return field(default_factory=type(default), metadata=metadata)
    return field(default=default, metadata=metadata)


_name = v.text(min_length=1)


def _quota_overrides(value: object) -> dict[str, Quota]:
    """:func:`sparkswarm.spark.quota.parse_overrides`, whose module (the Spark
    quota rules) loads only when there are overrides to parse."""
    if value == {}:  # the default
        return {}
    from sparkswarm.spark.quota import parse_overrides

    return parse_overrides(value)


@dataclass(frozen=True)
class Settings:
    """Everything sparkswarm can be configured with. See README "Configuration".

    ``Settings(**values)`` takes typed values or strings as variables hold
    them (``heartbeat_ttl="4"``), leaves the rest at their defaults (it reads
    no environment: :func:`from_environment` does) and raises InvalidRequest
    naming every malformed variable. Frozen; derive with ``dataclasses.replace``.
    """

    # --- The swarm: which engine to talk to and how -------------------------

    managers: list[str] = _setting(
        [],
        v.managers,
        "Manager endpoints tried in order (unix://, tcp://, ssh://). "
        "Empty: DOCKER_HOST or the local socket, as the docker CLI does.",
    )
    tls_verify: bool = _setting(False, v.boolean, "Verify tcp:// managers with TLS.")
    cert_path: str | None = _setting(
        None, v.optional(v.text()), "Folder with ca.pem, cert.pem, key.pem for tcp:// managers."
    )
    docker_timeout: float = _setting(60.0, v.seconds, "Seconds per Engine API call.")
    stacks_dir: Path | None = _setting(
        None,
        v.folder_or_unset,
        "Folder of ready-made stacks (one sub-folder with a stack.yml each). "
        "Unset: the stacks shipped in the package (spark, web).",
    )
    lab_dir: str = _setting(
        "/var/lib/sparkswarm-lab",
        _name,
        "Where `sparkswarm lab` keeps each lab's state and node folders.",
    )
    max_replicas: int = _setting(
        100, v.integer(ge=1), "Most tasks one service may have (refused before sending)."
    )
    max_stack_replicas: int = _setting(
        200, v.integer(ge=1), "Most tasks all services of one stack may have together."
    )
    host_mount_paths: list[str] = _setting(
        [],
        v.absolute_paths,
        "Host folders operators may bind-mount from chat (comma separated); "
        "any other host mount needs the admin role and a confirmation.",
    )

    # --- The queue: worker, beat and the clients that submit to it ----------

    redis_url: str | None = _setting(
        None,
        v.redis_url,
        "Broker, run records and event stream (redis:// or rediss://), or the "
        "sentinels of a replicated Redis (sentinel://host:26379;sentinel://host2:26379, "
        "with SPARKSWARM_REDIS_MASTER_NAME). Unset: mutating commands run in-process.",
        from_file=True,
    )
    redis_master_name: str | None = _setting(
        None,
        v.optional(_name),
        "With a sentinel:// SPARKSWARM_REDIS_URL: the name the sentinels monitor "
        "the primary under (their `sentinel monitor NAME ...`).",
    )
    redis_sentinel_password: SecretStr | None = _setting(
        None,
        v.optional(v.secret),
        "Password of the sentinels themselves, when they require one "
        "(SPARKSWARM_REDIS_PASSWORD is the primary's).",
        from_file=True,
    )
    redis_password: SecretStr | None = _setting(
        None,
        v.optional(v.secret),
        "Password of the queue's Redis, added to SPARKSWARM_REDIS_URL "
        "(which must then carry none).",
        from_file=True,
    )
    queue: str = _setting("sparkswarm", _name, "Celery queue operations go to.")
    key_prefix: str = _setting("ssw:", _name, "Prefix of every Redis key we write.")
    visibility_timeout: int = _setting(
        6 * 3600,
        v.integer(gt=0),
        "Seconds before Redis hands an unacked message to another worker. "
        "Longer than the longest operation; prompt recovery uses heartbeats instead.",
    )
    heartbeat_ttl: float = _setting(10.0, v.seconds, "Seconds a run's heartbeat lives unrefreshed.")
    recovery_interval: float = _setting(5.0, v.seconds, "Seconds between recovery passes.")
    lost_after: float = _setting(
        30.0,
        v.seconds,
        "Seconds after which a queued run whose message is nowhere in Redis "
        "(its worker died between taking it and starting it) is re-queued.",
    )
    max_deliveries: int = _setting(3, v.integer(ge=1), "Starts of one run before it is failed.")
    retry_attempts: int = _setting(
        4, v.integer(ge=1), "Tries of an op whose engine is unavailable."
    )
    retry_backoff: float = _setting(1.0, v.seconds, "First retry delay in seconds; doubles.")
    retry_backoff_max: float = _setting(30.0, v.seconds, "Longest retry delay in seconds.")
    events_maxlen: int = _setting(
        10_000, v.integer(gt=0), "Approximate length of the event stream."
    )
    run_retention_days: int = _setting(30, v.integer(gt=0), "How long run records are kept.")
    refusals_maxlen: int = _setting(
        1000,
        v.integer(gt=0),
        "Newest refused chat requests kept in the refusal log (apart from run records).",
    )
    run_retention_count: int = _setting(5000, v.integer(gt=0), "How many run records are kept.")
    worker_imports: list[str] = _setting(
        [],
        v.comma_list,
        "Extra modules the worker imports before it creates its tasks "
        "(they may register more operations).",
    )
    spark_watcher_in_worker: bool = _setting(
        True,
        v.boolean,
        "Run the Spark job watcher as a thread of every worker (one is active "
        "at a time, by lock); off: run `sparkswarm spark-watcher` yourself.",
    )
    spark_watch_interval: float = _setting(1.0, v.seconds, "Seconds between watcher passes.")
    spark_watcher_ttl: float = _setting(
        15.0, v.seconds, "Seconds the watcher lock lives unrefreshed (takeover after a crash)."
    )
    spark_resource_timeout: float = _setting(
        600.0, v.seconds, "Seconds a job may wait for workers or cores before it is failed."
    )
    spark_sql_timeout: float = _setting(
        120.0,
        v.seconds,
        "Seconds a `spark sql` statement may run before it is interrupted (the user is told).",
    )
    spark_job_keep: float = _setting(
        3600.0,
        v.seconds,
        "Seconds a finished job's containers and configs are kept (for docker "
        "logs); its record, output and log tail stay as long as run records.",
    )
    swarm_watcher_in_worker: bool = _setting(
        True,
        v.boolean,
        "Run the swarm watcher (incidents) as a thread of every worker (one is "
        "active at a time, by lease); off: run `sparkswarm watch` yourself.",
    )
    swarm_watch_interval: float = _setting(
        5.0,
        v.seconds,
        "Seconds between the swarm watcher's looks at task states (engine events "
        "end a wait early).",
    )
    swarm_watcher_ttl: float = _setting(
        20.0, v.seconds, "Seconds the swarm watcher's lease lives unrefreshed (takeover)."
    )
    alert_flap_failures: int = _setting(
        3, v.integer(ge=1), "Task failures of one service that make it flapping."
    )
    alert_flap_window: float = _setting(
        300.0, v.seconds, "Seconds within which those failures count."
    )
    alert_flap_quiet: float = _setting(
        30.0,
        v.seconds,
        "Seconds without a failure (all tasks running) that end a flapping incident.",
    )
    alert_below_grace: float = _setting(
        60.0, v.seconds, "Seconds a service may run fewer tasks than desired before an incident."
    )
    alert_cooldown: float = _setting(
        600.0,
        v.seconds,
        "Seconds after it resolved within which a condition that returns reopens "
        "the same incident (and message).",
    )
    spark_autoscale_interval: float = _setting(
        5.0,
        v.seconds,
        "Seconds between two looks of the autoscaler at one autoscaled spark stack "
        "(each reads the master's state).",
    )
    spark_quota_jobs: int = _setting(
        2,
        v.integer(ge=1),
        "Spark jobs one user may run at once; more wait as QUEUED and start "
        "by themselves, round-robin over users.",
    )
    spark_quota_cores: int = _setting(
        4,
        v.integer(ge=1),
        "Cores (the jobs' asks summed) one user's Spark jobs may hold at once; "
        "a job asking more is refused.",
    )
    spark_quotas: dict[str, Quota] = _setting(
        {},
        _quota_overrides,
        "Quotas of particular users or Slack user groups, ID=JOBS/CORES comma "
        "separated (U0ALICE=1/2,S0STUDY=3/6); a group's caps what its members run together.",
    )
    follow_grace: float = _setting(
        30.0,
        v.seconds,
        "Seconds a CLI following a run waits for Redis to come back "
        "before it gives up (the run goes on; `runs show ID --follow` re-attaches).",
    )
    queued_notice: float = _setting(
        10.0,
        v.seconds,
        "Seconds a followed run may stay queued before the CLI says why "
        "(the run it waits for, or no worker taking it).",
    )
    log_format: str = _setting(
        "text",
        v.one_of("text", "json"),
        "Log lines of the long-running processes (worker, beat, bot, spark-watcher, "
        "metrics): text, or json (one object per line, secrets scrubbed).",
    )
    metrics_port: int = _setting(
        9808, v.integer(ge=1), "Port `sparkswarm metrics` serves Prometheus metrics on."
    )
    secret_key: SecretStr | None = _setting(
        None,
        v.optional(v.secret),
        "Fernet key sealing secret parameters in Redis (run parameters, "
        "schedules). Without it schedules with secret parameters are refused; "
        "`swarm doctor` warns when the queue is configured without one.",
        from_file=True,
    )

    # --- The Slack bot (tokens are SecretStr: never in a repr, log or error) --

    slack_api_url: str = _setting(
        "https://slack.com/api/",
        _name,
        "Base URL of the Slack Web API (a local double in tests and `bot try`).",
    )
    slack_bot_token: SecretStr | None = _setting(
        None, v.optional(v.secret), "Bot token, xoxb-...", from_file=True
    )
    slack_signing_secret: SecretStr | None = _setting(
        None,
        v.optional(v.secret),
        "Signing secret: HTTP requests not signed with it are refused.",
        from_file=True,
    )
    slack_app_token: SecretStr | None = _setting(
        None,
        v.optional(v.secret),
        "App-level token (xapp-..., connections:write) for Socket Mode.",
        from_file=True,
    )
    slack_alerts_channel: str | None = _setting(
        None,
        v.optional(_name),
        "Channel (id) the bot posts incidents to; unset: no alerts in Slack "
        "(`sparkswarm alerts` still lists them).",
    )
    alerts_per_minute: int = _setting(
        10,
        v.integer(ge=1),
        "New alert messages per minute; beyond, one summary message lists the rest.",
    )
    bot_roles_file: str | None = _setting(
        None, v.optional(v.text()), "YAML file: role -> Slack user, user-group and channel ids."
    )
    bot_admins: list[str] = _setting([], v.comma_list, "Slack user ids with the admin role.")
    bot_operators: list[str] = _setting([], v.comma_list, "Slack user ids with the operator role.")
    bot_viewers: list[str] = _setting([], v.comma_list, "Slack user ids with the viewer role.")
    bot_confirm_ttl: float = _setting(
        120.0, v.seconds, "Seconds a destructive command's confirm button stays valid."
    )
    # chat.update is tier 3 (50 a minute for the workspace): five runs
    # showing progress every 6 s use it all; the outcome never waits.
    bot_edit_interval: float = _setting(
        6.0, v.seconds, "Least seconds between two progress edits of one message (not the outcome)."
    )
    bot_read_timeout: float = _setting(
        60.0, v.seconds, "Seconds a read command waits for the worker's answer."
    )
    # A code block of more than a section's 3,000 characters is refused by Slack.
    bot_file_threshold: int = _setting(
        2800,
        v.integer(ge=100, le=3000),
        "Answers without a table longer than this many characters (100 to 3000) go up as a file.",
    )
    bot_secrets: list[str] = _setting(
        [], v.comma_list, "Extra secret values never posted (comma separated)."
    )
    bot_approvers: list[str] = _setting(
        [],
        v.comma_list,
        "Ids (as in the roles) who approve admin operations and removals asked for in chat; "
        "when set, a second person among them must confirm (never the requester).",
    )
    bot_max_body: int = _setting(
        1_048_576,
        v.integer(gt=0),
        "Largest HTTP request body (bytes) the bot reads; larger ones get 413 "
        "before their signature is checked.",
    )
    bot_threads: int = _setting(
        8, v.integer(gt=0), "Threads working on chat commands after their ack (parse, role, post)."
    )
    bot_read_threads: int = _setting(
        32,
        v.integer(gt=0),
        "Threads waiting for workers' answers to read commands (mostly asleep on Redis).",
    )
    bot_max_pending: int = _setting(
        200,
        v.integer(gt=0),
        "Chat commands and reads in work or waiting, each pool; beyond it the user "
        "is told the bot is busy and nothing runs.",
    )
    bot_refusals_per_minute: int = _setting(
        5,
        v.integer(gt=0),
        "Refused requests per user and minute that are answered and logged; "
        "more are dropped (one notice says so).",
    )
    bot_attach_script_max: int = _setting(
        1_048_576,
        v.integer(gt=0),
        "Largest script (bytes) attached to a chat `spark submit`; a larger one is "
        "refused before it is downloaded.",
    )
    bot_attach_data_max: int = _setting(
        20 * 1_048_576,
        v.integer(gt=0),
        "Largest total size (bytes) of the data files attached to a chat `spark submit`.",
    )
    bot_attach_files_max: int = _setting(
        5, v.integer(gt=0, le=20), "Most files (script included) attached to one chat command."
    )
    bot_attach_wait: float = _setting(
        600.0,
        v.seconds,
        "Seconds the bot waits for the script of a `/spark submit` form that chose "
        '"the file you attach next" (the user\'s next .py in that channel).',
    )

    def __post_init__(self) -> None:
        """Parse every field (strings as variables hold them, or typed values).

        Raises InvalidRequest naming each malformed variable, never its value.
        """
        problems = []
        for setting in fields(self):
            try:
                parsed = setting.metadata["parse"](getattr(self, setting.name))
            except ValueError as exc:
                problems.append(f"{ENV_PREFIX}{setting.name.upper()}: {exc}")
            else:
                object.__setattr__(self, setting.name, parsed)
        if problems:
            raise InvalidRequest(f"invalid configuration: {'; '.join(problems)}")
        self._check_sentinel_settings()
        if self.redis_password is not None and self.redis_url:
            try:
                url = v.with_password(self.redis_url, self.redis_password.get_secret_value())
            except ValueError as exc:
                raise InvalidRequest(
                    f"invalid configuration: {ENV_PREFIX}REDIS_PASSWORD: {exc}"
                ) from None
            object.__setattr__(self, "redis_url", url)

    def _check_sentinel_settings(self) -> None:
        """The master name goes with sentinel:// URLs, and only with them.

        Raises InvalidRequest naming the variable to set or drop.
        """
        sentinel = bool(self.redis_url) and v.is_sentinel(str(self.redis_url))
        if sentinel and not self.redis_master_name:
            raise InvalidRequest(
                f"invalid configuration: {ENV_PREFIX}REDIS_URL names sentinels: set "
                f"{ENV_PREFIX}REDIS_MASTER_NAME to the name they monitor the primary under"
            )
        if not sentinel:
            extra = [
                name
                for name, value in (
                    ("REDIS_MASTER_NAME", self.redis_master_name),
                    ("REDIS_SENTINEL_PASSWORD", self.redis_sentinel_password),
                )
                if value is not None
            ]
            if extra:
                raise InvalidRequest(
                    f"invalid configuration: {ENV_PREFIX}{extra[0]} is only for a "
                    f"sentinel:// {ENV_PREFIX}REDIS_URL (sentinel://host:26379;sentinel://...)"
                )

    def secret_values(self) -> list[str]:
        """Every configured secret the bot's scrubber must remove from what it posts."""
        values = [
            s.get_secret_value()
            for s in (
                self.slack_bot_token,
                self.slack_signing_secret,
                self.slack_app_token,
                self.secret_key,
                self.redis_password,
                self.redis_sentinel_password,
            )
            if s is not None
        ]
        return [v for v in [*values, *self.bot_secrets] if v]


def from_environment(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Settings from ``environ`` (default: ``os.environ``) and ``env_file``
    (default: ``.env`` in the working directory, if it is a file); a variable
    of ``environ`` beats the same one in the file. Names are case-insensitive
    (``sparkswarm_queue`` sets ``queue``); names that are no setting are ignored.
    A secret setting may instead come from a file named by its ``_FILE``
    variant (``SPARKSWARM_SLACK_BOT_TOKEN_FILE=/run/secrets/slack_bot_token``;
    trailing line breaks dropped), as official images read Docker secrets.

    Raises InvalidRequest naming the variable when a value is malformed, when
    a setting and its ``_FILE`` variant are both given, or when a file cannot
    be read (naming the file).
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}  # strings: Settings parses them
    path = None if env_file is None else Path(env_file)
    if path is not None and (path.is_file() or path.is_fifo()):  # a FIFO as pydantic-settings
        import io

        from dotenv import dotenv_values  # python-dotenv, only when a .env exists

        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else exc.strerror
            raise InvalidRequest(
                f"invalid configuration: cannot read {env_file}: {reason}"
            ) from None
        # ${VAR} in the file: earlier lines first, then the process environment.
        values.update(_settings_in(dotenv_values(stream=io.StringIO(content))))
    values.update(_settings_in(environ))
    return Settings(**_read_secret_files(values))


def _settings_in(variables: Mapping[str, str | None]) -> dict[str, str]:
    """``{"queue": "q"}`` for ``SPARKSWARM_QUEUE=q`` (any case; unset values
    skipped); ``{"secret_key_file": "/run/..."}`` for a secret's ``_FILE`` variant."""
    names = _field_names() | {f"{name}{_FILE}" for name in _file_settings()}
    prefix = ENV_PREFIX.lower()
    found = {}
    for key, value in variables.items():
        name = key.lower().removeprefix(prefix)
        if value is not None and key.lower().startswith(prefix) and name in names:
            found[name] = value
    return found


_FILE = "_file"


def _read_secret_files(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with each ``<name>_file`` replaced by ``<name>`` read from that file.

    Raises InvalidRequest when both are given, or the file cannot be read
    (naming the variable and the file, never its content).
    """
    read: dict[str, Any] = dict(values)  # strings: Settings parses them
    for name in _file_settings():
        path = read.pop(f"{name}{_FILE}", None)
        if path is None:
            continue
        variable = f"{ENV_PREFIX}{name.upper()}"
        if read.get(name):  # an empty variable is unset, as in official images' file_env
            raise InvalidRequest(
                f"invalid configuration: both {variable} and {variable}_FILE are set; give one"
            )
        try:
            read[name] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else exc.strerror
            raise InvalidRequest(
                f"invalid configuration: {variable}_FILE: cannot read {path}: {reason}"
            ) from None
    return read


@lru_cache(maxsize=1)
def _field_names() -> frozenset[str]:
    return frozenset(setting.name for setting in fields(Settings))


@lru_cache(maxsize=1)
def _file_settings() -> tuple[str, ...]:
    """The settings a ``_FILE`` variable may give (the secrets)."""
    return tuple(setting.name for setting in fields(Settings) if setting.metadata["from_file"])


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once by :func:`from_environment`;
    ``get_settings.cache_clear()`` reads them again).

    Raises InvalidRequest naming the variable when a setting is malformed
    (its value is not repeated: SPARKSWARM_REDIS_URL may hold a password).
    """
    return from_environment()
