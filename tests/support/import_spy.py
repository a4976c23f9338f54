"""Which heavy packages a ``sparkswarm`` command loads, and who imports them.

Run as ``python -m tests.support.import_spy MODE WORDS...`` (from the repo
root). ``MODE`` is ``parse`` (what the CLI does before it talks to the
engine: load ``sparkswarm.cli.main``, parse WORDS into a request, resolve
the operation and its result type, load the renderers) or ``run`` (the
console script itself, for real). At exit it writes one line to stderr:
``IMPORTS {"loaded": [...], "importers": {package: [module, ...]},
"plugin_scan": bool, "sparkswarm": [module, ...]}``, the importers being the
modules outside those packages whose import statements named them,
``plugin_scan`` whether pydantic looked for plugins in the installed
packages' metadata, ``sparkswarm`` our own modules that were loaded.
:func:`heavy_imports` runs it and returns the first two; :func:`spy_report`
returns the whole report.
"""

from __future__ import annotations

import atexit
import builtins
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HEAVY = (
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "rich",
    "yaml",
    "jsonschema",
    "dotenv",
    "docker",
    "requests",
    "celery",
    "redis",
)
# pydantic, the one model system: it validates input (service create/update
# options, the queue's records). Engine results are stdlib dataclasses, so an
# engine command that validates no such input loads none of it.
MODELS = frozenset({"pydantic", "pydantic_core"})
ROOT = Path(__file__).parents[2]


def heavy_imports(
    mode: str, words: list[str], env: Mapping[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str], dict[str, list[str]]]:
    """Run ``words`` in ``mode`` in a fresh interpreter; the process, the heavy
    packages loaded, and who imported each."""
    done, found = spy_report(mode, words, env)
    return done, found["loaded"], found["importers"]


def spy_report(
    mode: str, words: list[str], env: Mapping[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run ``words`` in ``mode`` in a fresh interpreter; the process and its
    whole report (see the module docstring)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.import_spy", mode, *words],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env=dict(os.environ if env is None else env),
    )
    lines = [text for text in done.stderr.splitlines() if text.startswith("IMPORTS ")]
    assert lines, done.stderr
    found: dict[str, Any] = json.loads(lines[-1].removeprefix("IMPORTS "))
    return done, found


def _spy(importers: dict[str, set[str]]) -> None:
    original = builtins.__import__

    def spy(name: str, globals: Any = None, *args: Any, **kwargs: Any) -> Any:
        level = args[2] if len(args) > 2 else kwargs.get("level", 0)
        caller = str((globals or {}).get("__name__", "?"))
        top = name.split(".")[0]
        if level == 0 and top in HEAVY and caller.split(".")[0] not in HEAVY:
            importers.setdefault(top, set()).add(caller)
        return original(name, globals, *args, **kwargs)

    builtins.__import__ = spy


def main(mode: str, words: list[str]) -> None:
    importers: dict[str, set[str]] = {}

    def report() -> None:
        loaded = sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))
        loader = sys.modules.get("pydantic.plugin._loader")
        found = {
            "loaded": loaded,
            "importers": {k: sorted(v) for k, v in importers.items()},
            # pydantic fills its plugin cache when it has scanned the metadata.
            "plugin_scan": getattr(loader, "_plugins", None) is not None,
            "sparkswarm": sorted(name for name in sys.modules if name.startswith("sparkswarm.")),
        }
        sys.stderr.write("IMPORTS " + json.dumps(found) + "\n")

    atexit.register(report)
    _spy(importers)
    if mode == "run":
        from sparkswarm.cli.main import run

        sys.argv = ["sparkswarm", *words]
        run()
        return
    import sparkswarm.cli.main
    from sparkswarm.cli import common
    from sparkswarm.operations import get_operation
    from sparkswarm.requests import parse

    request = parse(words)
    op = get_operation(request.op)
    op.resolve()
    op.result_type()
    if request.op == "stack.deploy":
        import sparkswarm.stacks.plan  # noqa: F401  (and what `stack diff` adds)
    common.print_json({"ok": True})
    common.print_table([{"id": "x"}], ["id"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
