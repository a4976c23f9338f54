"""mypy over the whole sparkswarm package as installed, from the source tree.

    .venv/bin/python scripts/mypy_mapped.py

setuptools maps folders outside ``platform/`` into the package
(``package-dir`` in ``pyproject.toml``: ``workers/`` is
``sparkswarm.workers``, ``bots/`` is ``sparkswarm.bots``). mypy has no such
mapping (python/mypy#10564): it names a module after its folders. So this
gives mypy every source file with the module name the wheel gives it, read
from that same ``package-dir`` table, and the options of ``[tool.mypy]``:
one run checks every call between the CLI, the core, the queue and the bot,
with no copy or link of the tree. Folders that hold data, not code
(``sparkswarm.stacks_data``), are left out. Exit status 1 on any error.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from mypy import build
from mypy.config_parser import parse_config_file
from mypy.errors import CompileError
from mypy.modulefinder import BuildSource
from mypy.options import Options

ROOT = Path(__file__).resolve().parents[1]
DATA_PACKAGES = ("sparkswarm.stacks_data",)


def sources(root: Path = ROOT) -> list[BuildSource]:
    """Every ``.py`` file of the mapped packages, named as installed."""
    mapping: dict[str, str] = tomllib.loads((root / "pyproject.toml").read_text())["tool"][
        "setuptools"
    ]["package-dir"]
    found: list[BuildSource] = []
    for package, folder in mapping.items():
        if package in DATA_PACKAGES:
            continue
        base = root / folder
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found.append(BuildSource(str(path), ".".join([package, *parts]), None))
    return found


def main() -> int:
    """Run mypy with ``[tool.mypy]``'s options over :func:`sources`."""
    options = Options()
    parse_config_file(options, lambda: None, str(ROOT / "pyproject.toml"), sys.stdout, sys.stderr)
    try:
        result = build.build(sources(), options)
    except CompileError as exc:
        print("\n".join(exc.messages), file=sys.stderr)
        return 1
    for line in result.errors:
        print(line)
    count = sum(": error:" in line for line in result.errors)
    files = len({line.split(":", 1)[0] for line in result.errors if ": error:" in line})
    if count:
        print(f"Found {count} errors in {files} files (checked {len(sources())} source files)")
        return 1
    print(f"Success: no issues found in {len(sources())} source files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
