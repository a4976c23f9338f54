"""pyproject.toml lists every folder of the package: setuptools is given the
package list by hand (workers/, bots/ and stacks/ are mapped from outside
platform/), and a folder left out is silently missing from the wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _folders(source: Path, package: str) -> set[str]:
    """``package`` and its sub-folders (as dotted names) that hold any file but caches."""
    found = set()
    for folder in [source, *sorted(p for p in source.rglob("*") if p.is_dir())]:
        if "__pycache__" in folder.parts or folder.name.endswith(".egg-info"):
            continue
        if any(f.is_file() for f in folder.iterdir()):
            relative = folder.relative_to(source).parts
            found.add(".".join((package, *relative)))
    return found


def test_every_folder_of_the_source_tree_is_a_listed_package() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]  # type: ignore[index]
    expected: set[str] = set()
    for package, folder in setuptools["package-dir"].items():
        expected |= _folders(ROOT / folder, package)
    listed = set(setuptools["packages"])
    assert not expected - listed, f"missing from packages in pyproject.toml: {expected - listed}"
    assert not listed - expected, f"listed but not in the tree: {listed - expected}"


def test_the_licence_is_an_spdx_string_with_its_file() -> None:
    project = _pyproject()["project"]
    assert project["license"] == "Apache-2.0"  # type: ignore[index]
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    requires = _pyproject()["build-system"]["requires"]  # type: ignore[index]
    assert requires == ["setuptools>=77"]
