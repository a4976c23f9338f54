#!/usr/bin/env bash
# Builds sparkswarm/platform:latest with no registry: a Debian base made by
# mmdebstrap (python3 + venv) and the wheels built from this checkout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
base=sparkswarm/pybase:bookworm
if ! docker image inspect "$base" >/dev/null 2>&1; then
  mmdebstrap --variant=minbase --include=python3,python3-venv,passwd bookworm - |
    docker import - "$base"
fi
rm -rf build/wheels
# Debian bookworm has Python 3.11.2, for which redis-py also wants async-timeout.
.venv/bin/pip wheel -q --wheel-dir build/wheels . async-timeout
DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$base" -t sparkswarm/platform:latest .
