# The sparkswarm platform itself (CLI, Celery worker and beat) as an image.
#
# Built by `sparkswarm images build platform` (sparkswarm.platform_images):
# the wheels of sparkswarm and its dependencies are made on the host first, so
# no registry or index is needed inside the build, on a local Debian base with
# python3 and python3-venv made by mmdebstrap. By hand, with a registry:
#
#     .venv/bin/pip wheel --wheel-dir build/wheels .
#     docker build --build-arg BASE=python:3.11-slim-bookworm -t sparkswarm/platform .
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

COPY build/wheels /tmp/wheels
RUN python3 -m venv /opt/sparkswarm \
 && /opt/sparkswarm/bin/pip install --no-index --find-links /tmp/wheels sparkswarm \
 && rm -rf /tmp/wheels \
 && useradd --system --home /var/lib/sparkswarm sparkswarm
# The ready-made stacks (spark, web) ship inside the wheel.
ENV PATH=/opt/sparkswarm/bin:$PATH \
    PYTHONUNBUFFERED=1

# The worker talks to the Docker socket, which is root on the host: whoever
# can reach this container's socket mount owns the machine. Run it only where
# that is intended.
ENTRYPOINT ["sparkswarm"]
CMD ["worker"]
