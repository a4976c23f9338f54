"""Copying images from the machine's engine into lab nodes (no registry needed).

Each lab node has its own image store. An image is saved once from the
source engine (``GET /images/NAME/get``, streamed to a file in the lab
folder), loaded into every node that does not already hold the same image
id (``POST /images/load``, two nodes at a time: the host has few cores),
and given every requested tag there. All through the gateway.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sparkswarm.errors import InvalidRequest, OperationFailed
from sparkswarm.gateway import Gateway
from sparkswarm.image_build import image_id
from sparkswarm.images import split_ref, validate_image_ref
from sparkswarm.model_base import LazyModel
from sparkswarm.progress import ProgressFn, no_progress
from sparkswarm.spark.version import LOCAL_IMAGE, OFFICIAL_IMAGE

DEFAULT_IMAGES = (LOCAL_IMAGE, OFFICIAL_IMAGE, "sparkswarm/web:v1", "sparkswarm/web:v2")
LOAD_PARALLEL = 2


class ImageCopy(LazyModel):
    """One image copied into the lab."""

    image: str
    image_id: str
    size_mb: int
    loaded_into: list[str]
    seconds: float


def default_images(source: Gateway) -> list[str]:
    """The Spark and web images the source engine has (those it lacks are skipped)."""
    return [ref for ref in DEFAULT_IMAGES if image_id(source, ref) is not None]


def check_images(source: Gateway, refs: Sequence[str]) -> None:
    """InvalidRequest if a ref is malformed or the source engine lacks it (before any change)."""
    for ref in refs:
        validate_image_ref(ref)
        if image_id(source, ref) is None:
            raise InvalidRequest(
                f"image {ref!r} is not in this machine's engine; build or pull it first"
            )


def copy_images(
    source: Gateway,
    targets: dict[str, Gateway],
    refs: Sequence[str],
    *,
    workdir: Path,
    progress: ProgressFn = no_progress,
) -> list[ImageCopy]:
    """Make every target engine hold every ref, with the source's image id.

    Tags sharing one image id are saved and loaded once. Raises
    InvalidRequest for a ref the source lacks, OperationFailed when a load
    fails (with the engine's message).
    """
    check_images(source, refs)
    by_id: dict[str, list[str]] = {}
    for ref in refs:
        by_id.setdefault(str(image_id(source, ref)), []).append(ref)
    copies = []
    for wanted_id, tags in by_id.items():
        started = time.monotonic()
        missing = [name for name, gw in targets.items() if image_id(gw, wanted_id) is None]
        size_mb = 0
        if missing:
            progress(f"saving {tags[0]}", log=True)
            archive = workdir / f".image-{wanted_id.replace(':', '-')[:24]}.tar"
            try:
                size_mb = _save(source, tags[0], archive) // 2**20
                progress(f"loading {tags[0]} ({size_mb} MiB) into {', '.join(missing)}", log=True)
                with ThreadPoolExecutor(max_workers=LOAD_PARALLEL) as pool:
                    jobs = [pool.submit(_load, targets[name], archive, name) for name in missing]
                    for job in jobs:
                        job.result()
            finally:
                archive.unlink(missing_ok=True)
        for gw in targets.values():
            for tag in tags:
                repository, version = split_ref(tag)
                gw.tag_image(wanted_id, repository, version)
        copies.append(
            ImageCopy(
                image=", ".join(tags),
                image_id=wanted_id,
                size_mb=size_mb,
                loaded_into=missing,
                seconds=round(time.monotonic() - started, 1),
            )
        )
    return copies


def _save(source: Gateway, ref: str, archive: Path) -> int:
    size = 0
    with open(archive, "wb") as fh:
        for chunk in source.save_image(ref):
            fh.write(chunk)
            size += len(chunk)
    return size


def _load(target: Gateway, archive: Path, name: str) -> None:
    with open(archive, "rb") as fh:
        for message in target.load_image(fh):
            if message.get("error"):
                raise OperationFailed(f"loading an image into {name}: {message['error']}")
