#!/usr/bin/env bash
# mypy --strict over the whole sparkswarm package as installed: core, cli,
# workers/ (sparkswarm.workers) and bots/ (sparkswarm.bots), in one run,
# each file under its installed module name (see scripts/mypy_mapped.py).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
exec "$here/.venv/bin/python" "$here/scripts/mypy_mapped.py" "$@"
