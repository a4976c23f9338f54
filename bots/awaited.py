"""The ``/spark submit`` form's "the file you attach next": waiting for it.

A modal cannot take a file, so the form's choice :data:`modal.NEXT_FILE`
stores the form's words as a wait for that user in that channel (in the
queue's Redis, ``QueueClient.attachment_waits``), for ``bot_attach_wait``
seconds, and tells the user (ephemeral, with a Cancel button) what the bot
waits for and until when. The user's next message in that channel with a
``.py`` attached (a mention, a DM, or a plain channel message) ends the
wait: the caller's role is checked again, the files are read as for a
mention (attachments.py), and the words run with the script in the
placeholder's place, followed in the message's thread. A wait that expires
or is cancelled says so; one replaced by a newer form too. A file too big
or not readable is answered and the wait goes on.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from sparkswarm.bots import blockkit
from sparkswarm.bots.modal import NEXT_FILE, NEXT_FILE_TEXT, stand_in, with_script
from sparkswarm.bots.roles import allows
from sparkswarm.errors import InvalidRequest
from sparkswarm.workers.attachment_waits import AttachmentWait, AttachmentWaits

if TYPE_CHECKING:
    from sparkswarm.bots.dispatch import ChatRequest, Dispatcher

log = logging.getLogger(__name__)
CANCEL_ACTION = "sparkswarm_attach_cancel"


def shown(words: list[str]) -> str:
    """The words as the user reads them, the script's place named."""
    return " ".join("<your .py>" if w == NEXT_FILE else w for w in words)


def until(expires: float) -> str:
    """Slack's date markup for ``expires``: each reader's local time (UTC as
    the fallback text)."""
    at = int(expires)
    return f"<!date^{at}^{{time}}|{time.strftime('%H:%M UTC', time.gmtime(at))}>"


def waiting_blocks(wait: AttachmentWait) -> tuple[str, list[blockkit.Block]]:
    """(text, blocks) telling the user what the bot waits for, with Cancel."""
    text = (
        f":paperclip: Waiting for your next message with a .py file attached in this "
        f"channel, until {until(wait.expires)}; it will run as "
        f"{blockkit.code(shown(wait.words))}."
    )
    cancel = blockkit.buttons([(CANCEL_ACTION, "Cancel", wait.id)])
    return text, [blockkit.section(text), cancel]


def ended_text(wait: AttachmentWait, how: str) -> str:
    what = blockkit.code(shown(wait.words))
    if how == "expired":
        return (
            f":hourglass: No .py file came before {until(wait.expires)}: {what} expired. "
            "Nothing ran."
        )
    if how == "replaced":
        return f":arrows_counterclockwise: Your earlier wait for {what} was replaced. Nothing ran."
    return f":no_entry_sign: {what} cancelled: no longer waiting for a file. Nothing ran."


class FileWaits:
    """Waits for attached scripts, for one :class:`Dispatcher`."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.d = dispatcher

    @property
    def waits(self) -> AttachmentWaits:
        """The queue's store of waits (asked for only when a file or form comes)."""
        return self.d.qc.attachment_waits

    def start(self, req: ChatRequest, words: list[str], role: str | None) -> None:
        """Wait for the script of ``words`` (the placeholder as the script),
        when ``role`` may submit them; InvalidRequest for words the grammar
        refuses (judged with a stand-in script)."""
        from sparkswarm.bots import commands

        request = commands.parse(*stand_in(words))
        if not self.d.permitted(
            req, role, commands.policy(request.op, dict(request.params)).role, shown(words)
        ):
            return
        wait = AttachmentWait(
            team=req.team,
            user=req.user,
            channel=req.channel,
            words=words,
            expires=time.time() + self.d.settings.bot_attach_wait,
            response_url=req.response_url,
        )
        replaced = self.waits.start(wait)
        if replaced is not None:
            self.d.tell(req, ended_text(replaced, "replaced"))
        text, blocks = waiting_blocks(wait)
        self.d.tell(req, text, blocks)

    def arrived(self, req: ChatRequest) -> bool:
        """Whether ``req`` (a message with files) was the file the user's
        wait in its channel expected; if so it is answered: run, refused, or
        told what is wrong with it (the wait goes on)."""
        if not req.files:
            return False
        wait = self.waits.peek(req.team, req.user, req.channel)
        if wait is None:
            return False
        from sparkswarm.bots import attachments, commands

        d = self.d
        role = d.role_for(req.user, req.channel, req.team)
        need = commands.policy("spark.submit", {}).role
        if not allows(role, need):  # roles may have changed since the form
            ended = self.waits.take(req.team, req.user, req.channel)
            if ended is not None:
                d.permitted(req, role, need, shown(ended.words))
            return True
        still = f"Still waiting for a .py file until {until(wait.expires)}."
        try:
            files = attachments.fetch(d.out, req.files, d.attach_limits())
        except InvalidRequest as exc:
            self.d.tell(req, f":warning: {blockkit.clip(str(exc), 2000)}. Nothing ran. {still}")
            return True
        scripts = [name for name in files if name.endswith(".py")]
        if len(scripts) != 1:
            if scripts:
                names = blockkit.clip(", ".join(scripts), 300)
                self.d.tell(req, f":warning: {names}: attach one .py at a time. {still}")
            return bool(scripts)
        taken = self.waits.take(req.team, req.user, req.channel)
        if taken is None:
            return False  # expired or cancelled a moment ago (said so)
        words = attachments.complete_words(with_script(taken.words, scripts[0]), list(files))
        d.run_words(req, words, role, files)
        return True

    def cancel(self, req: ChatRequest, wait_id: str) -> None:
        """A click on the waiting message's Cancel."""
        wait = self.waits.cancel(req.team, req.user, req.channel, wait_id)
        self.d.tell(req, ended_text(wait, "cancelled") if wait else "That wait is already over.")

    def expire(self, now: float | None = None) -> int:
        """Tell each user whose wait expired (once); how many."""
        from sparkswarm.bots.dispatch import ChatRequest

        due = self.waits.due(now)
        for wait in due:
            req = ChatRequest(
                "",
                "",
                wait.user,
                wait.channel,
                f"expired:{wait.id}",
                None,
                wait.team,
                wait.response_url,
            )
            self.d.tell(req, ended_text(wait, "expired"))
        return len(due)


__all__ = ["CANCEL_ACTION", "NEXT_FILE_TEXT", "FileWaits"]
