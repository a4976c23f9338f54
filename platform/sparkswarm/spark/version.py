"""The one place where the Spark version is pinned.

The spark stack's default image, ``sparkswarm images build spark`` and the
tests all derive their names from these constants.
"""

from __future__ import annotations

SPARK_VERSION = "4.3.0"
"""The pyspark release the platform is built and tested with."""

PY4J_VERSION = "0.10.9.9"
"""The py4j release that pyspark ``SPARK_VERSION`` requires."""

OFFICIAL_IMAGE = f"apache/spark:{SPARK_VERSION}-python3"
"""The official Apache Spark image with Python: the spark stack's default ``image``."""

LOCAL_IMAGE = f"sparkswarm/spark:{SPARK_VERSION}"
"""The image ``sparkswarm images build spark`` builds (also tagged ``OFFICIAL_IMAGE``)."""

BASE_IMAGE = "sparkswarm/base:bookworm"
"""Debian bookworm with Java 17, Python 3.11, procps and tini (mmdebstrap + docker import)."""

BASE_PACKAGES = ("openjdk-17-jre-headless", "python3", "procps", "tini")
"""What the base image holds besides Debian's minbase variant."""

BUILT_LOCALLY_LABEL = "org.sparkswarm.built-locally"
"""Label on images built by sparkswarm: marks an ``OFFICIAL_IMAGE`` tag as ours."""
