"""Files attached to a chat ``spark submit``: which the bot takes, and taking them.

A user attaches ``job.py`` (and a few small data files) to a message that
mentions the bot: "@sparkswarm spark submit job.py --stack s arg1". The
files become what ``sparkswarm spark submit job.py --files ...`` reads from
disk (the request layer takes them by name, see
``sparkswarm.requests.grammar.parse``), so chat and CLI submit the same
params. :func:`complete_words` names the script when it was left out (one
``.py`` attached) and hands every other attachment to ``--files`` /
``--py-files``; :func:`check` refuses, before anything is downloaded, a
file that is badly named, not Python where a script is expected, or over
the limits (settings ``bot_attach_*``). :func:`fetch` asks ``files.info``
and downloads each ``url_private`` with the bot token as
``Authorization: Bearer`` (Slack's documented way; scope ``files:read``).
Slack answers a request without a valid token with HTTP 200 and an HTML
login page, so what came back is checked against the declared type and
size. Every refusal is an InvalidRequest saying which file and why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sparkswarm.errors import InvalidRequest
from sparkswarm.spark.job_request import encode_file

log = logging.getLogger(__name__)
# What Slack calls a .py file (``filetype``), and the MIME types it may give it.
PY_FILETYPES = frozenset({"python", "text"})
PY_MIMETYPES = frozenset(
    {"text/x-python", "text/x-python-script", "text/x-script.python", "text/plain"}
)
MIB = 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    """A file object as ``files.info`` describes it (the fields the bot uses)."""

    id: str
    name: str
    size: int
    filetype: str
    mimetype: str
    url: str

    @classmethod
    def of(cls, info: dict[str, Any]) -> Attachment:
        """From Slack's file object; a missing field becomes empty (then refused)."""
        size = info.get("size")
        return cls(
            id=str(info.get("id") or ""),
            name=str(info.get("name") or ""),
            size=size if isinstance(size, int) and size >= 0 else -1,
            filetype=str(info.get("filetype") or ""),
            mimetype=str(info.get("mimetype") or ""),
            url=str(info.get("url_private") or ""),
        )

    @property
    def is_script(self) -> bool:
        return self.name.endswith(".py")


@dataclass(frozen=True)
class AttachmentLimits:
    """Bytes of one script, bytes of all data files, and files per command."""

    script: int
    data: int
    files: int


def _size(n: int) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB else f"{n / 1024:.1f} KiB"


def check(files: Sequence[Attachment], limits: AttachmentLimits) -> None:
    """InvalidRequest, naming the file, for: too many files, a name the
    request layer would refuse or given twice, an unknown size, a ``.py``
    that Slack does not take for text or Python, a script over
    ``limits.script`` bytes, data files over ``limits.data`` bytes in all."""
    if len(files) > limits.files:
        raise InvalidRequest(f"{len(files)} files attached; a command takes at most {limits.files}")
    names = [f.name for f in files]
    for f in files:
        try:
            encode_file(f.name, b"")  # the request layer's own rule for a file's name
        except InvalidRequest:
            raise InvalidRequest(
                f"attached file {f.name!r}: a name of letters, digits, . _ - "
                "(100 at most) is needed; rename it and attach it again"
            ) from None
        if names.count(f.name) > 1:
            raise InvalidRequest(f"two attached files are called {f.name}")
        if f.size < 0 or not f.url:
            raise InvalidRequest(f"Slack gave no size or address for {f.name}: cannot read it")
        if f.is_script:
            if f.filetype not in PY_FILETYPES and f.mimetype not in PY_MIMETYPES:
                kind = f.filetype or f.mimetype or "unknown"
                raise InvalidRequest(f"{f.name} is not a Python script (Slack says: {kind})")
            if f.size > limits.script:
                raise InvalidRequest(
                    f"{f.name} is {_size(f.size)}; a script attached in chat is at most "
                    f"{_size(limits.script)}"
                )
    data = sum(f.size for f in files if not f.is_script)
    if data > limits.data:
        raise InvalidRequest(
            f"the attached data files are {_size(data)} in all; at most "
            f"{_size(limits.data)} go with a job: put bigger data on a volume"
        )


def require_submit(words: Sequence[str]) -> None:
    """InvalidRequest unless ``words`` are a ``spark submit``: the only
    command that takes attached files."""
    if list(words[:2]) != ["spark", "submit"]:
        raise InvalidRequest(
            "attached files go with `spark submit` only (for example "
            "`@sparkswarm spark submit job.py --stack spark`)"
        )


def complete_words(words: Sequence[str], names: Sequence[str]) -> list[str]:
    """``spark submit`` words with the attachments ``names`` in them: the one
    ``.py`` as the script when none is named (the first word after ``submit``
    is an option or missing), and each attachment the words do not name
    added to ``--py-files`` (``.py``) or ``--files`` (the rest).
    InvalidRequest for words that are not ``spark submit``, or no script."""
    require_submit(words)
    out = list(words)
    named = {part for word in out[2:] for part in word.split(",")}
    scripts = [n for n in names if n.endswith(".py")]
    rest = out[2:]
    if not any(n in named for n in scripts) and (not rest or rest[0].startswith("-")):
        if len(scripts) != 1:
            which = ", ".join(scripts) if scripts else "none"
            raise InvalidRequest(
                f"name the script to run: `spark submit NAME.py ...` (.py files attached: {which})"
            )
        out.insert(2, scripts[0])
        named.add(scripts[0])
    py_files = [n for n in names if n not in named and n.endswith(".py")]
    files = [n for n in names if n not in named and not n.endswith(".py")]
    extra = [*(["--py-files", ",".join(py_files)] if py_files else [])]
    extra += ["--files", ",".join(files)] if files else []
    at = out.index("--") if "--" in out else len(out)
    return out[:at] + extra + out[at:]


def allowed_url(url: str, api_url: str) -> bool:
    """Whether the bot token may be sent to ``url``: Slack's own hosts over
    https, or the host of the configured Web API (the double in tests)."""
    target, api = urlparse(url), urlparse(api_url)
    if target.scheme == api.scheme and target.netloc == api.netloc:
        return True
    host = target.hostname or ""
    return target.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com"))


def looks_like(got: bytes, content_type: str, f: Attachment) -> str | None:
    """Why ``got`` (served as ``content_type``) is not the file ``f``
    describes, or None: an HTML page for a file that is no HTML file (Slack's
    login page, for a token that may not read it), or another size."""
    html = content_type.split(";")[0].strip().lower() == "text/html"
    if html and f.filetype != "html":
        return (
            f"Slack sent a web page instead of {f.name}: the bot may not read it "
            "(the app needs the files:read scope)"
        )
    if len(got) != f.size:
        return f"{f.name}: Slack declared {f.size} bytes and sent {len(got)}"
    return None


def fetch(
    out: Any, ids: Sequence[str], limits: AttachmentLimits, timeout: float = 20.0
) -> dict[str, bytes]:
    """The attachments ``ids`` by name, read through ``out`` (a SlackOut):
    ``files.info`` for each, :func:`check`, then each ``url_private`` with the
    bot token. InvalidRequest for a file Slack will not describe or send, or
    one that :func:`check` or :func:`looks_like` refuses."""
    import urllib.error
    import urllib.request

    if len(ids) > limits.files:
        raise InvalidRequest(f"{len(ids)} files attached; a command takes at most {limits.files}")
    files: list[Attachment] = []
    for file_id in ids:
        answer = out.call("files.info", file=file_id)
        if not answer or not answer.get("ok") or not isinstance(answer.get("file"), dict):
            raise InvalidRequest(
                f"Slack would not describe attached file {file_id} to me "
                "(deleted, not shared with me, or the app lacks files:read)"
            )
        files.append(Attachment.of(answer["file"]))
    check(files, limits)
    token = str(out.client.token)
    api_url = str(out.client.base_url)

    class SlackOnly(urllib.request.HTTPRedirectHandler):
        """Follows a redirect only within Slack: the token goes nowhere else."""

        def redirect_request(
            self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
        ) -> Any:
            if not allowed_url(newurl, api_url):
                raise urllib.error.URLError("redirected outside Slack")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    opener = urllib.request.build_opener(SlackOnly)
    got: dict[str, bytes] = {}
    for f in files:
        if not allowed_url(f.url, api_url):
            raise InvalidRequest(f"{f.name}: Slack gave an address outside Slack; not read")
        request = urllib.request.Request(f.url, headers={"Authorization": f"Bearer {token}"})
        try:
            with opener.open(request, timeout=timeout) as response:
                data = response.read(f.size + 1)  # never more than declared, plus one
                content_type = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            raise InvalidRequest(f"cannot read {f.name}: Slack answered HTTP {exc.code}") from None
        except (OSError, ValueError) as exc:
            log.warning("download of %s failed: %s", f.id, type(exc).__name__)
            raise InvalidRequest(f"cannot read {f.name}: Slack did not send it") from None
        why = looks_like(data, content_type, f)
        if why:
            raise InvalidRequest(why)
        got[f.name] = data
    return got
