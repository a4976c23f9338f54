"""The Slack double's files: what users attach, and what the bot uploads.

Files users attach (:meth:`FilesDouble.share_file`) are described by
``files.info`` (scope ``files:read``) and served at their ``url_private``
to the bot token only; any other token gets HTTP 200 and a sign-in page, as
Slack answers. The bot's uploads follow Slack's external upload flow:
``files.getUploadURLExternal``, the bytes to the ``upload_url``, then
``files.completeUploadExternal`` into a conversation the bot is in.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkswarm.bots.double_messages import Call

# What Slack's file server sends for a url_private fetched without a valid
# token: HTTP 200 and the sign-in page, not the file.
LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"
# Slack's ``filetype`` and ``mimetype`` of a file, by the name's ending.
FILE_TYPES = {
    ".py": ("python", "text/x-python"),
    ".csv": ("csv", "text/csv"),
    ".txt": ("text", "text/plain"),
    ".json": ("json", "application/json"),
    ".html": ("html", "text/html"),
    ".zip": ("zip", "application/zip"),
}


class FilesDouble:
    """The file methods of :class:`~sparkswarm.bots.double.SlackDouble`."""

    if TYPE_CHECKING:
        bot_token: str
        file_tokens: set[str] | None
        files: dict[str, dict[str, Any]]
        shared: dict[str, dict[str, Any]]
        _lock: threading.Lock
        _ts: itertools.count[int]

        @property
        def port(self) -> int: ...
        def _record(self, call: Call) -> None: ...
        def _membership_error(self, channel: str) -> str | None: ...

    def share_file(
        self,
        name: str,
        content: bytes,
        *,
        size: int | None = None,
        filetype: str | None = None,
        readable: bool = True,
    ) -> dict[str, Any]:
        """A file a user attached to a message: its file object, as an event
        carries it. ``size`` declares another size than the content's (a big
        file without the bytes); ``filetype`` overrides the one of the name's
        ending; ``readable=False``: the bot may not see it (``files.info``
        answers ``file_not_found``)."""
        kind, mime = FILE_TYPES.get(Path(name).suffix, ("binary", "application/octet-stream"))
        file_id = f"F{next(self._ts):08d}U"
        info = {
            "id": file_id,
            "name": name,
            "title": name,
            "size": len(content) if size is None else size,
            "filetype": filetype or kind,
            "mimetype": mime if filetype is None else "application/octet-stream",
            "url_private": f"http://127.0.0.1:{self.port}/files-pri/{file_id}/{name}",
            "url_private_download": f"http://127.0.0.1:{self.port}/files-pri/{file_id}/download/{name}",
        }
        with self._lock:
            self.shared[file_id] = {"info": info, "content": content, "readable": readable}
        return dict(info)

    def private_file(self, path: str, token: str | None) -> tuple[bytes, str]:
        """(body, content type) of a GET of a ``url_private``: the file's bytes
        with the bot's token, else Slack's sign-in page (HTTP 200 all the same)."""
        file_id = path.split("/")[2] if path.count("/") >= 3 else ""
        with self._lock:
            entry = self.shared.get(file_id)
            accepted = {self.bot_token} if self.file_tokens is None else self.file_tokens
            ok = entry is not None and entry["readable"] and token in accepted
            self._record(Call("url_private", {"file": file_id, "served": ok}, time.time()))
        if not ok or entry is None:
            return LOGIN_PAGE, "text/html; charset=utf-8"
        return bytes(entry["content"]), "application/octet-stream"

    def _m_files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        entry = self.shared.get(str(args.get("file") or ""))
        if entry is None or not entry["readable"]:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": dict(entry["info"]), "comments": [], "response_metadata": {}}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ts):08d}"
        self.files[file_id] = {"filename": args["filename"], "length": int(args["length"])}
        return {
            "ok": True,
            "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}",
            "file_id": file_id,
        }

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        raw = args.get("files")
        try:
            files = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = args.get("channel_id")
        membership = self._membership_error(str(channel)) if channel else None
        if membership:
            return {"ok": False, "error": membership}
        shared = []
        for item in files:
            entry = self.files.get(str(item.get("id")))
            if entry is None or "content" not in entry:
                return {"ok": False, "error": "file_not_found"}
            entry.update(channel=channel, thread_ts=args.get("thread_ts"), title=item.get("title"))
            shared.append({"id": item["id"], "title": item.get("title") or entry["filename"]})
        return {"ok": True, "files": shared}

    def upload(self, file_id: str, content: bytes) -> tuple[int, dict[str, Any]]:
        """The upload step of the external upload flow (the bytes go to upload_url)."""
        with self._lock:
            entry = self.files.get(file_id)
            if entry is None:
                return 404, {"ok": False, "error": "file_not_found"}
            entry["content"] = content
            self._record(Call("upload", {"file_id": file_id, "bytes": len(content)}, time.time()))
        return 200, {"ok": True}
