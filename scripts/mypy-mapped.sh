#!/usr/bin/env bash
# mypy --strict over the whole sparkswarm package as installed: core, cli,
# workers/ (sparkswarm.workers) and bots/ (sparkswarm.bots), in one run.
# A plain `.venv/bin/mypy` does the same (pyproject.toml points mypy_path at
# .mypy-layout/, symlinks with the installed layout); this script stays for
# the commands and habits that call it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
exec "$here/.venv/bin/mypy" "$@"
