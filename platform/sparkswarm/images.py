"""Building images locally, for machines without a registry (operation ``image.build``).

``build_image(gw, name="spark")`` makes an image equivalent to the official
``apache/spark:<version>-python3`` at the pinned pyspark version
(:mod:`sparkswarm.spark.version`), in three cached steps:

1. the base ``sparkswarm/base:bookworm``: Debian bookworm (minbase) with
   Java 17, Python 3.11, procps and tini, made by ``mmdebstrap`` and imported
   into the engine (skipped when the tag exists; ``base=`` picks another);
2. the ``pyspark`` and ``py4j`` packages, downloaded once with ``pip download``
   into a cache folder and installed there with ``pip install --target``
   (PyPI's pyspark carries Spark's jars, ``bin/`` and ``sbin/``);
3. ``stacks/spark/Dockerfile`` built on the engine (classic builder, no
   registry) with that folder as its context.

The image is tagged ``sparkswarm/spark:<version>`` and, unless a different
image (one not built by sparkswarm, e.g. a pulled official one) already has
that name, also ``apache/spark:<version>-python3`` (only with the default
tag; ``tag=`` builds under that name alone): the spark stack's default
image then resolves locally, so ``sparkswarm stack deploy spark`` needs no
registry and no flag. A second call returns at once unless ``rebuild``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkswarm.errors import InvalidRequest, NotFound, OperationFailed
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.spark.version import (
    BASE_IMAGE,
    BASE_PACKAGES,
    BUILT_LOCALLY_LABEL,
    LOCAL_IMAGE,
    OFFICIAL_IMAGE,
    PY4J_VERSION,
    SPARK_VERSION,
)

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

BUILDABLE = ("spark", "web", "platform", "redis", "prometheus")
WEB_VERSIONS = ("v1", "v2")
DEFAULT_CACHE_DIR = "~/.cache/sparkswarm-wheels"
_IMAGE_REF = re.compile(r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$")
_DOCKERIGNORE = "*\n!Dockerfile\n!pyspark\n!py4j\n"


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


def spark_stack_dir() -> Path:
    """The folder of the ready-made spark stack (its Dockerfile and conf)."""
    from sparkswarm.stacks.params import stacks_dir

    path = stacks_dir() / "spark"
    if not (path / "Dockerfile").is_file():
        raise NotFound(f"no Dockerfile in {path}; set SPARKSWARM_STACKS_DIR to the stacks folder")
    return path


def build_image(
    gw: Gateway,
    *,
    name: str = "spark",
    base: str | None = None,
    tag: str | None = None,
    rebuild: bool = False,
    cache_dir: str | None = None,
    progress: ProgressFn = no_progress,
) -> ImageBuildResult:
    """Build image ``name`` (``spark``; ``web``: the demo web images;
    ``platform``, ``redis``, ``prometheus``: see :mod:`sparkswarm.platform_images`) on the
    engine; idempotent.

    Raises InvalidRequest for an unknown name or a malformed tag/base,
    NotFound when a given ``base`` is not in the engine, OperationFailed when
    mmdebstrap, pip or the build fails (with the tool's last output lines).
    """
    started = time.monotonic()
    if name not in BUILDABLE:
        raise InvalidRequest(f"no image called {name!r}; buildable: {', '.join(BUILDABLE)}")
    if name == "web":
        if base is not None:
            raise InvalidRequest("the web image is built from busybox; --base does not apply")
        return build_web_images(gw, tag=tag, rebuild=rebuild, progress=progress)
    if name in ("platform", "redis", "prometheus"):
        from sparkswarm.platform_images import build_platform_image

        return build_platform_image(
            gw,
            name=name,
            base=base,
            tag=tag,
            rebuild=rebuild,
            cache_dir=cache_dir,
            progress=progress,
        )
    image = validate_image_ref(tag or LOCAL_IMAGE, "tag")
    base_image = validate_image_ref(base or BASE_IMAGE, "base image")
    notes: list[str] = []

    if not rebuild and image_exists(gw, image):
        progress(f"{image} exists; nothing to build (use --rebuild to build again)")
        tags = _alias_official(gw, image, notes, progress) if tag is None else [image]
        return ImageBuildResult(
            image=image,
            tags=tags,
            base=base_image,
            built=False,
            seconds=round(time.monotonic() - started, 2),
            notes=notes,
        )

    base_built = False
    if not image_exists(gw, base_image):
        if base is not None and base != BASE_IMAGE:
            raise NotFound(f"base image {base_image} is not in the engine; load or build it first")
        make_base_image(gw, tag=base_image, progress=progress)
        base_built = True
    else:
        progress(f"base {base_image} exists")

    context = prepare_spark_context(Path(cache_dir or DEFAULT_CACHE_DIR).expanduser(), progress)
    shutil.copyfile(spark_stack_dir() / "Dockerfile", context / "Dockerfile")
    (context / ".dockerignore").write_text(_DOCKERIGNORE)
    docker_build(gw, context, image, base_image, nocache=rebuild, progress=progress)
    tags = _alias_official(gw, image, notes, progress) if tag is None else [image]
    return ImageBuildResult(
        image=image,
        tags=tags,
        base=base_image,
        built=True,
        base_built=base_built,
        seconds=round(time.monotonic() - started, 2),
        notes=notes,
    )


def build_web_images(
    gw: Gateway, *, tag: str | None, rebuild: bool, progress: ProgressFn
) -> ImageBuildResult:
    """The busybox web images of ``stacks/web`` (``sparkswarm/web:v1`` and ``:v2``,
    each page naming its version), or just ``tag``; existing ones are kept."""
    from sparkswarm.stacks.web_image import DEFAULT_TAG, build_web_image

    started = time.monotonic()
    repository = DEFAULT_TAG.rsplit(":", 1)[0]
    wanted = (
        [validate_image_ref(tag, "tag")] if tag else [f"{repository}:{v}" for v in WEB_VERSIONS]
    )
    built = False
    for image in wanted:
        if not rebuild and image_exists(gw, image):
            progress(f"{image} exists; nothing to build")
            continue
        progress(f"building {image}", log=True)
        build_web_image(gw, image)
        built = True
    return ImageBuildResult(
        image=wanted[0],
        tags=wanted,
        base="busybox (static, from the host)",
        built=built,
        seconds=round(time.monotonic() - started, 2),
    )


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
        run_tool(
            [
                "mmdebstrap",
                "--variant=minbase",
                "--include=" + ",".join(packages),
                "bookworm",
                tarball,
            ],
            "mmdebstrap",
            progress,
        )
        progress(f"importing {tag} into the engine")
        gw.import_image(tarball, repository=repository, tag=image_tag)
    if not image_exists(gw, tag):
        raise OperationFailed(f"docker import did not create {tag}")
    return tag


def prepare_spark_context(cache_dir: Path, progress: ProgressFn = no_progress) -> Path:
    """A folder holding installed ``pyspark/`` and ``py4j/`` at the pinned versions.

    Downloads the packages into ``cache_dir`` only when they are not there
    (pyspark comes as a 455 MB source archive holding Spark's jars), installs
    them once into ``cache_dir/context-pyspark-<version>`` and reuses that.
    Raises OperationFailed when pip fails.
    """
    context = cache_dir / f"context-pyspark-{SPARK_VERSION}"
    if (context / "pyspark" / "jars").is_dir() and (context / "py4j").is_dir():
        progress(f"pyspark {SPARK_VERSION} already unpacked in {context}")
        return context
    cache_dir.mkdir(parents=True, exist_ok=True)
    archives = [
        _cached_package(cache_dir, "pyspark", SPARK_VERSION, progress),
        _cached_package(cache_dir, "py4j", PY4J_VERSION, progress),
    ]
    progress(f"installing pyspark {SPARK_VERSION} into the build context (about 30 s)", log=True)
    staging = Path(tempfile.mkdtemp(prefix="context-", dir=cache_dir))
    try:
        run_tool(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--disable-pip-version-check",
                "--target",
                str(staging),
                *map(str, archives),
            ],
            "pip install",
            progress,
        )
        if context.exists():
            shutil.rmtree(context)
        staging.rename(context)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return context


def _cached_package(cache_dir: Path, project: str, version: str, progress: ProgressFn) -> Path:
    found = _find_archive(cache_dir, project, version)
    if found is None:
        progress(f"downloading {project}=={version} into {cache_dir}", log=True)
        run_tool(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--disable-pip-version-check",
                "--dest",
                str(cache_dir),
                f"{project}=={version}",
            ],
            "pip download",
            progress,
        )
        found = _find_archive(cache_dir, project, version)
        if found is None:
            raise OperationFailed(f"pip download gave no {project} {version} in {cache_dir}")
    return found


def _find_archive(cache_dir: Path, project: str, version: str) -> Path | None:
    for pattern in (f"{project}-{version}-*.whl", f"{project}-{version}.tar.gz"):
        matches = sorted(cache_dir.glob(pattern))
        if matches:
            return matches[0]
    return None


def run_tool(command: list[str], what: str, progress: ProgressFn) -> None:
    """Run an external tool; OperationFailed with its output tail when it fails."""
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


def _alias_official(gw: Gateway, image: str, notes: list[str], progress: ProgressFn) -> list[str]:
    """Tag ``image`` as the official name too, unless another image holds that name."""
    image_id = _image_id(gw, image)
    official_id = _image_id(gw, OFFICIAL_IMAGE)
    if official_id is not None and official_id != image_id:
        labels = (_inspect(gw, OFFICIAL_IMAGE) or {}).get("Config", {}).get("Labels") or {}
        if labels.get(BUILT_LOCALLY_LABEL) != "true":
            notes.append(
                f"{OFFICIAL_IMAGE} exists and was not built here; left as it is "
                f"(deploy with --set image={image} to use the local build)"
            )
            return [image]
    if official_id != image_id:
        repository, tag = split_ref(OFFICIAL_IMAGE)
        gw.tag_image(image, repository, tag)
        progress(f"tagged {image} as {OFFICIAL_IMAGE}")
    notes.append(f"{OFFICIAL_IMAGE} points at this local build (the spark stack's default image)")
    return [image, OFFICIAL_IMAGE]


def _inspect(gw: Gateway, ref: str) -> dict[str, Any] | None:
    try:
        return gw.inspect_image(ref)
    except NotFound:
        return None


def _image_id(gw: Gateway, ref: str) -> str | None:
    found = _inspect(gw, ref)
    return None if found is None else str(found["Id"])


def image_exists(gw: Gateway, ref: str) -> bool:
    return _inspect(gw, ref) is not None
