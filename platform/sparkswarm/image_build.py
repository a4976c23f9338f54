"""How sparkswarm makes an image on the engine without a registry.

The pieces every local image build uses (the Spark image of
:mod:`sparkswarm.images`, the platform's own of
:mod:`sparkswarm.platform_images`): image references, a Debian bookworm
base made by ``mmdebstrap`` and imported into the engine, running ``pip``
and other tools with their output's tail in the error, the engine's classic
build of a Dockerfile, and :class:`ImageBuildResult`, what ``image.build``
answers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import InvalidRequest, NotFound, OperationFailed
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.spark.version import BASE_IMAGE, BASE_PACKAGES, SPARK_VERSION

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

DEFAULT_CACHE_DIR = "~/.cache/sparkswarm-wheels"
_IMAGE_REF = re.compile(r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$")


@dataclass(frozen=True, kw_only=True)
class ImageBuildResult:
    """What ``image.build`` did (results are frozen dataclasses: see
    :mod:`sparkswarm.services.models`)."""

    image: str  # the image built (or found), e.g. sparkswarm/spark:4.3.0
    tags: list[str]  # every tag that now points at it
    base: str  # the base image it was built on
    built: bool  # False when the image existed and nothing was built
    base_built: bool = False  # True when the base image was made this time
    seconds: float  # wall time of the whole operation
    notes: list[str] = field(default_factory=list)  # things the user should know


def validate_image_ref(ref: str, what: str = "image") -> str:
    """Return ``ref`` if it is a ``repository[:tag]`` the engine accepts; InvalidRequest if not."""
    if not _IMAGE_REF.match(ref):
        raise InvalidRequest(f"invalid {what} {ref!r}: expected repository[:tag], lower case")
    return ref


def split_ref(ref: str) -> tuple[str, str]:
    """``"a/b:1"`` -> ``("a/b", "1")``; a missing tag is ``latest``."""
    repository, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ref, "latest"
    return repository, tag


def inspect_or_none(gw: Gateway, ref: str) -> dict[str, Any] | None:
    """The engine's inspection of image ``ref``; None when it has no such image."""
    try:
        return gw.inspect_image(ref)
    except NotFound:
        return None


def image_id(gw: Gateway, ref: str) -> str | None:
    """The ID of image ``ref``; None when the engine has no such image."""
    found = inspect_or_none(gw, ref)
    return None if found is None else str(found["Id"])


def image_exists(gw: Gateway, ref: str) -> bool:
    return inspect_or_none(gw, ref) is not None


def ensure_base(
    gw: Gateway,
    base_image: str,
    *,
    given: str | None,
    default: str,
    packages: tuple[str, ...],
    progress: ProgressFn,
) -> bool:
    """Make ``base_image`` (the default base ``default`` of ``packages``) when
    the engine lacks it; whether it was made. NotFound when a base the user
    ``given`` (other than the default) is missing: sparkswarm makes only its own."""
    if image_exists(gw, base_image):
        progress(f"base {base_image} exists")
        return False
    if given is not None and given != default:
        raise NotFound(f"base image {base_image} is not in the engine; load or build it first")
    make_base_image(gw, tag=base_image, packages=packages, progress=progress)
    return True


def make_base_image(
    gw: Gateway,
    *,
    tag: str = BASE_IMAGE,
    packages: tuple[str, ...] = BASE_PACKAGES,
    progress: ProgressFn = no_progress,
) -> str:
    """Create ``tag`` from Debian bookworm (minbase and ``packages``) with
    mmdebstrap and import it into the engine.

    Needs root and the ``mmdebstrap`` command (Debian's package of that name).
    Raises OperationFailed when mmdebstrap is missing or fails.
    """
    if shutil.which("mmdebstrap") is None:
        raise OperationFailed(
            "mmdebstrap is not installed (apt-get install mmdebstrap), "
            "or give an existing base with --base"
        )
    repository, image_tag = split_ref(tag)
    with tempfile.TemporaryDirectory(prefix="sparkswarm-base-") as tmp:
        tarball = os.path.join(tmp, "rootfs.tar")
        progress(f"making {tag} with mmdebstrap (about half a minute)", log=True)
        include = "--include=" + ",".join(packages)
        run_tool(["mmdebstrap", "--variant=minbase", include, "bookworm", tarball], progress)
        progress(f"importing {tag} into the engine")
        gw.import_image(tarball, repository=repository, tag=image_tag)
    if not image_exists(gw, tag):
        raise OperationFailed(f"docker import did not create {tag}")
    return tag


def run_pip(args: list[str], progress: ProgressFn) -> None:
    """``pip ARGS`` of this interpreter, quietly (see :func:`run_tool`)."""
    command, *rest = args
    quiet = [command, "--quiet", "--disable-pip-version-check", *rest]
    run_tool([sys.executable, "-m", "pip", *quiet], progress, f"pip {command}")


def run_tool(command: list[str], progress: ProgressFn, what: str = "") -> None:
    """Run an external tool (``what``: its name in messages, by default the
    command's); OperationFailed with its output's tail when it fails."""
    what = what or command[0]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise OperationFailed(f"{what}: cannot run {command[0]}: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise OperationFailed(f"{what} failed (exit {done.returncode}):\n{tail}")
    progress(f"{what} done")


def docker_build(
    gw: Gateway, context: Path, image: str, base: str, *, nocache: bool, progress: ProgressFn
) -> None:
    """Build ``context``'s Dockerfile as ``image`` on ``base`` (build args
    ``BASE`` and ``SPARK_VERSION``). OperationFailed with the build's last
    lines when it fails."""
    progress(f"building {image} on {base}", log=True)
    stream = gw.build_image(
        path=str(context),
        tag=image,
        buildargs={"BASE": base, "SPARK_VERSION": SPARK_VERSION},
        forcerm=True,
        nocache=nocache,
    )
    last: list[str] = []
    for chunk in stream:
        if "error" in chunk:
            detail = "\n".join(last[-10:])
            raise OperationFailed(f"building {image} failed: {chunk['error']}\n{detail}")
        text = str(chunk.get("stream", "")).strip()
        if text:
            last.append(text)
            if text.startswith("Step "):
                progress(text)
    if not image_exists(gw, image):
        raise OperationFailed(f"the build finished but {image} is not in the engine")
