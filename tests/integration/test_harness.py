"""The harness itself: the engine is a manager, and test images build."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_engine_is_a_swarm_manager(gw: object) -> None:
    info = gw.info()  # type: ignore[attr-defined]
    assert info["Swarm"]["ControlAvailable"] is True


def test_web_images_are_built(gw: object, web_images: dict[str, str]) -> None:
    tags = {tag for image in gw.api.images() for tag in image.get("RepoTags") or []}  # type: ignore[attr-defined]
    assert set(web_images.values()) <= tags
