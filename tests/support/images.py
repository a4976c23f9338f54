"""Tiny test images built locally from Debian's static busybox (no registry)."""

from __future__ import annotations

import shutil
from typing import Any

from sparkswarm.stacks.web_image import build_context

BUSYBOX = "/bin/busybox"
WEB_IMAGE = "sparkswarm-test/web"


def build_busybox_image(gw: Any, tag: str, *, cmd: str, page: str = "") -> str:
    """Build ``tag``: busybox, an index page, and ``cmd`` as its command."""
    busybox = shutil.which("busybox") or BUSYBOX
    with open(busybox, "rb") as fh:
        binary = fh.read()
    dockerfile = (
        "FROM scratch\n"
        "COPY busybox /bin/busybox\n"
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
        "COPY index.html /www/index.html\n"
        f'CMD ["/bin/sh", "-c", "{cmd}"]\n'
    )
    context = build_context(
        {"busybox": binary, "index.html": page.encode(), "Dockerfile": dockerfile.encode()}
    )
    for event in gw.build_image(tag=tag, fileobj=context):
        # A failed build is reported in the stream, not raised: stop here, not in a later test.
        assert "error" not in event, f"building {tag}: {event['error']}"
    return tag


def build_web_images(gw: Any) -> dict[str, str]:
    """``v1``/``v2`` serve HTTP on port 80 saying their version; ``broken`` exits at once."""
    serve = "exec httpd -f -p 80 -h /www"
    return {
        "v1": build_busybox_image(gw, f"{WEB_IMAGE}:v1", cmd=serve, page="web v1\n"),
        "v2": build_busybox_image(gw, f"{WEB_IMAGE}:v2", cmd=serve, page="web v2\n"),
        "broken": build_busybox_image(gw, f"{WEB_IMAGE}:broken", cmd="exit 3", page="x"),
    }
