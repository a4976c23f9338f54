#!/usr/bin/env bash
# The test command: set up (scripts/setup.sh), lint, type-check, then every
# test against the real engine and Redis. Extra arguments go to pytest.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

bash scripts/setup.sh

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy --strict (the whole package as installed: core, cli, workers, bots)"
bash scripts/mypy-mapped.sh
echo "==> pytest"
# --durations: the slowest tests, to keep an eye on CI time (target < 30 min).
exec .venv/bin/python -m pytest --durations=15 "$@"
