#!/usr/bin/env bash
# The test command: set up (scripts/setup.sh), lint, type-check, then every
# test against the real engine and Redis. Extra arguments go to pytest.
#   bash scripts/test.sh           everything (what CI runs)
#   bash scripts/test.sh --unit    the fast loop: tests/unit only (no engine, no Redis)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

# pytest-xdist workers: the integration tests mostly wait on the engine, so
# more workers than cores pay off; the tests that cannot overlap among
# themselves (extra nodes; Spark clusters and e2e) form groups that each run
# on one worker, side by side (tests/conftest.py, EXCLUSIVE_GROUPS).
WORKERS=${SPARKSWARM_TEST_WORKERS:-4}

if [ "${1:-}" = "--unit" ]; then
  shift
  bash scripts/setup.sh --python-only
  exec .venv/bin/python -m pytest -m unit -n "$WORKERS" "$@"
fi

bash scripts/setup.sh

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy --strict (the whole package as installed: core, cli, workers, bots)"
bash scripts/mypy-mapped.sh
echo "==> pytest"
# --durations: the slowest tests, to keep an eye on CI time (target < 15 min).
exec .venv/bin/python -m pytest -n "$WORKERS" --dist loadgroup --no-loadscope-reorder \
  --durations=25 "$@"
