"""The bot's one dispatch, under both transports (HTTP and Socket Mode).

A chat command goes: seen before? (Slack retries and replays carry the same
trigger/event id: dropped) -> words -> typed request (usage of the closest
command if not understood) -> offered in chat? -> the caller's role in their
workspace allows it? (else an ephemeral refusal, written to the queue's
refusal log, a few per user and minute) -> then one of: a queue read
answered from Redis; a read operation submitted to the queue and answered by
a worker (the wait is on the read pool, bounded: "busy" when full; see
reads.py); a destructive operation asked for confirmation first (see
approvals.py); or a change.

Nothing runs where the user cannot see it: a change's thread message is
posted *before* it is submitted; if Slack refuses (the bot is not in the
channel, a private channel or someone else's DM), the user is answered
through the command's ``response_url`` (which works anywhere) and nothing is
submitted. The run id is short and derived from Slack's request id (a retry
maps to the same run); its record notes where the outcome is posted, and the
:class:`~sparkswarm.bots.notifier.Notifier` edits that message to the end.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sparkswarm.bots import blockkit, commands, present, reads
from sparkswarm.bots.approvals import Confirmations
from sparkswarm.bots.modal import NEXT_FILE
from sparkswarm.bots.notifier import Notifier
from sparkswarm.bots.refusals import RefusalBudget
from sparkswarm.bots.roles import RoleMap, allows, refusal, role_map
from sparkswarm.bots.slack_out import SlackOut
from sparkswarm.bots.workpool import BoundedPool
from sparkswarm.config import Settings
from sparkswarm.errors import InvalidRequest, SparkswarmError
from sparkswarm.executor import Executor, Origin
from sparkswarm.requests.model import Request

if TYPE_CHECKING:
    from sparkswarm.bots.attachments import AttachmentLimits
    from sparkswarm.workers.client import QueueClient

log = logging.getLogger(__name__)
CANNOT_POST = (
    ":no_entry: I cannot post in this conversation, so you would not see what happens: "
    "invite me with `/invite @sparkswarm`, or use a DM with me. Nothing ran."
)
BUSY = ":hourglass: sparkswarm is busy right now; try again in a minute. Nothing ran."
INTERNAL_ERROR = "internal error; it is in the bot's log"
# ChatRequest.command of a channel message that mentions nobody: ordinary
# chat, looked at only for a file someone waits to attach.
CHANNEL_MESSAGE = "message"


@dataclass(frozen=True)
class ChatRequest:
    """One chat command, whatever the transport."""

    command: str  # "/sparkswarm", "/spark", "/swarm", or "" for a mention or DM
    text: str
    user: str
    channel: str
    key: str  # Slack's id of this request: trigger_id or event_id
    thread_ts: str | None = None  # mentions and DMs answer in the message's thread
    team: str = ""  # the user's workspace (roles are per workspace)
    response_url: str = ""  # slash commands and clicks: answers that work in any channel
    files: tuple[str, ...] = ()  # ids of the files attached to a mention or DM


class Dispatcher:
    """Parses, checks, submits and answers; see the module docstring."""

    def __init__(
        self,
        qc: QueueClient,
        out: SlackOut,
        roles: RoleMap,
        notifier: Notifier,
        settings: Settings,
        reads: BoundedPool | None = None,
        executor: Executor | None = None,
    ) -> None:
        from sparkswarm.bots.awaited import FileWaits
        from sparkswarm.workers.executor import QueueExecutor

        self.qc = qc
        # Submissions and reads go through the executor (the queue's: the bot
        # never holds the engine), chosen by whoever builds the bot.
        self.executor: Executor = executor or QueueExecutor(qc)
        self.out = out
        self.roles = roles
        self.approvers = replace(
            role_map({"admin": settings.bot_approvers}), home_team=roles.home_team
        )
        self.notifier = notifier
        self.settings = settings
        self.prefix = qc.settings.key_prefix
        # Worker reads wait here, off the pool that takes new commands.
        self.reads = reads or BoundedPool(
            settings.bot_read_threads, settings.bot_max_pending, "sparkswarm-read"
        )
        # The newest runs this process submitted (``bot try`` follows them).
        self.submitted: deque[str] = deque(maxlen=1000)
        # Set when the app is uninstalled or its tokens revoked: post nothing more.
        self.halted = out.halted  # one switch: SlackOut sends nothing once it is set
        self._groups: tuple[float, dict[str, list[str]]] = (0.0, {})
        self.refusals = RefusalBudget(settings.bot_refusals_per_minute)
        self.confirmations = Confirmations(self)
        self.file_waits = FileWaits(self)

    # --- entry points -------------------------------------------------------
    def handle(self, req: ChatRequest) -> None:
        """Answer one chat command. Never raises: a problem becomes a message.
        A channel message that is no command (``req.command`` is
        ``"message"``) is only looked at for a file someone waits to attach."""
        if self.halted.is_set():
            log.warning("app uninstalled or tokens revoked: request %s not answered", req.key)
            return
        self.answering(req, self._handle, req)

    def on_button(self, action: str, confirm_id: str, req: ChatRequest, message_ts: str) -> None:
        """``req.user`` clicked Confirm or Cancel (``action``) of a destructive
        command on message ``message_ts`` (see approvals.py)."""
        if not self.halted.is_set():
            self.answering(req, self.confirmations.click, action, confirm_id, req, message_ts)

    def answering(self, req: ChatRequest, work: Callable[..., Any], *args: Any) -> None:
        """``work(*args)`` for ``req``; never raises: a SparkswarmError is told
        to the user, anything else is logged and the user told so."""
        try:
            work(*args)
        except SparkswarmError as exc:
            self.tell(req, present.problem(str(exc)))
        except Exception:
            log.exception("chat request %s failed", req.key)
            self.tell(req, INTERNAL_ERROR)

    def tell(self, req: ChatRequest, text: str, blocks: list[blockkit.Block] | None = None) -> None:
        """Answer only the user: through the request's ``response_url`` when it
        has one (it works in any conversation), else as an ephemeral message."""
        if self.halted.is_set():
            return
        if req.response_url and self.respond(req.response_url, text, blocks=blocks):
            return
        extra = {"blocks": blocks} if blocks else {}
        self.out.ephemeral(req.channel, req.user, text, req.thread_ts, **extra)

    def respond(self, url: str, text: str, *, public: bool = False, blocks: Any = None) -> bool:
        """Post ``text`` (scrubbed) to a ``response_url``; False if Slack refused it."""
        from slack_sdk.webhook import WebhookClient

        try:
            answer = WebhookClient(url, timeout=5).send(
                text=self.out.scrubber.text(text),
                blocks=self.out.scrubber.data(blocks) if blocks else None,
                response_type="in_channel" if public else "ephemeral",
                replace_original=False,
            )
        except Exception as exc:  # unreachable, timed out: the caller falls back
            log.warning("response_url failed: %s", type(exc).__name__)
            return False
        if answer.status_code != 200:
            log.warning("response_url answered %s", answer.status_code)
        return bool(answer.status_code == 200)

    def busy(self, req: ChatRequest) -> None:
        """Tell the user the bot cannot take their request now (nothing ran)."""
        log.warning("busy: request %s of %s not taken", req.key, req.user)
        self.tell(req, BUSY)

    # --- who the caller is ----------------------------------------------------
    def _first_time(self, key: str) -> bool:
        return bool(self.qc.redis.set(f"{self.prefix}bot:seen:{key}", "1", nx=True, ex=86400))

    def role_for(self, user: str, channel: str, team: str = "") -> str | None:
        """The role ``user`` (of workspace ``team``) has in ``channel``; every
        step checks it (typed words, buttons, forms, the App Home)."""
        return self.roles.role_of(user, channel, self.groups_of(user), team)

    def is_approver(self, user: str, team: str) -> bool:
        """Whether ``user`` of ``team`` approves two-person confirmations."""
        return self.approvers.role_of(user, "", self.groups_of(user), team) is not None

    def groups_of(self, user: str) -> list[str]:
        """The user groups named in the settings that ``user`` is a member of."""
        quota_groups = [i for i in self.settings.spark_quotas if i.startswith("S")]
        named = sorted({*self.roles.groups, *self.approvers.groups, *quota_groups})
        if not named:
            return []
        fetched, members = self._groups
        if time.monotonic() - fetched > 60:  # membership changes rarely; one lookup a minute
            members = {}
            for group in named:
                try:
                    members[group] = self.out.group_members(group)
                except Exception as exc:
                    log.warning("user group %s: %s", group, type(exc).__name__)
            self._groups = (time.monotonic(), members)
        return [g for g, users in members.items() if user in users]

    def permitted(
        self, req: ChatRequest, role: str | None, need: str, shown: str, what: str = ""
    ) -> bool:
        """Whether ``role`` may do what needs ``need``; if not, the request is
        refused (``what``, chat text, names it; by default ``shown`` as code)."""
        why = refusal(role, need, what or blockkit.code(shown))
        if why is not None:
            self.refuse(req, shown, why)
        return why is None

    def refuse(self, req: ChatRequest, shown: str, why: str) -> None:
        """Tell the user ``why`` nothing ran and log it in the refusal log,
        within the user's budget of refusals per minute (see refusals.py)."""
        verdict = self.refusals.take(req.user)
        if verdict == "answer":
            self.qc.refuse(requester=req.user, source="slack", words=shown, reason=why)
            self.tell(req, f":no_entry: {why}. Nothing ran.")
        elif verdict == "notice":
            self.tell(req, ":no_entry: Too many refused requests; wait a minute. Nothing ran.")
        else:
            log.info("refused request of %s dropped: over the per-minute budget", req.user)

    # --- the words ------------------------------------------------------------
    def _handle(self, req: ChatRequest) -> None:
        if not self._first_time(req.key):
            log.info("request %s seen before (a Slack retry or replay): dropped", req.key)
            return
        if req.command == CHANNEL_MESSAGE:
            self.file_waits.arrived(req)
            return
        words = commands.words_of(req.command, req.text)
        role = self.role_for(req.user, req.channel, req.team)
        if req.files and words[:2] != ["spark", "submit"] and self.file_waits.arrived(req):
            return  # a file someone was waiting to attach (see awaited.py)
        if not words or words[0] in ("help", "--help", "-h"):
            allowed = [(w, need) for w, need in commands.chat_commands() if allows(role, need)]
            self.tell(req, present.help_answer(role, allowed))
            return
        if words == ["spark", "submit"] and req.command:  # `/spark submit` alone: the form
            self._open_submit_form(req, role)
            return
        if words == ["service", "scale"] and req.command:  # `/swarm scale` alone: its form
            from sparkswarm.bots.forms import open_scale_form

            open_scale_form(self, req, role)
            return
        if words[:3] == ["spark", "submit", NEXT_FILE]:  # the form's "file you attach next"
            self.file_waits.start(req, words, role)
            return
        attached: dict[str, bytes] = {}
        if req.files:
            words, attached = self._attached(req, words, role)
            if not words:
                return
        self.run_words(req, words, role, attached)

    def run_words(
        self, req: ChatRequest, words: list[str], role: str | None, attached: dict[str, bytes]
    ) -> None:
        """Parse ``words`` (with the ``attached`` files), check them against
        ``role`` and answer, run, or ask for confirmation. InvalidRequest is
        answered with usage; nothing runs that the role does not allow."""
        try:
            request = commands.parse(words, attached)
        except InvalidRequest as exc:
            # The grammar is for members: someone without a role learns only that.
            answer = present.usage_message(str(exc)) if role else present.help_answer(None, [])
            self.tell(req, answer)
            return
        shown = " ".join(words)
        policy = commands.policy(request.op, dict(request.params))
        if not policy.chat:
            self.refuse(
                req, shown, f"{blockkit.code(shown)} is not offered in chat; run it in a terminal"
            )
        elif not self.permitted(req, role, policy.role, shown):
            return
        elif policy.queue_read:
            reads.queue_read(self, req, request)
        elif policy.read_only:
            if not self.reads.submit(reads.worker_read, self, req, request, shown):
                self.busy(req)
        elif policy.destructive:
            self.confirmations.ask(req, request, shown, policy.role, policy.hazards)
        else:
            self.submit(req, request.op, dict(request.params), shown)

    def attach_limits(self) -> AttachmentLimits:
        """The settings' limits on attached files (``attachments.AttachmentLimits``)."""
        from sparkswarm.bots import attachments

        s = self.settings
        return attachments.AttachmentLimits(
            s.bot_attach_script_max, s.bot_attach_data_max, s.bot_attach_files_max
        )

    def _attached(
        self, req: ChatRequest, words: list[str], role: str | None
    ) -> tuple[list[str], dict[str, bytes]]:
        """The words with the attached files named in them, and the files'
        bytes by name (see attachments.py); no words when the caller may not
        submit (refused before anything is downloaded). InvalidRequest
        (answered, nothing runs) for a file the bot will not or cannot take."""
        from sparkswarm.bots import attachments

        attachments.require_submit(words)
        if not self.permitted(req, role, commands.policy("spark.submit", {}).role, " ".join(words)):
            return [], {}
        try:
            files = attachments.fetch(self.out, req.files, self.attach_limits())
        except InvalidRequest as exc:
            raise InvalidRequest(f"{exc}. Nothing ran.") from None
        return attachments.complete_words(words, list(files)), files

    def _open_submit_form(self, req: ChatRequest, role: str | None) -> None:
        """Open the ``spark submit`` modal with the command's trigger_id (see
        modal.py); its submission comes back as words. Refused like the
        words would be for a caller without the role."""
        from sparkswarm.bots import modal
        from sparkswarm.spark.job_request import catalogue

        if not self.permitted(req, role, commands.policy("spark.submit", {}).role, "spark submit"):
            return
        view = modal.submit_view(catalogue(), req.channel, req.response_url)
        if self.out.call("views.open", trigger_id=req.key, view=view) is None:
            self.form_refused(req, ("spark", "submit"))

    def form_refused(self, req: ChatRequest, words: tuple[str, ...]) -> None:
        """Slack would not open the form of ``words``: the user gets their usage."""
        from sparkswarm.requests import usage

        why = "Slack would not open the form; type the words instead"
        self.tell(req, present.usage_message(f"{why}\n{usage(words)}"))

    # --- a change: its thread message, then the submission ---------------------
    def run_id(self, slack_id: str) -> str:
        """A short run id of Slack's request id: a retry of the request maps to
        the same run (it runs once), two requests to two unrelated ids."""
        return hashlib.blake2b(slack_id.encode(), digest_size=8).hexdigest()

    def cannot_post(self, req: ChatRequest, op: str, shown: str) -> None:
        """Slack refused our message in the user's conversation: nothing was
        (or will be) submitted; say so where the user can see it."""
        log.warning("cannot post in %s: %s not submitted", req.channel, op)
        self.qc.refuse(
            requester=req.user,
            source="slack",
            words=shown,
            reason=f"cannot post in {req.channel} (not invited, private or another's DM)",
        )
        if not (req.response_url and self.respond(req.response_url, CANNOT_POST)):
            log.warning("and no response_url answered: %s was not told", req.user)

    def submit(
        self,
        req: ChatRequest,
        op: str,
        params: dict[str, Any],
        shown: str,
        parent_ts: str | None = None,
    ) -> None:
        """Post the run's thread message, then submit it; nothing is submitted
        when the message cannot be posted."""
        if self.halted.is_set():
            return
        run_id = self.run_id(req.key)
        if op == "spark.submit":  # the user groups whose Spark quota the job counts against
            quotas = self.settings.spark_quotas
            params = {**params, "groups": [g for g in self.groups_of(req.user) if g in quotas]}
        thread = parent_ts or req.thread_ts
        if thread is None:
            thread = self.out.post(req.channel, present.thread_head(req.user, shown))
        text, blocks = present.status_message(present.RunView(run_id, shown))
        ts = self.out.post(req.channel, text, blocks, thread_ts=thread) if thread else None
        if ts is None or thread is None:
            self.cannot_post(req, op, shown)
            return
        try:
            sub = self.executor.submit(
                Request(op=op, params=params), origin=Origin(req.user, "slack"), key=run_id
            )
        except SparkswarmError as exc:
            failed = present.problem(f"{shown}: {exc}. Nothing ran.")
            self.out.update(req.channel, ts, failed, [blockkit.section(failed)])
            raise
        if sub.run_id is None or not sub.created:
            return  # the same Slack request again: it runs once
        self.submitted.append(sub.run_id)
        self.qc.store.note(
            sub.run_id, f"outcome posted in channel {req.channel}, thread {thread}, message {ts}"
        )
        self.notifier.follow(sub.run_id, req.channel, ts, shown, thread)
