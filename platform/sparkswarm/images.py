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

import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sparkswarm.errors import InvalidRequest, NotFound, OperationFailed
from sparkswarm.image_build import (
    DEFAULT_CACHE_DIR,
    ImageBuildResult,
    docker_build,
    ensure_base,
    image_exists,
    image_id,
    inspect_or_none,
    run_pip,
    split_ref,
    validate_image_ref,
)
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
_DOCKERIGNORE = "*\n!Dockerfile\n!pyspark\n!py4j\n"


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
    built = rebuild or not image_exists(gw, image)
    base_built = False
    if built:
        base_built = ensure_base(
            gw,
            base_image,
            given=base,
            default=BASE_IMAGE,
            packages=BASE_PACKAGES,
            progress=progress,
        )
        context = prepare_spark_context(Path(cache_dir or DEFAULT_CACHE_DIR).expanduser(), progress)
        shutil.copyfile(spark_stack_dir() / "Dockerfile", context / "Dockerfile")
        (context / ".dockerignore").write_text(_DOCKERIGNORE)
        docker_build(gw, context, image, base_image, nocache=rebuild, progress=progress)
    else:
        progress(f"{image} exists; nothing to build (use --rebuild to build again)")
    tags = _alias_official(gw, image, notes, progress) if tag is None else [image]
    return ImageBuildResult(
        image=image,
        tags=tags,
        base=base_image,
        built=built,
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
        run_pip(["install", "--no-deps", "--target", str(staging), *map(str, archives)], progress)
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
        pinned = f"{project}=={version}"
        run_pip(["download", "--no-deps", "--dest", str(cache_dir), pinned], progress)
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


def _alias_official(gw: Gateway, image: str, notes: list[str], progress: ProgressFn) -> list[str]:
    """Tag ``image`` as the official name too, unless another image holds that name."""
    own_id = image_id(gw, image)
    official_id = image_id(gw, OFFICIAL_IMAGE)
    if official_id is not None and official_id != own_id:
        labels = (inspect_or_none(gw, OFFICIAL_IMAGE) or {}).get("Config", {}).get("Labels") or {}
        if labels.get(BUILT_LOCALLY_LABEL) != "true":
            notes.append(
                f"{OFFICIAL_IMAGE} exists and was not built here; left as it is "
                f"(deploy with --set image={image} to use the local build)"
            )
            return [image]
    if official_id != own_id:
        repository, tag = split_ref(OFFICIAL_IMAGE)
        gw.tag_image(image, repository, tag)
        progress(f"tagged {image} as {OFFICIAL_IMAGE}")
    notes.append(f"{OFFICIAL_IMAGE} points at this local build (the spark stack's default image)")
    return [image, OFFICIAL_IMAGE]
