"""The platform's own images, built locally (``images build platform`` / ``redis``).

Like the Spark image (:mod:`sparkswarm.images`), no registry is involved:

- ``sparkswarm/platform:latest``: the repository's ``Dockerfile`` on
  ``sparkswarm/pybase:bookworm`` (Debian bookworm minbase with python3 and
  venv, made by mmdebstrap), with the wheels of this checkout and of its
  dependencies built on the host by ``pip wheel`` (the build itself needs
  no index). Needs a source checkout (an editable install).
- ``sparkswarm/redis:bookworm``: Debian bookworm's ``redis-server`` on a
  mmdebstrap base (``stacks/platform/redis.Dockerfile``); the platform
  stack gives it its entrypoint and password.
- ``sparkswarm/prometheus:bookworm``: Debian bookworm's ``prometheus`` on a
  mmdebstrap base (``stacks/platform/prometheus.Dockerfile``), for
  ``platform up --monitoring``; the stack gives it its configuration.

Both are also tagged ``<repository>:id-<12 hex digits of the image ID>``:
``platform up`` deploys that tag, so a rebuilt image changes the service
spec and ``platform upgrade`` rolls the services onto it.

The platform image is also tagged ``src-<12 hex digits of a digest of the
checkout's sources>``: a build finds the image of the checkout as it is now
and makes a new one when the code changed, with no version bump (an image
of older code is never taken for the current one).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sparkswarm.errors import NotFound, OperationFailed
from sparkswarm.image_build import (
    DEFAULT_CACHE_DIR,
    ImageBuildResult,
    docker_build,
    ensure_base,
    image_exists,
    image_id,
    run_pip,
    split_ref,
    validate_image_ref,
)
from sparkswarm.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from sparkswarm.gateway import Gateway

PLATFORM_IMAGE = "sparkswarm/platform:latest"
PLATFORM_BASE = "sparkswarm/pybase:bookworm"
PLATFORM_BASE_PACKAGES = ("python3", "python3-venv", "passwd")
REDIS_IMAGE = "sparkswarm/redis:bookworm"
REDIS_BASE = "sparkswarm/redis-base:bookworm"
# redis-tools: redis-cli for the health check; util-linux (setpriv) is essential.
REDIS_BASE_PACKAGES = ("redis-server", "redis-tools")
PROMETHEUS_IMAGE = "sparkswarm/prometheus:bookworm"
PROMETHEUS_BASE = "sparkswarm/prometheus-base:bookworm"
# busybox-static: wget for the health check (the image has no curl or python).
PROMETHEUS_BASE_PACKAGES = ("prometheus", "busybox-static")
# Image, base and base packages of each image built from a Dockerfile of stacks/platform.
_DEBIAN_IMAGES = {
    "redis": (REDIS_IMAGE, REDIS_BASE, REDIS_BASE_PACKAGES),
    "prometheus": (PROMETHEUS_IMAGE, PROMETHEUS_BASE, PROMETHEUS_BASE_PACKAGES),
}
# What goes into the platform image from a checkout (the wheel's sources).
_SOURCE_DIRS = ("platform", "workers", "bots", "stacks")
_SOURCE_FILES = ("pyproject.toml", "Dockerfile")
# Debian bookworm has Python 3.11.2, for which redis-py also wants async-timeout.
_EXTRA_WHEELS = ("async-timeout",)


def source_root() -> Path:
    """The checkout this package runs from (its ``pyproject.toml`` and ``Dockerfile``).

    Raises NotFound for an installed wheel: the image is built from a checkout.
    """
    import sparkswarm

    root = Path(sparkswarm.__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "Dockerfile").is_file():
        raise NotFound(
            "the platform image is built from a source checkout of sparkswarm "
            "(pip install -e .); this installation has none"
        )
    return root


def pinned_tag(gw: Gateway, image: str) -> str:
    """``repository:id-<12 hex>`` for ``image``, tagged in the engine if new.

    Raises NotFound when the engine lacks ``image`` (naming the build command).
    """
    try:
        found = gw.inspect_image(image)
    except NotFound:
        what = next((n for n, (ref, _, _) in _DEBIAN_IMAGES.items() if image == ref), "platform")
        raise NotFound(
            f"image {image} is not in the engine: run `sparkswarm images build {what}`"
        ) from None
    repository, _ = split_ref(image)
    tag = "id-" + str(found["Id"]).removeprefix("sha256:")[:12]
    if f"{repository}:{tag}" not in (found.get("RepoTags") or []):
        gw.tag_image(image, repository, tag)
    return f"{repository}:{tag}"


def build_platform_image(
    gw: Gateway,
    *,
    name: str,
    base: str | None,
    tag: str | None,
    rebuild: bool,
    cache_dir: str | None,
    progress: ProgressFn = no_progress,
) -> ImageBuildResult:
    """Build ``platform``, ``redis`` or ``prometheus`` (see the module);
    idempotent unless ``rebuild``.

    The platform image is built anew when the checkout's sources changed
    (its ``src-`` tag is missing), and without the layer cache when
    ``rebuild``. Raises InvalidRequest for a
    bad tag, NotFound for a missing ``base`` or checkout, OperationFailed when
    mmdebstrap, pip or the build fails.
    """
    started = time.monotonic()
    default_image, default_base, packages = (
        (PLATFORM_IMAGE, PLATFORM_BASE, PLATFORM_BASE_PACKAGES)
        if name == "platform"
        else _DEBIAN_IMAGES[name]
    )
    image = validate_image_ref(tag or default_image, "tag")
    base_image = validate_image_ref(base or default_base, "base image")
    source = _source_tag(image) if name == "platform" else None
    if source and not rebuild and image_exists(gw, source):
        if image_id(gw, image) != image_id(gw, source):
            gw.tag_image(source, *split_ref(image))
        progress(f"{image} of this checkout exists ({source}); nothing to build")
        return ImageBuildResult(
            image=image,
            tags=[image, source, pinned_tag(gw, image)],
            base=base_image,
            built=False,
            seconds=round(time.monotonic() - started, 2),
        )
    if not source and not rebuild and image_exists(gw, image):
        progress(f"{image} exists; nothing to build (use --rebuild to build again)")
        return ImageBuildResult(
            image=image,
            tags=[image, pinned_tag(gw, image)],
            base=base_image,
            built=False,
            seconds=round(time.monotonic() - started, 2),
        )
    base_built = ensure_base(
        gw, base_image, given=base, default=default_base, packages=packages, progress=progress
    )
    with tempfile.TemporaryDirectory(prefix=f"sparkswarm-{name}-") as tmp:
        context = Path(tmp)
        if name == "platform":
            root = source_root()
            wheels = Path(cache_dir or DEFAULT_CACHE_DIR).expanduser() / "platform-wheels"
            _build_wheels(root, wheels, progress)
            shutil.copytree(wheels, context / "build" / "wheels")
            shutil.copyfile(root / "Dockerfile", context / "Dockerfile")
        else:
            from sparkswarm.stacks.params import packaged_stacks_dir

            dockerfile = packaged_stacks_dir() / "platform" / f"{name}.Dockerfile"
            shutil.copyfile(dockerfile, context / "Dockerfile")
        docker_build(gw, context, image, base_image, nocache=rebuild, progress=progress)
    if source:
        gw.tag_image(image, *split_ref(source))
    return ImageBuildResult(
        image=image,
        tags=[image, *([source] if source else []), pinned_tag(gw, image)],
        base=base_image,
        built=True,
        base_built=base_built,
        seconds=round(time.monotonic() - started, 2),
    )


def source_digest(root: Path) -> str:
    """A digest of the checkout's sources that go into the platform image
    (paths and contents; caches and links left out)."""
    digest = hashlib.sha256()
    files = [root / name for name in _SOURCE_FILES]
    for folder in _SOURCE_DIRS:
        files += sorted(
            path
            for path in (root / folder).rglob("*")
            if path.is_file()
            and not path.is_symlink()
            and "__pycache__" not in path.parts
            and path.suffix != ".pyc"
        )
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _source_tag(image: str) -> str | None:
    """``repository:src-<digest>`` of the checkout; None without one (a
    wheel: then the build itself says it needs a checkout)."""
    try:
        root = source_root()
    except NotFound:
        return None
    repository, _ = split_ref(image)
    return f"{repository}:src-{source_digest(root)[:12]}"


def _build_wheels(root: Path, wheels: Path, progress: ProgressFn) -> None:
    """Wheels of the checkout and its dependencies in ``wheels`` (dependencies
    kept between builds; this package's own wheel made anew every time)."""
    wheels.mkdir(parents=True, exist_ok=True)
    for old in wheels.glob("sparkswarm-*.whl"):
        old.unlink()
    progress(f"building wheels of {root} and its dependencies", log=True)
    folder = ["--wheel-dir", str(wheels), "--find-links", str(wheels)]
    run_pip(["wheel", *folder, str(root), *_EXTRA_WHEELS], progress)
    if not any(wheels.glob("sparkswarm-*.whl")):
        raise OperationFailed(f"pip wheel made no sparkswarm wheel in {wheels}")
