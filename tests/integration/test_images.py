"""``sparkswarm images build spark`` on the real engine (no registry).

Builds under a test tag go through every step (pip install of the cached
pyspark into the build context, the classic builder); the default tag is
the one the spark stack tests use, so it is only checked, not removed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sparkswarm.errors import InvalidRequest, NotFound
from sparkswarm.spark.version import LOCAL_IMAGE, OFFICIAL_IMAGE, SPARK_VERSION
from tests.conftest import unavailable
from tests.support.cli import sparkswarm

pytestmark = pytest.mark.integration


@pytest.fixture
def test_tags(gw: Any) -> Iterator[list[str]]:
    """Image tags a test builds; untagged after.

    Containers are not looked up by image here: a cached build gives the very
    image that the default tags name, so an ``ancestor`` filter would match
    (and kill) every Spark container on the engine. ``run_in`` removes its own.
    """
    tags: list[str] = []
    yield tags
    from sparkswarm.errors import SparkswarmError

    for tag in tags:
        with contextlib.suppress(SparkswarmError):
            gw.api.remove_image(tag)


def run_in(gw: Any, image: str, script: str) -> str:
    """Run ``sh -c script`` in a throwaway container of ``image``; its output."""
    container = gw.api.create_container(image, entrypoint=["/bin/sh", "-c"], command=[script])
    try:
        gw.api.start(container["Id"])
        code = gw.api.wait(container["Id"], timeout=120)["StatusCode"]
        output = gw.api.logs(container["Id"]).decode()
    finally:
        gw.remove_container(container["Id"], force=True)
    assert code == 0, output
    return str(output)


def test_build_spark_makes_a_working_image_and_a_second_call_is_fast(
    gw: Any, prefix: str, test_tags: list[str]
) -> None:
    from sparkswarm.images import build_image

    tag = f"sparkswarm-test/spark:{prefix}"
    test_tags.append(tag)
    messages: list[str] = []
    first = build_image(gw, name="spark", tag=tag, progress=lambda m, **_: messages.append(m))
    assert first.built and first.tags == [tag]
    assert any(m.startswith("Step ") for m in messages)
    print(f"spark image build (base present): {first.seconds} s")

    output = run_in(
        gw,
        tag,
        "id -u; echo $SPARK_HOME; ls /opt/spark/sbin/start-history-server.sh; "
        "python3 -c 'import pyspark, py4j; print(\"pyspark\", pyspark.__version__)'; "
        "/opt/spark/bin/spark-submit --version 2>&1 | grep -o 'version [0-9.]*' | head -1",
    )
    assert output.split() == [
        "185",
        "/opt/spark",
        "/opt/spark/sbin/start-history-server.sh",
        "pyspark",
        SPARK_VERSION,
        "version",
        SPARK_VERSION,
    ]

    started = time.monotonic()
    second = build_image(gw, name="spark", tag=tag)
    assert not second.built
    assert time.monotonic() - started < 5
    assert gw.inspect_image(tag)["Id"] == gw.inspect_image(first.image)["Id"]


def test_the_default_tag_also_answers_to_the_official_name(gw: Any) -> None:
    from sparkswarm.images import build_image

    result = build_image(gw, name="spark")
    assert result.image == LOCAL_IMAGE
    assert result.tags == [LOCAL_IMAGE, OFFICIAL_IMAGE]
    official = gw.inspect_image(OFFICIAL_IMAGE)
    assert official["Id"] == gw.inspect_image(LOCAL_IMAGE)["Id"]
    assert official["Config"]["Labels"]["org.sparkswarm.built-locally"] == "true"


def test_the_cli_reports_an_up_to_date_image(gw: Any) -> None:
    from sparkswarm.images import build_image

    build_image(gw, name="spark")
    done = sparkswarm("images", "build", "spark", timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{LOCAL_IMAGE} up to date" in done.stdout
    assert OFFICIAL_IMAGE in done.stdout


def test_bad_requests_change_nothing(gw: Any, prefix: str) -> None:
    from sparkswarm.images import build_image

    with pytest.raises(InvalidRequest, match="buildable: spark, web"):
        build_image(gw, name="hadoop")
    with pytest.raises(InvalidRequest, match="invalid tag"):
        build_image(gw, name="spark", tag="Not A Tag")
    tag = f"sparkswarm-test/spark:{prefix}"
    with pytest.raises(NotFound, match="base image"):
        build_image(gw, name="spark", tag=tag, base=f"sparkswarm-test/nobase:{prefix}")
    with pytest.raises(NotFound):
        gw.inspect_image(tag)


def test_make_base_image_gives_java_17_and_python_311(
    gw: Any, prefix: str, test_tags: list[str]
) -> None:
    import shutil

    from sparkswarm.image_build import make_base_image

    if shutil.which("mmdebstrap") is None:
        unavailable("mmdebstrap is not installed (scripts/setup.sh installs it)")
    tag = f"sparkswarm-test/base:{prefix}"
    test_tags.append(tag)
    started = time.monotonic()
    assert make_base_image(gw, tag=tag) == tag
    print(f"base image (mmdebstrap + import): {time.monotonic() - started:.1f} s")
    output = run_in(gw, tag, "java -version 2>&1 | head -1; python3 --version; command -v tini")
    assert 'version "17.' in output
    assert "Python 3.11." in output
    assert "/usr/bin/tini" in output


def test_build_web_serves_its_version_and_is_idempotent(
    gw: Any, prefix: str, test_tags: list[str]
) -> None:
    from sparkswarm.images import build_image

    tag = f"sparkswarm-test/web:{prefix}"
    test_tags.append(tag)
    first = build_image(gw, name="web", tag=tag)
    assert (first.built, first.tags) == (True, [tag])
    page = run_in(gw, tag, "cat /www/index.html")
    assert page == f"web {prefix}\n"
    again = build_image(gw, name="web", tag=tag)
    assert again.built is False
    with pytest.raises(InvalidRequest, match="--base does not apply"):
        build_image(gw, name="web", tag=tag, base="sparkswarm/base:bookworm")
