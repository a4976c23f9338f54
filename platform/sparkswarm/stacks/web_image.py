"""Build the demo web image of ``stacks/web`` locally (no registry needed).

The build context is ``stacks/web/Dockerfile`` plus the host's static busybox
binary and an ``index.html`` whose text says which version is served.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from typing import TYPE_CHECKING

from sparkswarm.errors import InvalidRequest, OperationFailed
from sparkswarm.stacks.params import stacks_dir

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

DEFAULT_TAG = "sparkswarm/web:v1"


def build_context(files: dict[str, bytes]) -> io.BytesIO:
    """An in-memory tar build context holding ``files`` (path -> bytes, all executable)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def build_web_image(
    gw: Gateway, tag: str = DEFAULT_TAG, *, page: str | None = None, busybox: str | None = None
) -> str:
    """Build ``tag`` serving ``page`` (default: ``"web <tag's version>"``); returns the tag.

    Raises InvalidRequest when no busybox binary is found (apt-get install
    busybox-static) and OperationFailed when the build fails.
    """
    binary = busybox or shutil.which("busybox")
    if not binary:
        raise InvalidRequest("busybox not found; install Debian's busybox-static")
    with open(binary, "rb") as handle:
        busybox_bytes = handle.read()
    dockerfile = (stacks_dir() / "web" / "Dockerfile").read_bytes()
    text = page if page is not None else f"web {tag.rsplit(':', 1)[-1]}\n"
    context = build_context(
        {"Dockerfile": dockerfile, "busybox": busybox_bytes, "index.html": text.encode()}
    )
    for event in gw.build_image(fileobj=context, tag=tag):
        if "error" in event:
            raise OperationFailed(f"building {tag}: {event['error']}")
    return tag
