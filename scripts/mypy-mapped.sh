#!/usr/bin/env bash
# mypy --strict over the packages that setuptools maps into sparkswarm from
# outside platform/ (workers/ -> sparkswarm.workers, bots/ -> sparkswarm.bots).
# mypy only sees a package where its folder is, so check them in a temporary
# tree of symlinks that has the installed layout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
cp -rs "$here/platform/sparkswarm" "$tree/sparkswarm"
packages=()
for mapped in workers bots; do
    if [ -f "$here/$mapped/__init__.py" ]; then
        rm -rf "${tree:?}/sparkswarm/$mapped"
        ln -s "$here/$mapped" "$tree/sparkswarm/$mapped"
        packages+=(-p "sparkswarm.$mapped")
    fi
done
cd "$tree"
MYPYPATH="$tree" "$here/.venv/bin/mypy" --strict --config-file "$here/pyproject.toml" "${packages[@]}"
