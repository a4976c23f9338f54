"""The platform image knows the sources it was built from (pure: a folder of files)."""

from __future__ import annotations

from pathlib import Path

from sparkswarm.platform_images import source_digest


def checkout(root: Path) -> Path:
    for name, text in {
        "pyproject.toml": "[project]\nname = 'sparkswarm'\n",
        "Dockerfile": "FROM base\n",
        "platform/sparkswarm/core.py": "VALUE = 1\n",
        "workers/tasks.py": "",
        "bots/app.py": "",
        "stacks/spark/stack.yml": "services: {}\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_digest_follows_the_code_and_nothing_else(tmp_path: Path) -> None:
    root = checkout(tmp_path)
    first = source_digest(root)
    assert source_digest(root) == first
    # Byte code, caches and files outside the packaged folders change nothing.
    (root / "platform/sparkswarm/__pycache__").mkdir()
    (root / "platform/sparkswarm/__pycache__/core.cpython-311.pyc").write_bytes(b"\0")
    (root / "README.md").write_text("words\n")
    assert source_digest(root) == first
    # A changed line, a new file or a renamed one is another image.
    (root / "platform/sparkswarm/core.py").write_text("VALUE = 2\n")
    changed = source_digest(root)
    assert changed != first
    (root / "workers/extra.py").write_text("")
    added = source_digest(root)
    assert added != changed
    (root / "workers/extra.py").rename(root / "workers/other.py")
    assert source_digest(root) != added
